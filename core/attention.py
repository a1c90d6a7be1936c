"""Attention maps of a transformer encoder: every layer and head, raw and exact.

``attention_maps(text, model=..., text_pair=...)`` tokenizes the text (at most
``max_tokens`` tokens, special tokens included), runs one forward pass of an
eager-attention copy of the model (``loaders.load(key, attention=True)``) and returns an
:class:`AttentionResult` whose ``attentions`` are the softmax weights the model used:
numpy float32 of shape ``(layers, heads, T, T)``, row ``i`` = how token ``i`` attends to
every token, every row summing to 1.

Any registry model of a text task can be shown when named explicitly (e.g. the QA or
sentiment model that just produced a result, whose registry tasks do not list
``attention``): see :func:`can_show`. The page's model picker lists the ``attention`` ones.

View-level transforms (hide special tokens, merge word pieces, head average, rollout,
per-head statistics) are pure functions in :mod:`core.attention_views`; they are
re-exported here so callers need one import.

Works in a plain Python process (no Streamlit server needed).
"""

from __future__ import annotations

import contextlib
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.attention_views import (  # noqa: F401  (re-exported API)
    HeadStats,
    View,
    apply_view,
    apply_view_vector,
    head_average,
    head_stats,
    make_view,
    rollout,
)
from core.text import is_cjk

MAX_TOKENS = 128


class NoAttentionMaps(RuntimeError):
    """The model's forward pass gave no attention maps (not eager attention, or a model
    that does not return them)."""

# Registry tasks whose models are transformers over text: their attention can be shown.
TEXT_TASKS = frozenset({"attention", "embedding", "zero-shot", "qa", "sentiment"})
_METASPACE = "\u2581"  # SentencePiece's word-start mark ("▁")


def can_show(key: str) -> bool:
    """Can :func:`attention_maps` show model ``key`` when it is named explicitly? True for
    every registry model of a text task (its tasks need not list ``attention``: QA and
    sentiment models are transformers too); False for unknown keys and the digit CNN."""
    from core import registry

    try:
        entry = registry.get(key)
    except KeyError:
        return False
    return bool(TEXT_TASKS & set(entry.tasks))


@dataclass(frozen=True)
class AttentionResult:
    """Raw attention of one forward pass.

    ``tokens``: the model's own tokens, special tokens included, length ``T``.
    ``attentions``: float32 ``(layers, heads, T, T)``; row ``i`` is how token ``i``
    attends to every token; each row sums to 1.
    ``special``: ``(T,)`` bool, True for [CLS]/[SEP]/<s>/</s>/[PAD]...
    ``segment``: ``(T,)`` 0 for the first text's tokens, 1 for the pair's, -1 special.
    ``word``: ``(T,)`` group id for merging word pieces (consecutive ids, special tokens
    get their own group; CJK characters are never merged with a neighbour).
    ``spans``: ``(T,)`` (segment, start, end) character offsets into the text/pair,
    (-1, 0, 0) for special tokens.
    ``truncated``: the input had more than ``max_tokens`` tokens; ``n_input_tokens``
    how many it had.
    """

    tokens: tuple[str, ...]
    attentions: np.ndarray
    model: str
    truncated: bool
    special: tuple[bool, ...]
    segment: tuple[int, ...]
    word: tuple[int, ...]
    spans: tuple[tuple[int, int, int], ...]
    text: str
    text_pair: str | None
    n_input_tokens: int
    seconds: float

    @property
    def layers(self) -> int:
        return int(self.attentions.shape[0])

    @property
    def heads(self) -> int:
        return int(self.attentions.shape[1])

    def __len__(self) -> int:
        return len(self.tokens)

    def span_text(self, i: int) -> str:
        """The original characters behind token ``i`` (the token itself for special tokens)."""
        seg, start, end = self.spans[i]
        if seg < 0 or end <= start:
            return self.tokens[i]
        src = self.text if seg == 0 else (self.text_pair or "")
        return src[start:end]

    def word_labels(self) -> list[str]:
        """One label per merged group (see ``word``): the original text of its pieces
        (from the first piece's start to the last one's end, pieces without characters such
        as SentencePiece's lone "▁" left out); a special token's own name."""
        labels: list[str] = []
        n_groups = max(self.word) + 1 if self.word else 0
        for g in range(n_groups):
            idx = [i for i, w in enumerate(self.word) if w == g]
            real = [self.spans[i] for i in idx if self.spans[i][0] >= 0 and self.spans[i][2] > self.spans[i][1]]
            if not real:
                labels.append(self.tokens[idx[0]])
                continue
            seg = real[0][0]
            src = self.text if seg == 0 else (self.text_pair or "")
            labels.append(src[real[0][1]:real[-1][2]])
        return labels


def _clean(text: str) -> str:
    """Drop control characters (except whitespace) that tokenizers choke on."""
    return "".join(
        ch for ch in text if ch in "\t\n\r" or not unicodedata.category(ch).startswith("C") or ch == "\u200d"
    )


