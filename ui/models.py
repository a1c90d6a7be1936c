"""Choosing and loading models on a page: the model picker (every registry model for a
task, the best usable one preselected, the rest marked with why they cannot run), loading
with visible progress, and a load failure explained in the interface language.

With inference on a remote API (``DEMO_INFERENCE_URL``, :mod:`core.remote`) nothing is
downloaded or loaded here: the API loads the model on the first call, and a model it
cannot load comes back as the same friendly message."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from core import registry, remote
from core.availability import Availability, availability, default_model, is_online
from ui.i18n import TABLE, lang, t


def _status_label(av: Availability) -> str:
    if av.code == "llm-not-installed":  # an opt-in pack: one command installs it
        return "📦 " + t("picker.installable")
    return {
        "available": "✅ " + t("picker.available"),
        "downloadable": "⬇️ " + t("picker.downloadable"),
        "unavailable": "⛔ " + t("picker.unavailable"),
    }[av.status]


def model_picker(
    task: str, text_lang: str | None = None, *, key: str, languages: tuple[str, ...] | None = None
) -> str | None:
    """A select box of every registry model for ``task``; the default is the best usable one
    for ``text_lang``. Unusable models stay listed, marked with the reason. Returns the chosen
    key when it can be used, else shows why and returns ``None``."""
    text_lang = text_lang or lang()
    online = is_online()
    entries = registry.entries(task)  # type: ignore[arg-type]
    if languages:
        entries = [e for e in entries if any(e.reads(lang) for lang in languages)]
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
    choice = st.selectbox(
        t("picker.label"), keys, index=index, format_func=labels.__getitem__, key=key, help=t("picker.help")
    )
    if choice != default or wanted:
        st.query_params[url_param] = choice  # a shared link reproduces the choice
    av = avail[choice]
    if not av.usable:
        st.warning(
            t("picker.unusable", model=registry.get(choice).name, reason=reason_text(av.code, av.params)), icon="⛔"
        )
        return None
    if av.status == "downloadable" and not ensure_model(choice):
        return None  # download shown with a progress bar; failures explained by ensure_model
    return choice


def ensure_model(key: str, *, attention: bool = False) -> bool:
    """Load ``key`` now with visible progress (download bar for Hub models, spinner otherwise).

    Returns False after showing a friendly message when it cannot be loaded. With a remote
    inference API, True without loading anything: the API loads it.
    """
    if remote.enabled():
        return True
    from core import loaders

    entry = registry.get(key)
    try:
        if entry.source == "hub" and registry.cached_snapshot(entry) is None:
            bar = st.progress(0.0, text=t("common.downloading", model=entry.name))
            loaders.download(
                entry, progress=lambda f, _msg: bar.progress(f, text=t("common.downloading", model=entry.name))
            )
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
    if code.startswith("remote-"):  # core.remote's codes: where the API is and what it said
        params.setdefault("url", remote.base_url() or "?")
        params.setdefault("status", "?")
    if "lang" in params:
        params.setdefault("lang_name", t(f"lang.{params['lang']}"))
    params.setdefault("error", "?")
    key = f"reason.{code}"
    return t(key, **params) if key in TABLE else (fallback or t("reason.load-failed", **params))


REMOTE_CODES = ("remote-unreachable", "remote-error")


def show_load_error(err: Exception) -> None:
    """A model load failure as a clear message: which model, and why / what to do (translated);
    an inference API that is down or failing says so, without naming a model."""
    code = getattr(err, "code", "")
    if code in REMOTE_CODES:
        st.error(t("common.remote_error", reason=reason_text(code, getattr(err, "params", None))), icon="🔌")
        return
    key = getattr(err, "key", "?")
    try:
        name = registry.get(key).name
    except KeyError:
        name = key
    reason = reason_text(getattr(err, "code", ""), getattr(err, "params", None), getattr(err, "reason", str(err)))
    st.error(t("common.load_error", model=name, reason=reason), icon="⚠️")
