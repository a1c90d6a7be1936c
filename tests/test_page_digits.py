"""AppTest of the /digits page in both languages: the blank-canvas prompt, an example drawing
from ``?example=N`` predicted through the real model, the naive-resize comparison, a bad
``example`` value, and never a traceback. (Drawing with a mouse is the browser test's job.)"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.registry import REPO_ROOT
from tests.apptest_pages import open_page

MODEL_READY = (REPO_ROOT / "models" / "digits" / "model.safetensors").exists()


def _page(lang: str, **params: str) -> AppTest:
    return open_page("pages/digits.py", lang, timeout=90, **params)


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [i.value for i in at.info] + [w.value for w in at.warning]
    parts += [c.value for c in at.caption] + [e.value for e in at.error]
    return "\n".join(parts)


@pytest.mark.parametrize(("lang", "prompt"), [("en", "Draw a digit on the canvas"), ("zh", "在画布上写一个数字")])
def test_blank_canvas_shows_prompt(lang, prompt):
    at = _page(lang)
    assert any(prompt in i.value for i in at.info)
    assert not at.error
    assert "digits_chart" not in [c.key for c in at.get("plotly_chart")]


@pytest.mark.skipif(not MODEL_READY, reason="models/digits not trained")
@pytest.mark.parametrize(("lang", "heading"), [("en", "What the model sees"), ("zh", "模型看到的图像")])
def test_example_is_predicted(lang, heading):
    at = _page(lang, example="3")
    text = _text(at)
    assert heading in text
    assert '800;line-height:1;color:#ff4b4b;">3</span>' in text  # the big, confident "3"
    assert not at.error
    if lang == "zh":
        assert "置信度" in text


@pytest.mark.skipif(not MODEL_READY, reason="models/digits not trained")
def test_naive_resize_comparison():
    at = _page("en", example="7")
    at.toggle(key="digits_compare").set_value(True).run()
    assert not at.exception
    text = _text(at)
    assert "Without MNIST preprocessing" in text and "With MNIST preprocessing" in text


def test_bad_example_value_is_explained():
    at = _page("zh", example="<b>42</b>")
    assert any("示例" in w.value and "0 到 9" in w.value for w in at.warning)
    assert any("在画布上写一个数字" in i.value for i in at.info)
