"""The classify page under Streamlit's AppTest (no browser), offline, in both languages."""

from __future__ import annotations


import pytest
from streamlit.testing.v1 import AppTest

from core.availability import availability
from tests.apptest_pages import html_of, open_page

ZH_DEFAULT = "sentiment-zh-e5" if availability("e5-small").status == "available" else "sentiment-zh-char"



@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))


def _page(lang: str = "en", **params: str) -> AppTest:
    return open_page("pages/classify.py", lang, timeout=240, **params)


def _single(at: AppTest):
    return at.session_state["_cls_single"][1] if "_cls_single" in at.session_state else None


def test_english_example_positive_with_chart_and_explanation():
    at = _page("en")
    pred, expl, _ = _single(at)
    assert pred.label == "positive" and pred.model == "sentiment-en-minilm"
    assert "Positive" in html_of(at) and "cls-explain" in html_of(at)
    assert any("picked for English text" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) >= 1
    assert "".join(expl.pieces) == at.text_area(key="cls_text").value.strip()


def test_chinese_ui_and_example_negative():
    at = _page("zh")
    assert at.text_area(key="cls_text").value.startswith("房间干净")
    at.button(key="cls_ex_phone_neg_zh").click().run()
    assert at.text_area(key="cls_text").value.startswith("手机用了三天")
    assert not at.exception
    pred, _, _ = _single(at)
    assert pred.label == "negative" and pred.model == ZH_DEFAULT
    assert "负面" in html_of(at) and "置信度" in html_of(at)


def test_prefill_from_url_escapes_html_and_empty_prompt():
    at = _page("en", text="<script>alert(1)</script> what a wonderful, <b>moving</b> film")
    html = html_of(at)
    i = html.find("<script>alert")
    assert i < 0, html[max(0, i - 300):i + 80] and "&lt;script&gt;" in html and "<b>moving" not in html
    at.text_area(key="cls_text").set_value("   \n ").run()
    assert any("Type or paste a text" in i.value for i in at.info)


def test_batch_lines_in_both_languages():
    at = _page("en")
    at.text_area(key="cls_lines").set_value(
        "What a wonderful, moving film.\n\n质量太差了，非常失望。\nBoring and far too long.\n").run()
    at.button(key="cls_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    _, preds, _ = at.session_state["_cls_batch"]
    assert [p.label for p in preds] == ["positive", "negative", "negative"]
    assert [p.language for p in preds] == ["en", "zh", "en"]
    assert len(at.dataframe) == 1 and at.dataframe[0].value.shape[0] == 3
    assert any("3 texts in" in s.value for s in at.success)


def test_zero_shot_tab_offline_in_english_and_chinese():
    at = _page("en")
    at.text_area(key="cls_zs_text").set_value("The striker scored twice and the team won the final.").run()
    at.text_input(key="cls_zs_labels").set_value("sports, politics, cooking").run()
    pred = at.session_state["_cls_zs"][1][0]
    assert pred.label == "sports" and pred.model == "e5-small"
    at.text_area(key="cls_zs_text").set_value("这场足球比赛非常精彩").run()
    assert not at.warning and not at.exception
    assert at.session_state["_cls_zs"][1][0].label == "sports"  # Chinese text, English labels
    at.text_input(key="cls_zs_labels").set_value("体育, 政治, 美食").run()
    pred = at.session_state["_cls_zs"][1][0]
    assert pred.label == "体育" and pred.model == "e5-small"
    assert any("这段文字是关于…的。" in c.value and "e5-small" in c.value for c in at.caption)
    at.text_input(key="cls_zs_labels").set_value("sports").run()
    assert any("at least two labels" in i.value for i in at.info)


def test_zero_shot_tab_chinese_default_in_the_chinese_ui():
    at = _page("zh")
    pred = at.session_state["_cls_zs"][1][0]
    assert pred.label == "科技" and pred.model == "e5-small"  # the phone example with 体育, 政治, 科技, 美食


def test_zero_shot_tab_without_a_multilingual_encoder(monkeypatch):
    from core import registry

    real = registry.bundled_path
    monkeypatch.setattr(registry, "bundled_path", lambda e: None if e.key == "e5-small" else real(e))
    at = _page("en")
    at.text_area(key="cls_zs_text").set_value("这场足球比赛非常精彩").run()
    warning = " ".join(w.value for w in at.warning)
    assert "multilingual-e5-small" in warning and "Multilingual MiniLM" in warning and "make setup" in warning
    at.button(key="cls_zs_try_en").click().run()
    pred = at.session_state["_cls_zs"][1][0]
    assert pred.label == "technology" and pred.model == "minilm"


def test_attention_link_names_the_classifier():
    at = _page("en")
    links = [str(getattr(e, "proto", e)) for e in at.get("page_link")]
    assert any("model=sentiment-en-minilm" in link and "text=A+gorgeous" in link for link in links), links
