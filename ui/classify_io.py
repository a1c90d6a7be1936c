"""Reading the texts of an uploaded file, and writing results as CSV (no Streamlit here).

Encodings: UTF-8 (with or without a BOM), UTF-16 with a BOM, GBK / GB18030 (what Excel
writes on Chinese Windows), and Latin-1 as a last resort for text that is neither.
A file that looks binary (NUL bytes, many control characters) or that no encoding reads
raises :class:`UnreadableFile` with the reason.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pandas as pd

MAX_ROWS = 5_000
MAX_BYTES = 20 * 1024 * 1024


class UnreadableFile(ValueError):
    """The upload cannot be read as a text table. ``reason``: binary | encoding | empty | too_big | table."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame  # every column as strings
    encoding: str  # "UTF-8", "UTF-8 (BOM)", "UTF-16", "GBK/GB18030", "Latin-1"
    total_rows: int  # rows in the file (frame holds at most MAX_ROWS)
    header: bool  # False: one column of lines without a header row

    @property
    def cut(self) -> bool:
        return self.total_rows > len(self.frame)


def looks_binary(data: bytes) -> bool:
    """NUL bytes or more than 10 % control characters in the first 8 KB (UTF-16 excepted)."""
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return bool(head) and controls / len(head) > 0.10


def _mojibake(text: str) -> bool:
    """Chinese characters glued inside Latin words ("tr鑣 r閡ssi"): Latin-1 read as GBK."""
    cjk = [i for i, c in enumerate(text) if "\u4e00" <= c <= "\u9fff"]
    if not cjk:
        return False
    glued = sum(
        1
        for i in cjk
        if (i > 0 and text[i - 1].isascii() and text[i - 1].isalpha())
        or (i + 1 < len(text) and text[i + 1].isascii() and text[i + 1].isalpha())
    )
    return glued / len(cjk) > 0.5


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of an uploaded file; :class:`UnreadableFile` when it is not text."""
    if not data.strip():
        raise UnreadableFile("empty")
    if len(data) > MAX_BYTES:
        raise UnreadableFile("too_big", f"{len(data) / 2**20:.0f} MB")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8 (BOM)"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    if looks_binary(data):
        raise UnreadableFile("binary")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    latin = data.decode("latin-1")
    latin_ok = sum(1 for c in latin if 0x80 <= ord(c) < 0xA0) <= len(latin) * 0.01
    try:
        text = data.decode("gb18030")
        if not (latin_ok and _mojibake(text)):
            return text, "GBK/GB18030"
    except UnicodeDecodeError:
        pass
    text = latin
    if sum(1 for c in text if 0x80 <= ord(c) < 0xA0) > len(text) * 0.01:
        raise UnreadableFile("encoding")
    return text, "Latin-1"


def _sniff(text: str) -> tuple[str, bool]:
    """(delimiter, has header row); delimiter "" when the text is not a table.

    A delimiter counts when it splits (quote-aware) at least 60 % of the first 50 lines
    into the same number (>= 2) of cells. The first row is a header when its cells are
    non-empty, distinct, short and not numbers."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    best = ("", 0.0, 0)
    for delim in (",", "\t", ";", "|"):
        counts = [len(row) for row in csv.reader(lines, delimiter=delim)]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        share = counts.count(mode) / len(counts)
        if mode >= 2 and share >= 0.6 and (share, mode) > (best[1], best[2]):
            best = (delim, share, mode)
    delim = best[0]
    if not delim:
        return "", False
    first = next(csv.reader(lines[:1], delimiter=delim))
    cells = [c.strip() for c in first]
    header = (
        all(cells)
        and len(set(cells)) == len(cells)
        and all(len(c) <= 40 for c in cells)
        and not any(c.replace(".", "", 1).lstrip("-").isdigit() for c in cells)
    )
    return delim, header


def read_table(data: bytes, *, max_rows: int = MAX_ROWS) -> Table:
    """Parse an uploaded CSV / TSV / plain-text file into a table of strings.

    A file without a recognisable delimiter is read as one column of lines ("text").
    At most ``max_rows`` rows are kept; ``total_rows`` says how many there were."""
    text, enc = decode(data)
    delim, header = _sniff(text)
    if not delim:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        frame = pd.DataFrame({"text": lines})
        return Table(frame.head(max_rows), enc, len(frame), False)
    rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise UnreadableFile("empty")
    width = max(set(len(r) for r in rows[:50]), key=[len(r) for r in rows[:50]].count)
    # Hand-written files often leave a delimiter unquoted inside the last column: join the
    # extra cells back into it instead of dropping the row; pad short rows.
    fixed = [
        r[: width - 1] + [delim.join(r[width - 1 :])] if len(r) > width else r + [""] * (width - len(r)) for r in rows
    ]
    names = fixed[0] if header else [f"column {i + 1}" for i in range(width)]
    names = [n.strip() or f"column {i + 1}" for i, n in enumerate(names)]
    names = [n if names.index(n) == i else f"{n} ({i + 1})" for i, n in enumerate(names)]
    frame = pd.DataFrame(fixed[1:] if header else fixed, columns=names, dtype=str)
    if frame.empty:
        raise UnreadableFile("empty")
    return Table(frame.head(max_rows).reset_index(drop=True), enc, len(frame), header)


def text_column(frame: pd.DataFrame) -> str:
    """The column most likely to hold the texts: the longest strings on average."""
    best, best_len = frame.columns[0], -1.0
    for col in frame.columns:
        mean = frame[col].astype(str).str.len().mean()
        if mean > best_len:
            best, best_len = col, mean
    return best


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV in UTF-8 with a BOM, so that Excel opens Chinese text correctly."""
    return frame.to_csv(index=False).encode("utf-8-sig")
