"""Safe HTML for the QA page: a passage with its answers highlighted, one colour per answer.

Every piece of user text goes through ``html.escape``: a passage holding ``<script>`` or
``<b>`` shows those characters and runs nothing. The only script is our own, fixed one
that scrolls a long passage's box to the best answer.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Protocol

# background, border: best answer first (amber), then blue, green, pink, violet
COLOURS: tuple[tuple[str, str], ...] = (
    ("#FDE68A", "#D97706"),
    ("#BFDBFE", "#2563EB"),
    ("#BBF7D0", "#16A34A"),
    ("#FBCFE8", "#DB2777"),
    ("#DDD6FE", "#7C3AED"),
)
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
        f"{html.escape(text)}<sup style=\"color:{border};font-weight:700;margin-left:1px\">{rank + 1}</sup></mark>"
    )


def highlight_html(context: str, answers: Sequence[SpanLike]) -> str:
    """``context`` as escaped HTML with each answer wrapped in a coloured ``<mark>``.

    ``answers`` are best first; the rank decides the colour. Answers overlapping a
    better one, or with offsets outside ``context``, are left unmarked.
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
        out.append(html.escape(context[pos : a.start]))
        out.append(_mark(context[a.start : a.end], rank, a.score))
        pos = a.end
    out.append(html.escape(context[pos:]))
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


def passage_html(context: str, answers: Sequence[SpanLike], *, box_id: str = "qa-passage") -> tuple[str, bool]:
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
        f"{highlight_html(context, answers)}</div>"
    )
    if scrolls:
        box += _SCROLL_SCRIPT % {"box": box_id}
    return box, scrolls


def answer_card_html(label: str, answer: SpanLike, confidence: str) -> str:
    """The best answer, large, with its confidence as a bar."""
    bg, border = colour(0)
    p = max(0.0, min(1.0, float(answer.score))) * 100
    return (
        f'<div style="border-left:6px solid {border};background:{bg}33;border-radius:0.6rem;padding:0.8rem 1.1rem;'
        'margin:0.4rem 0 0.8rem 0">'
        f'<div style="font-size:0.85rem;opacity:0.75;margin-bottom:0.2rem">{html.escape(label)}</div>'
        f'<div style="font-size:1.35rem;font-weight:650;line-height:1.4;word-break:break-word">{html.escape(answer.text)}</div>'
        f'<div style="display:flex;align-items:center;gap:0.6rem;margin-top:0.45rem">'
        f'<div style="flex:0 0 180px;height:8px;border-radius:4px;background:rgba(128,128,128,0.2)">'
        f'<div style="width:{p:.1f}%;height:8px;border-radius:4px;background:{border}"></div></div>'
        f'<span style="font-size:0.9rem;opacity:0.85">{html.escape(confidence)}</span></div></div>'
    )


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
