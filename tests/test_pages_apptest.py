"""Smoke test of every page in both languages with Streamlit's AppTest (no browser)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")

PAGES = [
    "pages/home.py",
    "pages/qa.py",
    "pages/classify.py",
    "pages/digits.py",
    "pages/attention.py",
    "pages/status.py",
]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(page, lang):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(str(m.value) for m in [*at.title, *at.markdown, *at.caption, *at.info, *at.header, *at.subheader])
    assert text.strip()
    if lang == "zh":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text), "no Chinese text on the zh page"


def test_language_switch_updates_url_and_strings():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert at.query_params["lang"] == ["en"] or at.query_params["lang"] == "en"
    assert any("AI Playground" in t.value for t in at.title)
    at.session_state["lang"] = "zh"
    at.run()
    assert any("AI 体验馆" in t.value for t in at.title)
    qp = at.query_params["lang"]
    assert (qp[0] if isinstance(qp, list) else qp) == "zh"


def test_home_badge_lists_bundled_minilm():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    captions = " ".join(c.value for c in at.caption)
    assert "all-MiniLM-L6-v2" in captions
    labels = [m.label for m in at.metric]
    assert "Device" in labels and "Network" in labels


def _open(page, **params):
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_inputs_are_bound_to_the_url():
    """A shared link reproduces the sender's inputs (QA question + passage, classify text).
    That typing writes them into the URL is the browser's side: tests/e2e checks it."""
    at = _open("pages/qa.py", question="Who built it?", context="Gustave Eiffel built the tower.")
    assert at.text_input(key="question").value == "Who built it?"
    assert at.text_area(key="context").value == "Gustave Eiffel built the tower."
    at = _open("pages/classify.py", text="A dull, lifeless film.")
    assert at.text_area(key="text").value == "A dull, lifeless film."
