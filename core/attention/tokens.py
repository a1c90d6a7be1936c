"""Preprocessing of the attention viewer: text -> the model's tokens, with what explains
each one (special or not, which sentence of a pair, which characters of the text, which
word it belongs to, so word pieces can be merged into words for display).

Plain Python over a Hugging Face tokenizer (fast ones give character offsets and word
ids; slow ones fall back to "##" continuation pieces). No model is run here.

Byte-level BPE tokenizers (GPT-2, Qwen2: no special tokens added to a plain text) work too:
their tokens are bytes written as characters ("Ġworld", "è¿Ļ" for "这"), so each token
also gets a readable label (:func:`token_labels`), the pieces of one character that BPE cut
between its bytes (an emoji, a rare Chinese character) share its group, and special tokens
typed in the text (ChatML's ``<|im_start|>``) are marked special like [CLS] or </s>.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from typing import Any

from core.text import byte_level_alphabet, is_cjk

_METASPACE = "\u2581"  # SentencePiece's word-start mark ("▁")
_ZWJ = "\u200d"
_SKIN_TONES = range(0x1F3FB, 0x1F400)  # emoji modifiers: part of the emoji before them


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
    """Only combining marks, variation selectors, joiners (e.g. the U+FE0F after ❤) and emoji
    skin tones (the 🏽 of 👍🏽)."""
    return bool(piece) and all(
        unicodedata.category(ch)[0] == "M" or unicodedata.category(ch) == "Cf" or ord(ch) in _SKIN_TONES for ch in piece
    )


def _same_character(i: int, spans: list[tuple[int, int, int]], texts: tuple[str, str]) -> bool:
    """Does token ``i`` continue the character(s) of token ``i - 1``? Byte-level BPE cuts
    a character between its bytes (🎉 = "ðŁ" "İ" "ī"): every piece gets the whole
    character's offsets, so their spans overlap. An emoji after a zero-width joiner
    (👨‍👩‍👧) continues the one before too."""
    if i == 0:
        return False
    (seg, start, end), (pseg, pstart, pend) = spans[i], spans[i - 1]
    if seg < 0 or seg != pseg:
        return False
    if start < pend and pstart < end:
        return True
    return pend > pstart and pend == start and texts[seg][pstart:pend].endswith(_ZWJ)


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
        if w is not None and not piece.strip() and i + 1 < n and (seq_ids[i + 1], word_ids[i + 1]) == (s, w):
            g += 1  # a byte-level "Ġ" cut off its word (" ❤" -> "Ġ" + the heart's bytes): joins it
            groups.append(g)
            carry, prev = True, (s, w)
            continue
        if w is not None and _is_mark(piece) and groups and seq_ids[i - 1] == s and word_ids[i - 1] is not None:
            groups.append(g)  # a variation selector or joiner belongs to the character before
            continue
        if w is not None and groups and word_ids[i - 1] is not None and _same_character(i, spans, texts):
            groups.append(g)  # another byte of the same character (byte-level BPE)
            carry = False
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


def special_ids(tokenizer: Any) -> set[int]:
    """Ids of the tokenizer's special tokens: its named ones ([CLS], </s>...) and every added
    token flagged special (ChatML's ``<|im_start|>``, which transformers does not list in
    ``all_special_ids``); [UNK] is left out: it stands for real text."""
    ids = set(getattr(tokenizer, "all_special_ids", []) or [])
    added = getattr(tokenizer, "added_tokens_decoder", None) or {}
    ids.update(int(i) for i, tok in dict(added).items() if getattr(tok, "special", False))
    ids.discard(getattr(tokenizer, "unk_token_id", None))
    return ids


@functools.lru_cache(maxsize=1)
def _byte_marks() -> dict[int, str]:
    """The other way round: byte -> its character (0x20 -> "Ġ", 0x0A -> "Ċ")."""
    return {b: ch for ch, b in byte_level_alphabet().items()}


def is_byte_level(tokenizer: Any) -> bool:
    """Does ``tokenizer`` write bytes as characters (GPT-2, RoBERTa, Qwen2 byte-level BPE)?"""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    decoder = getattr(backend, "decoder", None)
    return type(decoder).__name__ == "ByteLevel"


def byte_label(token: str) -> str:
    """A byte-level token as a reader sees it: its UTF-8 text ("è¿Ļå®¶" -> "这家"), the
    markers of spaces and line breaks kept ("Ġworld", "Ċ"), and the bytes of a cut
    character in hex ("ðŁ" -> "<F0 9F>"). Tokens outside the alphabet come back as they are."""
    table = byte_level_alphabet()
    if not token or any(ch not in table for ch in token):
        return token
    raw = bytes(table[ch] for ch in token)
    text = raw.decode("utf-8", errors="surrogateescape")  # a cut character: lone surrogates
    out: list[str] = []
    cut: list[int] = []
    marks = _byte_marks()
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte of a cut character
            cut.append(code - 0xDC00)
            continue
        if cut:
            out.append("<" + " ".join(f"{b:02X}" for b in cut) + ">")
            cut = []
        out.append(marks[code] if code < 0x80 and (ch.isspace() or not ch.isprintable()) else ch)
    if cut:
        out.append("<" + " ".join(f"{b:02X}" for b in cut) + ">")
    return "".join(out)


def token_labels(tokenizer: Any, tokens: list[str], special: list[bool]) -> list[str]:
    """One readable label per token: byte-level tokens decoded (:func:`byte_label`), the
    others (WordPiece "##ing", SentencePiece "▁word", special tokens) as they are."""
    if not is_byte_level(tokenizer):
        return list(tokens)
    return [tok if sp else byte_label(tok) for tok, sp in zip(tokens, special)]


@dataclass(frozen=True)
class Encoded:
    """A tokenized input with everything the result needs to explain it; ``labels`` are
    the tokens as a reader should see them (see :func:`token_labels`)."""

    enc: dict[str, Any]
    tokens: list[str]
    special: list[bool]
    segment: list[int]
    groups: list[int]
    spans: list[tuple[int, int, int]]
    text: str
    pair: str | None
    n_input: int
    labels: list[str]


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
    specials = special_ids(tokenizer)
    special = [i in specials for i in ids]
    texts = (text, pair or "")
    if fast:
        # a special token typed in the text (ChatML's <|im_start|>) counts as special
        # (no sentence, no characters, a group of its own), like the ones the tokenizer adds
        seq_ids = [None if sp else s for s, sp in zip(enc.sequence_ids(0), special)]
        word_ids = [None if sp else w for w, sp in zip(enc.word_ids(0), special)]
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
    labels = token_labels(tokenizer, tokens, special)
    return Encoded(dict(enc), tokens, special, segment, groups, spans, text, pair, n_input, labels)
