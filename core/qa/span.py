"""Extractive question answering with span models (start/end logits), decoded by hand.

transformers 5 has no question-answering pipeline, so this module does what it did:

1. :func:`encode_windows` tokenises question + context into overlapping windows
   (``truncation="only_second"``, ``max_length=384``, ``stride=128``), keeping each
   token's character offsets and which sequence it belongs to.
2. :func:`run_windows` runs the model on the windows in batches (the shared skeleton
   :func:`core.inference.run_batched`): logits of shape ``(windows, seq_len)``.
3. :func:`decode_spans` turns logits into answers: question, special and padding tokens
   are masked; a context token seen by two windows counts only in the window where it
   has the most context on both sides (so overlaps are not counted twice); the n-best
   start/end pairs of each window (end >= start, at most ``max_answer_tokens``) are
   scored on ONE scale for the whole passage: start and end probabilities come from a
   softmax over the start (end) logits of every counted context token of every window
   together (plus the "no answer" slot for SQuAD 2.0 models), and a span's score is
   ``p(start) * p(end)``. Character offsets come from the tokenizer's offset mapping
   (never from searching the answer text), with surrounding whitespace trimmed and,
   in space-separated text, a cut word widened to the whole word (never in CJK text);
   identical spans are merged and spans overlapping a better one are dropped.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.inference import model_inputs, run_batched
from core.text import is_cjk

MAX_LENGTH = 384
STRIDE = 128
MAX_QUESTION_TOKENS = 64
MAX_ANSWER_TOKENS = 30
N_BEST = 20
_BATCH = 8  # windows per forward pass


@dataclass(frozen=True)
class Windows:
    """A tokenised question + context. ``input_ids`` etc. are ``(windows, seq_len)``.

    ``offsets[w][i]`` is the ``(start, end)`` character span of token ``i`` of window
    ``w`` in the context (only meaningful where ``is_context[w, i]``); ``cls_index[w]``
    is the position of the classifier token used for "no answer".
    """

    inputs: dict[str, np.ndarray]
    offsets: np.ndarray  # (windows, seq_len, 2) int
    is_context: np.ndarray  # (windows, seq_len) bool
    cls_index: np.ndarray  # (windows,) int
    question: str  # the question as encoded (cut to MAX_QUESTION_TOKENS tokens)

    @property
    def count(self) -> int:
        return int(self.is_context.shape[0])


@dataclass(frozen=True)
class Span:
    """A decoded span: character offsets into the context and its probability."""

    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Decoded:
    spans: list[Span]  # best first, no two overlapping
    null_score: float  # probability of "no answer" (0.0 for models that always answer)
    best_span_logit: float
    min_null_logit: float


def _cut_question(tok: Any, question: str, max_tokens: int) -> str:
    """The question, cut at a token boundary so it has at most ``max_tokens`` tokens."""
    enc = tok(question, add_special_tokens=False, return_offsets_mapping=True)
    offs = enc["offset_mapping"]
    if len(offs) <= max_tokens:
        return question
    return question[: offs[max_tokens - 1][1]]


def encode_windows(
    tok: Any, question: str, context: str, *, max_length: int = MAX_LENGTH, stride: int = STRIDE
) -> Windows:
    """Tokenise into overlapping windows (needs a fast tokenizer for offsets)."""
    question = _cut_question(tok, question, MAX_QUESTION_TOKENS)
    q_len = len(tok(question, add_special_tokens=False)["input_ids"])
    specials = tok.num_special_tokens_to_add(pair=True)
    stride = max(0, min(stride, max_length - q_len - specials - 8))  # stride must fit in a window
    enc = tok(
        question,
        context,
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="longest",
    )
    n = len(enc["input_ids"])
    seq_len = len(enc["input_ids"][0])
    is_context = np.zeros((n, seq_len), dtype=bool)
    cls_index = np.zeros(n, dtype=np.int64)
    cls_id = getattr(tok, "cls_token_id", None)
    for w in range(n):
        seq_ids = enc.sequence_ids(w)
        is_context[w] = [s == 1 for s in seq_ids]
        ids = enc["input_ids"][w]
        if cls_id is not None and cls_id in ids:
            cls_index[w] = ids.index(cls_id)
    offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(n, seq_len, 2)
    empty = offsets[:, :, 1] <= offsets[:, :, 0]
    is_context &= ~empty  # tokens that cover no character cannot start or end an answer
    names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    inputs = {k: np.asarray(enc[k], dtype=np.int64) for k in names}
    return Windows(inputs, offsets, is_context, cls_index, question)


def run_windows(bundle: Any, windows: Windows) -> tuple[np.ndarray, np.ndarray]:
    """Start and end logits, each ``(windows, seq_len)`` float32: the windows run ``_BATCH``
    at a time through :func:`core.inference.run_batched` (the bundle's lock per batch,
    ``torch.inference_mode()``)."""
    import torch

    def preprocess(idx: list[int]) -> dict[str, Any]:
        feed = {k: torch.from_numpy(v[idx]) for k, v in windows.inputs.items()}
        return model_inputs(bundle.model, feed, bundle.device)

    def run(model: Any, feed: dict[str, Any]) -> tuple[Any, Any]:
        out = model(**feed)
        return out.start_logits, out.end_logits

    seq_len = windows.is_context.shape[1]
    starts, ends = run_batched(bundle, [seq_len] * windows.count, preprocess, run, batch_size=_BATCH)
    return starts, ends


def _max_context_mask(windows: Windows) -> np.ndarray:
    """``(windows, seq_len)`` bool: the context tokens counted in this window.

    A token seen by several overlapping windows counts in the window where it has the
    most context on its poorer side (the rule of the original BERT SQuAD code).
    Tokens are identified by their character offsets (and rank among equal offsets,
    which byte-level tokenizers give every byte of one emoji).
    """
    best: dict[tuple[int, int, int], tuple[float, int]] = {}
    keys: list[list[tuple[int, int, int] | None]] = []
    for w in range(windows.count):
        pos = np.flatnonzero(windows.is_context[w])
        row: list[tuple[int, int, int] | None] = [None] * windows.is_context.shape[1]
        seen: dict[tuple[int, int], int] = {}
        for rank, i in enumerate(pos):
            s, e = int(windows.offsets[w, i, 0]), int(windows.offsets[w, i, 1])
            k = seen.get((s, e), 0)
            seen[(s, e)] = k + 1
            key = (s, e, k)
            row[i] = key
            score = min(rank, len(pos) - 1 - rank) + 0.01 * len(pos)
            if key not in best or score > best[key][0]:
                best[key] = (score, w)
        keys.append(row)
    mask = np.zeros_like(windows.is_context)
    for w, row in enumerate(keys):
        for j, found in enumerate(row):
            if found is not None and best[found][1] == w:
                mask[w, j] = True
    return mask


def _logsumexp(logits: np.ndarray, mask: np.ndarray, extra: float | None) -> float:
    """log of the sum of exp over the masked entries of all windows (plus ``extra``)."""
    vals = logits[mask]
    if extra is not None:
        vals = np.append(vals, extra)
    if not len(vals):
        return 0.0
    m = float(vals.max())
    return m + float(np.log(np.exp(vals - m).sum()))


def _in_word(ch: str) -> bool:
    """Part of a space-separated word: letters and digits that are not CJK."""
    return ch.isalnum() and not is_cjk(ch)


def align_to_words(context: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span that cuts a space-separated word ("til the Chry") to whole words
    ("until the Chrysler"). Text without spaces (CJK) is never widened: a CJK
    character is a word boundary, so the tokenizer's offsets stand as they are."""
    if start < end and _in_word(context[start]):
        while start > 0 and _in_word(context[start - 1]):
            start -= 1
    if start < end and _in_word(context[end - 1]):
        while end < len(context) and _in_word(context[end]):
            end += 1
    return start, end


