"""Widgets every page shares: header, language switch, model picker, friendly errors,
the sidebar footer (model, device, latency of the last prediction) and links between pages.

Nothing here imports torch at module level: the home page stays light.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Mapping

import streamlit as st

from core import registry
from core.availability import Availability, availability, default_model, is_online
from core.device import describe_device
from ui.i18n import LANG_NAMES, LANGS, TABLE, lang, t

log = logging.getLogger(__name__)

PAGE_FILES = {
    "home": "pages/home.py",
    "qa": "pages/qa.py",
    "classify": "pages/classify.py",
    "digits": "pages/digits.py",
    "attention": "pages/attention.py",
    "status": "pages/status.py",
}


def _keep_language() -> None:
    """Clicking the active option of the switch deselects it: keep the previous language."""
    if st.session_state.get("lang") not in LANGS:
        st.session_state["lang"] = st.session_state.get("_lang_prev", "en")


def language_switch() -> str:
    """The 中文 / English switch in the sidebar; keeps ``?lang=`` in the URL. Returns the language."""
    current = lang()
    if st.session_state.get("lang") not in LANGS:
        st.session_state["lang"] = current
    st.sidebar.segmented_control(
        t("sidebar.language"), LANGS, format_func=LANG_NAMES.get, key="lang",
        selection_mode="single", width="stretch", on_change=_keep_language,
    )
    chosen = st.session_state.get("lang")
    chosen = chosen if chosen in LANGS else current
    st.session_state["_lang_prev"] = chosen
    if st.query_params.get("lang") != chosen:
        st.query_params["lang"] = chosen
    return chosen


def page_header(title: str, subtitle: str = "") -> None:
    st.title(title)
    if subtitle:
        st.caption(subtitle)


def _status_label(av: Availability) -> str:
    return {"available": "✅ " + t("picker.available"),
            "downloadable": "⬇️ " + t("picker.downloadable"),
            "unavailable": "⛔ " + t("picker.unavailable")}[av.status]


def model_picker(task: str, text_lang: str | None = None, *, key: str,
                 languages: tuple[str, ...] | None = None) -> str | None:
    """A select box of every registry model for ``task``; the default is the best usable one
    for ``text_lang``. Unusable models stay listed, marked with the reason. Returns the chosen
    key when it can be used, else shows why and returns ``None``."""
    text_lang = text_lang or lang()
    online = is_online()
    entries = registry.entries(task)  # type: ignore[arg-type]
    if languages:
        entries = [e for e in entries if set(e.languages) & (set(languages) | {"*"})]
    if not entries:
        st.warning(t("picker.none"))
        return None
    avail = {e.key: availability(e, online=online) for e in entries}
    # usable first, then the rest (greyed out by their label)
    entries.sort(key=lambda e: (not avail[e.key].usable, -e.quality))
    keys = [e.key for e in entries]
    url_param = "zs_model" if task == "zero-shot" else "model"
    wanted = st.query_params.get(url_param)
    default = default_model(task, text_lang, online=online)
    # a shared link naming a model selects it, even one that can't run here (then we say why)
    chosen_first = wanted if wanted in keys else default
    index = keys.index(chosen_first) if chosen_first in keys else 0

    # labels computed now, in this run's language (format_func may be called later)
    labels = {
        k: f"{registry.get(k).name} · {'/'.join(registry.get(k).languages).replace('*', 'multi')}"
           f" · {_status_label(avail[k])}"
        for k in keys
    }
    choice = st.selectbox(t("picker.label"), keys, index=index, format_func=labels.__getitem__, key=key,
                          help=t("picker.help"))
    if choice != default or wanted:
        st.query_params[url_param] = choice  # a shared link reproduces the choice
    av = avail[choice]
    if not av.usable:
        st.warning(t("picker.unusable", model=registry.get(choice).name, reason=reason_text(av.code, av.params)),
                   icon="⛔")
        return None
    if av.status == "downloadable" and not ensure_model(choice):
        return None  # download shown with a progress bar; failures explained by ensure_model
    return choice


def ensure_model(key: str, *, attention: bool = False) -> bool:
    """Load ``key`` now with visible progress (download bar for Hub models, spinner otherwise).

    Returns False after showing a friendly message when it cannot be loaded.
    """
    from core import loaders

    entry = registry.get(key)
    try:
        if entry.source == "hub" and registry.cached_snapshot(entry) is None:
            bar = st.progress(0.0, text=t("common.downloading", model=entry.name))
            loaders.download(entry, progress=lambda f, _msg: bar.progress(f, text=t("common.downloading", model=entry.name)))
            bar.empty()
        with st.spinner(t("common.loading", model=entry.name)):
            loaders.load(key, attention=attention)
    except loaders.ModelLoadError as err:
        show_load_error(err)
        return False
    return True


def reason_text(code: str, params: Mapping[str, object] | None = None, fallback: str = "") -> str:
    """Why a model cannot be used or loaded, in the interface language: the translation of
    a core code (``core.availability`` / ``ModelLoadError``), else ``fallback``."""
    params = dict(params or {})
    if "lang" in params:
        params.setdefault("lang_name", t(f"lang.{params['lang']}"))
    params.setdefault("error", "?")
    key = f"reason.{code}"
    return t(key, **params) if key in TABLE else (fallback or t("reason.load-failed", **params))


def show_load_error(err: Exception) -> None:
    """A model load failure as a clear message: which model, and why / what to do (translated)."""
    key = getattr(err, "key", "?")
    try:
        name = registry.get(key).name
    except KeyError:
        name = key
    reason = reason_text(getattr(err, "code", ""), getattr(err, "params", None), getattr(err, "reason", str(err)))
    st.error(t("common.load_error", model=name, reason=reason), icon="⚠️")


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
      (``DEMO_RATE_LIMIT`` per minute, default 60); beyond it, a friendly message.
    """
    from core.loaders import ModelLoadError, forward_hooks

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
        with forward_hooks(before=before, on_wait=on_wait):
            yield
    except RateLimited as exc:
        st.warning(t("common.rate_limited", limit=rate_limit_per_min(), seconds=max(1, round(exc.wait_s))), icon="🐢")
    except ModelLoadError as exc:
        show_load_error(exc)
    except Exception:
        # st.rerun / st.stop raise BaseException subclasses, which pass through untouched.
        log.exception("page error")
        st.error(f"**{t('common.error_title')}** {t('common.error_detail')}", icon="😕")


