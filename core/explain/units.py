"""Units a person reads: the words an explanation weighs and deletes.

- Chinese (runs of CJK characters): words from jieba (``jieba.tokenize``, the default
  dictionary, loaded once per process on first use, about 1 s); where jieba cannot be loaded
  or fails, single characters (note ``char-fallback``).
- Everything else: words (letters with inner apostrophes or hyphens: ``don't``,
  ``well-made``), numbers, and each other visible symbol (punctuation, emoji) on its own.

Whitespace is never a unit. Deleting a unit (:func:`delete`) removes exactly its characters
(a space stands in between two non-CJK neighbours), so a word is never split.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Sequence
from typing import Any

from core.text import is_cjk

Span = tuple[int, int]  # [start, end) character offsets in the text

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+")
_OTHER = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*|\d+(?:[.,:]\d+)*|[^\w\s]")
_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _jieba() -> Any:
    """The jieba tokenizer of this process, its dictionary loaded once (thread-safe)."""
    with _LOCK:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        return jieba


def _cjk_words(text: str, start: int, end: int) -> tuple[list[Span], bool]:
    """jieba words of ``text[start:end]`` (a run of CJK characters) as absolute spans, and
    whether it fell back to characters."""
    try:
        jb = _jieba()
        spans = [(start + a, start + b) for _, a, b in jb.tokenize(text[start:end])]
        if spans and spans[0][0] == start and spans[-1][1] == end:
            return spans, False
    except Exception:
        pass
    return [(i, i + 1) for i in range(start, end)], True


def words(text: str) -> tuple[list[Span], bool]:
    """The units of ``text`` in order, as character spans, and whether any Chinese run fell
    back to single characters."""
    spans: list[Span] = []
    fallback = False
    pos = 0
    for m in _CJK_RUN.finditer(text):
        spans += [x.span() for x in _OTHER.finditer(text, pos, m.start())]
        cjk, fb = _cjk_words(text, m.start(), m.end())
        spans += cjk
        fallback = fallback or fb
        pos = m.end()
    spans += [x.span() for x in _OTHER.finditer(text, pos)]
    return spans, fallback


def delete(text: str, spans: Sequence[Span], keep: Sequence[bool]) -> str:
    """``text`` without the units whose ``keep`` is false. A deleted unit leaves a space when
    it is not CJK (so its neighbours do not merge into one word), nothing when it is."""
    out: list[str] = []
    pos = 0
    for (a, b), k in zip(spans, keep):
        out.append(text[pos:a])
        if k:
            out.append(text[a:b])
        elif not is_cjk(text[a]):
            out.append(" ")
        pos = b
    out.append(text[pos:])
    return "".join(out)


def pieces(text: str, spans: Sequence[Span], weights: Sequence[float]) -> tuple[list[str], list[float]]:
    """``text`` cut into pieces in order, each unit with its weight and the text between
    units (whitespace) with 0, so ``"".join(pieces) == text``."""
    out: list[str] = []
    ws: list[float] = []
    pos = 0
    for (a, b), w in zip(spans, weights):
        if a > pos:
            out.append(text[pos:a])
            ws.append(0.0)
        out.append(text[a:b])
        ws.append(float(w))
        pos = b
    if pos < len(text):
        out.append(text[pos:])
        ws.append(0.0)
    return out, ws


def token_to_units(offsets: Sequence[tuple[int, int]], spans: Sequence[Span]) -> list[list[tuple[int, float]]]:
    """For each token (character ``offsets`` in the text; ``(0, 0)`` for special tokens), the
    units it overlaps and the share of its characters in each (a SentencePiece token that
    spans two jieba words gives each its share), so token attributions sum to unit ones."""
    starts = [a for a, _ in spans]
    out: list[list[tuple[int, float]]] = []
    import bisect

    for a, b in offsets:
        if b <= a:
            out.append([])
            continue
        hits: list[tuple[int, float]] = []
        i = max(0, bisect.bisect_right(starts, a) - 1)
        while i < len(spans) and spans[i][0] < b:
            overlap = min(b, spans[i][1]) - max(a, spans[i][0])
            if overlap > 0:
                hits.append((i, float(overlap)))
            i += 1
        total = sum(w for _, w in hits)
        out.append([(i, w / total) for i, w in hits] if total else [])
    return out
