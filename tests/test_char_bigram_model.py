"""CharBigramBertForSequenceClassification (the shape of models/sentiment-zh) on a tiny
random model: bigram lookup, save / load through the registry builder, attention maps."""

from __future__ import annotations

import pytest
import torch

from core.classify.models import CharBigramBertForSequenceClassification, build_chinese

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"好吃难很不"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from transformers import BertConfig, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_bigram")
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab=str(folder / "vocab.txt"), model_max_length=32)
    ids = tok.convert_tokens_to_ids
    cfg = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        bigram_vocab_size=2,
        id2label={0: "negative", 1: "positive"},
        label2id={"negative": 0, "positive": 1},
    )
    torch.manual_seed(0)
    model = CharBigramBertForSequenceClassification(cfg).eval()
    v = len(VOCAB)
    # bigrams 很好 and 好吃, given out of order: set_bigrams sorts them
    model.set_bigrams(torch.tensor([ids("好") * v + ids("吃"), ids("很") * v + ids("好")]))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return model, tok, folder


def test_bigram_ids_look_up_known_pairs_only(tiny):
    model, tok, _ = tiny
    enc = tok(["很好吃", "吃好很"], return_tensors="pt")  # [CLS] c c c [SEP]
    got = model.bigram_ids(enc["input_ids"]).tolist()
    keys = model.bigram_keys.tolist()
    v = len(VOCAB)
    hao_chi = keys.index(tok.convert_tokens_to_ids("好") * v + tok.convert_tokens_to_ids("吃")) + 1
    hen_hao = keys.index(tok.convert_tokens_to_ids("很") * v + tok.convert_tokens_to_ids("好")) + 1
    assert got[0] == [0, hen_hao, hao_chi, 0, 0]
    assert got[1] == [0, 0, 0, 0, 0]  # reversed pairs are not bigrams of the table
    assert model.bigram_embeddings.weight[0].abs().sum() == 0


def test_bigram_embedding_changes_the_output(tiny):
    model, tok, _ = tiny
    enc = tok(["很好吃"], return_tensors="pt")
    with torch.inference_mode():
        before = model(**enc).logits.clone()
        row = model.bigram_ids(enc["input_ids"])[0, 1]
        saved = model.bigram_embeddings.weight[row].clone()
        model.bigram_embeddings.weight[row] += torch.linspace(
            -1.0, 1.0, saved.numel()
        )  # not a uniform shift: LayerNorm removes those
        after = model(**enc).logits.clone()
        model.bigram_embeddings.weight[row] = saved
    assert not torch.allclose(before, after)


def test_builder_round_trip_keeps_bigrams_and_gives_attention(tiny):
    model, tok, folder = tiny
    built = build_chinese(None, folder, torch.device("cpu"), attention=True)
    assert torch.equal(built.model.bigram_keys, model.bigram_keys)
    assert built.meta["id2label"] == {0: "negative", 1: "positive"}
    enc = built.preprocessor(["很好吃", "难吃"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        out = built.model(**enc, output_attentions=True)
        ref = model(**enc).logits
    assert out.logits.shape == (2, 2) and torch.allclose(out.logits, ref, atol=1e-5)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (2, 2, 5, 5)  # [batch, heads, seq, seq]
    rows = out.attentions[0][1, :, :4].sum(-1)  # real tokens of the shorter text
    assert torch.allclose(rows, torch.ones_like(rows), atol=1e-5)


def test_forward_without_ids_is_a_clear_error(tiny):
    model, _, _ = tiny
    with pytest.raises(ValueError, match="input_ids"):
        model()
