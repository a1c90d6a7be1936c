"""Live training: visitors train small models and watch them learn (issue 24).

This module is the CONTRACT between the job runner (``core/train/jobs.py``, the trainers in
``core/train/digits.py`` and ``core/train/text.py``), the page (``pages/train.py``) and the
HTTP API (``api/routes_train.py``). Plain Python, no Streamlit.

- :func:`submit` a :class:`TrainSpec` for an ``owner`` (the visitor: a Streamlit session id,
  or an API client's job) -> job id; at most one live job per owner, at most
  ``TRAIN_MAX_JOBS`` running per server (default 1), the others queued (``queue-full`` past
  ``TRAIN_MAX_QUEUE``, default 8); each job runs in its own child process (see
  :mod:`core.train.jobs`) with one torch thread, capped at ``TRAIN_MAX_SECONDS`` (default 90)
  of training time;
- :func:`status` (also the heartbeat: a job not polled for ``TRAIN_IDLE_SECONDS``, default
  20, is cancelled and its memory freed) -> :class:`JobStatus` with the curves so far;
- :func:`cancel` (Stop; effective within one batch: the state is ``stopped`` at once, and
  ``extra["finishing"]`` is true while the model so far is scored; then the confusion matrix,
  the test score and the model follow);
- :func:`trained_model` -> the finished model, in memory only (never written to disk, never
  shown to another owner), for the Digits / Classification pages' pickers.

Errors are :class:`TrainError` codes for the interface to translate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Task = Literal["digits", "sentiment"]
State = Literal["queued", "running", "done", "stopped", "diverged", "timeout", "failed", "lost"]

PRESETS: dict[str, tuple[str, ...]] = {"digits": ("mlp", "cnn"), "sentiment": ("textcnn", "bow")}

# What each preset trains with unless the visitor changes it: the settings measured by
# ``bench/train.py`` (one torch thread on the 2-core machine): the MLP reaches >= 95.5 % on the
# MNIST test set in about 30 s, the CNN >= 98.5 % within 90 s, the TextCNN >= 85 % on the
# Chinese test split within 90 s.
PRESET_DEFAULTS: dict[str, dict[str, float | int | str]] = {
    "mlp": {"width": 256, "depth": 1, "epochs": 20, "batch_size": 64, "lr": 2e-3, "optimiser": "adam"},
    "cnn": {"width": 16, "depth": 2, "epochs": 6, "batch_size": 128, "lr": 3e-3, "optimiser": "adam"},
    "textcnn": {"width": 32, "depth": 1, "epochs": 2, "batch_size": 64, "lr": 3e-3, "optimiser": "adam"},
    "bow": {"width": 64, "depth": 1, "epochs": 5, "batch_size": 64, "lr": 1e-2, "optimiser": "adam"},
}


class TrainError(ValueError):
    """``code``: ``busy`` (this owner already has a live job), ``queue-full``, ``unknown-job``
    (never existed, or lost in a server restart), ``bad-spec``."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class TrainSpec:
    """What to train. ``preset``: digits ``mlp`` (article 001: 784-width-10 with dropout) or
    ``cnn`` (article 000: two convolutions); sentiment ``textcnn`` (article 004: a CNN over
    jieba words for Chinese, words for English) or ``bow`` (bag-of-words MLP). ``lang``:
    sentiment only, ``en`` (MR / rt-polarity) or ``zh`` (the Chinese reviews). ``width``:
    hidden units (mlp, bow) or filters (cnn, textcnn); ``depth``: hidden layers / convolution
    blocks; ``n_train``: training examples used (digits: of the bundled 10,000 minus the
    held-out validation part). Values past the caps are clamped by :func:`clamp`, which says so."""

    task: Task = "digits"
    preset: str = "mlp"
    lang: str = "en"
    width: int = 256
    depth: int = 1
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    optimiser: Literal["adam", "sgd"] = "adam"
    n_train: int = 9_000
    seed: int = 0


@dataclass(frozen=True)
class EpochPoint:
    """One point of the curves (also written a few times per epoch: ``epoch`` is fractional)."""

    epoch: float
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    seconds: float  # since the job started running


