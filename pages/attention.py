"""Attention viewer: every layer and head of a real transformer, English and Chinese.

Every input and option is bound to the URL (``?text=``, ``?pair=``, ``?hide=``, ``?merge=``,
``?view=``, ``?layer=``, ``?head=``, ``?attr=``; ``?model=`` through the model picker), so a shared
link reproduces what is on screen; the QA and classify pages link here with the text they
read and the model that answered (see :mod:`ui.attention_picker`).
"""

from __future__ import annotations

import streamlit as st

from core.attention import MAX_TOKENS, attention_maps, readable
from core.text import detect_language
from ui.attention_attribution import show_attribution
from ui.attention_picker import choose_model
from ui.attention_view import EXAMPLES, show_attention
from ui.i18n import lang, t
from ui.layout import page_header
from ui.models import ensure_model
from ui.routing import use_navigation_routing
from ui.run import run_once

use_navigation_routing()  # first: a new server's first deep link is routed by app.py (see ui.routing)

EXAMPLE_BUTTONS = (("en", "🇬🇧"), ("zh", "🇨🇳"), ("pair", "❔"))


def _set_example(which: str) -> None:
    st.session_state["text"], st.session_state["pair"] = EXAMPLES[which]


def main() -> None:
    page_header(t("attention.title"), t("attention.subtitle"))
    ui_lang = lang()
    text = st.text_area(
        t("attention.text"),
        EXAMPLES[ui_lang][0],
        key="text",
        bind="query-params",
        height=90,
        max_chars=5000,
        placeholder=t("attention.text_placeholder"),
        help=t("attention.text_help", n=MAX_TOKENS),
    )
    pair = (
        st.text_input(
            t("attention.pair"), key="pair", bind="query-params", max_chars=5000, help=t("attention.pair_help")
        ).strip()
        or None
    )
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption(t("attention.examples"), width="content")
        for which, icon in EXAMPLE_BUTTONS:
            st.button(t(f"attention.example_{which}"), on_click=_set_example, args=(which,), type="tertiary", icon=icon)

    text_lang = detect_language(f"{text} {pair or ''}") if text.strip() else ui_lang
    key = choose_model(text_lang)
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        hide = st.toggle(
            t("attention.hide_special"), key="hide", bind="query-params", help=t("attention.hide_special_help")
        )
        merge = st.toggle(t("attention.merge"), key="merge", bind="query-params", help=t("attention.merge_help"))
    if key is None:
        return
    if not readable(text):
        st.info(t("attention.empty"), icon="✍️")
    elif ensure_model(key, attention=True):
        res = run_once(attention_maps, text, key, text_pair=pair)
        if res is not None:
            show_attention(res, hide=hide, merge=merge)
            show_attribution(res, key, text, pair)


main()
