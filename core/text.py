"""Text helpers shared by the tasks: language detection (and, later, sentence splitting)."""

from __future__ import annotations

import functools
import unicodedata


@functools.lru_cache(maxsize=1)
def byte_level_alphabet() -> dict[str, int]:
    """GPT-2's byte-level BPE alphabet (Qwen2, RoBERTa and kin write every byte as a printable
    character): character -> the byte it stands for ("Ġ" -> 0x20, "Ċ" -> 0x0A)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[chr(b)] = b
        else:
            table[chr(256 + extra)] = b
            extra += 1
    return table


def is_cjk(ch: str) -> bool:
    """True for CJK ideographs (and kana/hangul), the letters of text written without spaces."""
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2FA1F
        or 0xF900 <= cp <= 0xFAFF
        or 0x3040 <= cp <= 0x30FF
        or 0xAC00 <= cp <= 0xD7AF
    )


def detect_language(text: str) -> str:
    """``"zh"`` when most letters of ``text`` are CJK characters, else ``"en"``.

    Letters are characters of Unicode category L*; digits, punctuation, spaces and emoji
    do not vote. Text with no letters at all counts as English.
    """
    cjk = other = 0
    for ch in text:
        if is_cjk(ch):
            cjk += 1
        elif unicodedata.category(ch).startswith("L"):
            other += 1
    return "zh" if cjk > other else "en"


# ---- sentence splitting ----------------------------------------------------------

_CJK_ENDS = "。！？；!?…"  # end a sentence wherever they stand (CJK text has no spaces)
_LATIN_ENDS = ".!?"  # end a sentence only before whitespace or the end of the text
_CLOSERS = "\"'”’」』）)】》]"  # closing quotes/brackets stay with the sentence they close
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e u.s u.k no fig inc ltd co jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


def _is_abbreviation(text: str, dot: int) -> bool:
    """Does the ``.`` at ``dot`` end an abbreviation ("Dr.", "e.g.") or an initial ("J.")?"""
    i = dot
    while i > 0 and (text[i - 1].isalpha() or text[i - 1] == "."):
        i -= 1
    word = text[i:dot].lower()
    if not word:
        return False
    if len(word) == 1 and text[i].isupper():
        return True  # an initial such as "J. K. Rowling"
    return word in _ABBREVIATIONS


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text``, in order.

    Sentences end at ``. ! ?`` followed by whitespace (not after abbreviations such as
    "Dr." or "e.g.", and not inside numbers such as "3.14"), at ``。！？；`` and their
    ASCII forms wherever they stand, and at line breaks. Closing quotes and brackets
    after the end mark belong to the sentence. Spans exclude surrounding whitespace,
    so ``text[start:end]`` is never blank, and spans never overlap.
    """
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = 0
    i = 0

    def close(end: int) -> None:
        s, e = start, end
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))

    while i < n:
        ch = text[i]
        if ch == "\n":
            close(i)
            start = i + 1
        elif ch in _CJK_ENDS or ch in _LATIN_ENDS:
            j = i + 1
            while j < n and (text[j] in _CJK_ENDS or text[j] in _LATIN_ENDS or text[j] in _CLOSERS):
                j += 1  # "?!", "。”", "...)" end together
            if ch in _CJK_ENDS and not ch.isascii():
                ends = True
            else:
                ends = j >= n or text[j].isspace() or is_cjk(text[j])
                if ends and ch == "." and _is_abbreviation(text, i):
                    ends = False
            if ends:
                close(j)
                start = j
            i = j
            continue
        i += 1
    close(n)
    return spans
