"""Page work that calls models, made safe for visitors: friendly messages instead of
tracebacks, a queue notice when the model is busy, a per-session rate limit."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator

import streamlit as st

from core.explain import ExplainError
from ui.i18n import t
from ui.models import show_load_error

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """This session asked for more predictions per minute than a public link allows."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"rate limited for {wait_s:.0f} s")
        self.wait_s = wait_s


def rate_limit_per_min() -> int:
    """Predictions a session may ask per minute (``DEMO_RATE_LIMIT``, default 60)."""
    try:
        return max(1, int(os.environ.get("DEMO_RATE_LIMIT", "60")))
    except ValueError:
        return 60


def _count_prediction() -> None:
    """Count one prediction of this session; raise :class:`RateLimited` beyond the limit."""
    now = time.time()
    recent = [x for x in st.session_state.get("_prediction_times", []) if now - x < 60]
    if len(recent) >= rate_limit_per_min():
        st.session_state["_prediction_times"] = recent
        raise RateLimited(60 - (now - recent[0]))
    st.session_state["_prediction_times"] = [*recent, now]


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    """Run page work that calls models.

    - A model load failure or any unexpected error becomes a friendly message (logged on
      the server with its traceback) instead of a traceback on the page.
    - When the model is busy with other visitors, the page says the request is queued and
      its position, instead of looking frozen.
    - Each block counts as one prediction against the per-session limit
      (``DEMO_RATE_LIMIT`` per minute, default 60); beyond it, a friendly message. With
      inference on a remote API (no model lock here) the block counts when it starts.
    - An inference API that cannot be reached or answers an error (:mod:`core.remote`)
      is a :class:`~core.loaders.ModelLoadError` too: a friendly message naming the API.
    - A passage longer than core reads (:class:`core.qa.PassageTooLong`) says so and how
      much may be pasted.
    """
    from core import remote
    from core.loaders import ModelLoadError, forward_hooks
    from core.qa.select import PassageTooLong

    notice = st.empty()
    counted = False

    def before() -> None:
        nonlocal counted
        if not counted:
            counted = True
            _count_prediction()

    def on_wait(position: int) -> None:
        if position:
            notice.info(t("common.queued", pos=position), icon="⏳")
        else:
            notice.empty()

    try:
        if remote.enabled():
            before()
        with forward_hooks(before=before, on_wait=on_wait):
            yield
    except RateLimited as exc:
        st.warning(t("common.rate_limited", limit=rate_limit_per_min(), seconds=max(1, round(exc.wait_s))), icon="🐢")
    except ModelLoadError as exc:
        show_load_error(exc)
    except PassageTooLong as exc:  # core's bound on a passage (e.g. an inference API's own)
        st.warning(t("qa.passage_too_long", n=exc.length, max=exc.limit), icon="✂️")
    except ExplainError as exc:  # an input an explanation refuses (too slow, nothing to explain)
        st.info(t(f"explain.error.{exc.code}"), icon="🤷")
    except Exception:
        # st.rerun / st.stop raise BaseException subclasses, which pass through untouched.
        log.exception("page error")
        st.error(f"**{t('common.error_title')}** {t('common.error_detail')}", icon="😕")
