"""How much of a passage the span model reads: a bounded passage, and of a long one only the
windows most likely to hold the answer.

The span model (:mod:`core.qa.span`) reads a passage in overlapping windows of 256 tokens
(stride 128): 4,000 English characters are 8 windows, 20,000 are 41, and 20,000 Chinese
characters 101 (0.1-0.2 s each on a 2-core CPU). Reading all of them made a long passage
slow. So:

- a passage longer than :data:`MAX_CONTEXT_CHARS` is refused (:class:`PassageTooLong`, code
  ``"passage-too-long"``): the work per request is bounded, and the page and the API cap at
  this same number;
- a passage of more than :data:`READ_WINDOWS` windows is tokenised whole (15 ms for 20,000
  English characters, 46 ms for Chinese), its windows are ranked by the words they share with
  the question (:func:`rank_windows`, 17-29 ms), only the best :data:`READ_WINDOWS` go through
  the model, and their answers are weighed by that ranking (:func:`with_prior`, in the
  manner of BERTserini's retriever + reader score). A shorter passage is read whole, exactly
  as before.

Measured on long VALIDATION passages (``harness/qa_long.py``; shipped ``qa-e5``; EM / F1,
every window as before -> the best 3 with the prior): SQuAD train articles 426-441 joined and
cut at 20,000 characters (median 41 windows, n=96) 22.9 / 33.0 -> 39.6 / 56.5; COVID-QA
articles 90-95 (38 windows, n=80) 12.5 / 28.0 -> 18.8 / 38.8; CMRC 2018 train articles 2103+
joined into 10,000 characters (68 windows, n=72) 55.6 / 70.8 -> 65.3 / 81.5; DRCD validation
articles (9 windows, n=80) 53.8 / 71.9 -> 57.5 / 76.3. Read whole, the model spreads its
probability over many unrelated windows and a confident wrong span there often wins; every
window *with* the same prior gives F1 58.0 / 37.9 / 81.5 / 77.5, so reading 3 costs at most
1.5 F1 against the best use of all of them. Without the prior, 3 windows gave F1 51.2 / 34.6
/ 78.6 / 72.3 (5 windows: 45.4 / 31.9 / 75.4 / 72.9); its weight was flat between 1 and 2
(1.5 chosen). More than 3 windows would not fit the time (4,000 characters <= 400 ms: 3
windows of about 0.1 s each, tokenising and ranking included).

Ranking with the e5 embeddings (as the LLM reader does, :func:`core.llm.reader.select_segments`)
was measured and not taken: embedding a passage costs about as much as reading it with the
span model (same encoder size): 1.5 s for 4,000 characters and 6.3 s for 20,000 in 400-character
pieces, 0.7-0.95x of reading every window, on the busy 2-core CPU of this run; re-ranking the 8
lexically best windows with e5 costs 8 window passes and was worse (3 windows, no prior: COVID
34.4, DRCD 70.5, CMRC 73.6 against 34.6 / 72.3 / 78.6 lexically).

Shapes: ``Windows`` arrays are ``(windows, seq_len)``; scores are ``(windows,)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from core.qa.span import Windows

MAX_CONTEXT_CHARS = 20_000  # the longest passage core.qa reads; the page and the API cap here too
READ_WINDOWS = 3  # windows of a long passage read by the span model
SENTENCE_WEIGHT = 1.0  # the best sentence's score next to the window's own BM25 (both scaled to 1)
WINDOW_PRIOR = 1.5  # logits added per unit of ranking score below the best window's (see with_prior)


class PassageTooLong(ValueError):
    """The passage is longer than :data:`MAX_CONTEXT_CHARS` characters (``code``
    ``"passage-too-long"``; ``length`` and ``limit`` for the message)."""

    code = "passage-too-long"

    def __init__(self, length: int, limit: int = MAX_CONTEXT_CHARS) -> None:
        super().__init__(f"the passage has {length:,} characters; at most {limit:,} can be read")
        self.length = length
        self.limit = limit

    def __reduce__(self) -> tuple[type[PassageTooLong], tuple[int, int]]:  # pickled whole (Ray Serve replicas)
        return PassageTooLong, (self.length, self.limit)


def check_length(context: str, limit: int = MAX_CONTEXT_CHARS) -> None:
    """Raise :class:`PassageTooLong` when ``context`` has more than ``limit`` characters."""
    if len(context) > limit:
        raise PassageTooLong(len(context), limit)


def window_spans(windows: Windows) -> list[tuple[int, int]]:
    """The ``(start, end)`` characters of the passage each window reads, ``(windows,)`` pairs:
    from its first context token's start to its last one's end (``(0, 0)`` for a window
    without context tokens)."""
    out = []
    for w in range(windows.count):
        pos = np.flatnonzero(windows.is_context[w])
        out.append((int(windows.offsets[w, pos[0], 0]), int(windows.offsets[w, pos[-1], 1])) if len(pos) else (0, 0))
    return out


def _scaled(x: np.ndarray) -> np.ndarray:
    top = float(x.max()) if len(x) else 0.0
    return x / top if top > 0 else np.zeros_like(x)


def rank_windows(question: str, context: str, spans: list[tuple[int, int]]) -> np.ndarray:
    """A score per window, ``(windows,)`` float64, higher = more likely to hold the answer.

    The window's BM25 for the question (:func:`core.qa.retrieval.bm25`: English words,
    CJK character unigrams and bigrams, question words dropped), scaled to a best of 1,
    plus the best score of a sentence inside it (the sentence retrieval's lexical score with
    its answer-type bonus, :func:`core.qa.retrieval.lexical_scores`, scaled likewise).
    """
    from core.qa import retrieval

    terms = retrieval.lexical_terms(question, question=True)
    own = retrieval.bm25(terms, [retrieval.lexical_terms(context[a:b]) for a, b in spans])
    index = retrieval.cached_index(context)
    if not index.spans:
        return _scaled(own)
    sent = _scaled(retrieval.lexical_scores(question, index))
    sent = sent + retrieval.ANSWER_TYPE_BONUS * retrieval.answer_type_match(question, index.sentences)
    s = np.asarray(index.spans, dtype=np.int64)  # (sentences, 2)
    w = np.asarray(spans, dtype=np.int64)  # (windows, 2)
    overlap = np.minimum(s[None, :, 1], w[:, None, 1]) - np.maximum(s[None, :, 0], w[:, None, 0])
    inside = (s[None, :, 0] >= w[:, None, 0]) & (s[None, :, 1] <= w[:, None, 1])
    inside |= 2 * overlap > (w[:, 1] - w[:, 0])[:, None]  # a sentence longer than the window
    best = np.where(inside, sent[None, :], 0.0).max(axis=1)  # (windows,)
    return _scaled(own) + SENTENCE_WEIGHT * best


@dataclass(frozen=True)
class Selection:
    """The windows to read: ``chosen`` indices in passage order and their ``scores``
    (:func:`rank_windows`, ``(len(chosen),)`` float64; zeros when all are read) of the
    ``total`` windows of the passage."""

    chosen: list[int]
    scores: np.ndarray
    total: int

    @property
    def part(self) -> bool:
        """Are only some of the windows read?"""
        return len(self.chosen) < self.total


def choose_windows(question: str, context: str, windows: Windows, k: int | None = READ_WINDOWS) -> Selection:
    """All the windows when there are at most ``k`` (or ``k`` is ``None``), else the ``k``
    best by :func:`rank_windows` (ties go to the earlier window), in passage order."""
    n = windows.count
    if k is None or n <= k:
        return Selection(list(range(n)), np.zeros(n), n)
    scores = rank_windows(question, context, window_spans(windows))
    chosen = sorted(int(i) for i in np.argsort(-scores, kind="stable")[: max(1, k)])
    return Selection(chosen, scores[chosen], n)


def with_prior(
    start_logits: np.ndarray, end_logits: np.ndarray, windows: Windows, selection: Selection
) -> tuple[np.ndarray, np.ndarray]:
    """The read windows' ``(windows, seq_len)`` start and end logits with the ranking's
    prior added on their context tokens: ``WINDOW_PRIOR * (score - best score)`` (0 for the
    best window, negative for the others), so an answer in a less relevant window needs
    stronger evidence from the model. Unchanged when the whole passage is read."""
    if not selection.part:
        return start_logits, end_logits
    bias = WINDOW_PRIOR * (selection.scores - selection.scores.max())  # (windows,)
    add = np.where(windows.is_context, bias[:, None], 0.0).astype(start_logits.dtype)
    return start_logits + add, end_logits + add


def take(windows: Windows, chosen: list[int]) -> Windows:
    """The windows ``chosen`` (indices) of ``windows``, in that order: every array cut on its
    first axis (``(windows, seq_len)`` -> ``(len(chosen), seq_len)``)."""
    from core.qa.span import Windows

    idx = np.asarray(chosen, dtype=np.int64)
    inputs = {k: v[idx] for k, v in windows.inputs.items()}
    return Windows(inputs, windows.offsets[idx], windows.is_context[idx], windows.cls_index[idx], windows.question)


def segments(windows: Windows, chosen: list[int]) -> tuple[tuple[int, int], ...]:
    """The characters the ``chosen`` windows read, overlapping or touching ranges merged, in
    passage order."""
    spans = sorted(window_spans(windows)[i] for i in chosen)
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)
