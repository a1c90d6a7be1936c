"""Text classification: sentiment of one text (with why), of many texts / a CSV file, and
labels of your own (zero-shot), in English and Chinese.

Inputs bound to the URL: ``?text=`` (the one text), ``?manual=`` (choose the model
myself; ``?model=`` through the model picker), ``?zs_text=`` and ``?zs_labels=``. Only the
open tab runs.
"""

from __future__ import annotations

import streamlit as st

from core.classify import parse_labels, sentiment_details, zero_shot_details
from core.text import detect_language
from ui.api_view import body, show_api
from ui.classify_batch import batch_input, run_batch
from ui.classify_examples import EXAMPLES, first_example, zero_shot_example
from ui.classify_explain import method_picker
from ui.classify_view import lang_name, show_batch, show_sentiment, show_zero_shot, show_zero_shot_missing
from ui.i18n import lang, t
from ui.layout import page_header
from ui.model_history_view import show_training
from ui.models import model_picker
from ui.routing import use_navigation_routing
from ui.run import run_once
from ui.train_own import show_sentiment_line

MAX_CHARS = 5_000

use_navigation_routing()  # first: a new server's first deep link is routed by app.py (see ui.routing)


def _use_example(key: str) -> None:
    st.session_state["text"] = EXAMPLES[key]


def _zero_shot_in_english() -> None:
    st.session_state["zs_text"], st.session_state["zs_labels"] = zero_shot_example("en")


def _model_choice(text_lang: str) -> tuple[bool, str | None]:
    """The model for the one-text and batch tabs: (usable, key or None for automatic)."""
    left, right = st.columns([1, 2], vertical_alignment="center")
    if not left.toggle(
        t("classify.choose_model"), key="manual", bind="query-params", help=t("classify.choose_model_help")
    ):
        return True, None
    with right:
        chosen = model_picker("sentiment", text_lang, key="cls_model")
    return chosen is not None, chosen


def _one_text() -> None:
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption(t("classify.examples"), width="content")
        for k in EXAMPLES:
            st.button(t(f"classify.example.{k}"), key=f"cls_ex_{k}", on_click=_use_example, args=(k,), type="tertiary")
    raw = st.text_area(
        t("classify.text"),
        value=first_example(lang()),
        key="text",
        bind="query-params",
        height=130,
        placeholder=t("classify.text_placeholder"),
    ).strip()
    text_lang = detect_language(raw) if raw else lang()
    st.caption(t("classify.chars", n=len(raw), lang=lang_name(text_lang)))
    ok, model = _model_choice(text_lang)
    method = method_picker()
    if not raw:
        st.info(t("classify.empty"), icon="👋")
        return
    if len(raw) > MAX_CHARS:
        st.warning(t("classify.too_long_input", max=MAX_CHARS), icon="✂️")
    text = raw[:MAX_CHARS]
    result = (
        run_once(sentiment_details, text, model=model, method=method, spinner=t("classify.working")) if ok else None
    )
    if result is not None:
        show_sentiment(text, result)
        show_sentiment_line(text)  # this visitor's trained sentiment model, if any
        show_api("/api/explain", body(text=text, model=model, method=None if method == "auto" else method))


def _many_texts() -> None:
    ok, model = _model_choice(lang())
    batch = batch_input()
    done = run_batch(batch, model) if batch is not None and ok else None
    if batch is not None and done is not None:
        show_batch(batch.rows, batch.column, *done)
        _explain_row(batch.rows[batch.column].astype(str).tolist(), model)


def _explain_row(texts: list[str], model: str | None) -> None:
    """ "Explain a row": one row of the batch classified again and explained word by word."""
    st.markdown(f"**{t('classify.explain_row')}**", help=t("classify.explain_row_help"))
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    row = left.number_input(t("classify.explain_row_number"), 1, len(texts), 1, key="explain_row")
    with right:
        method = method_picker()
    text = texts[int(row) - 1].strip()[:MAX_CHARS]
    if not text:
        st.info(t("classify.explain_row_empty"), icon="🤷")
        return
    result = run_once(sentiment_details, text, model=model, method=method, slot="explain_row")
    if result is not None:
        show_sentiment(text, result, chart_key="cls_row_chart")


def _own_labels() -> None:
    st.caption(t("classify.zs_intro"))
    text_default, labels_default = zero_shot_example(lang())
    text = st.text_area(t("classify.zs_text"), value=text_default, key="zs_text", bind="query-params", height=100)
    labels = parse_labels(
        st.text_input(t("classify.zs_labels"), value=labels_default, key="zs_labels", bind="query-params")
    )
    if not text.strip():
        st.info(t("classify.zs_empty"), icon="👋")
    elif len(labels) < 2:
        st.info(t("classify.zs_need_two"), icon="🏷️")
    elif (result := run_once(zero_shot_details, text.strip()[:MAX_CHARS], labels)) is not None:
        if result.prediction is None:
            show_zero_shot_missing(result)
            st.button(t("classify.zs_try_en"), key="cls_zs_try_en", on_click=_zero_shot_in_english, icon="🇬🇧")
        else:
            show_zero_shot(result)
            show_api("/api/zero-shot", body(text=text.strip()[:MAX_CHARS], labels=labels))


page_header(t("classify.title"), t("classify.subtitle"))
one, many, own = st.tabs(
    [t("classify.tab_single"), t("classify.tab_batch"), t("classify.tab_zeroshot")], key="cls_tab", on_change="rerun"
)
for tab, draw in ((one, _one_text), (many, _many_texts), (own, _own_labels)):
    if tab.open:
        with tab:
            draw()
show_training("sentiment")  # how the model was trained (ui/model_history_view.py)