def _trim(spans: list[tuple[int, int, int]], texts: tuple[str, str]) -> list[tuple[int, int, int]]:
    """Spans without the whitespace SentencePiece tokenizers count into a word's first piece
    ("▁world" covers " world"); a piece of nothing but whitespace becomes empty."""
    out = []
    for seg, start, end in spans:
        if seg >= 0:
            src = texts[seg]
            while start < end and src[start].isspace():
                start += 1
        out.append((seg, start, end))
    return out


def _is_punct(piece: str) -> bool:
    """Only punctuation and symbols (emoji included): a word of its own, as BERT's
    pre-tokenizer makes it, whatever the tokenizer."""
    return bool(piece) and all(unicodedata.category(ch)[0] in "PS" for ch in piece)


def _is_mark(piece: str) -> bool:
    """Only combining marks, variation selectors and joiners (e.g. the U+FE0F after ❤)."""
    return bool(piece) and all(unicodedata.category(ch)[0] == "M" or unicodedata.category(ch) == "Cf"
                               for ch in piece)


def _word_groups(word_ids: list[int | None], seq_ids: list[int | None], spans: list[tuple[int, int, int]],
                 texts: tuple[str, str], tokens: list[str] | None = None) -> list[int]:
    """Consecutive group ids: pieces of one word share a group; specials, CJK pieces and
    punctuation stand alone (combining marks stay with the character before).
    SentencePiece's lone "▁" (a word start without characters, e.g. before Chinese text)
    joins the piece after it, or the one before at the end of a segment."""
    n = len(word_ids)
    tokens = tokens or [""] * n
    groups: list[int] = []
    prev: tuple[int | None, int | None] | None = None  # (sequence, word) the next piece may continue
    carry = False  # the piece before was a lone "▁": this one joins its group
    g = -1
    for i, (w, s) in enumerate(zip(word_ids, seq_ids)):
        seg, start, end = spans[i]
        piece = texts[seg][start:end] if seg >= 0 else ""
        if w is not None and tokens[i] == _METASPACE and not piece.strip():
            has_next = i + 1 < n and word_ids[i + 1] is not None and seq_ids[i + 1] == s
            if not has_next and groups and word_ids[i - 1] is not None and seq_ids[i - 1] == s:
                groups.append(g)  # a trailing "▁" stays with the piece before
                continue
            g += 1
            groups.append(g)
            carry, prev = has_next, None
            continue
        if w is not None and _is_mark(piece) and groups and seq_ids[i - 1] == s and word_ids[i - 1] is not None:
            groups.append(g)  # a variation selector or joiner belongs to the character before
            continue
        alone = w is None or any(is_cjk(ch) for ch in piece) or _is_punct(piece.strip())
        if not carry and (alone or (s, w) != prev):
            g += 1
        carry = False
        prev = None if alone else (s, w)
        groups.append(g)
    return groups


def _fallback_groups(tokens: list[str], special: list[bool]) -> list[int]:
    """Groups from '##' continuation pieces, for slow tokenizers without word ids."""
    groups, g = [], -1
    for tok, sp in zip(tokens, special):
        if sp or not tok.startswith("##") or g < 0:
            g += 1
        groups.append(g)
    return groups


