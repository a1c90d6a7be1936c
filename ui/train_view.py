"""What the training page shows of a :class:`core.train.JobStatus`.

Pure functions turn a status into words (every state and error code, in the interface
language), the progress line with its ETA, the notes about clamped settings; the ``show_*``
functions draw a status with Streamlit (progress bar, curves, mistakes, confusion matrix,
the test score beside the shipped model's). Nothing here calls a model or the job runner."""

from __future__ import annotations

import math
import time

import pandas as pd
import streamlit as st

from core.train import PRESET_DEFAULTS, JobStatus, Mistake, TrainSpec
from ui import i18n
from ui.i18n import TABLE, t
from ui.train_figures import confusion_figure, curves_figure, mistake_image

LIVE = ("queued", "running")
WITH_MODEL = ("done", "stopped", "timeout")  # states that may leave a model to try
_CHART = {"displayModeBar": False}

# choosing a preset fills in core.train.PRESET_DEFAULTS (the runner's measured settings);
# the pickers' steps include every preset's value
WIDTHS = tuple(sorted({8, 16, 32, 64, 128, 256, 512, 1024} | {int(d["width"]) for d in PRESET_DEFAULTS.values()}))
BATCHES = tuple(sorted({16, 32, 64, 128, 256, 512} | {int(d["batch_size"]) for d in PRESET_DEFAULTS.values()}))
RATES = tuple(
    sorted(
        {1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0}
        | {float(d["lr"]) for d in PRESET_DEFAULTS.values()}
    )
)
FIELDS = ("width", "depth", "epochs", "batch_size", "lr", "optimiser", "n_train")


def rate_text(lr: float) -> str:
    """A learning rate as people write it: 0.001, 0.0003, 10."""
    return f"{lr:g}"