def _only_punctuation(text: str) -> bool:
    """Punctuation and spaces only (an emoji or a symbol is a possible answer)."""
    return all(unicodedata.category(ch)[0] in "PZC" for ch in text)


# Clause punctuation an answer never starts or ends with ("计算机科学的一个分支。" -> without "。").
# Not "." (abbreviations: "U.S.") and not quotes or brackets (they pair with one inside).
_EDGE_PUNCT = frozenset("。，、；：！？,;:!?")


_PAIRS = {"（": "）", "(": ")", "“": "”", "《": "》", "「": "」", "『": "』", "【": "】", "[": "]"}
_CLOSERS = {v: k for k, v in _PAIRS.items()}


def _trim(context: str, start: int, end: int) -> tuple[int, int]:
    """Drop spaces and clause punctuation at both ends of ``context[start:end]``, and a
    bracket or quote at an end whose partner is not inside ("AI）" -> "AI")."""
    while True:
        before = (start, end)
        while start < end and (context[start].isspace() or context[start] in _EDGE_PUNCT):
            start += 1
        while end > start and (context[end - 1].isspace() or context[end - 1] in _EDGE_PUNCT):
            end -= 1
        text = context[start:end]
        if text and text[-1] in _CLOSERS and text.count(_CLOSERS[text[-1]]) < text.count(text[-1]):
            end -= 1
        elif text and text[0] in _PAIRS and text.count(text[0]) > text.count(_PAIRS[text[0]]):
            start += 1
        if (start, end) == before:
            return start, end