def attention_from_model(model: Any, tokenizer: Any, text: str, *, text_pair: str | None = None,
                         max_tokens: int = MAX_TOKENS, key: str = "custom", lock: Any = None) -> AttentionResult:
    """Attention of any transformers encoder / sequence classifier loaded with eager attention.

    ``model(**enc, output_attentions=True).attentions`` is a tuple of ``layers`` tensors
    ``(1, heads, T, T)``; they are stacked, cast to float32 and moved to the CPU.

    Wrappers of our own are unwrapped: a model whose output has no attentions but which
    holds its transformers encoder as ``model.bert`` (a pooled-feature classifier) shows
    that encoder's attention; a tokenizer that puts a fixed ``prefix`` before every text
    (with the real one as ``tokenizer.tokenizer``) is replaced by the real one on
    ``prefix + text``, so the prefix's tokens are shown, as the model reads them.
    Raises :class:`NoAttentionMaps` (a ``RuntimeError``) when none come back.
    """
    import torch

    text = _clean(text)
    pair = _clean(text_pair) if text_pair else None
    if not text.strip():
        raise ValueError("empty text")
    inner, prefix = getattr(tokenizer, "tokenizer", None), getattr(tokenizer, "prefix", None)
    if inner is not None and isinstance(prefix, str) and callable(inner):
        text, tokenizer = prefix + text, inner
    if pair is not None and not pair.strip():
        pair = None
    max_tokens = max(4, int(max_tokens))
    cfg = getattr(model, "config", None)
    positions = getattr(cfg, "max_position_embeddings", None)
    if positions:  # never more tokens than the model has positions (RoBERTa-style offsets 2)
        offset = 2 if getattr(cfg, "model_type", "") in ("roberta", "xlm-roberta", "camembert") else 0
        max_tokens = min(max_tokens, int(positions) - offset)
    fast = bool(getattr(tokenizer, "is_fast", False))
    args = (text, pair) if pair is not None else (text,)
    full = tokenizer(*args, add_special_tokens=True, truncation=False)
    n_input = len(full["input_ids"])
    enc = tokenizer(*args, return_tensors="pt", truncation=True, max_length=max_tokens,
                    return_offsets_mapping=fast)
    offsets = enc.pop("offset_mapping", None)
    ids = enc["input_ids"][0].tolist()
    tokens = tokenizer.convert_ids_to_tokens(ids)
    special_ids = set(getattr(tokenizer, "all_special_ids", []) or [])
    special_ids.discard(getattr(tokenizer, "unk_token_id", None))  # [UNK] stands for real text
    special = [i in special_ids for i in ids]
    texts = (text, pair or "")
    if fast:
        seq_ids = enc.sequence_ids(0)
        word_ids = enc.word_ids(0)
        offs = offsets[0].tolist()
        spans = [(-1, 0, 0) if s is None else (int(s), int(a), int(b)) for s, (a, b) in zip(seq_ids, offs)]
        spans = _trim(spans, texts)
        for i, tok in enumerate(tokens):  # a lone "▁" covers no character of its own
            seg, start, end = spans[i]
            if tok == _METASPACE and seg >= 0 and end > start and not texts[seg][start:end].isspace():
                spans[i] = (seg, start, start)
        special = [s is None for s in seq_ids]
        segment = [-1 if s is None else int(s) for s in seq_ids]
        groups = _word_groups(word_ids, seq_ids, spans, texts, tokens)
    else:
        spans = [(-1, 0, 0)] * len(ids)
        tt = enc.get("token_type_ids")
        types = tt[0].tolist() if tt is not None else [0] * len(ids)
        segment = [-1 if sp else int(t) for sp, t in zip(special, types)]
        groups = _fallback_groups(tokens, special)

    device = next(model.parameters()).device
    enc = {k: v.to(device) for k, v in enc.items()}
    t0 = time.perf_counter()
    with torch.inference_mode(), (lock if lock is not None else contextlib.nullcontext()):
        out = model(**enc, output_attentions=True)
        atts = getattr(out, "attentions", None)
        encoder = getattr(model, "bert", None)
        if not atts and isinstance(encoder, torch.nn.Module):  # a classifier over the encoder's pooled output
            atts = getattr(encoder(**enc, output_attentions=True), "attentions", None)
    if not atts or any(a is None for a in atts):
        raise NoAttentionMaps("the model returned no attention maps (it must be loaded with eager attention)")
    arr = torch.stack([a[0] for a in atts]).float().cpu().numpy().astype(np.float32, copy=False)
    seconds = time.perf_counter() - t0
    return AttentionResult(
        tokens=tuple(tokens),
        attentions=arr,
        model=key,
        truncated=n_input > len(ids),
        special=tuple(bool(s) for s in special),
        segment=tuple(segment),
        word=tuple(groups),
        spans=tuple(spans),
        text=text,
        text_pair=pair,
        n_input_tokens=n_input,
        seconds=seconds,
    )


def attention_maps(text: str, *, model: str | None = None, text_pair: str | None = None,
                   max_tokens: int = MAX_TOKENS) -> AttentionResult:
    """Every layer's and head's attention for ``text`` (and ``text_pair``) under ``model``.

    ``model`` is a registry key, any for which :func:`can_show` is true (QA and sentiment
    models included); ``None`` picks the default attention model for the text's language.
    Returns ``attentions`` of shape ``(layers, heads, T, T)`` with ``T <= max_tokens``.
    Raises ``ValueError`` for empty text, ``ModelLoadError`` when the model cannot be
    loaded or has no attention to show.
    """
    from core import loaders
    from core.availability import default_model
    from core.text import detect_language

    if not text or not text.strip():
        raise ValueError("empty text")
    if model is None:
        model = default_model("attention", detect_language(text))
        if model is None:
            raise loaders.ModelLoadError("attention", "no attention model is available for this language")
    elif not can_show(model):
        raise loaders.ModelLoadError(model, "this model has no attention maps to show (not a text transformer)",
                                     "Pick a model from the list.")
    bundle = loaders.load(model, attention=True)
    if bundle.preprocessor is None or not callable(bundle.preprocessor):
        raise loaders.ModelLoadError(model, "this model has no tokenizer, so no attention over text",
                                     "Pick a model from the list.")
    try:
        return attention_from_model(bundle.model, bundle.preprocessor, text, text_pair=text_pair,
                                    max_tokens=max_tokens, key=model, lock=bundle.lock)
    except NoAttentionMaps as exc:
        raise loaders.ModelLoadError(model, str(exc), "Pick a model from the list.") from exc
