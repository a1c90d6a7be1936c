"""The attention of a causal language model (a tiny random Qwen2 with grouped-query
attention and a byte-level BPE tokenizer, :mod:`tests.tiny_qwen`): exact shapes, rows
summing to 1, nothing above the diagonal, the "causal" and "grouped-kv" notes, English,
Chinese, emoji and ChatML text, every view without NaN, and the notes on the page in
English and Chinese."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from core.attention import AttentionResult, attention_from_model, is_causal, kv_heads
from core.attention.tokens import byte_label
from core.attention.views import apply_view, apply_view_vector, head_average, head_stats, make_view, rollout
from tests.tiny_qwen import tiny_qwen

TEXTS = {
    "en": "The Eiffel Tower was designed by Gustave Eiffel in 1889.",
    "zh": "人工智能是一种模拟人类智能的技术，通过计算机程序实现。",
    "emoji": "Emoji 🎉 and 👍🏽 and ❤️ travel well; the rocket 🚀 flies!",
    "mixed": "Paris 巴黎 🚀 rocket",
}
KEY = "qwen-0.5b-reader"  # a registry key, so the page can name the model


@pytest.fixture(scope="module")
def gqa() -> tuple[Any, Any]:
    return tiny_qwen(heads=4, kv_heads=2, layers=2)


@pytest.fixture(scope="module")
def results(gqa) -> dict[str, AttentionResult]:
    model, tok = gqa
    return {name: attention_from_model(model, tok, text, key=KEY) for name, text in TEXTS.items()}


@pytest.mark.parametrize("name", list(TEXTS))
def test_causal_maps_are_exact(results, name: str) -> None:
    res = results[name]
    t = len(res)
    assert res.attentions.shape == (2, 4, t, t) and res.attentions.dtype == np.float32
    assert (res.layers, res.heads) == (2, 4)
    np.testing.assert_allclose(res.attentions.sum(-1), 1.0, atol=1e-5)
    assert not np.triu(res.attentions, k=1).any()  # exactly 0 above the diagonal
    assert (np.diagonal(res.attentions, axis1=-2, axis2=-1) > 0).all()
    np.testing.assert_allclose(res.attentions[..., 0, 0], 1.0)  # the first token sees only itself
    assert res.causal and res.kv_heads == 2 and res.kv_group == 2
    assert res.notes == ("causal", "grouped-kv")
    assert not any(res.special)  # a byte-level BPE tokenizer adds no special tokens


@pytest.mark.parametrize("name", list(TEXTS))
def test_words_and_labels_give_back_the_text(results, name: str) -> None:
    res = results[name]
    text = TEXTS[name]
    words = res.word_labels()
    assert len(words) == max(res.word) + 1 and list(res.word) == sorted(res.word)
    assert "".join(words) == text.replace(" ", "")  # every character once, spaces dropped
    labels = res.token_labels()
    assert len(labels) == len(res) and all(labels)
    for i, (seg, start, end) in enumerate(res.spans):
        assert seg == 0 and 0 <= start <= end <= len(text)
        if labels[i].lstrip("Ġ").isprintable() and "<" not in labels[i] and labels[i].strip("Ġ"):
            assert text[start:end] == labels[i].lstrip("Ġ")  # a whole character: its own text
    if name == "zh":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in "".join(labels))  # decoded, not "äºº"
        assert all(len(w) == 1 or any("\u4e00" <= ch <= "\u9fff" for ch in w) for w in words)


def test_the_bytes_of_one_emoji_are_one_word(results) -> None:
    res = results["emoji"]
    words = res.word_labels()
    for emoji in ("🎉", "👍🏽", "❤️", "🚀"):
        assert emoji in words  # never cut between its bytes, its skin tone or its variation selector
    assert len(res) > len(words)


def test_byte_labels() -> None:
    assert byte_label("Ġworld") == "Ġworld" and byte_label("Ċ") == "Ċ"
    assert byte_label("è¿Ļå®¶") == "这家"
    assert byte_label("ĠðŁ") == "Ġ<F0 9F>" and byte_label("İ") == "<8E>"
    assert byte_label("<|im_start|>") == "<|im_start|>"


def test_chatml_special_tokens_are_special(gqa) -> None:
    model, tok = gqa
    text = "<|im_start|>user\nWho designed the tower?<|im_end|>\n<|im_start|>assistant\n"
    res = attention_from_model(model, tok, text)
    marked = [tok_ for tok_, sp in zip(res.tokens, res.special) if sp]
    assert marked == ["<|im_start|>", "<|im_end|>", "<|im_start|>"]
    for i, sp in enumerate(res.special):
        if sp:
            assert res.segment[i] == -1 and res.spans[i] == (-1, 0, 0)
            assert res.word.count(res.word[i]) == 1  # a group of its own
    view = make_view(res.tokens, res.special, hide_special=True, groups=res.word, labels=res.word_labels())
    assert "<|im_start|>" not in view.labels and "user" in view.labels and "assistant" in view.labels
    got = apply_view(res.attentions, view)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", list(TEXTS))
def test_every_view_works_on_causal_maps(results, name: str) -> None:
    res = results[name]
    att = res.attentions
    for hide in (False, True):
        for merge in (False, True):
            view = res.view(hide_special=hide, merge=merge)
            got = apply_view(att, view)
            assert got.shape == (2, 4, view.size, view.size) and np.isfinite(got).all()
            np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)
            if not merge:
                assert not np.triu(got, k=1).any()
    avg = head_average(att)
    assert avg.shape == (2, len(res), len(res)) and not np.triu(avg, k=1).any()
    np.testing.assert_allclose(avg.sum(-1), 1.0, atol=1e-5)
    r = rollout(att)
    assert np.isfinite(r).all() and not np.triu(r, k=1).any()
    np.testing.assert_allclose(r.sum(-1), 1.0, atol=1e-5)
    assert r[0, 0] == pytest.approx(1.0)  # the first token draws only on itself
    view = make_view(res.tokens, res.special, groups=res.word, labels=res.word_labels())
    vec = apply_view_vector(r[-1], view)
    assert np.isfinite(vec).all() and vec.sum() == pytest.approx(1.0, abs=1e-5)
    s = head_stats(att, res.special)
    for part in (s.entropy, s.to_special, s.to_self, s.to_prev, s.to_next):
        assert part.shape == (2, 4) and np.isfinite(part).all()
    assert not s.to_next.any() and (s.entropy >= 0).all()  # a causal model never looks ahead


def test_without_grouping_no_grouped_kv_note() -> None:
    model, tok = tiny_qwen(heads=2, kv_heads=2, layers=1)
    res = attention_from_model(model, tok, TEXTS["en"])
    assert res.causal and res.kv_heads == 0 and res.notes == ("causal",)
    assert kv_heads(model, 2) == 0 and is_causal(model)


def test_causal_is_told_by_the_config_or_by_the_maps() -> None:
    from types import SimpleNamespace

    encoder = SimpleNamespace(config=SimpleNamespace(model_type="bert", is_decoder=False, architectures=["BertModel"]))
    full = np.full((1, 1, 3, 3), 1 / 3, dtype=np.float32)
    lower = np.tril(np.ones((1, 1, 3, 3), dtype=np.float32))
    assert not is_causal(encoder) and not is_causal(encoder, full)
    assert is_causal(encoder, lower / lower.sum(-1, keepdims=True))  # the maps say so
    assert not is_causal(encoder, np.ones((1, 1, 1, 1), dtype=np.float32))  # one token says nothing
    gpt = SimpleNamespace(config=SimpleNamespace(model_type="gpt2", architectures=["GPT2LMHeadModel"]))
    assert is_causal(gpt)
    gqa_cfg = SimpleNamespace(config=SimpleNamespace(num_key_value_heads=2, num_attention_heads=14))
    assert kv_heads(gqa_cfg, 14) == 2 and kv_heads(gqa_cfg, 2) == 0


def test_the_grid_of_a_deep_model_stays_small() -> None:
    """24 layers x 14 heads (Qwen2.5 0.5B): 336 clickable thumbnails on about one screen."""
    from ui.attention_figures import figure_bytes, grid_figure

    rng = np.random.default_rng(0)
    att = np.tril(rng.dirichlet(np.ones(40), size=(24, 14, 40)).astype(np.float32))
    att /= att.sum(-1, keepdims=True)
    fig = grid_figure(att, selected=(23, 13))
    assert len(fig.data[1].x) == 336 and fig.layout.height <= 1000
    assert figure_bytes(fig) < 250_000


def _page(res, view):  # AppTest runs this source alone: no annotation may name a type from here
    import streamlit as st

    from ui.attention_view import show_attention

    st.session_state.setdefault("view", view)
    show_attention(res, hide=False, merge=True)


@pytest.mark.parametrize(
    "lang,causal,grouped",
    [
        ("en", "upper-right triangle of every map is empty", "4 query heads share 2 key/value heads, 2 heads"),
        ("zh", "右上三角都是空的", "4 个查询头共享 2 组键/值头，每组 2 个头"),
    ],
)
def test_the_page_explains_the_causal_maps(results, lang: str, causal: str, grouped: str) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page, kwargs={"res": results["zh"], "view": "rollout"}, default_timeout=60)
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    info = " ".join(str(i.value) for i in at.info)
    assert causal in info and grouped in info
    captions = " ".join(str(c.value) for c in at.caption)
    assert ("last token" if lang == "en" else "最后一个词元") in captions  # the rollout follows the last token
    assert len(at.get("plotly_chart")) == 1
