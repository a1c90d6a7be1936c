"""The job runner behind :mod:`core.train`: a queue of visitors' training jobs, each run in
its own child process, watched by one background thread of the server.

Design (issue 24, "compute on a shared server"):

- **a child process per job** (``multiprocessing`` "forkserver" where the platform has it:
  the fork server imports torch once, later jobs start in a fraction of a second; else
  "spawn"; ``TRAIN_START_METHOD`` overrides). The child sets ``torch.set_num_threads(1)``
  (a process-wide setting: the server's own inference threads are untouched), trains, and
  sends its progress, curve points, mistakes and at the end the model's weights (numpy) over
  a queue; the server rebuilds the model for predictions. Killing the child frees all of its
  memory at once, so an abandoned job costs nothing afterwards;
- **a Ray task per job instead** where the runner is inside a running Ray (the Ray Serve
  deployment, ``make serve-cluster``): :mod:`core.train.ray_jobs`, the same child code, so a
  cluster spreads the jobs; ``TRAIN_MAX_JOBS`` then defaults to one per 2 CPUs of the cluster;
- **one background thread** (the "pump", started on first use) drains the children's
  queues, starts queued jobs while fewer than ``TRAIN_MAX_JOBS`` (default 1) run, enforces
  the limits and forgets old records; the page and the API only read snapshots;
- **limits**: one live job per owner (``busy``), ``TRAIN_MAX_QUEUE`` waiting (default 8,
  ``queue-full`` past it), ``TRAIN_MAX_SECONDS`` of training per job (default 90; the child
  stops itself and keeps the model so far: state ``timeout``; the server kills it if it
  overruns by :data:`KILL_GRACE_S`), a job not polled for ``TRAIN_IDLE_SECONDS`` (default 20)
  is killed (state ``stopped``, error ``idle``), a loss that is no longer a number stops it
  (``diverged``), a child that dies (out of memory, killed) is ``lost``;
- **memory**: the last finished model per owner, for ``TRAIN_MODEL_TTL`` seconds (default
  1800) and at most :data:`MAX_MODELS` owners (oldest dropped first); job records for
  :data:`RECORD_TTL_S`, at most :data:`MAX_RECORDS`. Nothing is written to disk.

Caps (:func:`clamp`, each clamped field noted ``clamped-<field>``): epochs 1..30, batch size
8..512, learning rate 1e-5..10 (NaN is left alone and diverges), depth 1..3, width 16..1024
(MLP, bag-of-words; hidden units), 4..64 (digit CNN; filters of the first block, doubling),
16..256 (TextCNN; filters per kernel size), training examples 100..9,000 digits,
100..9,063 English or 100..29,855 Chinese reviews (the training splits' sizes).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import multiprocessing as mp
import os
import queue as queue_mod
import secrets
import socket
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from core.train import PRESETS, EpochPoint, JobStatus, Mistake, State, TrainError, TrainSpec

# --- caps ----------------------------------------------------------------------------------

EPOCHS = (1, 30)
BATCH = (8, 512)
LR = (1e-5, 10.0)
DEPTH = (1, 3)
WIDTH = {"mlp": (16, 1024), "bow": (16, 1024), "cnn": (4, 64), "textcnn": (16, 256)}
N_TRAIN = {"digits": (100, 9_000), "en": (100, 9_063), "zh": (100, 29_855)}
LANGS = ("en", "zh")

# --- bookkeeping limits --------------------------------------------------------------------

KILL_GRACE_S = 30.0  # past the training cap: start-up, data preparation, the final scoring
STOP_GRACE_S = 15.0  # after Stop: time to score the model so far and send it
MAX_MODELS = 32
MAX_RECORDS = 512
RECORD_TTL_S = 3600.0
TICK_S = 0.1

LIVE: tuple[str, ...] = ("queued", "running")


def _env_num(name: str, default: float, lo: float) -> float:
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if math.isfinite(value) and value >= lo else default


def max_jobs() -> int:
    """Jobs that run at once: ``TRAIN_MAX_JOBS``; by default 1 (child processes on this
    server), or one per 2 CPUs of the cluster where jobs are Ray tasks."""
    from core.train import ray_jobs

    default = max(1, ray_jobs.cluster_cpus() // 2) if ray_jobs.enabled() else 1
    return int(_env_num("TRAIN_MAX_JOBS", default, 1))


def max_queue() -> int:
    return int(_env_num("TRAIN_MAX_QUEUE", 8, 0))


def max_seconds() -> float:
    return _env_num("TRAIN_MAX_SECONDS", 90.0, 0.1)


def idle_seconds() -> float:
    return _env_num("TRAIN_IDLE_SECONDS", 20.0, 0.1)


def model_ttl() -> float:
    return _env_num("TRAIN_MODEL_TTL", 1800.0, 1.0)


def data_dir() -> Path:
    """The bundled data (``TRAIN_DATA_DIR``, default ``../shared/data`` beside the repository)."""
    from core.registry import REPO_ROOT

    return Path(os.environ.get("TRAIN_DATA_DIR") or REPO_ROOT.parent / "shared" / "data")


def clamp(spec: TrainSpec) -> tuple[TrainSpec, tuple[str, ...]]:
    """``spec`` within the caps, and a note code per clamped field (``clamped-<field>``).
    An unknown task, preset or language is a ``TrainError("bad-spec")``."""
    if spec.task not in PRESETS:
        raise TrainError("bad-spec", f"task must be one of {sorted(PRESETS)}")
    if spec.preset not in PRESETS[spec.task]:
        raise TrainError("bad-spec", f"preset must be one of {PRESETS[spec.task]} for {spec.task}")
    if spec.task == "sentiment" and spec.lang not in LANGS:
        raise TrainError("bad-spec", f"lang must be one of {LANGS}")
    notes: list[str] = []
    changes: dict[str, Any] = {}

    def whole(name: str, lo: int, hi: int) -> None:
        raw = getattr(spec, name)
        try:
            value = int(raw)
        except (TypeError, ValueError, OverflowError):
            if isinstance(raw, float) and math.isinf(raw):
                value = hi if raw > 0 else lo
            else:
                raise TrainError("bad-spec", f"{name} must be a whole number") from None
        fixed = min(max(value, lo), hi)
        if fixed != raw or type(raw) is not int:
            changes[name] = fixed
            if fixed != value or (isinstance(raw, float) and not raw.is_integer()):
                notes.append(f"clamped-{name}")

    whole("width", *WIDTH[spec.preset])
    whole("depth", *DEPTH)
    whole("epochs", *EPOCHS)
    whole("batch_size", *BATCH)
    whole("n_train", *N_TRAIN["digits" if spec.task == "digits" else spec.lang])
    whole("seed", 0, 2**31 - 1)
    try:
        lr = float(spec.lr)
    except (TypeError, ValueError):
        raise TrainError("bad-spec", "lr must be a number") from None
    if not math.isnan(lr):  # NaN stays: the job stops at once and says it diverged
        fixed_lr = min(max(lr, LR[0]), LR[1])
        if fixed_lr != lr:
            notes.append("clamped-lr")
        lr = fixed_lr
    if lr != spec.lr or type(spec.lr) is not float:
        changes["lr"] = lr
    if spec.optimiser not in ("adam", "sgd"):
        changes["optimiser"] = "adam"
        notes.append("clamped-optimiser")
    if spec.task == "digits" and spec.lang != "en":
        changes["lang"] = "en"  # not used by digits
    return (replace(spec, **changes) if changes else spec), tuple(notes)


# --- the child process ---------------------------------------------------------------------


class _QueueReporter:
    """The child's reporter: messages to the server; stops on Stop, at the training cap, or
    when the server process is gone."""

    def __init__(self, q: Any, stop: Any, cap_s: float, parent_pid: int) -> None:
        self.q, self.stop, self.cap_s, self.parent_pid = q, stop, cap_s, parent_pid
        self.t0: float | None = None
        self.next_check = 0.0

    def point(self, p: EpochPoint) -> None:
        self.q.put(("point", astuple_point(p)))

    def progress(self, done: float, eta_s: float | None) -> None:
        self.q.put(("progress", done, eta_s))

    def mistakes(self, items: list[dict[str, Any]]) -> None:
        self.q.put(("mistakes", items))

    def should_stop(self) -> str | None:
        now = time.monotonic()
        if self.t0 is None:
            self.t0 = now
            self.q.put(("phase", "training"))
        if self.stop.is_set():
            return "stopped"
        if now - self.t0 > self.cap_s:
            return "timeout"
        if self.parent_pid > 0 and now > self.next_check:  # 0: a Ray task (see core.train.ray_jobs)
            self.next_check = now + 2.0
            if not _alive(self.parent_pid):
                os._exit(0)  # the server is gone: nobody to report to
        return None


def astuple_point(p: EpochPoint) -> tuple[float, float, float, float | None, float | None, float]:
    return (p.epoch, p.train_loss, p.train_acc, p.val_loss, p.val_acc, p.seconds)


def _alive(pid: int) -> bool:
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def child_main(
    spec: TrainSpec, q: Any, stop: Any, cap_s: float, parent_pid: int, folder: str, corpus: Any, t_submit: float
) -> None:
    """The job's process: one torch thread, train, send the result (never raises)."""
    import torch

    torch.set_num_threads(1)
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
    where = {"worker": f"{os.getpid()}@{socket.gethostname()}"}
    q.put(("phase", "preparing", {"threads": torch.get_num_threads(), "startup_s": time.time() - t_submit, **where}))
    rep = _QueueReporter(q, stop, cap_s, parent_pid)
    from core.train.loop import Diverged

    try:
        if spec.task == "digits":
            from core.train import digits

            out, model, meta = digits.train(spec, rep, Path(folder))
        else:
            from core.train import text

            out, model, meta = text.train(spec, rep, Path(folder), corpus, send=q.put)
        state = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
        q.put(("final", asdict(out), state if out.epochs_run > 0 else None, meta))
    except Diverged as exc:
        q.put(("diverged", str(exc)))
    except TrainError as exc:
        q.put(("failed", exc.code, exc.detail))
    except MemoryError:
        q.put(("failed", "out-of-memory", "the job ran out of memory"))
    except Exception as exc:  # a bug: said, not raised into nothing
        q.put(("failed", "error", f"{type(exc).__name__}: {exc}"[:500]))
    if hasattr(q, "join_thread"):  # a multiprocessing queue: flush it before the process ends
        q.close()
        q.join_thread()


