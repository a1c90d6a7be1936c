"""``run_once``: the one way a page calls a ``core`` task.

A page reads its inputs (bound to the URL), then::

    result = run_once(core.qa.answer_details, question, context, model=key)

and draws ``result`` with pure view functions. ``run_once``

- memoises per session on the call's inputs: a rerun with the same inputs (a slider
  that only changes the view, a language switch) returns the remembered result without
  touching the model; one entry per ``slot`` (default: the task function), so memory
  stays bounded;
- measures the latency of the call once and records it, with the model that answered,
  for the sidebar footer;
- calls the task in this process, or, when ``DEMO_INFERENCE_URL`` names an inference API
  (:mod:`core.remote`: the single-process API or Ray Serve), sends it there and gets the
  same result dataclass back (the page does not change);
- runs inside :func:`ui.errors.friendly_errors`: a model that cannot load, a rate limit or
  any unexpected error becomes a message on the page (logged with its traceback on the
  server) and ``run_once`` returns ``None``.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import time
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from core import remote
from ui.errors import friendly_errors
from ui.layout import record_prediction

R = TypeVar("R")
_MEMO = "_run_once"


def digest(value: Any) -> str:
    """A stable digest of a call's inputs (numpy arrays by their bytes)."""
    try:
        blob = pickle.dumps(value, protocol=5)
    except Exception:
        blob = repr(value).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(blob, digest_size=16).hexdigest()


def _slot(task: Callable[..., Any] | None, slot: str | None) -> str:
    """The memo entry of a call: ``slot``, else the task function's dotted name."""
    return slot or (f"{task.__module__}.{task.__qualname__}" if task is not None else "")


def _model_of(result: Any, model: str | None) -> str:
    if model:
        return model
    found = getattr(result, "model", None)
    if isinstance(found, str):
        return found
    if isinstance(result, (list, tuple)) and result:
        return _model_of(result[0], None)
    return "?"


def run_once(
    task: Callable[..., R],
    /,
    *args: Any,
    slot: str | None = None,
    footer_model: str | None = None,
    spinner: str | None = None,
    stream: Callable[[str], None] | None = None,
    **kwargs: Any,
) -> R | None:
    """``task(*args, **kwargs)`` once per session and distinct inputs (on the inference API
    when one is configured, see :mod:`core.remote`); ``None`` after an error
    (already shown on the page). Every other keyword (``model=`` included) goes to the task.
    ``footer_model`` names the model for the footer when the result does not carry it in
    ``.model``; ``spinner`` shows a message while the task runs; ``stream`` is passed to a
    local task as ``on_token`` (a language model's answer as it grows; not part of the
    memo's key, not sent to a remote API, which answers whole)."""
    name = _slot(task, slot)
    key = digest((args, sorted(kwargs.items())))
    memo: dict[str, tuple[str, Any, float]] = st.session_state.setdefault(_MEMO, {})
    hit = memo.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]
    result: R | None = None
    with friendly_errors():
        with st.spinner(spinner) if spinner else contextlib.nullcontext():
            t0 = time.perf_counter()
            if remote.enabled():
                result = remote.call(task, *args, **kwargs)
            elif stream is not None:
                result = task(*args, on_token=stream, **kwargs)
            else:
                result = task(*args, **kwargs)
            ms = (time.perf_counter() - t0) * 1000
        own = getattr(result, "latency_ms", None)  # the task's own figure leaves out a first model load
        if isinstance(own, (int, float)) and own > 0:
            ms = float(own)
        used = _model_of(result, footer_model)
        memo[name] = (key, result, ms)
        if used not in ("", "?"):
            record_prediction(used, ms, remote=remote.base_url())
    return result


_PLUGGED = False


def plug_streamlit_cache() -> None:
    """Once per process: loaded models are kept by ``st.cache_resource`` (on top of core's own
    memo, so a model the warm-up loaded is not loaded twice; "Clear cache" in the app's
    menu reaches it)."""
    global _PLUGGED
    if not _PLUGGED:
        from core import loaders

        loaders.use_cache(st.cache_resource(show_spinner=False, max_entries=16))
        _PLUGGED = True


def last_latency_ms(task: Callable[..., Any] | None = None, *, slot: str | None = None) -> float | None:
    """The measured latency of the remembered result of ``task`` (or ``slot``) in this session."""
    hit = st.session_state.get(_MEMO, {}).get(_slot(task, slot))
    return None if hit is None else float(hit[2])
