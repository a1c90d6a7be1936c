"""Question answering: the answer highlighted inside the passage, English and Chinese.

The passage and question are bound to the URL (``?context=``, ``?question=``, also
``?top_k=``; ``?model=`` through the model picker), so a shared link reproduces them.
Online or with a cached span model the answer is an exact span; offline it comes from our
e5 span model, or the best sentence(s) when that cannot load (the page says so). A language
model (``make setup-llm``) answers with a quote of the passage, streamed as it is written;
"compare readers" (``?compare=true``) puts the span model and the language model side by side;
"why this answer?" (``?why=true``, off by default: it takes seconds) shows which words of the
question and the passage led the span model to its answer (:mod:`ui.qa_explain_view`).
"""

from __future__ import annotations

import streamlit as st

from core.qa import MAX_CONTEXT_CHARS, QAResult, answer_details, is_llm, readers_to_compare
from core.text import detect_language
from ui.api_view import body, show_api
from ui.i18n import lang, t
from ui.layout import page_header
from ui.model_history_view import show_training
from ui.models import model_picker, reason_text
from ui.qa_examples import EXAMPLES, OPTIONS, first_example, matching_example
from ui.qa_explain_view import show_why
from ui.qa_view import show_answer, show_comparison, show_prompt, stream_into
from ui.routing import use_navigation_routing
from ui.run import run_once

MAX_CHARS = MAX_CONTEXT_CHARS  # core's limit: longer passages are cut here, so core never refuses one

use_navigation_routing()  # first: a new server's first deep link is routed by app.py (see ui.routing)


def _use_example() -> None:
    """Picking an example fills the passage and the question."""
    choice = st.session_state["qa_example"]
    if choice in EXAMPLES:
        st.session_state["context"], st.session_state["question"] = EXAMPLES[choice]


def _to_custom() -> None:
    """Editing the passage or question makes it the visitor's own text."""
    texts = st.session_state.get("context", ""), st.session_state.get("question", "")
    st.session_state["qa_example"] = matching_example(*texts)


page_header(t("qa.title"), t("qa.subtitle"))
example_box = st.container()  # drawn above the texts, filled once their values are known
context_default, question_default = EXAMPLES[first_example(lang())]
bound = {"bind": "query-params", "on_change": _to_custom}  # kept in the URL; an edit makes it the visitor's text
left, right = st.columns([3, 2], gap="large")
with left:
    tips = {"placeholder": t("qa.context_placeholder"), "help": t("qa.context_help", max=MAX_CHARS)}
    raw_context = st.text_area(t("qa.context"), context_default, key="context", height=220, **tips, **bound)
    st.caption(t("qa.chars", n=len(raw_context), max=MAX_CHARS))
with right:
    question = st.text_input(
        t("qa.question"), question_default, key="question", placeholder=t("qa.question_placeholder"), **bound
    ).strip()
    chosen = model_picker("qa", detect_language(raw_context) if raw_context.strip() else lang(), key="qa_model")
    compare = st.toggle(t("qa.compare"), key="compare", bind="query-params", help=t("qa.compare_help"))
    why = st.toggle(t("qa.why"), key="why", bind="query-params", help=t("qa.why_help"))
    one = chosen is not None and is_llm(chosen)  # a language model gives one answer
    top_k = st.slider(
        t("qa.top_k"), 1, 5, 3, key="top_k", bind="query-params", help=t("qa.top_k_help"), disabled=one and not compare
    )

with example_box:
    st.selectbox(
        t("qa.example"),
        OPTIONS,
        index=OPTIONS.index(matching_example(raw_context, question)),
        key="qa_example",
        on_change=_use_example,
        help=t("qa.example_help"),
        format_func={k: t(f"qa.example.{k}") for k in OPTIONS}.__getitem__,  # this run's language, whenever called
    )

context = raw_context[:MAX_CHARS]
if len(raw_context) > MAX_CHARS:
    st.warning(t("qa.too_long", n=len(raw_context), max=MAX_CHARS), icon="✂️")


def _ask(model: str, *, slot: str | None = None) -> QAResult | None:
    """``answer_details`` through ``run_once``; a language model's answer streams into a card
    as it is written (the card gives way to the result)."""
    llm = is_llm(model)
    live = st.empty() if llm else None
    result = run_once(
        answer_details,
        question,
        context,
        model=model,
        top_k=top_k,
        slot=slot,
        stream=stream_into(live, t("qa.llm_label")) if live is not None else None,
        spinner=t("qa.llm_working" if llm else "qa.working"),
    )
    if live is not None:
        live.empty()
    return result


if not question or not context.strip():
    show_prompt(question, context)
elif compare:
    readers = readers_to_compare(context, chosen)
    span = _ask(readers.span, slot="qa-compare-span")
    llm = _ask(readers.llm, slot="qa-compare-llm") if readers.llm else None
    if span is not None:
        show_comparison(question, context, span, llm, reason_text(readers.code) if readers.code else "")
        if why:
            show_why(question, context, span)
        show_api("/api/qa", body(question=question, context=context, model=readers.llm or readers.span, top_k=top_k))
elif chosen is not None:  # None: the picker said why the chosen model cannot run
    result = _ask(chosen)
    if result is not None:
        show_answer(question, context, result)
        if why:
            show_why(question, context, result)
        explain = True if why else None
        show_api("/api/qa", body(question=question, context=context, model=chosen, top_k=top_k, explain=explain))
show_training("qa")  # how the model was trained (ui/model_history_view.py)