def decode_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    windows: Windows,
    context: str,
    *,
    top_k: int = 3,
    can_abstain: bool = False,
    max_answer_tokens: int = MAX_ANSWER_TOKENS,
    n_best: int = N_BEST,
) -> Decoded:
    """The ``top_k`` best non-overlapping spans from ``(windows, seq_len)`` logits."""
    start_logits = np.asarray(start_logits, dtype=np.float64)
    end_logits = np.asarray(end_logits, dtype=np.float64)
    counted = _max_context_mask(windows)
    n = windows.count
    rows = np.arange(n)
    null_logits = start_logits[rows, windows.cls_index] + end_logits[rows, windows.cls_index]
    w_null = int(np.argmin(null_logits))  # the window most sure there is an answer
    extra_s = float(start_logits[w_null, windows.cls_index[w_null]]) if can_abstain else None
    extra_e = float(end_logits[w_null, windows.cls_index[w_null]]) if can_abstain else None
    # One softmax over the whole passage: each passage token counted once (in its
    # best window), plus the "no answer" slot of SQuAD 2.0 models.
    lse_s = _logsumexp(start_logits, counted, extra_s)
    lse_e = _logsumexp(end_logits, counted, extra_e)
    log_ps = np.where(counted, start_logits - lse_s, -np.inf)
    log_pe = np.where(windows.is_context, end_logits - lse_e, -np.inf)

    candidates: dict[tuple[int, int], tuple[float, float]] = {}  # chars -> (log score, logit sum)
    for w in range(n):
        s_idx = np.flatnonzero(counted[w])
        e_idx = np.flatnonzero(windows.is_context[w])
        if not len(s_idx) or not len(e_idx):
            continue
        s_top = s_idx[np.argsort(-start_logits[w, s_idx])[:n_best]]
        e_top = e_idx[np.argsort(-end_logits[w, e_idx])[:n_best]]
        for i in s_top:
            for j in e_top:
                if j < i or j - i + 1 > max_answer_tokens:
                    continue
                a, b = _trim(context, int(windows.offsets[w, i, 0]), int(windows.offsets[w, j, 1]))
                a, b = align_to_words(context, a, b)
                if b <= a or _only_punctuation(context[a:b]):
                    continue  # empty, or punctuation only ("。"): never an answer
                score = float(log_ps[w, i] + log_pe[w, j])
                logit = float(start_logits[w, i] + end_logits[w, j])
                old = candidates.get((a, b))
                if old is None or score > old[0]:
                    candidates[(a, b)] = (score, logit)

    ranked = sorted(candidates.items(), key=lambda kv: -kv[1][0])
    spans: list[Span] = []
    for (a, b), (score, _) in ranked:
        if any(a < s.end and s.start < b for s in spans):
            continue  # overlaps a better answer
        spans.append(Span(a, b, float(min(1.0, np.exp(score)))))
        if len(spans) >= top_k:
            break
    best_logit = ranked[0][1][1] if ranked else float("-inf")
    null = float(np.exp(extra_s - lse_s + extra_e - lse_e)) if extra_s is not None and extra_e is not None else 0.0
    return Decoded(spans, null, best_logit, float(null_logits[w_null]))
