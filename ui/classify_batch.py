"""The "many texts" tab: its input (pasted lines or an uploaded CSV / TSV / TXT file) and
its run, which starts with a button (thousands of rows are not classified on every
keystroke), shows a progress bar while it runs, and stays on the page while the texts and
the model stay the same."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.classify import Prediction, classify
from ui.classify_io import MAX_ROWS, UnreadableFile, read_table, text_column
from ui.i18n import t
from ui.run import digest, last_latency_ms, run_once

SLOT = "classify-batch"  # run_once's memo slot of this tab
_STARTED = "_cls_batch_started"  # the inputs the button was pressed for (a digest)


@dataclass(frozen=True)
class Batch:
    """The non-blank input rows (``rows``, every column), the ``column`` holding the texts
    and the ``texts`` themselves (stripped)."""

    rows: pd.DataFrame
    column: str
    texts: list[str]


def _uploaded() -> tuple[pd.DataFrame, str] | None:
    up = st.file_uploader(
        t("classify.upload"), type=["csv", "tsv", "txt"], key="cls_file", help=t("classify.upload_help", max=MAX_ROWS)
    )
    if up is None:
        st.info(t("classify.batch_empty"), icon="📄")
        return None
    try:
        table = read_table(up.getvalue())
    except UnreadableFile as err:
        st.error(t(f"classify.err_{err.reason}", detail=err.detail), icon="🚫")
        return None
    st.caption(t("classify.file_info", rows=table.total_rows, cols=len(table.frame.columns), enc=table.encoding))
    if table.cut:
        st.warning(t("classify.too_many", n=table.total_rows, max=MAX_ROWS), icon="✂️")
    cols = list(table.frame.columns)
    col = st.selectbox(t("classify.column"), cols, index=cols.index(text_column(table.frame)), key="cls_column")
    return table.frame, col


def _pasted() -> tuple[pd.DataFrame, str] | None:
    raw = st.text_area(t("classify.lines"), key="cls_lines", height=160, placeholder=t("classify.lines_placeholder"))
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    if len(lines) > MAX_ROWS:
        st.warning(t("classify.too_many", n=len(lines), max=MAX_ROWS), icon="✂️")
    if not lines:
        st.info(t("classify.batch_empty"), icon="📄")
        return None
    return pd.DataFrame({"text": lines[:MAX_ROWS]}), "text"


def batch_input() -> Batch | None:
    """The texts to classify, or ``None`` after saying what is missing or wrong."""
    source = st.segmented_control(
        t("classify.source"),
        ["paste", "upload"],
        key="cls_source",
        default="paste",
        format_func=lambda s: t("classify.source_paste") if s == "paste" else t("classify.source_upload"),
    )
    found = _uploaded() if source == "upload" else _pasted()
    if found is None:
        return None
    frame, col = found
    texts = frame[col].astype(str).str.strip()
    keep = texts != ""
    if (~keep).sum():
        st.caption(t("classify.skipped_blank", n=int((~keep).sum())))
    if not keep.any():
        st.info(t("classify.batch_empty"), icon="📄")
        return None
    return Batch(frame[keep].reset_index(drop=True), col, texts[keep].tolist())


class _ProgressBar:
    """``progress(done, total)`` on a bar that shows only while rows are being classified.
    It pickles to a constant, so run_once's memo key depends on the texts and model only."""

    def __init__(self) -> None:
        self.slot = st.empty()

    def __call__(self, done: int, total: int) -> None:
        self.slot.progress(done / total, text=t("classify.progress", done=done, total=total))

    def __reduce__(self) -> tuple:
        return (str, ("progress",))


def _start(key: str) -> None:
    """The button's callback: these inputs (the ones the button was drawn for) are to be
    classified. A callback, not the button's return value: it survives a rerun of the run."""
    st.session_state[_STARTED] = key


def run_batch(batch: Batch, model: str | None) -> tuple[list[Prediction], float] | None:
    """The button, and once it was pressed for these texts and this model, their
    predictions and the seconds they took (remembered while the inputs stay)."""
    key = digest((batch.texts, model))
    label = t("classify.run_batch", n=len(batch.texts))
    st.button(label, type="primary", key="cls_run", icon="🚀", on_click=_start, args=(key,))
    if st.session_state.get(_STARTED) != key:
        return None
    bar = _ProgressBar()
    preds = run_once(classify, batch.texts, model=model, progress=bar, slot=SLOT)
    bar.slot.empty()
    ms = last_latency_ms(slot=SLOT)
    return (preds, (ms or 0.0) / 1000) if preds else None
