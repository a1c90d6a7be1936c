"""The classify page under Streamlit's AppTest (no browser), offline, in both languages."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.availability import default_model
from tests.apptest_pages import html_of, open_page

ZH_DEFAULT = default_model("sentiment", "zh", online=False)
TABS = {
    "en": ("✍️ One text", "📄 Many texts / CSV", "🏷️ Your own labels"),
    "zh": ("✍️ 单条文本", "📄 批量 / CSV 文件", "🏷️ 自定义类别"),
}


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))


def _page(lang: str = "en", **params: str) -> AppTest:
    return open_page("pages/classify.py", lang, timeout=240, **params)


def _remembered(at: AppTest, slot: str):
    """The result the page drew: the one ``ui.run.run_once`` remembers for this session."""
    memo = at.session_state["_run_once"] if "_run_once" in at.session_state else {}
    return memo[slot][1] if slot in memo else None


def _outside_expanders(at: AppTest, kind: str) -> int:
    """How many ``kind`` elements the page drew outside its expanders (the "How this model was
    trained" expander at the end has a chart and a table of its own)."""

    def count(node) -> int:
        return len(node.dataframe) if kind == "dataframe" else len(node.get(kind))

    return count(at) - sum(count(e) for e in at.expander)


def _single(at: AppTest):
    return _remembered(at, "core.classify.explain.sentiment_details")


def _zero_shot(at: AppTest):
    return _remembered(at, "core.classify.zero_shot.zero_shot_details")


def _open_tab(at: AppTest, i: int, lang: str = "en") -> None:
    at.session_state["cls_tab"] = TABS[lang][i]
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_english_example_positive_with_chart_and_explanation():
    at = _page("en")
    result = _single(at)
    pred, expl = result.prediction, result.explanation
    assert pred.label == "positive" and pred.model == "sentiment-en-minilm"
    assert result.why == "default" and result.language == "en" and not result.notes
    assert "Positive" in html_of(at) and "cls-explain" in html_of(at)
    assert any("picked for English text" in c.value for c in at.caption)
    assert _outside_expanders(at, "plotly_chart") == 1  # only the open tab runs
    assert "".join(expl.pieces) == at.text_area(key="text").value.strip()
    assert _zero_shot(at) is None


def test_method_picker_from_the_url_and_the_trust_caption_in_both_languages():
    at = _page("en", why_method="Integrated gradients")  # Streamlit binds the option as shown
    result = _single(at)
    assert result.explanation.method == "integrated-gradients" and result.explanation.completeness_error < 0.05
    captions = " ".join(c.value for c in at.caption)
    assert "Integrated gradients" in captions and "completeness error" in captions
    assert "removing the" in captions and "random words" in captions
    assert "Measured on 200 held-out English reviews" in captions
    assert "cls-bar" in html_of(at)  # the diverging legend
    zh = _page("zh")
    assert _single(zh).explanation.method == "shapley"
    captions = " ".join(c.value for c in zh.caption)
    assert "Shapley 值" in captions and "随机去掉" in captions
    assert "在 200 条未参与训练的中文评论上实测" in captions


def test_chosen_model_of_another_language_warns():
    """Choosing the Chinese model for English text: core says so (a note code), the page warns."""
    at = _page("en", manual="true", model=ZH_DEFAULT)
    assert at.toggle(key="manual").value
    result = _single(at)
    assert result.model == ZH_DEFAULT and result.why == "chosen" and "model-language" in result.notes
    assert any("trained on Chinese text, but this text looks English" in w.value for w in at.warning)


def test_chinese_ui_and_example_negative():
    at = _page("zh")
    assert at.text_area(key="text").value.startswith("房间干净")
    at.button(key="cls_ex_phone_neg_zh").click().run()
    assert at.text_area(key="text").value.startswith("手机用了三天")
    assert not at.exception
    pred = _single(at).prediction
    assert pred.label == "negative" and pred.model == ZH_DEFAULT
    assert any("根据中文文本自动选择" in c.value for c in at.caption)
    assert "负面" in html_of(at) and "置信度" in html_of(at)


def test_prefill_from_url_escapes_html_and_empty_prompt():
    at = _page("en", text="<script>alert(1)</script> what a wonderful, <b>moving</b> film")
    html = html_of(at)
    i = html.find("<script>alert")
    assert i < 0, html[max(0, i - 300) : i + 80] and "&lt;script&gt;" in html and "<b>moving" not in html
    assert "wonderful" in _single(at).explanation.pieces
    at.text_area(key="text").set_value("   \n ").run()
    assert any("Type or paste a text" in i.value for i in at.info)


def test_batch_lines_in_both_languages():
    at = _page("en")
    _open_tab(at, 1)
    at.text_area(key="cls_lines").set_value(
        "What a wonderful, moving film.\n\n质量太差了，非常失望。\nBoring and far too long.\n"
    ).run()
    assert (
        not _outside_expanders(at, "dataframe") and _remembered(at, "classify-batch") is None
    )  # nothing before the button
    at.button(key="cls_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    preds = _remembered(at, "classify-batch")
    assert [p.label for p in preds] == ["positive", "negative", "negative"]
    assert [p.language for p in preds] == ["en", "zh", "en"]
    assert _outside_expanders(at, "dataframe") == 1 and at.dataframe[0].value.shape[0] == 3
    assert any("3 texts in" in s.value for s in at.success)
    at.run()  # a rerun keeps the result without classifying again
    assert _outside_expanders(at, "dataframe") == 1 and _remembered(at, "classify-batch") is preds
    at.number_input(key="explain_row").set_value(2).run()  # explain a row: the Chinese one
    row = _remembered(at, "explain_row")
    assert row.prediction.label == "negative" and "失望" in row.explanation.pieces
    assert "cls-explain" in html_of(at) and not at.exception
    at.text_area(key="cls_lines").set_value("Boring.\n").run()  # new texts wait for the button
    assert not _outside_expanders(at, "dataframe") and any("Classify 1 texts" in b.label for b in at.button)


def test_zero_shot_tab_offline_in_english_and_chinese():
    at = _page("en")
    _open_tab(at, 2)
    assert "text" not in [w.key for w in at.text_area]  # only the open tab is drawn
    at.text_area(key="zs_text").set_value("The striker scored twice and the team won the final.").run()
    at.text_input(key="zs_labels").set_value("sports, politics, cooking").run()
    pred = _zero_shot(at).prediction
    assert pred.label == "sports" and pred.model == "e5-small"
    assert any("template “This text is about ….”" in c.value for c in at.caption)
    at.text_area(key="zs_text").set_value("这场足球比赛非常精彩").run()
    assert not at.warning and not at.exception
    result = _zero_shot(at)
    assert result.prediction.label == "sports" and result.template == "这段文字是关于{label}的。"  # Chinese text
    at.text_input(key="zs_labels").set_value("体育, 政治, 美食").run()
    pred = _zero_shot(at).prediction
    assert pred.label == "体育" and pred.model == "e5-small"
    assert any("这段文字是关于…的。" in c.value and "e5-small" in c.value for c in at.caption)
    at.text_input(key="zs_labels").set_value("sports").run()
    assert any("at least two labels" in i.value for i in at.info)


def test_zero_shot_tab_chinese_default_in_the_chinese_ui():
    at = _page("zh")
    _open_tab(at, 2, "zh")
    pred = _zero_shot(at).prediction
    assert pred.label == "科技" and pred.model == "e5-small"  # the phone example with 体育, 政治, 科技, 美食


def test_zero_shot_inputs_from_a_shared_link():
    at = _page("en", zs_text="Parliament passed the new election law.", zs_labels="sports, politics")
    _open_tab(at, 2)
    assert at.text_input(key="zs_labels").value == "sports, politics"
    assert _zero_shot(at).prediction.label == "politics"


def test_zero_shot_tab_without_a_multilingual_encoder(monkeypatch):
    from core import registry

    real = registry.bundled_path
    monkeypatch.setattr(registry, "bundled_path", lambda e: None if e.key == "e5-small" else real(e))
    at = _page("en")
    _open_tab(at, 2)
    at.text_area(key="zs_text").set_value("这场足球比赛非常精彩").run()
    warning = " ".join(w.value for w in at.warning)
    assert "multilingual-e5-small" in warning and "Multilingual MiniLM" in warning and "make setup" in warning
    assert _zero_shot(at).prediction is None and _zero_shot(at).would_do
    at.button(key="cls_zs_try_en").click().run()
    assert at.text_area(key="zs_text").value.startswith("The new phone")
    pred = _zero_shot(at).prediction
    assert pred.label == "technology" and pred.model == "minilm"


def test_attention_link_names_the_classifier():
    at = _page("en")
    links = [str(getattr(e, "proto", e)) for e in at.get("page_link")]
    assert any("model=sentiment-en-minilm" in link and "text=A+gorgeous" in link for link in links), links
