"""OpenVINO serving of the text encoders (core.openvino.text): sentiment-zh-e5,
sentiment-en-minilm and e5-small go through the same build, cache, guard and fallback as
qa-e5 (tests/test_openvino.py), with graphs that output logits or hidden states.

Fast tests use tiny random models; the real ones use the builds ``make setup`` made (built
here once per session when missing: a few minutes each; DEMO_OV_BUILD=off in the tests)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("openvino")

import torch

from core import loaders, registry
from core.openvino import cache, export, guard, runtime
from tests.tiny_bert import tiny_bert_config


def _tiny_bert() -> object:
    from transformers import BertModel

    config = tiny_bert_config()
    return BertModel(config, add_pooling_layer=False).eval()


@pytest.mark.parametrize("kind", ["classifier-e5", "classifier-minilm", "encoder"])
def test_classifier_and_encoder_graphs_give_pytorch_outputs(kind):
    from core.classify.models import E5Sentiment, MiniLMSentiment

    bert = _tiny_bert()
    if kind == "encoder":
        model, graph_kind, out = bert, "encoder", "last_hidden_state"
    else:
        model = E5Sentiment(bert, (1, 2), 16) if kind == "classifier-e5" else MiniLMSentiment(bert, 1)
        graph_kind, out = "classifier", "logits"
    model.eval()
    ids = torch.randint(5, 120, (3, 17))
    mask = torch.ones_like(ids)
    mask[2, 9:] = 0  # a padded row: dynamic batch and length
    with torch.inference_mode():
        want = getattr(model(input_ids=ids, attention_mask=mask), out)
    served = runtime.ov_model(
        runtime.compile_model(export.convert(model, graph_kind), threads=1), model, kind=graph_kind
    )
    got = getattr(served(input_ids=ids, attention_mask=mask), out)
    assert got.shape == want.shape
    keep = mask.bool().numpy() if out != "logits" else slice(None)  # hidden states: real tokens only
    np.testing.assert_allclose(got.numpy()[keep], want.numpy()[keep], atol=1e-2)


def test_guard_accuracy_and_cosine():
    ref = {"zh": {"accuracy": 87.5, "cosine": 1.0}, "passages": {"n": 3, "cosine": 1.0}}
    ok = {"zh": {"accuracy": 86.6, "cosine": 0.995}, "passages": {"n": 3, "cosine": 0.992}}
    assert guard.passes(ok, ref, "accuracy", guard.MAX_DROP)
    assert not guard.passes({**ok, "zh": {"accuracy": 86.4, "cosine": 0.995}}, ref, "accuracy", guard.MAX_DROP)
    assert not guard.passes({**ok, "passages": {"n": 3, "cosine": 0.98}}, ref, "accuracy", guard.MAX_DROP)


# ---- the real builds ----------------------------------------------------------------------

KEYS = ("sentiment-zh-e5", "e5-small", "sentiment-en-minilm")
CHECK = {
    "sentiment-zh-e5": ["这家餐厅的红烧肉肥而不腻，分量也足，价格实惠。", "质量太差了，用了两天就坏了，客服也不理人。"],
    "sentiment-en-minilm": ["a warm, funny and moving film.", "a tedious, badly acted mess."],
}


@pytest.fixture(scope="module")
def builds() -> dict[str, object]:
    from core.openvino.build import build

    out = {}
    for key in KEYS:
        if registry.bundled_path(registry.get(key)) is None:
            continue
        out[key] = build(key)  # kept when make setup built it for these weights
    return out


@pytest.mark.parametrize("key", KEYS)
def test_build_is_keyed_by_the_weights_and_passed_its_guard(builds, key):
    from core.openvino.build import SPECS

    if key not in builds:
        pytest.skip(f"{key} is not installed")
    sha = cache.source_sha(SPECS[key].sources(registry.bundled_path(registry.get(key))))
    assert builds[key] == cache.folder_for(key, sha) and cache.check(key, sha) == "ok"
    record = json.loads((builds[key] / "guard.json").read_text())
    assert record["metric"] == "accuracy" and record["max_drop"] == 1.0
    if not record["passed"]:
        pytest.skip(f"{key}: no OpenVINO variant passed the guard (served by PyTorch)")
    served = record["scores"][record.get("served", f"openvino-{record['precision']}")]
    for lang, ref in record["scores"]["pytorch-fp32"].items():
        if "accuracy" in ref:
            assert served[lang]["accuracy"] >= ref["accuracy"] - 1.0, lang
        if "cosine" in served:
            assert served[lang]["cosine"] >= guard.MIN_COSINE, lang


@pytest.mark.parametrize("key", ["sentiment-zh-e5", "sentiment-en-minilm"])
def test_served_classifier_gives_pytorch_labels_and_explains_on_the_served_model(builds, key, monkeypatch):
    """Labels from the served (OpenVINO) model are PyTorch's; occlusion's perturbed texts run on
    the served model (its weights agree with PyTorch's up to int8 noise: same strongest words),
    integrated gradients on the PyTorch copy (the same weights as PyTorch alone)."""
    from core.classify import classify
    from core.classify.explain import explaining_bundle, sentiment_details

    if key not in builds:
        pytest.skip(f"{key} is not installed")
    loaders.clear_cache()
    monkeypatch.setenv(runtime.RUNTIME_ENV, "torch")
    want = [p.label for p in classify(CHECK[key], model=key)]
    want_occ = sentiment_details(CHECK[key][0], model=key, method="occlusion")
    want_ig = sentiment_details(CHECK[key][0], model=key, method="integrated-gradients").explanation
    loaders.clear_cache()
    monkeypatch.delenv(runtime.RUNTIME_ENV)
    bundle = loaders.load(key)
    served = json.loads((builds[key] / "guard.json").read_text())["passed"]
    assert bundle.meta["runtime"] == ("openvino" if served else "pytorch")
    assert [p.label for p in classify(CHECK[key], model=key)] == want
    got_occ = sentiment_details(CHECK[key][0], model=key, method="occlusion")
    assert got_occ.prediction.label == want_occ.prediction.label
    a, b = np.array(got_occ.explanation.weights), np.array(want_occ.explanation.weights)
    assert got_occ.explanation.pieces == want_occ.explanation.pieces
    assert np.corrcoef(a, b)[0, 1] > 0.9, (a, b)
    assert set(np.argsort(-a)[:2]) & set(np.argsort(-b)[:2])  # a strongest word in common
    got_ig = sentiment_details(CHECK[key][0], model=key, method="integrated-gradients").explanation
    assert got_ig.pieces == want_ig.pieces
    np.testing.assert_allclose(got_ig.weights, want_ig.weights, atol=1e-3)
    copy = explaining_bundle(bundle)  # the one integrated gradients ran on
    assert copy.meta["runtime"] == "pytorch" and isinstance(copy.model, torch.nn.Module) and not copy.model.training
    loaders.clear_cache()


def test_e5_small_served_embeddings_match_pytorch(builds, monkeypatch):
    from core.classify.zero_shot import classify_zero_shot, embed

    if "e5-small" not in builds:
        pytest.skip("e5 is not installed")
    texts = ["query: 这部手机的电池很耐用。", "passage: The Amazon rainforest covers much of the Amazon basin."]
    loaders.clear_cache()
    monkeypatch.setenv(runtime.RUNTIME_ENV, "torch")
    want = embed(loaders.load("e5-small"), texts)
    labels = ["sports", "technology", "cooking"]
    want_zs = classify_zero_shot(["The new chip doubles the battery life of the phone."], labels, model="e5-small")
    loaders.clear_cache()
    monkeypatch.delenv(runtime.RUNTIME_ENV)
    bundle = loaders.load("e5-small")
    if bundle.meta["runtime"] != "openvino":
        pytest.skip(f"e5-small served by PyTorch ({bundle.meta['runtime_note']})")
    got = embed(bundle, texts)
    assert np.all(np.sum(want * got, axis=1) >= guard.MIN_COSINE)
    got_zs = classify_zero_shot(["The new chip doubles the battery life of the phone."], labels, model="e5-small")
    assert got_zs[0].label == want_zs[0].label == "technology"
    assert loaders.load("e5-small", attention=True).meta["runtime"] == "pytorch"
    loaders.clear_cache()


def test_a_missing_build_serves_pytorch_with_a_note(tmp_path, monkeypatch):
    """No build in the model cache (a fresh clone before make setup, DEMO_OV_BUILD=off):
    PyTorch, with the ov-missing note /status shows, never an error."""
    if registry.bundled_path(registry.get("sentiment-en-minilm")) is None:
        pytest.skip("sentiment-en-minilm is not installed")
    monkeypatch.setattr(cache, "root", lambda: tmp_path / "openvino")
    monkeypatch.setenv(runtime.BUILD_ENV, "off")
    monkeypatch.delenv(runtime.RUNTIME_ENV, raising=False)
    loaders.clear_cache()
    bundle = loaders.load("sentiment-en-minilm")
    assert (bundle.meta["runtime"], bundle.meta["runtime_note"]) == ("pytorch", "ov-missing")
    assert loaders.loaded_runtimes()["sentiment-en-minilm"] == ("pytorch", "fp32", "ov-missing")
    loaders.clear_cache()
