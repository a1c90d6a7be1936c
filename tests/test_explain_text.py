"""Text explanations (core.explain, core.classify.explain): word units (jieba for Chinese),
Captum's methods, completeness, faithfulness on the bundled models, and bad input."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from core.explain import Attribution, ExplainError, faithfulness, units
from core.explain import text as et

ZH_EXAMPLE = "房间干净整洁，服务员态度非常好，早餐也很丰富，下次还会再来！"
EN_EXAMPLE = "A gorgeous, witty and deeply moving film. The cast is wonderful and I loved every minute of it."


# ---- units ------------------------------------------------------------------------------


def test_chinese_units_are_jieba_words_and_never_split_one():
    import jieba

    spans, fallback = units.words(ZH_EXAMPLE)
    got = [ZH_EXAMPLE[a:b] for a, b in spans]
    assert not fallback and got == [w for w in jieba.lcut(ZH_EXAMPLE) if w.strip()]
    assert {"干净", "整洁", "服务员", "非常", "丰富"} <= set(got)


def test_english_words_mixed_text_emoji_and_html_units():
    text = "I didn't love it 😀 <b>好看</b> 3.5 stars, well-made!"
    got = [text[a:b] for a, b in units.words(text)[0]]
    assert "didn't" in got and "well-made" in got and "3.5" in got and "😀" in got and "好看" in got
    assert all(p.strip() == p and p for p in got)  # whitespace is never a unit


def test_delete_keeps_neighbours_apart_and_pieces_cover_the_text():
    text = "not bad at all, 非常好"
    spans, _ = units.words(text)
    keep = [text[a:b] != "bad" and text[a:b] != "非常" for a, b in spans]
    assert units.delete(text, spans, keep) == "not   at all, 好"
    pieces, weights = units.pieces(text, spans, list(range(len(spans))))
    assert "".join(pieces) == text and len(pieces) == len(weights)


def test_token_shares_split_a_token_that_spans_two_words():
    spans = [(0, 2), (2, 4)]
    shares = units.token_to_units([(0, 0), (0, 3), (3, 4)], spans)
    assert shares[0] == [] and shares[1] == [(0, 2 / 3), (1, 1 / 3)] and shares[2] == [(1, 1.0)]


# ---- integrated gradients on a tiny linear model ----------------------------------------


class _LinearClassifier(nn.Module):
    """Embeddings (pad row zero) summed -> linear -> 2 logits: the label's log-odds is linear
    in the embeddings, so integrated gradients from the padding baseline must equal
    gradient x input exactly."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.emb = nn.Embedding(vocab, 8, padding_idx=0)
        self.out = nn.Linear(8, 2)

    def get_input_embeddings(self) -> nn.Module:
        return self.emb

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_):
        e = self.emb(input_ids) * (attention_mask.unsqueeze(-1) if attention_mask is not None else 1)
        return SimpleNamespace(logits=self.out(e.sum(dim=1)))


def _tiny_bundle():
    from transformers import BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "film", "was", "great", "dull", ","]
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)})
    model = _LinearClassifier(len(vocab)).eval()
    model.config = SimpleNamespace(id2label={0: "negative", 1: "positive"})
    return SimpleNamespace(
        model=model, preprocessor=tok, device=torch.device("cpu"), lock=threading.Lock(), meta={}, key="tiny"
    )


def test_integrated_gradients_equals_gradient_times_input_on_a_linear_model(monkeypatch):
    import core.classify.sentiment as sentiment

    monkeypatch.setattr(sentiment, "max_length", lambda bundle: 32)
    bundle = _tiny_bundle()
    text = "the film was great, the film was dull"
    target = et.target_for(bundle, text, [1])
    weights, rel = et.integrated_gradients(target, steps=8)
    enc = bundle.preprocessor(text, return_tensors="pt")
    emb = bundle.model.emb(enc["input_ids"]).detach().requires_grad_(True)  # (1, T, 8)
    z = bundle.model.out(emb.sum(dim=1))[0]
    (z[1] - z[0]).backward()
    gxi = (emb.grad * emb).sum(-1)[0].detach().numpy()[1:-1]  # tokens without [CLS]/[SEP]
    np.testing.assert_allclose(weights, gxi, atol=1e-5)
    assert rel < 1e-4


