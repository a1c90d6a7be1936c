"""Preprocessing of the attention viewer: text -> the model's tokens, with what explains
each one (special or not, which sentence of a pair, which characters of the text, which
word it belongs to, so word pieces can be merged into words for display).

Plain Python over a Hugging Face tokenizer (fast ones give character offsets and word
ids; slow ones fall back to "##" continuation pieces). No model is run here.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from core.text import is_cjk

_METASPACE = "\u2581"  # SentencePiece's word-start mark ("▁")


def clean(text: str) -> str:
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
    return bool(piece) and all(unicodedata.category(ch)[0] == "M" or unicodedata.category(ch) == "Cf" for ch in piece)


def _word_groups(
    word_ids: list[int | None],
    seq_ids: list[int | None],
    spans: list[tuple[int, int, int]],
    texts: tuple[str, str],
    tokens: list[str] | None = None,
) -> list[int]:
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


@dataclass(frozen=True)
class Encoded:
    """A tokenized input with everything the result needs to explain it."""

    enc: dict[str, Any]
    tokens: list[str]
    special: list[bool]
    segment: list[int]
    groups: list[int]
    spans: list[tuple[int, int, int]]
    text: str
    pair: str | None
    n_input: int


def encode(model: Any, tokenizer: Any, text: str, text_pair: str | None, max_tokens: int) -> Encoded:
    """Preprocess: clean the text, tokenize it (at most ``max_tokens`` and never more than
    the model has positions), and find each token's special flag, segment, characters and
    word group."""
    text = clean(text)
    pair = clean(text_pair) if text_pair else None
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
    n_input = len(tokenizer(*args, add_special_tokens=True, truncation=False)["input_ids"])
    enc = tokenizer(*args, return_tensors="pt", truncation=True, max_length=max_tokens, return_offsets_mapping=fast)
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
    return Encoded(dict(enc), tokens, special, segment, groups, spans, text, pair, n_input)