def record_prediction(model_key: str, latency_ms: float) -> None:
    """Remember the last prediction of this session for the sidebar footer."""
    st.session_state["_last_prediction"] = {"model": model_key, "latency_ms": float(latency_ms), "at": time.time()}


def device_label(dev=None) -> str:
    """The device in words, in the interface language (e.g. "CPU · 2 threads · 24 GB RAM")."""
    dev = dev or describe_device()
    if dev.kind == "cpu":
        return t("device.cpu", threads=dev.threads, ram=dev.memory_gb or 0)
    mem = f"{dev.memory_gb:.0f} GB" if dev.memory_gb else ""
    return t("device.gpu", kind=dev.kind.upper(), name=dev.name, mem=mem).rstrip(" ·")


def footer() -> None:
    """Sidebar block on every page: model used, device, latency of the last prediction."""
    box = st.sidebar.container(border=True)
    box.markdown(f"**{t('footer.title')}**")
    last = st.session_state.get("_last_prediction")
    if not last:
        box.caption(t("footer.none"))
        box.caption(f"{t('footer.device')}: {device_label()}")
        return
    try:
        name = registry.get(last["model"]).name
    except KeyError:
        name = last["model"]
    box.caption(
        f"{t('footer.model')}: {name}  \n{t('footer.device')}: {device_label()}  \n"
        f"{t('footer.latency')}: {last['latency_ms']:.0f} ms"
    )


URL_TEXT_MAX = 2000  # longer inputs are not put in the URL (links must stay shareable)


def keep_in_url(**values: str | None) -> None:
    """Mirror a page's inputs into the URL so a shared link reproduces what the sender saw.
    Empty values, and texts longer than ``URL_TEXT_MAX`` characters, are left out of it."""
    for name, value in values.items():
        if value and len(value) <= URL_TEXT_MAX:
            if st.query_params.get(name) != value:
                st.query_params[name] = value
        elif name in st.query_params:
            del st.query_params[name]


def page_link_to(page: str, label: str, query_params: Mapping[str, str] | None = None, *, icon: str | None = None) -> None:
    """A link to another page of the app (``page`` is a key of ``PAGE_FILES``) carrying
    ``query_params`` (prefill) and the current language."""
    params = {k: str(v) for k, v in (query_params or {}).items() if v not in (None, "")}
    params["lang"] = lang()
    st.page_link(PAGE_FILES[page], label=label, icon=icon, query_params=params)
