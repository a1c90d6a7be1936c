"""Uploaded files (encodings, binary, size), results CSV, and HTML escaping of user text."""

from __future__ import annotations

import csv
import io
import struct
import zlib

import pandas as pd
import pytest

from ui.classify_io import MAX_ROWS, UnreadableFile, decode, read_table, text_column, to_csv_bytes
from ui.classify_view import explanation_html, label_badge_html, scores_figure

ROWS = [
    ("1", "质量很好，物流也快，非常满意！"),
    ("2", "用了两天就坏了，太失望了。"),
    ("3", "Great value, works as described."),
]


def _csv(rows=ROWS, sep=",") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n")
    writer.writerow(["id", "review"])
    writer.writerows(rows)
    return buf.getvalue()


@pytest.mark.parametrize(
    "encoding,name",
    [
        ("utf-8", "UTF-8"),
        ("utf-8-sig", "UTF-8 (BOM)"),
        ("gbk", "GBK/GB18030"),
        ("gb18030", "GBK/GB18030"),
        ("utf-16", "UTF-16"),
    ],
)
def test_encodings_are_detected(encoding, name):
    table = read_table(_csv().encode(encoding))
    assert table.encoding == name
    assert list(table.frame.columns) == ["id", "review"]
    assert table.frame["review"].tolist() == [b for _, b in ROWS]
    assert text_column(table.frame) == "review" and not table.cut


def test_gb18030_only_character_survives():
    text = "id,review\n1,𠮷野家的牛肉饭很好吃\n2,服务一般\n"
    table = read_table(text.encode("gb18030"))
    assert table.frame["review"][0] == "𠮷野家的牛肉饭很好吃"


def test_tab_separated_and_plain_lines():
    assert read_table(_csv(sep="\t").encode()).frame.shape == (3, 2)
    table = read_table("第一条评论\n\n第二条评论\nthird one\n".encode())
    assert not table.header and table.frame["text"].tolist() == ["第一条评论", "第二条评论", "third one"]


def _png() -> bytes:
    raw = b"\x00" + b"\xff\x00\x00" * 4

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "data,reason",
    [
        (None, "binary"),  # a PNG image
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)) * 4, "binary"),  # an .xlsx (zip)
        (b"", "empty"),
        (b"  \n\n ", "empty"),
        (
            bytes([0x81, 0x30, 0x81, 0x85, 0x8D, 0x9D]) * 50,
            "encoding",
        ),  # not UTF-8, not GB18030, C1 controls in Latin-1
    ],
)
def test_unreadable_files_say_why(data, reason):
    with pytest.raises(UnreadableFile) as err:
        read_table(_png() if data is None else data)
    assert err.value.reason == reason


def test_latin1_text_is_still_read():
    text, enc = decode("id,review\n1,un film très réussi, très émouvant\n".encode("latin-1"))
    assert "très réussi" in text and enc == "Latin-1"


def test_more_than_max_rows_is_cut_with_total():
    lines = "text,n\n" + "".join(f"review number {i},{i}\n" for i in range(MAX_ROWS + 250))
    table = read_table(lines.encode())
    assert len(table.frame) == MAX_ROWS and table.total_rows == MAX_ROWS + 250 and table.cut


def test_results_csv_has_bom_and_round_trips():
    frame = pd.DataFrame({"文本": ["很好", "bad"], "label": ["positive", "negative"]})
    data = to_csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    assert read_table(data).frame.equals(frame)


def test_explanation_and_badge_escape_user_text():
    pieces = ["<script>alert(1)</script>", " ", "<b>great</b>", " & ", '"quoted"']
    html = explanation_html(
        pieces, [0.5, 0.0, -0.2, 0.0, 0.1], "positive", legend_for="<i>for</i>", legend_against="against"
    )
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;great&lt;/b&gt;" in html
    assert "&amp;" in html and "&quot;quoted&quot;" in html
    badge = label_badge_html("<img src=x onerror=alert(1)>", "positive", "Confidence <1%")
    assert "<img" not in badge and "&lt;1%" in badge


def test_scores_figure_best_label_on_top():
    fig = scores_figure({"positive": 0.8, "negative": 0.2}, {"positive": "正面", "negative": "负面"})
    assert list(fig.data[0].y) == ["负面", "正面"] and list(fig.data[0].x) == [0.2, 0.8]


def test_unquoted_commas_in_last_column_are_kept():
    text = "id,review\n1,质量很好，物流也快\n2,Great value, works as described, five stars\n3,\n4,服务一般\n"
    table = read_table(text.encode("utf-8"))
    assert list(table.frame.columns) == ["id", "review"] and len(table.frame) == 4
    assert table.frame["review"].tolist() == [
        "质量很好，物流也快",
        "Great value, works as described, five stars",
        "",
        "服务一般",
    ]