# --- the server side -----------------------------------------------------------------------


@dataclass
class _Job:
    id: str
    owner: str
    spec: TrainSpec
    notes: tuple[str, ...]
    created: float  # time.monotonic()
    last_poll: float
    state: State = "queued"
    started: float | None = None
    stop_at: float | None = None  # when Stop (or idle, the cap) asked the child to end
    history: list[EpochPoint] = field(default_factory=list)
    mistakes: tuple[Mistake, ...] = ()
    labels: tuple[str, ...] = ()
    progress: float = 0.0
    eta_s: float | None = None
    train_started: float | None = None
    confusion: tuple[tuple[int, ...], ...] | None = None
    test_accuracy: float | None = None
    shipped_accuracy: float | None = None
    error: str | None = None
    finished_at: float | None = None
    ended: float | None = None  # time.monotonic() when it left the live states
    extra: dict[str, Any] = field(default_factory=dict)
    proc: Any = None
    q: Any = None
    stop: Any = None
    final_seen: bool = False
    final_at: float | None = None
    launching: bool = False


def _labels(task: str) -> tuple[str, ...]:
    return tuple(str(d) for d in range(10)) if task == "digits" else ("negative", "positive")


def _shipped(spec: TrainSpec) -> float | None:
    if spec.task == "digits":
        from core.train.digits import SHIPPED_TEST_ACCURACY

        return SHIPPED_TEST_ACCURACY
    from core.train.text import shipped_accuracy

    return shipped_accuracy(spec.lang)


