"""Train a model and watch it learn (issue 24): the source articles' MLP and CNN on the
bundled digits, a jieba TextCNN or a bag-of-words MLP on the review corpora.

Inputs bound to the URL: ``?task=``, ``?preset=`` (digits) / ``?text_preset=`` and
``?text_lang=`` (sentiment), ``?width=``, ``?depth=``, ``?epochs=``, ``?batch=``, ``?lr=``,
``?optimiser=``, ``?n_train=`` (digits) / ``?n_texts=`` (sentiment), and ``?job=`` (the
visitor's job: see :mod:`ui.train_own`). Segmented controls keep
their shown label in the URL (Streamlit's behaviour). Train submits a job to
:mod:`core.train` for this session; a fragment polls its status every second while it is
queued or running (the poll is the job's heartbeat) and draws it with :mod:`ui.train_view`.
The finished model stays in this session only: the Digits and Classification pages offer it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import streamlit as st

from core.train import PRESET_DEFAULTS, PRESETS, JobStatus, TrainError, TrainSpec
from ui.i18n import t
from ui.layout import page_header, page_link_to
from ui.routing import use_navigation_routing
from ui.train_own import URL_KEY, job_id, owner, remember
from ui.train_view import (
    BATCHES,
    LIVE,
    RATES,
    WIDTHS,
    WITH_MODEL,
    error_message,
    rate_text,
    show_status,
)

use_navigation_routing()  # first: a new server's first deep link is routed by app.py (see ui.routing)

ERROR = "_train_error"
N_MAX = {"digits": 9_000, "sentiment": 9_000}  # the runner caps English at 9,063 reviews


def _apply_preset(key: str) -> None:
    """Choosing a preset fills in its usual settings."""
    preset = st.session_state.get(key)
    for field, value in PRESET_DEFAULTS.get(str(preset), {}).items():
        st.session_state["batch" if field == "batch_size" else field] = value


def _task_changed() -> None:
    """Another task: its chosen (or first) preset's settings."""
    task = st.session_state.get("task")
    if task in PRESETS:
        key = "preset" if task == "digits" else "text_preset"
        if st.session_state.get(key) not in PRESETS[task]:
            st.session_state[key] = PRESETS[task][0]
        _apply_preset(key)


def _spec() -> TrainSpec:
    s = st.session_state
    task = s.get("task") if s.get("task") in PRESETS else "digits"
    preset = s.get("preset" if task == "digits" else "text_preset") or PRESETS[task][0]
    return TrainSpec(
        task=task,
        preset=str(preset),
        lang=str(s.get("text_lang") or "en") if task == "sentiment" else "en",
        width=int(s.get("width", 256)),
        depth=int(s.get("depth", 1)),
        epochs=int(s.get("epochs", 5)),
        batch_size=int(s.get("batch", 64)),
        lr=float(s.get("lr", 1e-3)),
        optimiser=s.get("optimiser") or "adam",
        n_train=int(s.get("n_train" if task == "digits" else "n_texts", N_MAX[task])),
    )


def _start() -> None:
    from core.train import submit

    st.session_state.pop(ERROR, None)
    try:
        remember(submit(_spec(), owner()))
    except TrainError as e:
        st.session_state[ERROR] = (e.code, e.detail)
    except Exception as e:  # the runner missing or broken: a message, never a traceback
        st.session_state[ERROR] = (type(e).__name__, "")


def _stop() -> None:
    jid = job_id()
    if jid is None:
        return
    try:
        from core.train import cancel

        cancel(jid)
    except Exception:
        pass  # already gone: the next poll says so


def _poll() -> JobStatus | TrainError | None:
    """This session's job's status (the heartbeat), or the error saying it is gone."""
    jid = job_id()
    if jid is None:
        return None
    try:
        from core.train import status

        return status(jid)
    except TrainError as e:
        return e
    except Exception as e:
        return TrainError("failed", type(e).__name__)


def _labels(prefix: str, options: Iterable[str]) -> Callable[[str], str]:
    """Shown labels computed now, in this run's language (a format function may be called later)."""
    return {k: t(f"{prefix}.{k}") for k in options}.__getitem__


