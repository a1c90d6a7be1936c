"""The interface's strings in 中文 and English, and the current language.

Every user-visible string comes from ``TABLE``: one table assembled from the sections in
``ui/strings/`` (one TOML file per page, so pages can grow independently: a table per
key with ``en`` and ``zh``; translators edit text, not Python). Keys are unique and every
entry has both languages (checked at import and by the tests).

The language comes from ``?lang=`` in the URL, else the sidebar choice kept in the
session, else the browser's language, else English.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import streamlit as st

import ui.strings

LANGS = ("en", "zh")
LANG_NAMES = {"en": "English", "zh": "中文"}


def _sections() -> list[tuple[str, dict[str, dict[str, str]]]]:
    """(file name, strings) of every section: ``ui/strings/*.toml``."""
    folder = Path(ui.strings.__path__[0])
    return [(f.name, tomllib.loads(f.read_text(encoding="utf-8"))) for f in sorted(folder.glob("*.toml"))]


def _assemble() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for name, strings in _sections():
        for key, texts in strings.items():
            if key in table:
                raise RuntimeError(f"string key {key!r} defined twice (ui/strings/{name})")
            missing = [lang for lang in LANGS if not texts.get(lang)]
            if missing:
                raise RuntimeError(f"string {key!r} lacks {missing} (ui/strings/{name})")
            table[key] = texts
    return table


TABLE: dict[str, dict[str, str]] = _assemble()


def lang() -> str:
    """The current interface language: ``"en"`` or ``"zh"``."""
    chosen = st.session_state.get("lang")
    if chosen in LANGS:
        return chosen
    q = st.query_params.get("lang")
    if q in LANGS:
        return q
    try:
        browser = (st.context.locale or "").lower()
    except AttributeError:
        browser = ""
    return "zh" if browser.startswith("zh") else "en"


def t(key: str, **fmt: object) -> str:
    """The string ``key`` in the current language, formatted with ``fmt``."""
    texts = TABLE.get(key)
    if texts is None:
        return key  # visible, but never a crash; the tests catch missing keys
    s = texts[lang()]
    return s.format(**fmt) if fmt else s


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
        t("sidebar.language"),
        LANGS,
        format_func=LANG_NAMES.get,
        key="lang",
        selection_mode="single",
        width="stretch",
        on_change=_keep_language,
    )
    chosen = st.session_state.get("lang")
    chosen = chosen if chosen in LANGS else current
    st.session_state["_lang_prev"] = chosen
    if st.query_params.get("lang") != chosen:
        st.query_params["lang"] = chosen
    return chosen