@dataclass(frozen=True)
class Mistake:
    """A validation example the current model gets wrong: ``image`` (28x28 float 0..1) for
    digits, ``text`` for sentiment; ``true`` / ``predicted`` label names; ``p`` the
    probability of the predicted label."""

    true: str
    predicted: str
    p: float
    image: Any = None  # np.ndarray (28, 28) float32 for digits
    text: str = ""


@dataclass(frozen=True)
class JobStatus:
    """Where a job stands. ``queue_position``: 1 = next to run, 0 when not queued.
    ``progress`` 0..1 and ``eta_s`` of the whole job; ``history``: the curves so far;
    ``mistakes``: up to 16 current validation mistakes (refreshed every epoch); at the end
    (state ``done`` or ``stopped`` with a model): ``confusion`` (test set, rows = true
    labels), ``test_accuracy`` (the official MNIST test set for digits; the shipped models'
    fixed test split for sentiment) next to ``shipped_accuracy`` (the shipped model's on the
    same set). ``notes``: codes (``clamped-width``, ``clamped-epochs``, ...; ``one-thread``).
    ``error``: a code for ``failed`` / ``diverged`` / ``timeout`` / ``lost``."""

    id: str
    state: State
    spec: TrainSpec
    queue_position: int = 0
    progress: float = 0.0
    eta_s: float | None = None
    elapsed_s: float = 0.0
    history: tuple[EpochPoint, ...] = ()
    mistakes: tuple[Mistake, ...] = ()
    labels: tuple[str, ...] = ()
    confusion: tuple[tuple[int, ...], ...] | None = None
    test_accuracy: float | None = None
    shipped_accuracy: float | None = None
    notes: tuple[str, ...] = ()
    error: str | None = None
    finished_at: float | None = None  # time.time() when it finished (for "trained N min ago")
    extra: dict[str, Any] = field(default_factory=dict)


def clamp(spec: TrainSpec) -> tuple[TrainSpec, tuple[str, ...]]:
    """``spec`` within the caps, and a note code per clamped field (``clamped-<field>``)."""
    from core.train.jobs import clamp as _clamp

    return _clamp(spec)


def submit(spec: TrainSpec, owner: str) -> str:
    """Queue ``spec`` for ``owner`` -> the job id (raises :class:`TrainError`)."""
    from core.train.jobs import RUNNER

    return RUNNER.submit(spec, owner)


def status(job_id: str) -> JobStatus:
    """The job's status; also its heartbeat (raises ``TrainError("unknown-job")``)."""
    from core.train.jobs import RUNNER

    return RUNNER.status(job_id)


def cancel(job_id: str) -> JobStatus:
    """Stop the job (queued: removed; running: stops within one batch, keeps the model so far)."""
    from core.train.jobs import RUNNER

    return RUNNER.cancel(job_id)


def trained_model(job_id: str) -> Any:
    """The finished job's model: an object with ``predict(inputs) -> np.ndarray (N, classes)``
    probabilities (digits: ``(N, 28, 28)`` float 0..1 images as the shipped CNN receives them;
    sentiment: a list of texts), ``labels`` and ``spec``; ``None`` if there is none."""
    from core.train.jobs import RUNNER

    return RUNNER.trained_model(job_id)


def job_of(owner: str) -> str | None:
    """The owner's current job: the live one (queued or running), else the one whose model
    is kept for them; ``None`` if neither (another tab of the same visitor finds it here)."""
    from core.train.jobs import RUNNER

    return RUNNER.job_of(owner)


def owner_of(job_id: str) -> str | None:
    """Whose job ``job_id`` is; ``None`` if the runner does not know it (never, or lost)."""
    from core.train.jobs import RUNNER

    return RUNNER.owner_of(job_id)


__all__ = [
    "PRESETS",
    "PRESET_DEFAULTS",
    "EpochPoint",
    "JobStatus",
    "Mistake",
    "State",
    "Task",
    "TrainError",
    "TrainSpec",
    "cancel",
    "clamp",
    "job_of",
    "owner_of",
    "status",
    "submit",
    "trained_model",
]
