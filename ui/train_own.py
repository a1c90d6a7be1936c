"""This visitor's trained model on the other pages. The visitor is the browser (a hash of the
Streamlit XSRF cookie, which every tab of one browser shares; a per-session id where there is
none), so a second tab finds the job the first one started, and another browser never sees
it. The job id is kept in the session and in the URL (``?job=``): after a server restart the
reconnected page still knows which job it had and says it was lost. A ``?job=`` of another
visitor is ignored. Nothing is saved.

- :func:`job_id` / :func:`owner`: the session's job and the owner id the runner knows it by;
- :func:`own_status` / :func:`own_model`: the finished job of a task and its model (the
  status call is also the job's heartbeat);
- :func:`show_digits_side_by_side`: the shipped CNN and the visitor's model on the same
  28x28 image; :func:`show_sentiment_line`: one line under a sentiment result.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import numpy as np
import streamlit as st

from core.train import JobStatus, TrainError
from ui.digits_view import big_digit_html, probability_chart
from ui.i18n import t
from ui.train_view import WITH_MODEL, label_text, own_model_name

JOB = "_train_job"
OWNER = "_train_owner"
URL_KEY = "job"
BROWSER_COOKIE = "_streamlit_xsrf"  # set by Streamlit's server (XSRF protection), one per browser


def _browser_cookie() -> str:
    """The browser's XSRF token: Tornado's cookie ``2|mask|masked token|timestamp`` is masked
    anew on every page load, so the token is unmasked (XOR with the repeating 4-byte mask);
    every tab of the browser has the same one."""
    try:
        value = str(st.context.cookies.get(BROWSER_COOKIE) or "")
    except Exception:  # no browser (AppTest, a bare script run)
        return ""
    parts = value.split("|")
    if len(parts) == 4 and parts[0] == "2":
        try:
            mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
            if mask:
                return bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked)).hex()
        except ValueError:
            pass
    return value


def owner() -> str:
    """The visitor (this browser, else this session) as the runner's owner id."""
    if OWNER not in st.session_state:
        cookie = _browser_cookie()
        st.session_state[OWNER] = (
            "browser-" + hashlib.sha256(cookie.encode("utf-8", "replace")).hexdigest()[:24]
            if cookie
            else "st-" + uuid.uuid4().hex
        )
    return str(st.session_state[OWNER])


def remember(job: str, url: bool = True) -> None:
    """This session's job, in the session (and the URL: the Train page's)."""
    st.session_state[JOB] = job
    if url:
        st.query_params[URL_KEY] = job


def job_id() -> str | None:
    """This session's job: the one it started, else the visitor's job from another tab, else
    the URL's (after a server restart the runner no longer knows it: the page says so)."""
    value = st.session_state.get(JOB)
    if value:
        return str(value)
    try:
        from core.train import job_of, owner_of

        mine = job_of(owner())
        if mine:
            remember(mine, url=False)
            return mine
        in_url = str(st.query_params.get(URL_KEY) or "")[:64]
        if in_url and owner_of(in_url) is None:  # unknown here: lost in a restart (or expired)
            remember(in_url, url=False)
            return in_url
    except Exception:  # the runner missing or broken: no job
        return None
    return None


def own_status(task: str) -> JobStatus | None:
    """The status of this session's job when it left a model for ``task``, else ``None``."""
    jid = job_id()
    if jid is None:
        return None
    try:
        from core.train import status

        got = status(jid)
    except TrainError:
        return None
    except Exception:  # the runner missing or broken: the page works without "your model"
        return None
    return got if got.state in WITH_MODEL and got.spec.task == task else None


def own_model(st_: JobStatus | None) -> Any:
    if st_ is None:
        return None
    try:
        from core.train import trained_model

        return trained_model(st_.id)
    except Exception:
        return None


def _predict(model: Any, inputs: Any) -> np.ndarray | None:
    try:
        probs = np.asarray(model.predict(inputs), dtype=np.float64)
    except Exception:
        return None
    return probs[0] if probs.ndim == 2 and len(probs) and np.isfinite(probs[0]).all() else None


def own_digit_probs(model: Any, image: np.ndarray) -> np.ndarray | None:
    """The visitor's model's ten probabilities for the ``(28, 28)`` image the shipped CNN read."""
    return _predict(model, np.asarray(image, dtype=np.float32)[None])


def show_digits_side_by_side(image: np.ndarray | None, shipped_probs: np.ndarray | None) -> bool:
    """A toggle (on by default) and, on, the shipped CNN and the visitor's model reading the
    same drawing: the big digit and the ten probabilities of each. Nothing when this session
    has no digits model. Returns whether the two cards were drawn (the page then leaves out
    its own big digit and chart, which the shipped CNN's card already shows)."""
    st_ = own_status("digits")
    model = own_model(st_)
    if st_ is None or model is None:
        return False
    name = own_model_name(st_)
    on = st.toggle(
        t("train.side_by_side", model=name), value=True, key="own_side_by_side", help=t("train.side_by_side_help")
    )
    if not on or image is None or shipped_probs is None:
        return False
    mine = own_digit_probs(model, image)
    if mine is None:
        return False
    cols = st.columns(2, gap="medium", border=True)
    for col, title, probs, key in (
        (cols[0], t("train.shipped_cnn"), shipped_probs, "own_chart_shipped"),
        (cols[1], name[:1].upper() + name[1:], mine, "own_chart_mine"),
    ):
        with col:
            d = int(np.argmax(probs))
            st.markdown(f"**{title}**")
            st.markdown(
                big_digit_html(d, t("digits.confidence", p=float(probs[d])), float(probs[d]) < 0.5),
                unsafe_allow_html=True,
            )
            st.plotly_chart(
                probability_chart(np.asarray(probs), t("digits.chart_digit"), t("digits.chart_prob"), height=200),
                config={"displayModeBar": False},
                key=key,
            )
    return True


def show_sentiment_line(text: str) -> None:
    """``your TextCNN (trained 2 min ago): positive 87 %`` under the one-text result."""
    st_ = own_status("sentiment")
    model = own_model(st_)
    if st_ is None or model is None:
        return
    probs = _predict(model, [text])
    labels = list(getattr(model, "labels", ()) or st_.labels)
    if probs is None or len(labels) != len(probs):
        return
    k = int(np.argmax(probs))
    line = t("train.own_says", model=own_model_name(st_), label=label_text(labels[k]), p=f"{probs[k]:.0%}")
    if st_.spec.lang in ("en", "zh"):
        line += t("train.own_other_lang", lang=t(f"lang.{st_.spec.lang}"))
    st.caption("🏋️ " + line[:1].upper() + line[1:])
