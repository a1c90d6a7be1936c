"""Drawing a QA result: what to ask for, the answer card, runner-ups, the passage with its
answers highlighted (one colour per answer), notes, the attention link and the details.
Pure views: they take a :class:`core.qa.QAResult` and draw it; no model is called here.

Every piece of user text goes through ``html.escape``: a passage holding ``<script>`` or
``<b>`` shows those characters and runs nothing. The only script is our own, fixed one
that scrolls a long passage's box to the best answer.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Protocol

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core import registry
from core.qa import LEXICAL, QAResult
from core.text import split_sentences
from ui.i18n import t
from ui.layout import page_link_to
from ui.models import reason_text

# background, border: best answer first (amber), then blue, green, pink, violet
COLOURS: tuple[tuple[str, str], ...] = (
    ("#FDE68A", "#D97706"),
    ("#BFDBFE", "#2563EB"),
    ("#BBF7D0", "#16A34A"),
    ("#FBCFE8", "#DB2777"),
    ("#DDD6FE", "#7C3AED"),
)
MIN_ALTERNATIVE_SCORE = 0.005  # runner-ups below 0.5% are noise: not shown
ATTENTION_PAIR_CHARS = 300  # the attention page shows at most 128 tokens
LLM_EXCERPT_CHARS = 160  # a language model's chat turn adds its own tokens: a shorter excerpt
LONG_PASSAGE_CHARS = 1200  # longer passages get a scroll box opened at the best answer
BOX_HEIGHT_PX = 320


class SpanLike(Protocol):
    text: str
    start: int
    end: int
    score: float


def colour(rank: int) -> tuple[str, str]:
    return COLOURS[rank % len(COLOURS)]


def percent(score: float) -> str:
    p = max(0.0, min(1.0, float(score))) * 100
    return f"{p:.0f}%" if p >= 1 else "<1%"


def _mark(text: str, rank: int, score: float) -> str:
    bg, border = colour(rank)
    anchor = ' id="qa-best"' if rank == 0 else ""
    weight = "font-weight:600;" if rank == 0 else ""
    return (
        f'<mark{anchor} class="qa-ans qa-ans-{rank}" title="#{rank + 1} · {percent(score)}" '
        f'style="background:{bg};color:#1F2937;border-bottom:2px solid {border};border-radius:3px;padding:0 2px;{weight}">'
        f'{html.escape(text)}<sup style="color:{border};font-weight:700;margin-left:1px">{rank + 1}</sup></mark>'
    )


def _plain(context: str, a: int, b: int, read: Sequence[tuple[int, int]] | None) -> str:
    """``context[a:b]`` escaped; with ``read`` (the parts a model read), the rest dimmed."""
    if read is None:
        return html.escape(context[a:b])
    out, pos = [], a
    for s, e in sorted(read):
        s, e = max(s, a, pos), min(e, b)  # overlapping parts (two readers) are drawn once
        if s >= e:
            continue
        if pos < s:
            out.append(f'<span class="qa-unread" style="opacity:0.42">{html.escape(context[pos:s])}</span>')
        out.append(html.escape(context[s:e]))
        pos = e
    if pos < b:
        out.append(f'<span class="qa-unread" style="opacity:0.42">{html.escape(context[pos:b])}</span>')
    return "".join(out)


def highlight_html(
    context: str, answers: Sequence[SpanLike], read: Sequence[tuple[int, int]] | None = None, first_rank: int = 0
) -> str:
    """``context`` as escaped HTML with each answer wrapped in a coloured ``<mark>``.

    ``answers`` are best first; the rank (from ``first_rank``) decides the colour. Answers
    overlapping a better one, or with offsets outside ``context``, are left unmarked.
    ``read``: the parts of the passage a model read (a language model's parts, a span
    model's windows); the others are dimmed.
    """
    ranked: list[tuple[int, SpanLike]] = []
    for rank, a in enumerate(answers):
        if not (0 <= a.start < a.end <= len(context)):
            continue
        if any(a.start < b.end and b.start < a.end for _, b in ranked):
            continue
        ranked.append((rank, a))
    ranked.sort(key=lambda ra: ra[1].start)
    out: list[str] = []
    pos = 0
    for rank, a in ranked:
        out.append(_plain(context, pos, a.start, read))
        out.append(_mark(context[a.start : a.end], rank + first_rank, a.score))
        pos = a.end
    out.append(_plain(context, pos, len(context), read))
    return "".join(out)


_SCROLL_SCRIPT = """
<script>
(function () {
  const box = document.getElementById("%(box)s");
  if (!box) return;
  const best = box.querySelector("#qa-best");
  if (!best) return;
  const go = () => { box.scrollTop = Math.max(0, best.offsetTop - box.offsetTop - box.clientHeight / 3); };
  go(); setTimeout(go, 150);
})();
</script>
"""


def passage_html(
    context: str,
    answers: Sequence[SpanLike],
    *,
    box_id: str = "qa-passage",
    read: Sequence[tuple[int, int]] | None = None,
    first_rank: int = 0,
) -> tuple[str, bool]:
    """The highlighted passage in a box, and whether the box scrolls (long passages).

    A long passage's box has a fixed height and a small script of ours scrolls it to the
    best answer; the returned flag says whether that script is included.
    """
    scrolls = len(context) > LONG_PASSAGE_CHARS and bool(answers)
    height = f"max-height:{BOX_HEIGHT_PX}px;overflow-y:auto;" if len(context) > LONG_PASSAGE_CHARS else ""
    box = (
        f'<div id="{box_id}" class="qa-passage" style="{height}position:relative;white-space:pre-wrap;'
        "word-break:break-word;line-height:1.75;font-size:1rem;padding:0.9rem 1.1rem;"
        'border:1px solid rgba(128,128,128,0.25);border-radius:0.6rem;background:rgba(128,128,128,0.04)">'
        f"{highlight_html(context, answers, read, first_rank)}</div>"
    )
    if scrolls:
        box += _SCROLL_SCRIPT % {"box": box_id}
    return box, scrolls


def _card_html(label: str, text_html: str, footer_html: str, *, rank: int = 0, tint: str = "33", cls: str = "") -> str:
    """The answer card's frame: a bar in the colour of ``rank``, a small label, the answer
    large, then ``footer_html`` (all given text already escaped)."""
    bg, border = colour(rank)
    css_class = f' class="{cls}"' if cls else ""
    return (
        f'<div{css_class} style="border-left:6px solid {border};background:{bg}{tint};border-radius:0.6rem;'
        'padding:0.8rem 1.1rem;margin:0.4rem 0 0.8rem 0">'
        f'<div style="font-size:0.85rem;opacity:0.75;margin-bottom:0.2rem">{html.escape(label)}</div>'
        f'<div style="font-size:1.35rem;font-weight:650;line-height:1.4;word-break:break-word">{text_html}</div>'
        f"{footer_html}</div>"
    )


def answer_card_html(label: str, answer: SpanLike, confidence: str, rank: int = 0) -> str:
    """The best answer, large, with its confidence as a bar (in the colour of ``rank``)."""
    border = colour(rank)[1]
    p = max(0.0, min(1.0, float(answer.score))) * 100
    bar = (
        f'<div style="display:flex;align-items:center;gap:0.6rem;margin-top:0.45rem">'
        f'<div style="flex:0 0 180px;height:8px;border-radius:4px;background:rgba(128,128,128,0.2)">'
        f'<div style="width:{p:.1f}%;height:8px;border-radius:4px;background:{border}"></div></div>'
        f'<span style="font-size:0.9rem;opacity:0.85">{html.escape(confidence)}</span></div>'
    )
    return _card_html(label, html.escape(answer.text), bar, rank=rank)


def streaming_card_html(label: str, text: str, status: str) -> str:
    """The answer card while a language model writes it: the text so far and a cursor."""
    cursor = f'<span style="color:{colour(0)[1]}">▍</span>'
    footer = f'<div style="font-size:0.85rem;opacity:0.7;margin-top:0.3rem">{html.escape(status)}</div>'
    return _card_html(label, html.escape(text) + cursor, footer, tint="22", cls="qa-streaming")


def alternatives_html(answers: Sequence[SpanLike], *, first_rank: int = 1, max_chars: int = 90) -> str:
    """Chips for the runner-up answers, each in the colour of its highlight."""
    chips = []
    for i, a in enumerate(answers):
        rank = first_rank + i
        bg, border = colour(rank)
        text = a.text if len(a.text) <= max_chars else a.text[: max_chars - 1] + "…"
        chips.append(
            f'<span style="display:inline-block;margin:0 0.4rem 0.4rem 0;padding:0.2rem 0.6rem;border-radius:1rem;'
            f'background:{bg};border:1px solid {border};color:#1F2937">'
            f'<b style="color:{border}">{rank + 1}</b> {html.escape(text)} '
            f'<span style="opacity:0.7">· {percent(a.score)}</span></span>'
        )
    return "<div>" + "".join(chips) + "</div>"


# ---- the page's views ----------------------------------------------------------------


def model_label(key: str) -> str:
    """A model's name for the visitor (lexical retrieval has no registry entry)."""
    return t("model.lexical") if key == LEXICAL else registry.get(key).name


def show_prompt(question: str, context: str) -> None:
    """What to do next when the question or the passage is empty."""
    if not question.strip() and not context.strip():
        st.info(t("qa.empty_both"), icon="👋")
    elif not context.strip():
        st.info(t("qa.empty_context"), icon="📄")
    else:
        st.info(t("qa.empty_question"), icon="💬")


def attention_pair(context: str, result: QAResult) -> str:
    """The passage for the attention page: all of it when short, else the best answer's sentence."""
    if len(context) <= ATTENTION_PAIR_CHARS or not result.answers:
        return context[:ATTENTION_PAIR_CHARS]
    best = result.answers[0]
    for a, b in split_sentences(context):
        if a <= best.start < b:
            return context[a : max(b, best.end)][:ATTENTION_PAIR_CHARS]
    return context[best.start : best.end][:ATTENTION_PAIR_CHARS]


def _how_notice(result: QAResult) -> None:
    """Sentence retrieval answered: say how it ranks, and why no span model answered."""
    if "model-language" in result.notes:
        st.caption(
            t("qa.note.model-language", model=model_label(result.requested), lang_name=t(f"lang.{result.language}"))
        )
    how = t("qa.how_lexical") if result.model == LEXICAL else t("qa.how_encoder", model=model_label(result.model))
    if result.fallback:
        why = reason_text(result.fallback, fallback=t("qa.why.span-model-unavailable"))
        st.warning(t("qa.fallback", model=model_label(result.fallback_from), how=how, why=why), icon="📴")
    else:
        st.info(t("qa.sentence_mode", how=how), icon="📴")


def _answers(result: QAResult) -> list:
    """The answers to show and highlight: the best, and runner-ups that are not noise."""
    if result.no_answer or not result.answers:
        return []
    best = result.answers[0]
    return [best, *(a for a in result.answers[1:] if a.score >= MIN_ALTERNATIVE_SCORE)]


def show_answer(question: str, context: str, result: QAResult) -> None:
    """The whole result: notices, the answer card and runner-ups, the highlighted passage,
    the attention link, who answered and the details."""
    if result.mode == "sentence":
        _how_notice(result)
    if result.weak and result.answers:
        st.warning(t("qa.weak", p=percent(result.answers[0].score)), icon="🤔")
    shown = _answers(result)
    if _best_answer(result, shown):
        if len(shown) > 1:
            st.markdown(f"**{t('qa.alternatives')}**")
            st.html(alternatives_html(shown[1:]))
        if len(shown) < len(result.answers):
            st.caption(t("qa.hidden_alternatives", n=len(result.answers) - len(shown)))
    if result.mode == "llm":
        st.caption(llm_reading_note(context, result) + " " + t("qa.llm_constrained"))
    elif note := span_reading_note(context, result):
        st.caption(note)
    st.markdown(f"**{t('qa.in_passage')}**")
    box, scrolls = passage_html(context, shown, read=unread_shading(context, result))
    st.html(box, unsafe_allow_javascript=scrolls)
    page_link_to("attention", t("common.view_attention"), attention_link(question, context, result), icon="🔍")
    st.caption(t("qa.answered_by", model=model_label(result.model)))
    show_details(result)


def answer_label(mode: str) -> str:
    """What the answer card calls its answer: a span, a language model's quote, a sentence."""
    return {"span": t("qa.answer"), "llm": t("qa.llm_label")}.get(mode, t("qa.sentence_label"))


def _best_answer(result: QAResult, shown: Sequence[SpanLike], rank: int = 0) -> bool:
    """The best answer's card (in the colour of ``rank``), or why there is none; whether
    there was one."""
    if result.no_answer:
        st.warning(t("qa.no_answer", p=percent(result.null_score)), icon="🤷")
    elif not shown:
        st.warning(t("qa.nothing_found"), icon="🤷")
    else:
        best = shown[0]
        st.html(answer_card_html(answer_label(result.mode), best, confidence_text(result.mode, best.score), rank))
        return True
    return False


def device_text(device: str) -> str:
    """A result's device as shown: "CPU", or the accelerator's own name ("cuda:0")."""
    return device.upper() if device == "cpu" else device


def confidence_text(mode: str, score: float) -> str:
    """What the score under an answer means: a span model's confidence, or for a language
    model the mean probability of the words it chose (high even when it is wrong)."""
    return t("qa.llm_confidence" if mode == "llm" else "qa.confidence", p=percent(score))


def _read_whole(context: str, result: QAResult) -> bool:
    """Did the model read all of the passage (no parts named, or parts that add up to the whole)?"""
    return not result.segments or sum(e - s for s, e in result.segments) >= len(context.strip())


def llm_reading_note(context: str, result: QAResult) -> str:
    """Which parts of the passage the language model read, in words."""
    chars = sum(e - s for s, e in result.segments)
    if len(result.segments) <= 1 and _read_whole(context, result):
        return t("qa.llm_read_all", chars=f"{len(context):,}")
    return t("qa.llm_read_parts", n=len(result.segments), chars=f"{chars:,}", total=f"{len(context):,}")


def span_reading_note(context: str, result: QAResult) -> str:
    """How much of a long passage the span model read (its best windows), in words; empty
    when it read all of it."""
    if result.mode != "span" or _read_whole(context, result):
        return ""
    return t(
        "qa.span_read_parts",
        n=result.windows,
        total=result.windows_total,
        tokens=result.window_tokens,
        chars=f"{sum(e - s for s, e in result.segments):,}",
        total_chars=f"{len(context):,}",
    )


def unread_shading(context: str, result: QAResult) -> tuple[tuple[int, int], ...] | None:
    """The parts to leave undimmed: what a language model or a span model read, when it did
    not read it all."""
    if result.mode not in ("llm", "span") or _read_whole(context, result):
        return None
    return result.segments


def _shading_both(context: str, span: QAResult, llm: QAResult | None) -> tuple[tuple[int, int], ...] | None:
    """Compare readers: the language model's parts when the span model read everything (its
    caption says which), else what either of them read (the rest is dimmed)."""
    ours = unread_shading(context, span)
    theirs = unread_shading(context, llm) if llm is not None else None
    if ours is None or llm is None:
        return theirs if ours is None else ours
    return None if theirs is None else tuple(sorted(ours + theirs))


def attention_link(question: str, context: str, result: QAResult) -> dict[str, str]:
    """The attention page's parameters for this answer: the question and the answer's passage
    for an encoder; for a language model, its last chat turn as it read it (the answer's
    sentence and the question) followed by its answer."""
    if result.mode == "llm" and result.answers:
        from core.llm.reader import attention_prompt

        excerpt = attention_pair(context, result)[:LLM_EXCERPT_CHARS]
        text = attention_prompt(question, excerpt, result.answers[0].text, result.language)
        return {"text": text, "model": result.model}
    link = {"text": question, "pair": attention_pair(context, result)}
    if result.attention_model:
        link["model"] = result.attention_model  # the QA model's own attention
    return link


def stream_into(slot: DeltaGenerator, label: str) -> Callable[[str], None]:
    """A callback that draws a language model's answer into ``slot`` (an ``st.empty()``)
    as it grows."""

    def show(text: str) -> None:
        slot.html(streaming_card_html(label, text, t("qa.llm_streaming")))

    return show


def _agreement(a: QAResult, b: QAResult) -> str:
    if not a.answers or not b.answers:
        return ""
    x, y = a.answers[0], b.answers[0]
    if (x.start, x.end) == (y.start, y.end):
        return t("qa.compare_agree")
    if x.start < y.end and y.start < x.end:
        return t("qa.compare_overlap")
    return t("qa.compare_differ")


def show_comparison(question: str, context: str, span: QAResult, llm: QAResult | None, why_no_llm: str) -> None:
    """The span model and the language-model reader side by side: each one's answer, score
    and latency, then the passage with both answers highlighted (amber: span model, blue:
    language model)."""
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown(f"**{t('qa.compare_span')}** · {model_label(span.model)}")
        _compare_card(span)
    with right:
        if llm is None:
            st.markdown(f"**{t('qa.compare_llm')}**")
            st.info(t("qa.compare_no_llm", reason=why_no_llm), icon="📦")
        else:
            st.markdown(f"**{t('qa.compare_llm')}** · {model_label(llm.model)}")
            _compare_card(llm, rank=1)
    if llm is not None:
        if note := _agreement(span, llm):
            st.caption(note)
        st.caption(llm_reading_note(context, llm) + " " + t("qa.llm_constrained"))
    if note := span_reading_note(context, span):
        st.caption(note)
    st.markdown(f"**{t('qa.in_passage')}**")
    both = _answers(span)[:1]
    marks = both + ([llm.answers[0]] if llm is not None and llm.answers else [])
    shading = _shading_both(context, span, llm)
    box, scrolls = passage_html(context, marks, read=shading, first_rank=0 if both else 1)
    st.html(box, unsafe_allow_javascript=scrolls)
    if llm is not None:
        st.caption(t("qa.compare_legend", first=model_label(span.model), second=model_label(llm.model)))
        page_link_to("attention", t("common.view_attention"), attention_link(question, context, llm), icon="🔍")


def _compare_card(result: QAResult, rank: int = 0) -> None:
    """One reader's column: its best answer (in its highlight colour), confidence and timing."""
    _best_answer(result, _answers(result)[:1], rank)
    timing = t("qa.compare_latency", ms=f"{result.latency_ms:,.0f}")
    if result.mode == "llm":
        timing += " · " + t("qa.compare_first_token", ms=f"{result.first_token_ms:,.0f}")
    st.caption(f"⏱️ {timing} · {device_text(result.device)}")


def _count(result: QAResult) -> str:
    """Windows (span), parts (language model) or sentences: "3 of 41 read" when a span model
    read only some of a long passage's windows."""
    if result.mode == "span" and result.windows_total > result.windows:
        return t("qa.d_windows_read", n=result.windows, total=result.windows_total)
    return str(result.windows)


def show_details(result: QAResult) -> None:
    """Model, method, device, windows or sentences, latency, language and notes."""
    span = result.mode == "span"
    llm = result.mode == "llm"
    mode = t("qa.d_mode_llm") if llm else t("qa.d_mode_span") if span else t("qa.d_mode_sentence")
    count = t("qa.d_parts") if llm else t("qa.d_windows", n=result.window_tokens) if span else t("qa.d_sentences")
    rows = [
        (t("qa.d_model"), model_label(result.model)),
        (t("qa.d_mode"), mode),
        (t("qa.d_device"), device_text(result.device)),
        (count, _count(result)),
        (t("qa.d_latency"), f"{result.latency_ms:.0f} ms"),
        (t("qa.d_language"), t(f"lang.{result.language}")),
    ]
    if llm:
        rows.insert(5, (t("qa.d_first_token"), f"{result.first_token_ms:.0f} ms"))
        rows.insert(6, (t("qa.d_tokens"), str(result.tokens)))
    if "question-cut" in result.notes:
        rows.append((t("qa.d_note"), t("qa.note.question-cut", n=result.question_tokens)))
    with st.expander(t("qa.details")):
        st.markdown("\n".join(f"- **{name}:** {value}" for name, value in rows))