class Runner:
    """The server's training jobs (one per process: :data:`RUNNER`)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._queue: deque[str] = deque()
        self._models: OrderedDict[str, tuple[str, Any, float]] = OrderedDict()  # owner -> (job, model, t)
        self._corpus: dict[str, Any] = {}  # tokenised review corpora, shared by the jobs
        self._boot = secrets.token_hex(3)
        self._count = itertools.count(1)
        self._pump: threading.Thread | None = None
        self._ctx: Any = None

    # -- the contract --

    def submit(self, spec: TrainSpec, owner: str) -> str:
        spec, notes = clamp(spec)
        owner = str(owner)
        with self._lock:
            self._gc(time.monotonic())
            if any(j.owner == owner and j.state in LIVE for j in self._jobs.values()):
                raise TrainError("busy", "this visitor already has a training job")
            if len(self._queue) >= max_queue() and self._running_count() >= max_jobs():
                raise TrainError("queue-full", f"{len(self._queue)} jobs are waiting")
            job_id = f"{self._boot}-{next(self._count)}{secrets.token_hex(2)}"
            now = time.monotonic()
            self._jobs[job_id] = _Job(
                id=job_id,
                owner=owner,
                spec=spec,
                notes=(*notes, "one-thread"),
                created=now,
                last_poll=now,
                labels=_labels(spec.task),
                extra={"phase": "queued"},
            )
            self._queue.append(job_id)
            self._ensure_pump()
            self._wake.notify_all()
            return job_id

    def status(self, job_id: str) -> JobStatus:
        with self._lock:
            job = self._get(job_id)
            job.last_poll = time.monotonic()
            return self._snapshot(job)

    def cancel(self, job_id: str) -> JobStatus:
        with self._lock:
            job = self._get(job_id)
            job.last_poll = time.monotonic()
            self._end(job, "stopped", None)
            return self._snapshot(job)

    def trained_model(self, job_id: str) -> Any:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            kept = self._models.get(job.owner)
            return kept[1] if kept is not None and kept[0] == job_id else None

    def owner_of(self, job_id: str) -> str | None:
        with self._lock:
            job = self._jobs.get(str(job_id))
            return None if job is None else job.owner

    def job_of(self, owner: str) -> str | None:
        """The owner's live job, else the job whose model is kept for them."""
        with self._lock:
            live = [j.id for j in self._jobs.values() if j.owner == str(owner) and j.state in LIVE]
            if live:
                return live[-1]
            kept = self._models.get(str(owner))
            return kept[0] if kept is not None and kept[0] in self._jobs else None

    def model_for_owner(self, owner: str) -> tuple[str, Any, float] | None:
        """(job id, model, finished at) of the owner's last finished model, if kept."""
        with self._lock:
            return self._models.get(str(owner))

    def shutdown(self) -> None:
        """Kill every child (tests; the server's exit does it too: the children watch it)."""
        with self._lock:
            for job in self._jobs.values():
                if job.state in LIVE:
                    self._end(job, "stopped", "shutdown")
                self._kill(job)
            self._queue.clear()

    # -- internals (called with the lock held unless said) --

    def _get(self, job_id: str) -> _Job:
        job = self._jobs.get(str(job_id))
        if job is None:
            if str(job_id).count("-") == 1 and not str(job_id).startswith(self._boot + "-"):
                raise TrainError("unknown-job", "lost: the job was started before the server restarted")
            raise TrainError("unknown-job", "no such job")
        return job

    def _running_count(self) -> int:
        return sum(1 for j in self._jobs.values() if j.proc is not None or j.launching)

    def _context(self) -> Any:
        if self._ctx is None:
            method = os.environ.get("TRAIN_START_METHOD", "").strip()
            if method not in mp.get_all_start_methods():
                method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
            ctx = mp.get_context(method)
            if method == "forkserver":
                ctx.set_forkserver_preload(["core.train._preload"])  # torch, once, in the fork server
            self._ctx = ctx
        return self._ctx

    def _launch(self) -> None:
        """Start queued jobs while slots are free (called by the pump without the lock: the
        first start waits for the fork server to import torch, seconds on a busy CPU)."""
        while True:
            with self._lock:
                if not self._queue or self._running_count() >= max_jobs():
                    return
                job = self._jobs[self._queue.popleft()]
                job.state = "running"
                job.started = time.monotonic()
                job.extra["phase"] = "starting"
                job.launching = True
                corpus = self._corpus.get(job.spec.lang) if job.spec.task == "sentiment" else None
                args = (job.spec, max_seconds(), os.getpid(), str(data_dir()), corpus, time.time())
            try:
                q, stop, proc, runs_on = self._start_child(job, args)
            except Exception as exc:  # cannot start a process (or a Ray task) here: say so
                with self._lock:
                    job.launching = False
                    job.extra["detail"] = f"{type(exc).__name__}: {exc}"[:300]
                    self._end(job, "failed", "cannot-start")
                continue
            with self._lock:
                job.launching = False
                job.proc, job.q, job.stop = proc, q, stop
                job.extra["runs_on"] = runs_on
                if job.state not in LIVE:  # stopped while it was starting
                    stop.set()
                    job.stop_at = time.monotonic()
                job.started = time.monotonic()

    def _start_child(self, job: _Job, args: tuple[Any, ...]) -> tuple[Any, Any, Any, str]:
        """(queue, stop event, process, ``"process"`` or ``"ray"``) of a started job: a Ray task
        inside a running Ray (:mod:`core.train.ray_jobs`), else a child process."""
        from core.train import ray_jobs

        if ray_jobs.enabled():
            q, stop, task = ray_jobs.launch(args)
            return q, stop, task, "ray"
        if ray_jobs.wanted_but_missing():
            import logging

            logging.getLogger(__name__).warning("TRAIN_BACKEND=ray but Ray is not running here: jobs run as processes")
        ctx = self._context()
        q, stop = ctx.Queue(), ctx.Event()
        spec, cap, pid, folder, corpus, t_submit = args
        proc = ctx.Process(
            target=child_main,
            args=(spec, q, stop, cap, pid, folder, corpus, t_submit),
            daemon=True,
            name=f"train-{job.id}",
        )
        with _main_not_imported():
            proc.start()
        return q, stop, proc, "process"

    def _end(self, job: _Job, state: State, error: str | None) -> None:
        """Leave the live states (the child, if any, is asked to stop and score what it has)."""
        if job.state not in LIVE:
            return
        if job.id in self._queue:
            self._queue.remove(job.id)
        job.state = state
        job.error = error
        job.ended = time.monotonic()
        job.finished_at = time.time()
        job.eta_s = None
        if job.proc is not None and not job.final_seen:
            job.stop.set()
            job.stop_at = job.ended
            job.extra["finishing"] = True

    def _kill(self, job: _Job) -> None:
        proc, q = job.proc, job.q
        job.proc = job.q = job.stop = None
        job.extra.pop("finishing", None)
        if proc is not None and proc.is_alive():
            proc.kill()
        if q is not None:
            with contextlib.suppress(Exception):
                q.cancel_join_thread()
                q.close()
        if proc is not None:
            with contextlib.suppress(Exception):
                proc.join(timeout=2)
                proc.close()

    def _snapshot(self, job: _Job) -> JobStatus:
        pos = 0
        if job.state == "queued" and job.id in self._queue:
            pos = list(self._queue).index(job.id) + 1
        now = time.monotonic()
        if job.train_started is not None:
            elapsed = (job.ended or now) - job.train_started
        elif job.started is not None:
            elapsed = 0.0
        else:
            elapsed = 0.0
        return JobStatus(
            id=job.id,
            state=job.state,
            spec=job.spec,
            queue_position=pos,
            progress=job.progress,
            eta_s=job.eta_s,
            elapsed_s=max(0.0, elapsed),
            history=tuple(job.history),
            mistakes=job.mistakes,
            labels=job.labels,
            confusion=job.confusion,
            test_accuracy=job.test_accuracy,
            shipped_accuracy=job.shipped_accuracy,
            notes=job.notes,
            error=job.error,
            finished_at=job.finished_at,
            extra=dict(job.extra),
        )

    # -- the pump --

    def _ensure_pump(self) -> None:
        if self._pump is None or not self._pump.is_alive():
            self._pump = threading.Thread(target=self._run_pump, name="train-jobs", daemon=True)
            self._pump.start()

    def _run_pump(self) -> None:
        while True:
            with self._lock:
                busy = any(j.proc is not None or j.launching or j.state in LIVE for j in self._jobs.values())
                if not busy:
                    self._gc(time.monotonic())
                    self._wake.wait(timeout=30.0)
                    continue
            try:
                self._tick()
            except Exception:  # the pump must not die: log and go on
                import logging

                logging.getLogger(__name__).exception("training job pump")
            time.sleep(TICK_S)

    def _tick(self) -> None:
        with self._lock:
            children = [j for j in self._jobs.values() if j.proc is not None]
        for job in children:
            alive = job.proc.is_alive()  # before draining: a child gone by now has sent everything
            msgs = _drain(job.q)
            built = None
            final = next((m for m in msgs if m[0] == "final"), None)
            if final is not None and final[2] is not None:
                built = _build(job.spec, final[2], final[3])
            with self._lock:
                for m in msgs:
                    self._apply(job, m, built)
                self._watch(job, alive)
        with self._lock:
            now = time.monotonic()
            idle = idle_seconds()
            for job in list(self._jobs.values()):
                if job.state == "queued" and now - job.last_poll > idle:
                    self._end(job, "stopped", "idle")
            self._gc(now)
        self._launch()

    def _apply(self, job: _Job, m: tuple[Any, ...], built: Any) -> None:
        kind = m[0]
        if kind == "phase":
            job.extra["phase"] = m[1]
            if m[1] == "training":
                job.train_started = time.monotonic()
            if len(m) > 2:
                job.extra.update(m[2])
        elif kind == "point":
            if len(job.history) < 2_000:
                job.history.append(EpochPoint(*m[1]))
        elif kind == "progress":
            job.progress, job.eta_s = float(m[1]), (None if m[2] is None else float(m[2]))
            if job.state not in LIVE:
                job.eta_s = None
        elif kind == "mistakes":
            job.mistakes = tuple(Mistake(**x) for x in m[1])
        elif kind == "corpus":
            self._corpus[m[1]] = m[2]
        elif kind == "info":
            job.extra.update(m[1])
        elif kind == "final":
            out = m[1]
            job.final_seen = True
            job.progress = 1.0 if out["state"] == "done" else job.progress
            job.extra.update(
                epochs_run=round(out["epochs_run"], 3),
                train_seconds=round(out["train_seconds"], 2),
                val_accuracy=out["val_accuracy"],
                phase="finished",
            )
            if out["confusion"] is not None:
                job.confusion = tuple(tuple(int(v) for v in row) for row in out["confusion"])
                job.test_accuracy = out["test_accuracy"]
                job.shipped_accuracy = _shipped(job.spec)
            if built is not None:
                self._models[job.owner] = (job.id, built, time.time())
                self._models.move_to_end(job.owner)
                while len(self._models) > MAX_MODELS:
                    self._models.popitem(last=False)
            if job.state in LIVE:
                self._end(job, out["state"], "timeout" if out["state"] == "timeout" else None)
            job.extra.pop("finishing", None)
        elif kind == "diverged":
            job.final_seen = True
            job.extra["detail"] = m[1]
            if job.state in LIVE:
                self._end(job, "diverged", "diverged")
        elif kind == "failed":
            job.final_seen = True
            job.extra["detail"] = m[2]
            if job.state in LIVE:
                self._end(job, "failed", m[1])

    def _watch(self, job: _Job, alive: bool) -> None:
        """The limits of a job whose child runs."""
        now = time.monotonic()
        if job.proc is None:
            return
        if job.final_seen:
            if job.final_at is None:
                job.final_at = now
            if not alive or now - job.final_at > 2.0:
                self._kill(job)
            return
        if not alive:
            # gone without a word after the queue was drained: killed by the OS (memory?)
            self._end(job, "lost", "lost")
            self._kill(job)
            return
        if job.state in LIVE:
            if now - job.last_poll > idle_seconds():
                self._end(job, "stopped", "idle")
                self._kill(job)  # nobody is looking: no need to score it
                return
            start = job.train_started or job.started or now
            if now - start > max_seconds() + KILL_GRACE_S:
                self._end(job, "timeout", "timeout")
                self._kill(job)
                return
        elif job.stop_at is not None and now - job.stop_at > STOP_GRACE_S:
            self._kill(job)

    def _gc(self, now: float) -> None:
        wall = time.time()
        ttl = model_ttl()
        for owner in [o for o, (_, _, t) in self._models.items() if wall - t > ttl]:
            del self._models[owner]
        done = [j for j in self._jobs.values() if j.state not in LIVE and j.proc is None and not j.launching]
        for job in done:
            if job.ended is not None and now - job.ended > RECORD_TTL_S:
                del self._jobs[job.id]
        excess = len(self._jobs) - MAX_RECORDS
        for job in [j for j in self._jobs.values() if j.state not in LIVE and j.proc is None and not j.launching][
            : max(0, excess)
        ]:
            del self._jobs[job.id]