def duration_text(seconds: float) -> str:
    """``42 s`` / ``1 min 5 s`` in the interface language."""
    s = max(0, int(math.ceil(seconds)))
    return t("train.seconds", s=s) if s < 60 else t("train.minutes", m=s // 60, s=s % 60)


def progress_text(st_: JobStatus) -> str:
    """``Epoch 2.4 of 5 · about 12 s left`` (the epoch from the progress of the whole job)."""
    epochs = max(int(st_.spec.epochs), 1)
    done = st_.history[-1].epoch if st_.history else st_.progress * epochs
    eta = (
        t("train.eta", t=duration_text(st_.eta_s))
        if st_.eta_s is not None and math.isfinite(st_.eta_s)
        else t("train.eta_unknown")
    )
    return t("train.progress", e=min(float(done), epochs), n=epochs, eta=eta)


def epochs_done(st_: JobStatus) -> float:
    return float(st_.history[-1].epoch) if st_.history else 0.0


def state_message(st_: JobStatus) -> tuple[str, str] | None:
    """(kind, text) for a status that needs a message: kind is ``info`` / ``success`` /
    ``warning`` / ``error``; ``None`` while it runs (the progress bar says it)."""
    s = st_.state
    if s == "queued":
        return "info", t("train.queued", n=max(int(st_.queue_position), 1))
    if s == "done":
        if st_.test_accuracy is None:
            return "success", t("train.done_no_score", s=st_.elapsed_s)
        test_set = t(f"train.test_set.{st_.spec.task}")
        return "success", t("train.done", s=st_.elapsed_s, acc=st_.test_accuracy, set=test_set)
    if s == "stopped":
        empty = not st_.history
        return "info", t("train.state.stopped_empty") if empty else t("train.state.stopped", e=epochs_done(st_))
    if s == "diverged":
        return "error", t("train.state.diverged")
    if s == "timeout":
        return "warning", t("train.state.timeout", s=st_.elapsed_s)
    if s == "lost":
        return "warning", t("train.state.lost")
    if s == "failed":
        code = st_.error or "?"
        if f"train.error.{code}" in TABLE and code not in ("busy", "queue-full", "bad-spec", "other"):
            return "error", t(f"train.error.{code}")
        return "error", t("train.state.failed", code=code)
    return None


def error_message(code: str, detail: str = "") -> str:
    """The words for a :class:`core.train.TrainError` code (``busy``, ``queue-full``, ...)."""
    if code == "bad-spec":
        return t("train.error.bad-spec", detail=detail or code)
    if f"train.error.{code}" in TABLE:
        return t(f"train.error.{code}")
    return t("train.error.other", code=code)


def field_value(spec: TrainSpec, field: str) -> str:
    value = getattr(spec, field)
    if field == "lr":
        return rate_text(float(value))
    if field == "optimiser":
        return t(f"train.optimiser.{value}")
    return f"{value:,}" if isinstance(value, int) else str(value)


FIELD_LABELS = {
    "width": "train.width",
    "depth": "train.depth",
    "epochs": "train.epochs",
    "batch_size": "train.batch",
    "lr": "train.lr",
    "optimiser": "train.optimiser",
    "n_train": "train.n_train",
}


def notes_text(notes: tuple[str, ...], spec: TrainSpec) -> list[str]:
    """One sentence per clamped setting (``clamped-<field>``), with the value used; the
    one-thread note; other codes are not shown."""
    out = []
    for code in notes:
        field = code.removeprefix("clamped-")
        if code.startswith("clamped-") and field in FIELD_LABELS:
            out.append(t("train.clamped", field=t(FIELD_LABELS[field]), value=field_value(spec, field)))
        elif code == "one-thread":
            out.append(t("train.one_thread"))
    return out


def ago_text(finished_at: float | None, now: float | None = None) -> str:
    """``just now`` / ``3 min ago``."""
    if finished_at is None:
        return t("train.ago.now")
    minutes = int(max(0.0, (now if now is not None else time.time()) - finished_at) // 60)
    return t("train.ago.now") if minutes < 1 else t("train.ago.min", n=minutes)


def own_model_name(st_: JobStatus, now: float | None = None) -> str:
    """``your MLP (trained 3 min ago)``."""
    preset = t(f"train.short.{st_.spec.preset}")
    if i18n.lang() == "zh" and preset[:1].isascii():
        preset = " " + preset  # 你的 MLP, 你的词袋 MLP: a space between Chinese and Latin letters
    return t("train.your_model", preset=preset, ago=ago_text(st_.finished_at, now))


def mistake_caption(m: Mistake) -> str:
    return t("train.mistake", true=m.true, pred=m.predicted, p=float(m.p))


def label_text(label: str) -> str:
    """A sentiment label in the interface language (digits stay digits)."""
    key = f"classify.label.{label}"
    return t(key) if key in TABLE else str(label)


# ---- drawing a status (Streamlit calls) -------------------------------------------------


def _say(kind: str, text: str) -> None:
    icons = {"info": "⏳", "success": "✅", "warning": "⏱️", "error": "⛔"}
    getattr(st, kind)(text, icon=icons[kind])


def show_status(st_: JobStatus) -> None:
    """Everything about one job: its message or progress bar, the clamped notes, the curves,
    the current mistakes and, at the end, the score and the confusion matrix."""
    msg = state_message(st_)
    if st_.state == "running":
        st.progress(min(max(float(st_.progress), 0.0), 1.0), text=progress_text(st_))
    elif msg is not None:
        _say(*msg)
    for note in notes_text(st_.notes, st_.spec):
        st.caption("ℹ️ " + note)
    if st_.state not in WITH_MODEL and st_.state != "running" and not st_.history:
        return
    if st_.history:
        show_curves(st_)
    if st_.test_accuracy is not None:
        show_score(st_)
    if st_.confusion is not None and st_.labels:
        show_confusion(st_)
    if st_.mistakes or st_.state == "running":
        show_mistakes(st_)


def show_curves(st_: JobStatus) -> None:
    st.markdown(f"**{t('train.curves')}**", help=t("train.curves_help"))
    fig = curves_figure(
        st_.history,
        epochs=st_.spec.epochs,
        titles=(t("train.loss"), t("train.accuracy")),
        names=(t("train.series.train"), t("train.series.val")),
        epoch_label=t("train.epoch"),
    )
    st.plotly_chart(fig, config=_CHART, key="train_curves")


def show_score(st_: JobStatus) -> None:
    help_text = t("train.score_help", set=t(f"train.test_set.{st_.spec.task}"))
    c1, c2, _ = st.columns([1, 1, 1])
    delta = None
    if st_.shipped_accuracy is not None and st_.test_accuracy is not None:
        delta = f"{(st_.test_accuracy - st_.shipped_accuracy) * 100:+.1f} pp"
    c1.metric(t("train.score"), f"{st_.test_accuracy:.1%}", delta=delta, help=help_text)
    if st_.shipped_accuracy is not None:
        c2.metric(t("train.shipped"), f"{st_.shipped_accuracy:.1%}", help=help_text)


def show_confusion(st_: JobStatus) -> None:
    st.markdown(f"**{t('train.confusion')}**", help=t("train.confusion_help"))
    labels = [label_text(x) for x in st_.labels]
    fig = confusion_figure(
        st_.confusion or (),
        labels,
        true_label=t("train.true_label"),
        predicted_label=t("train.predicted_label"),
        height=480 if len(labels) > 4 else 260,
    )
    left, _ = st.columns([4, 1]) if len(labels) > 4 else st.columns([2, 3])
    left.plotly_chart(fig, config=_CHART, key="train_confusion")


def show_mistakes(st_: JobStatus) -> None:
    st.markdown(f"**{t('train.mistakes')}**", help=t("train.mistakes_help"))
    shown = st_.mistakes[:16]
    if not shown:
        st.caption(t("train.no_mistakes"))
        return
    if st_.spec.task == "digits":
        per_row = 8
        for start in range(0, len(shown), per_row):
            cols = st.columns(per_row)
            for col, m in zip(cols, shown[start : start + per_row]):
                if m.image is not None:
                    col.image(mistake_image(m.image), width=72)
                col.caption(mistake_caption(m))
        return
    rows = pd.DataFrame(
        {
            t("train.col_true"): [label_text(m.true) for m in shown],
            t("train.col_pred"): [f"{label_text(m.predicted)} ({m.p:.0%})" for m in shown],
            t("train.col_text"): [m.text for m in shown],
        }
    )
    st.dataframe(rows, hide_index=True, width="stretch")
