"""AppTest of the /digits page in both languages: the blank-canvas prompt, an example drawing
from ``?example=N`` predicted through the real model, the options (bound to the URL), the
naive-resize comparison, a bad ``example`` value, the latency in the footer, the explanation
method picker (bound to the URL) with its faithfulness caption, and never a traceback.
(Drawing with a mouse is the browser test's job.)"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.digits import model_key
from core.digits.explain import DEFAULT_METHOD, DIGIT_METHODS
from core.registry import REPO_ROOT
from tests.apptest_pages import open_page
from ui.i18n import TABLE

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
    at.toggle(key="compare").set_value(True).run()
    assert not at.exception
    text = _text(at)
    assert "Without MNIST preprocessing" in text and "With MNIST preprocessing" in text


def test_bad_example_value_is_ignored():
    """An example that does not exist is dropped (Streamlit validates bound URL values):
    a blank canvas with its prompt, no error."""
    at = _page("zh", example="<b>42</b>")
    assert at.pills(key="example").value is None
    assert any("在画布上写一个数字" in i.value for i in at.info)
    assert not at.error and not at.warning


@pytest.mark.skipif(not MODEL_READY, reason="models/digits not trained")
def test_options_come_from_the_url_and_toggles_reuse_the_result():
    at = _page("en", example="4", compare="true", saliency="false", pen="30")
    assert at.slider(key="pen").value == 30
    assert at.toggle(key="compare").value is True and at.toggle(key="saliency").value is False
    text = _text(at)
    assert "Without MNIST preprocessing" in text and "Strokes that decided it" not in text
    last = at.session_state["_last_prediction"]  # what the sidebar footer shows
    assert last["model"] == model_key() and 0 < last["latency_ms"] < 5000
    at.toggle(key="compare").set_value(False).run()  # a view option: the same result, redrawn
    assert not at.exception and "Without MNIST preprocessing" not in _text(at)
    assert at.session_state["_last_prediction"] == last  # no new prediction
    at.toggle(key="saliency").set_value(True).run()
    assert "Strokes that decided it" in _text(at)


@pytest.mark.skipif(not MODEL_READY, reason="models/digits not trained")
def test_picking_an_example_draws_it():
    at = _page("zh")
    at.pills(key="example").set_value(8).run()
    assert not at.exception
    assert '800;line-height:1;color:#ff4b4b;">8</span>' in _text(at)


def _attribution(at: AppTest):
    """The explanation behind the page (the remembered ``recognise`` result)."""
    (_key, result, _ms) = at.session_state["_run_once"]["core.digits.inference.recognise"]
    return result.attribution


@pytest.mark.skipif(not MODEL_READY, reason="models/digits not trained")
def test_method_picker_changes_the_explanation_and_states_its_faithfulness():
    at = _page("en", example="7")
    assert at.session_state["method"] == DEFAULT_METHOD and _attribution(at).method == DEFAULT_METHOD
    text = _text(at)
    assert "Removing the 20% most important strokes lowers P(7) from" in text and "random strokes:" in text
    assert "for the 7" in text and "against it" in text  # the legend
    for m in DIGIT_METHODS:
        at.session_state["method"] = m
        at.run()
        assert not at.exception and not at.error
        assert _attribution(at).method == m
        assert ("add up to the change from a blank canvas" in _text(at)) == (m == "integrated-gradients")


@pytest.mark.skipif(not MODEL_READY, reason="models/digits not trained")
def test_method_comes_from_the_url_in_chinese():
    label = TABLE["digits.method.gradient-x-input"]["zh"]  # a bound picker keeps its shown label in the URL
    at = _page("zh", example="2", method=label)
    assert _attribution(at).method == "gradient-x-input"
    text = _text(at)
    assert "删去最重要的 20% 笔迹后，P(2) 从" in text and "支持 2" in text