@contextlib.contextmanager
def _main_not_imported() -> Iterator[None]:
    """Start children without re-importing the server's main module in them ("spawn" and
    "forkserver" do by default: a script without a ``__main__`` guard, Streamlit's runner):
    the child needs only :mod:`core.train`."""
    main = sys.modules.get("__main__")
    saved: dict[str, Any] = {
        k: main.__dict__[k] for k in ("__file__", "__spec__") if main is not None and k in main.__dict__
    }
    try:
        if main is not None:
            main.__dict__.pop("__file__", None)
            main.__dict__["__spec__"] = None
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)
            if "__spec__" not in saved:
                main.__dict__.pop("__spec__", None)


def _drain(q: Any, limit: int = 500) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if q is None:
        return out
    if hasattr(q, "get_nowait_batch"):  # a Ray queue: one call for what is there
        try:
            n = min(int(q.qsize()), limit)
            return list(q.get_nowait_batch(n)) if n else out
        except Exception:  # its actor is gone (the task's end was seen already)
            return out
    for _ in range(limit):
        try:
            out.append(q.get_nowait())
        except (queue_mod.Empty, EOFError, OSError, ValueError):
            break
    return out


def _build(spec: TrainSpec, state: dict[str, Any], meta: dict[str, Any]) -> Any:
    """The finished model, rebuilt in the server from the child's weights (None if it fails)."""
    try:
        if spec.task == "digits":
            from core.train.digits import TrainedDigits

            return TrainedDigits(spec, state, meta)
        from core.train.text import TrainedText

        return TrainedText(spec, state, meta)
    except Exception:
        import logging

        logging.getLogger(__name__).exception("rebuilding a trained model")
        return None


RUNNER = Runner()
