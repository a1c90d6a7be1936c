"""The one string table: complete in both languages, and used for every page title."""

import re
from pathlib import Path

from ui import i18n


def test_every_string_has_both_languages():
    for key, texts in i18n.TABLE.items():
        assert set(texts) >= {"en", "zh"}, key
        assert texts["en"].strip() and texts["zh"].strip(), key


def test_chinese_strings_are_chinese():
    """A zh entry that is a copy of the English one is a missing translation (except names that
    Chinese writes the same: an optimiser, an architecture)."""
    same = {"train.optimiser.adam", "train.short.textcnn"}
    for key, texts in i18n.TABLE.items():
        if key in same:
            continue
        words = re.sub(r"{[^}]*}", "", texts["en"])  # placeholders are not words
        if re.search(r"[A-Za-z]{4,}", words) and not key.startswith("lang."):
            assert texts["zh"] != texts["en"], f"{key} is not translated"


def test_format_placeholders_match():
    for key, texts in i18n.TABLE.items():
        en = set(re.findall(r"{(\w+)", texts["en"]))
        zh = set(re.findall(r"{(\w+)", texts["zh"]))
        assert en == zh, key


def test_keys_used_in_code_exist():
    root = Path(__file__).resolve().parent.parent
    used = set()
    for path in [root / "app.py", *root.glob("pages/*.py"), *root.glob("ui/*.py")]:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[\w.]+)["']""", path.read_text(encoding="utf-8")))
    missing = sorted(k for k in used if k not in i18n.TABLE)
    assert not missing, missing


def test_every_explain_error_code_has_a_message():
    """A refused explanation (core.explain.ExplainError) is shown by ui.errors as
    ``explain.error.<code>``: every code core raises has it in both languages."""
    import re
    from pathlib import Path

    codes = set()
    for path in Path("core").rglob("*.py"):
        codes |= set(re.findall(r'ExplainError\(\s*"([a-z-]+)"', path.read_text(encoding="utf-8")))
    assert {"too-slow", "empty", "no-answer"} <= codes
    for code in codes:
        texts = i18n.TABLE.get(f"explain.error.{code}")
        assert texts and texts["en"] and texts["zh"], code