def _controls() -> str:
    """The task, preset and hyperparameters (bound to the URL); returns the task."""
    task = st.segmented_control(
        t("train.task"),
        tuple(PRESETS),
        default="digits",
        key="task",
        bind="query-params",
        required=True,
        on_change=_task_changed,
        format_func=_labels("train.task", PRESETS),
    )
    task = task if task in PRESETS else "digits"
    preset_key = "preset" if task == "digits" else "text_preset"
    if task == "sentiment":
        st.segmented_control(
            t("train.text_lang"),
            ("en", "zh"),
            default="zh",
            key="text_lang",
            bind="query-params",
            required=True,
            format_func=_labels("train.text_lang", ("en", "zh")),
        )
    preset = st.radio(
        t("train.preset"),
        PRESETS[task],
        key=preset_key,
        bind="query-params",
        format_func=_labels("train.preset", PRESETS[task]),
        help=t("train.preset_help"),
        on_change=_apply_preset,
        args=(preset_key,),
    )
    d = PRESET_DEFAULTS[preset if preset in PRESET_DEFAULTS else PRESETS[task][0]]
    n_key = "n_train" if task == "digits" else "n_texts"
    st.slider(
        t("train.n_train"),
        500,
        N_MAX[task],
        N_MAX[task],
        500,
        key=n_key,
        bind="query-params",
        help=t("train.n_train_help"),
    )
    with st.expander(t("train.more"), expanded=True):
        c1, c2 = st.columns(2)
        c1.select_slider(
            t("train.width"), WIDTHS, d["width"], key="width", bind="query-params", help=t("train.width_help")
        )
        c2.slider(t("train.depth"), 1, 3, int(d["depth"]), key="depth", bind="query-params", help=t("train.depth_help"))
        c1.slider(
            t("train.epochs"), 1, 30, int(d["epochs"]), key="epochs", bind="query-params", help=t("train.epochs_help")
        )
        c2.select_slider(
            t("train.batch"), BATCHES, d["batch_size"], key="batch", bind="query-params", help=t("train.batch_help")
        )
        st.select_slider(
            t("train.lr"), RATES, d["lr"], key="lr", bind="query-params", format_func=rate_text, help=t("train.lr_help")
        )
        st.segmented_control(
            t("train.optimiser"),
            ("adam", "sgd"),
            default="adam",
            key="optimiser",
            bind="query-params",
            required=True,
            format_func=_labels("train.optimiser", ("adam", "sgd")),
        )
    return task


page_header("🏋️ " + t("train.title"), t("train.subtitle"))
left, right = st.columns([1.2, 2.2], gap="large")
first = _poll()
live = isinstance(first, JobStatus) and first.state in LIVE
jid = job_id()
if jid and st.query_params.get(URL_KEY) != jid:
    remember(jid)  # in the URL too: a reconnect after a server restart still knows it

with left:
    task = _controls()
    b1, b2 = st.columns(2)
    b1.button(
        t("train.start"), key="train_start", type="primary", icon="▶️", on_click=_start, disabled=live, width="stretch"
    )
    b2.button(t("train.stop"), key="train_stop", icon="⏹️", on_click=_stop, disabled=not live, width="stretch")


def _watch() -> None:
    """Redrawn every second while the job is queued or running (each poll is its heartbeat);
    when it ends, the whole page runs once more so the buttons and the polling follow."""
    got = _poll()
    if isinstance(got, TrainError):
        st.warning(error_message(got.code, got.detail), icon="⏱️")
        return
    if got is None:
        err = st.session_state.get(ERROR)
        if err:
            st.warning(error_message(*err), icon="⛔")
        st.info(t("train.idle"), icon="👈")
        return
    err = st.session_state.get(ERROR)
    if err:  # e.g. "busy": said above the job it refers to
        st.warning(error_message(*err), icon="⛔")
    show_status(got)
    if got.state in WITH_MODEL and got.state != "running":
        if got.spec.task == "digits":
            page_link_to("digits", t("train.use_digits"), icon="✍️")
        else:
            page_link_to("classify", t("train.use_sentiment"), icon="🏷️")
    if live and got.state not in LIVE:
        st.rerun()  # the whole page: buttons enabled again, polling stops


with right:
    st.fragment(_watch, run_every=1.0 if live else None)()
