"""The attention page's "What decided the output" (ui/attention_attribution.py): off by default
(the page stays fast), ``?attr=true`` shows the attribution of the same input for a sentiment
model (en + zh) or the QA model with a question and a passage, with the note that attention
and attribution are different things and rollout's top words beside the attribution's; a
model without a head says in one line there is no output to attribute."""

from __future__ import annotations

import numpy as np
import pytest

from tests.apptest_pages import html_of, open_page
from ui.i18n import TABLE

PAGE = "pages/attention.py"
EN_TEXT = "What a wonderful, moving film."
ZH_TEXT = "这家餐厅的菜很好吃，服务也很热情，下次还会再来。"


def _captions(at) -> str:
    return " ".join(str(c.value) for c in at.caption)


def _markdown(at) -> str:
    return " ".join(str(m.value) for m in at.markdown)


def _note(lang: str) -> str:
    return TABLE["attention.attr.note"][lang]


def test_kind_of_each_model():
    from ui.attention_attribution import kind_of

    assert kind_of("sentiment-en-minilm") == "classify"
    assert kind_of("sentiment-zh-e5") == "classify"
    assert kind_of("sentiment-zh-char") == "classify"
    assert kind_of("qa-e5") == "qa"
    assert kind_of("e5-small") == "none" and kind_of("minilm") == "none"  # sentence encoders: no head
    assert kind_of("attn-bert-base-uncased") == "none"
    assert kind_of("qwen-0.5b-reader") == "llm"


def test_top_words_and_table():
    from ui.attention_attribution import compare_table, top_words

    pieces = ["good", " ", "film", ",", " ", "bad", " ", "plot"]
    weights = [1.0, 0.0, 0.1, -0.2, 0.0, -2.0, 0.0, 0.0]
    top = top_words(pieces, weights, n=3)
    assert top == [("bad", -2.0), ("good", 1.0), (",", -0.2)]  # by |weight|; spaces and zeros left out
    data, same = compare_table([("film", 0.5), ("good", 0.3)], top)
    assert same == 1 and len(data) == 3
    assert data.loc[1].iloc[1] == "bad  (-2.00)" and data.loc[3].iloc[0] == ""


def test_rollout_by_word_sums_to_one_over_both_texts():
    from core.attention import AttentionResult
    from ui.attention_attribution import rollout_by_word

    # [CLS] pen ##guins live [SEP] in [SEP]: one layer, one head attending uniformly
    tokens = ("[CLS]", "pen", "##guins", "live", "[SEP]", "in", "[SEP]")
    n = len(tokens)
    res = AttentionResult(
        tokens=tokens,
        attentions=np.full((1, 1, n, n), 1.0 / n, dtype=np.float32),
        model="minilm",
        truncated=False,
        special=(True, False, False, False, True, False, True),
        segment=(-1, 0, 0, 0, -1, 1, -1),
        word=(0, 1, 1, 2, 3, 4, 5),
        spans=((-1, 0, 0), (0, 0, 3), (0, 3, 8), (0, 9, 13), (-1, 0, 0), (1, 0, 2), (-1, 0, 0)),
        text="penguins live",
        text_pair="in",
        n_input_tokens=n,
        seconds=0.0,
    )
    q, p = ["penguins", " ", "live"], ["in"]
    shares = rollout_by_word(res, [(0, q), (1, p)])
    assert [len(s) for s in shares] == [len(q), len(p)]
    assert abs(sum(float(s.sum()) for s in shares) - 1.0) < 1e-6  # special tokens left out
    assert shares[0][1] == 0.0  # a space takes nothing
    assert np.isclose(shares[0][0], 2 * shares[0][2]) and np.isclose(shares[0][2], shares[1][0])  # 2 pieces, 1, 1


def test_off_by_default_with_the_note():
    at = open_page(PAGE, "en", text=EN_TEXT, model="sentiment-en-minilm")
    toggle = at.toggle(key="attr")
    assert toggle.value is False
    assert _note("en") in _captions(at)
    assert "cls-explain" not in html_of(at) and not at.dataframe  # nothing computed


def test_headless_model_says_there_is_no_output():
    at = open_page(PAGE, "en", text=EN_TEXT, model="minilm")
    assert "there is no output to attribute" in _captions(at)
    assert not [w for w in at.toggle if w.key == "attr"]
    assert not at.error


def test_qa_model_without_a_passage_asks_for_one():
    at = open_page(PAGE, "zh", text="谁设计了这座塔？", model="qa-e5")
    assert "在第一个框填问题" in _captions(at) and not at.error


@pytest.mark.slow
def test_sentiment_attribution_en():
    at = open_page(PAGE, "en", text=EN_TEXT, model="sentiment-en-minilm", attr="true")
    assert not at.error, [e.value for e in at.error]
    assert "Predicted label: **Positive**" in _markdown(at)
    assert "cls-explain" in html_of(at) and "wonderful" in html_of(at)
    assert _note("en") in _captions(at)
    table = at.dataframe[-1].value
    assert list(table.columns) == [
        TABLE["attention.attr.col_rollout"]["en"],
        TABLE["attention.attr.col_attribution"]["en"],
    ]
    assert len(table) == 5 and "wonderful" in " ".join(table.iloc[:, 1])
    assert "Words in both columns" in _captions(at)
    assert len(at.get("plotly_chart")) == 1  # the attention view is still there


@pytest.mark.slow
def test_sentiment_attribution_zh():
    at = open_page(PAGE, "zh", text=ZH_TEXT, model="sentiment-zh-e5", attr="true")
    assert not at.error, [e.value for e in at.error]
    assert "预测标签：**正面**" in _markdown(at)
    assert "cls-explain" in html_of(at) and "好吃" in html_of(at)
    assert _note("zh") in _captions(at)
    assert TABLE["attention.attr.col_attribution"]["zh"] in at.dataframe[-1].value.columns
    assert "两列共有的词" in _captions(at)


@pytest.mark.slow
def test_qa_attribution_with_a_passage():
    at = open_page(
        PAGE,
        "en",
        text="Where do penguins live?",
        pair="Penguins live almost exclusively in the Southern Hemisphere, especially in Antarctica.",
        model="qa-e5",
        attr="true",
    )
    assert not at.error, [e.value for e in at.error]
    assert "Answer: **" in _markdown(at) and "Hemisphere" in _markdown(at)
    assert 'class="qa-why"' in _markdown(at)  # the question and the passage tinted, as on the Q&A page
    assert len(at.dataframe[-1].value) == 5


@pytest.mark.slow
def test_sentiment_with_a_second_text_says_only_the_first_is_attributed():
    at = open_page(PAGE, "en", text=EN_TEXT, pair="Terrible acting.", model="sentiment-en-minilm", attr="true")
    assert not at.error
    assert "the attribution is of the first text alone" in _captions(at)
