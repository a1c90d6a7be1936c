"""The Q&A page's "Why this answer?": the question and the passage window tinted by each
word's Integrated Gradients weight for the shown answer (:mod:`core.qa.explain`).

One diverging scale for both texts, centred on zero: orange where a word pushed towards the
answer, blue where it pushed against it, white at zero; the answer is underlined. Passage
text outside the explained window is not drawn (an ellipsis stands for it). The HTML
builders are pure functions (escaped); :func:`show_why` is what the page calls.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import streamlit as st

from core.qa import QAResult
from core.qa.explain import QAExplanation, explain_answer, explain_code
from ui.i18n import t
from ui.run import run_once

FOR = (234, 88, 12)  # orange: towards the answer
AGAINST = (37, 99, 235)  # blue: against it

STYLE = (
    "<style>.qa-why{font-size:1.05rem;line-height:2.0;padding:0.6rem 0.9rem;border-radius:0.5rem;"
    "border:1px solid rgba(128,128,128,0.3);word-break:break-word;margin-bottom:0.4rem}"
    ".qa-why .w{border-radius:0.2rem;padding:0.08rem 0.02rem}"
    ".qa-why .ans,.qa-why-ans{border-bottom:3px solid currentColor}"
    ".qa-why .gap{opacity:0.5}"
    ".qa-why-legend{font-size:0.85rem;opacity:0.85;display:flex;align-items:center;gap:0.5rem;flex-wrap:wrap}"
    ".qa-why-bar{display:inline-block;width:9rem;height:0.8rem;border-radius:0.3rem;"
    "border:1px solid rgba(128,128,128,0.3)}</style>"
)


def scale_of(*weight_lists: Sequence[float]) -> float:
    """The largest absolute weight of all lists (1.0 when all are 0): one colour scale for all."""
    return max((abs(w) for ws in weight_lists for w in ws), default=0.0) or 1.0


def tint(weight: float, top: float) -> str:
    """The background of a word of ``weight`` on a scale whose extreme is ``top``: ``rgba(...)``."""
    r, g, b = FOR if weight > 0 else AGAINST
    alpha = 0.08 + 0.72 * min(abs(weight) / top, 1.0)
    return f"rgba({r},{g},{b},{alpha:.2f})"


def words_html(
    pieces: Sequence[str],
    weights: Sequence[float],
    top: float,
    *,
    answer: tuple[int, int] | None = None,
    window: tuple[int, int] | None = None,
) -> str:
    """The text of ``pieces`` with each word tinted by its weight (title: the weight), the
    characters ``answer`` underlined, only the characters ``window`` drawn (an ellipsis for the
    rest). Escaped."""
    out: list[str] = []
    pos = 0
    lo, hi = window if window is not None else (0, sum(len(p) for p in pieces))
    for piece, w in zip(pieces, weights):
        a, b = pos, pos + len(piece)
        pos = b
        if b <= lo or a >= hi:
            continue
        text = html.escape(piece).replace("\n", "<br>")
        cls = ["w"]
        if answer is not None and a < answer[1] and answer[0] < b:
            cls.append("ans")
        if abs(w) < 1e-6 or not piece.strip():
            out.append(f'<span class="{" ".join(cls[1:])}">{text}</span>' if len(cls) > 1 else text)
            continue
        title = html.escape(f"{w:+.3f}")
        out.append(f'<span class="{" ".join(cls)}" style="background:{tint(w, top)}" title="{title}">{text}</span>')
    total = pos
    before = '<span class="gap">… </span>' if lo > 0 else ""
    after = '<span class="gap"> …</span>' if hi < total else ""
    return f'<div class="qa-why">{before}{"".join(out)}{after}</div>'


def legend_html(top: float) -> str:
    """The colour scale, from -``top`` (against) through 0 to +``top`` (towards the answer)."""
    ar, ag, ab = AGAINST
    fr, fg, fb = FOR
    bar = (
        f'<span class="qa-why-bar" style="background:linear-gradient(90deg,rgba({ar},{ag},{ab},0.8),'
        f'rgba({ar},{ag},{ab},0.08) 49%,rgba(255,255,255,0) 50%,rgba({fr},{fg},{fb},0.08) 51%,rgba({fr},{fg},{fb},0.8))"></span>'
    )
    return (
        f'<div class="qa-why-legend"><span>{html.escape(t("qa.why_legend_against"))} −{top:.2f}</span>{bar}'
        f"<span>+{top:.2f} {html.escape(t('qa.why_legend_for'))}</span>"
        f'<span style="margin-left:1rem" class="qa-why-ans">{html.escape(t("qa.why_legend_answer"))}</span></div>'
    )


def _figure(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def caption_text(e: QAExplanation) -> str:
    """The method, its completeness error and the faithfulness figures in one line."""
    p = e.passage
    return t(
        "qa.why_caption",
        steps=e.steps,
        error=_figure(p.completeness_error, ".1%"),
        drop=_figure(p.drop, ".1%"),
        random=_figure(p.random_drop, ".1%"),
        seconds=e.seconds,
    )


def show_explanation(e: QAExplanation) -> None:
    """The question and the passage window tinted, the legend and the caption."""
    top = scale_of(e.question.weights, e.passage.weights)
    st.markdown(STYLE, unsafe_allow_html=True)
    st.markdown(f"**{t('qa.why_question')}**")
    st.markdown(words_html(e.question.pieces, e.question.weights, top), unsafe_allow_html=True)
    st.markdown(f"**{t('qa.why_passage')}**")
    st.markdown(
        words_html(e.passage.pieces, e.passage.weights, top, answer=(e.answer.start, e.answer.end), window=e.window),
        unsafe_allow_html=True,
    )
    st.markdown(legend_html(top), unsafe_allow_html=True)
    st.caption(caption_text(e))
    if "outside-window" in e.passage.notes:
        st.caption(t("qa.why_outside"))
    if "question-cut" in e.question.notes:
        st.caption(t("qa.why_question_cut"))


def show_why(question: str, context: str, result: QAResult) -> None:
    """The "Why this answer?" expander for ``result``'s top answer: explained through ``run_once`` (once per
    inputs and session), or why it cannot be (a language model's answer, no answer)."""
    with st.expander(t("qa.why"), expanded=True):
        code = explain_code(result)
        if code == "not-available":
            st.info(t("qa.why_llm" if result.mode == "llm" else "qa.why_sentence"), icon="ℹ️")
            return
        if code == "no-answer":
            st.info(t("qa.why_no_answer"), icon="ℹ️")
            return
        e = run_once(explain_answer, question, context, result, slot="qa-why", spinner=t("qa.why_working"))
        if e is not None:
            show_explanation(e)
