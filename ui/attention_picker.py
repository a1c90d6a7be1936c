"""Which model the attention viewer shows.

A link may name (``?model=``) a model the attention model list does not offer but whose
attention can be shown (``core.attention.outside_the_list``: the QA or sentiment model
that just answered): the page then shows that model, says so, and offers a way back to the
list. Otherwise the model picker lists the models that read the text's language, the
best usable one first; a new language of the text (another example) re-picks the best
model for it, since the list changes.
"""

from __future__ import annotations

import streamlit as st

from core import registry
from core.attention import outside_the_list
from core.availability import availability
from ui.i18n import t
from ui.models import model_picker, reason_text


def choose_model(text_lang: str) -> str | None:
    """The key of the model to show, or ``None`` after saying why there is none."""
    linked = st.query_params.get("model")
    if linked and outside_the_list(linked):
        return _linked_model(linked)
    return model_picker("attention", text_lang, key="attn_model", languages=(text_lang,))


def _back_to_list() -> None:
    # ``?model=`` is the model picker's (ui.models writes it; it is not a bound widget):
    # without it the picker takes over. The inputs and options, bound to the URL, stay.
    st.query_params.pop("model", None)


def _linked_model(key: str) -> str | None:
    """Says which model is shown (named by the link) with a way back to the picker; the key
    when it can be used here, else ``None`` after saying why."""
    entry = registry.get(key)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption(t("attention.explicit_model", model=entry.name), width="content")
        st.button(t("attention.other_models"), key="attn_back", on_click=_back_to_list, type="tertiary", icon="↩️")
    av = availability(entry)
    if not av.usable:
        st.warning(t("picker.unusable", model=entry.name, reason=reason_text(av.code, av.params)), icon="⛔")
        return None
    return key