# ---- faithfulness arithmetic ------------------------------------------------------------


def test_faithfulness_scores_on_a_model_that_counts_one_word():
    # p = 0.9 while unit 2 is kept, else 0.1: the top unit is everything, random is not
    def prob(masks: np.ndarray) -> np.ndarray:
        return np.where(masks[:, 2] > 0.5, 0.9, 0.1)

    right = faithfulness.score(prob, [0, 0, 5, 0, 0, 0, 0, 0, 0, 0], 0.9)
    wrong = faithfulness.score(prob, [5, 0, -1, 0, 0, 0, 0, 0, 0, 0], 0.9)
    assert right.comprehensiveness[0.1] == pytest.approx(0.8) and right.sufficiency[0.1] == pytest.approx(0.0)
    assert wrong.comprehensiveness[0.1] == pytest.approx(0.0) and wrong.aopc < right.aopc
    assert right.aopc > right.aopc_random
    drop, rnd = faithfulness.drop_for_input(prob, [0, 0, 5, 0, 0, 0, 0, 0, 0, 0], 0.9)
    assert drop == pytest.approx(0.8) and rnd < drop


# ---- the bundled models -------------------------------------------------------------------

CHECK = {
    "en": [
        "The plot was boring and the acting was terrible.",
        "A warm, funny and beautifully acted story.",
    ],
    "zh": [
        "手机用了两天就坏了，客服态度也很差，非常失望。",
        "质量很好，物流也快，非常满意。",
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("method", et.TEXT_METHODS)
def test_top_words_matter_more_than_random_words_on_the_bundled_models(method):
    from core.classify import explain

    wins, total = 0, 0
    for lang in ("en", "zh"):
        for text in CHECK[lang]:
            ex = explain(text, method=method)
            attr = ex.attribution
            assert isinstance(attr, Attribution) and attr.method == method
            assert "".join(attr.pieces) == text
            wins += attr.drop > attr.random_drop
            total += 1
    assert wins >= total - 1, f"{method}: top words beat random words on only {wins} of {total}"


def _weights(attr: Attribution) -> dict[str, float]:
    return {p: w for p, w in zip(attr.pieces, attr.weights) if p.strip()}


@pytest.mark.slow
def test_page_examples_credit_their_positive_words_with_the_default_method():
    from core.classify import explain

    zh = explain(ZH_EXAMPLE).attribution
    en = explain(EN_EXAMPLE).attribution
    for attr, credited, never_against in (
        (zh, ("好", "丰富"), ("干净", "整洁")),
        (en, ("gorgeous", "wonderful"), ("loved",)),
    ):
        w = _weights(attr)
        top = max(abs(v) for v in w.values())
        ranked = sorted(w, key=w.__getitem__, reverse=True)
        for word in credited:
            assert word in ranked[: max(5, len(ranked) // 4)], (attr.method, word, ranked[:6])
        for word in never_against:
            assert w[word] > -0.15 * top, (attr.method, word, w[word])


@pytest.mark.slow
def test_integrated_gradients_is_complete_on_the_bundled_models():
    from core.classify import explain

    for text in (EN_EXAMPLE, ZH_EXAMPLE):
        attr = explain(text, method="integrated-gradients").attribution
        assert attr.completeness_error is not None and attr.completeness_error < 0.05


def _fake_target(runtime: str, n_units: int, tokens: int, layers: int = 12) -> et.TextTarget:
    """A target whose bundle cannot run (no forward): only the estimates can be asked of it."""
    config = SimpleNamespace(num_hidden_layers=layers)
    bundle = SimpleNamespace(meta={"runtime": runtime}, model=SimpleNamespace(config=config))
    return et.TextTarget(bundle, "x" * n_units, [(i, i + 1) for i in range(n_units)], [0], tokens=tokens)


def test_auto_takes_the_most_faithful_method_estimated_within_the_budget():
    from core.classify.explain import AUTO_SECONDS, RANKING, auto_method

    for lang in ("en", "zh"):
        for runtime in ("pytorch", "openvino"):
            for n, tokens in ((5, 8), (20, 24), (77, 84), (120, 128)):
                target = _fake_target(runtime, n, tokens)
                chosen = auto_method(lang, target)
                fits = [m for m in RANKING[lang] if et.estimate_seconds(m, target) <= AUTO_SECONDS]
                assert chosen == (fits[0] if fits else min(RANKING[lang], key=lambda m: et.estimate_seconds(m, target)))
    # the served OpenVINO model makes perturbation methods cheaper; gradients stay on PyTorch
    pt, ov = _fake_target("pytorch", 77, 84), _fake_target("openvino", 77, 84)
    for method in ("occlusion", "shapley"):
        assert et.estimate_seconds(method, ov) < et.estimate_seconds(method, pt) / 2
    assert et.estimate_seconds("integrated-gradients", ov) == et.estimate_seconds("integrated-gradients", pt)
    # a 60-word Chinese review (77 jieba words, 84 tokens) gets an explanation within 1 s on OpenVINO
    assert et.estimate_seconds(auto_method("zh", ov), ov) <= AUTO_SECONDS


def test_an_explanation_estimated_too_slow_is_refused_before_it_runs():
    target = _fake_target("pytorch", 120, 128)  # its bundle would fail on the first forward
    assert et.estimate_seconds("shapley", target) > et.MAX_SECONDS
    with pytest.raises(ExplainError) as err:
        et.explain_text(target, "shapley", 0.9, "positive")
    assert err.value.code == "too-slow"


# ---- bad input ----------------------------------------------------------------------------


def test_bad_input_gives_codes_not_tracebacks():
    from core.classify import explain, sentiment_details

    with pytest.raises(ExplainError) as err:
        explain("   ")
    assert err.value.code == "empty"
    with pytest.raises(ExplainError) as err:
        sentiment_details("good film", method="lime")
    assert err.value.code == "unknown-method"
    res = sentiment_details("x" * 6000)
    assert res.explanation is None and res.explain_error == "too-long" and res.prediction.label
    emoji = sentiment_details("😀😀😀", method="occlusion")
    assert emoji.prediction.label and (emoji.explanation is not None or emoji.explain_error)


@pytest.mark.slow
def test_long_text_is_capped_and_said():
    from core.classify import sentiment_details

    text = " ".join(["good", "film", "but", "too", "long"] * 200)  # 1,000 words
    res = sentiment_details(text, method="occlusion")
    attr = res.explanation
    assert attr is not None and "".join(attr.pieces) == text
    assert {"truncated", "capped"} & set(attr.notes)
    assert sum(1 for p, w in zip(attr.pieces, attr.weights) if w != 0.0) <= et.MAX_UNITS


# ---- the API --------------------------------------------------------------------------------


@pytest.mark.slow
def test_api_explain_returns_the_documented_shape(api_client):
    r = api_client.post("/api/explain", json={"text": EN_EXAMPLE, "method": "integrated-gradients"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["prediction"]["label"] == "positive" and body["explain_error"] is None
    ex = body["explanation"]
    assert ex["method"] == "integrated-gradients" and "".join(ex["pieces"]) == EN_EXAMPLE
    assert len(ex["weights"]) == len(ex["pieces"]) and ex["completeness_error"] < 0.05
    assert ex["drop"] > ex["random_drop"]
    zh = api_client.post("/api/explain", json={"text": ZH_EXAMPLE}).json()
    assert zh["prediction"]["label"] == "positive" and "丰富" in zh["explanation"]["pieces"]


def test_api_explain_refuses_bad_input_with_codes(api_client):
    assert api_client.post("/api/explain", json={"text": "  "}).json()["error"]["code"] == "empty"
    r = api_client.post("/api/explain", json={"text": "good", "method": "lime"})
    assert r.status_code == 422
    assert api_client.post("/api/explain", json={"text": "x" * 5001}).status_code == 422
    assert api_client.post("/api/explain", json={"texts": ["good"]}).status_code == 422
    binary = api_client.post("/api/explain", json={"text": "ab\x00cd"})
    assert binary.status_code == 422 and binary.json()["error"]["code"] == "binary-text"
