"""Why this answer (core.qa.explain): Integrated Gradients through the span model.

A tiny random BERT QA head (tests/tiny_bert.py) on the e5 tokenizer checks the mechanics fast
(completeness, pieces, windows, the API's shape); the bundled ``qa-e5`` (slow) checks that the
weights mean something on the page's examples and that jieba words are never split.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from core import registry
from core.explain import ExplainError
from core.loaders import ModelBundle, QueuedLock
from core.qa import Answer, QAResult, answer_with_bundle
from core.qa import explain as qx
from tests.tiny_bert import tiny_bert_config

EN_CONTEXT = (
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. "
    "It is named after the engineer Gustave Eiffel, whose company designed and built the tower."
)
EN_QUESTION = "Who designed the tower?"


@pytest.fixture(scope="module")
def tiny() -> ModelBundle:
    """A seeded tiny random ``BertForQuestionAnswering`` with the e5 tokenizer, 64-token windows."""
    from transformers import BertForQuestionAnswering

    from core import e5

    tok = e5.tokenizer()
    config = tiny_bert_config()  # seeds the weights that follow
    config.vocab_size, config.max_position_embeddings, config.pad_token_id = len(tok), 128, tok.pad_token_id
    model = BertForQuestionAnswering(config).eval()
    return ModelBundle(
        key="qa-e5",
        entry=registry.get("qa-e5"),
        model=model,
        preprocessor=tok,
        device=torch.device("cpu"),
        dtype=torch.float32,
        lock=QueuedLock(),
        load_seconds=0.0,
        attention=False,
        meta={"runtime": "pytorch", "window_tokens": 64, "window_stride": 32},
    )


@pytest.fixture
def use_tiny(tiny: ModelBundle, monkeypatch: pytest.MonkeyPatch) -> ModelBundle:
    monkeypatch.setattr(qx, "_torch_bundle", lambda key: tiny)
    return tiny


def _check_shape(e: qx.QAExplanation, question: str, context: str) -> None:
    for a, text in ((e.question, question), (e.passage, context)):
        assert "".join(a.pieces) == text
        assert len(a.pieces) == len(a.weights)
        assert all(math.isfinite(w) for w in a.weights)
        assert all(w == 0.0 for p, w in zip(a.pieces, a.weights) if not p.strip())
        assert a.method == "integrated-gradients" and a.target == "answer"
    lo, hi = e.window
    assert 0 <= lo < hi <= len(context) and lo <= e.answer.start and e.answer.end <= hi
    pos = 0
    for p, w in zip(e.passage.pieces, e.passage.weights):  # nothing outside the window weighs
        if pos + len(p) <= lo or pos >= hi:
            assert w == 0.0
        pos += len(p)


def test_tiny_model_completeness_and_pieces(use_tiny: ModelBundle) -> None:
    result = answer_with_bundle(use_tiny, EN_QUESTION, EN_CONTEXT, top_k=1)
    e = qx.explain_answer(EN_QUESTION, EN_CONTEXT, result)
    _check_shape(e, EN_QUESTION, EN_CONTEXT)
    assert e.answer == result.answers[0] and e.steps == qx.STEPS
    assert e.passage.completeness_error is not None and e.passage.completeness_error < 0.02
    # the word weights add up to f(x) - f(baseline) (nothing lost between tokens and words)
    total = sum(e.question.weights) + sum(e.passage.weights)
    assert total == pytest.approx(e.score - e.baseline_score, rel=0.03, abs=1e-3)
    assert e.passage.drop is not None and e.passage.random_drop is not None
    assert -1.0 <= e.passage.drop <= 1.0
    from core import wire

    assert wire.decode(json.loads(json.dumps(wire.encode(e)))) == e  # the thin client and Ray Serve carry it


def test_tiny_model_long_passage_explains_one_window(use_tiny: ModelBundle) -> None:
    context = " ".join([EN_CONTEXT] * 4)  # 64-token windows: several of them
    result = answer_with_bundle(use_tiny, EN_QUESTION, context, top_k=1)
    assert result.windows > 1
    e = qx.explain_answer(EN_QUESTION, context, result)
    _check_shape(e, EN_QUESTION, context)
    assert "outside-window" in e.passage.notes
    assert e.passage.pieces[0] == context[: e.window[0]] or e.window[0] == 0


def test_a_window_estimated_too_slow_is_refused_before_gradients(
    use_tiny: ModelBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the tiny model reads 64-token windows (shorter than EXPLAIN_SIZES: its own window is explained);
    # on a CPU 1,000x slower that window would take far over MAX_SECONDS
    result = answer_with_bundle(use_tiny, EN_QUESTION, EN_CONTEXT, top_k=1)
    tokens = 64
    assert qx.estimate_seconds(tokens) < qx.MAX_SECONDS
    monkeypatch.setattr(qx, "SECONDS_PER_TOKEN_STEP", tuple(1000 * x for x in qx.SECONDS_PER_TOKEN_STEP))
    assert qx.estimate_seconds(tokens) > qx.MAX_SECONDS
    ran: list[int] = []
    monkeypatch.setattr(qx, "_integrated_gradients", lambda *a, **k: ran.append(1))  # must not be reached
    with pytest.raises(ExplainError) as err:
        qx.explain_answer(EN_QUESTION, EN_CONTEXT, result)
    assert err.value.code == "too-slow" and not ran
    # fewer steps fit: the estimate is linear in them
    assert qx.estimate_seconds(tokens, 2) == pytest.approx(qx.estimate_seconds(tokens) * 2 / qx.STEPS)


def test_estimate_grows_faster_than_the_tokens() -> None:
    # measured: 128 tokens 2.9 s, 256 tokens 7.2 s (48 steps, this CPU, quiet)
    assert qx.estimate_seconds(128) == pytest.approx(2.9, rel=0.1)
    assert qx.estimate_seconds(256) == pytest.approx(7.2, rel=0.1)
    assert qx.estimate_seconds(max(qx.EXPLAIN_SIZES)) < qx.MAX_SECONDS  # the windows around an answer fit
    assert qx.estimate_seconds(256) > qx.MAX_SECONDS  # a whole reading window does not


def test_each_e5_model_hooks_only_its_own_word_lookups() -> None:
    """Integrated gradients hook the model's word embeddings; every e5 model shares one 4-bit
    table, so a hook on it caught another model's lookup in another thread (the app's warm-up
    or an OpenVINO model answering meanwhile: "size of tensor a (128) must match ... (14)").
    Each model has its own handle on the shared table now."""
    from transformers import BertForQuestionAnswering

    from core import e5

    other = e5.base_encoder()
    qa = e5.build_model(BertForQuestionAnswering, config_overrides={"num_labels": 2})
    assert qa.get_input_embeddings().table is other.get_input_embeddings().table is e5.shared_word_embeddings()
    seen: list[tuple[int, ...]] = []
    hook = qa.get_input_embeddings().register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)))
    try:
        with torch.inference_mode():
            other(input_ids=torch.tensor([[0, 100, 2]]))
            assert seen == []
            qa(input_ids=torch.tensor([[0, 100, 200, 2]]))
    finally:
        hook.remove()
    assert seen == [(1, 4, 384)]


def test_tiny_model_chinese_words_whole(use_tiny: ModelBundle) -> None:
    from core.explain import units

    context = "人工智能是计算机科学的一个分支，研究如何让机器模拟、延伸和扩展人的智能。"
    question = "什么是人工智能？"
    result = answer_with_bundle(use_tiny, question, context, top_k=1)
    e = qx.explain_answer(question, context, result)
    _check_shape(e, question, context)
    spans = set(units.words(context)[0])
    pos = 0
    for p in e.passage.pieces:
        if p.strip():
            assert (pos, pos + len(p)) in spans, p
        pos += len(p)


def _result(**kw: Any) -> QAResult:
    fields: dict[str, Any] = {"answers": (Answer("Paris", 73, 78, 0.9, "span"),), "model": "qa-e5", "mode": "span"}
    fields.update(kw)
    return QAResult(language="en", **fields)


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        (
            {"mode": "llm", "model": "qwen-0.5b-reader", "answers": (Answer("Paris", 73, 78, 0.9, "llm"),)},
            "not-available",
        ),
        ({"mode": "sentence", "model": "lexical"}, "not-available"),
        ({"answers": ()}, "no-answer"),
        ({"no_answer": True}, "no-answer"),
    ],
)
def test_not_explained(kw: dict[str, Any], code: str) -> None:
    result = _result(**kw)
    assert qx.explain_code(result) == code
    with pytest.raises(ExplainError) as err:
        qx.explain_answer(EN_QUESTION, EN_CONTEXT, result)
    assert err.value.code == code


def test_refuses_an_answer_not_in_the_passage() -> None:
    assert EN_CONTEXT[73:78] == "Paris"
    with pytest.raises(ValueError):
        qx.explain_answer(EN_QUESTION, EN_CONTEXT, _result(answers=(Answer("Paris", 0, 5, 0.9, "span"),)))
    with pytest.raises(ExplainError):
        qx.explain_answer(" ", EN_CONTEXT, _result())


def test_empty_offsets_go_to_the_next_token() -> None:
    offsets = np.array([[0, 0], [0, 2], [2, 2], [3, 5], [5, 5]])
    assert qx._filled(offsets) == [(0, 2), (0, 2), (3, 5), (3, 5), (3, 5)]


# --- the API ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from api.app import create_app

    with pytest.MonkeyPatch.context() as mp:
        for name in ("DEMO_API_KEY", "API_RATE_LIMIT", "API_MAX_BODY_BYTES", "API_CORS_ORIGINS"):
            mp.delenv(name, raising=False)
        mp.setenv("DEMO_WARMUP", "0")
        with TestClient(create_app(), raise_server_exceptions=False) as c:
            yield c


def _check_api_explanation(ex: dict[str, Any], question: str, context: str) -> None:
    assert ex["code"] == "ok" and ex["method"] == "integrated-gradients"
    for part, text in (("question", question), ("passage", context)):
        words = ex[part]
        assert set(words) == {"pieces", "weights", "notes"}
        assert "".join(words["pieces"]) == text and len(words["weights"]) == len(words["pieces"])
    assert 0 <= ex["completeness_error"] < 0.05
    lo, hi = ex["window"]
    assert 0 <= lo < hi <= len(context)
    assert set(ex) == {
        "code", "method", "question", "passage", "window", "score", "baseline_score",
        "completeness_error", "drop", "random_drop", "seconds",
    }  # fmt: skip


def test_api_explain_shape_with_the_tiny_model(
    client: Any, use_tiny: ModelBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.qa

    monkeypatch.setattr(core.qa, "answer_details", lambda q, c, **kw: answer_with_bundle(use_tiny, q, c, top_k=1))
    body = {"question": EN_QUESTION, "context": EN_CONTEXT, "explain": True}
    r = client.post("/api/qa", json=body)
    assert r.status_code == 200, r.text[:500]
    _check_api_explanation(r.json()["explanation"], EN_QUESTION, EN_CONTEXT)
    r = client.post("/api/qa", json={**body, "explain": False})
    assert r.status_code == 200 and r.json()["explanation"] is None


def test_api_explain_not_available(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.qa

    llm = _result(mode="llm", model="qwen-0.5b-reader", answers=(Answer("Paris", 73, 78, 0.9, "llm"),))
    monkeypatch.setattr(core.qa, "answer_details", lambda q, c, **kw: llm)
    r = client.post("/api/qa", json={"question": EN_QUESTION, "context": EN_CONTEXT, "explain": True})
    assert r.status_code == 200
    ex = r.json()["explanation"]
    assert ex["code"] == "not-available" and ex["question"] is None and ex["passage"] is None
    monkeypatch.setattr(core.qa, "answer_details", lambda q, c, **kw: _result(answers=()))
    r = client.post("/api/qa", json={"question": EN_QUESTION, "context": EN_CONTEXT, "explain": True})
    assert r.json()["explanation"]["code"] == "no-answer"


def test_api_explain_too_slow_is_a_code_not_an_error(
    client: Any, use_tiny: ModelBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.qa

    monkeypatch.setattr(core.qa, "answer_details", lambda q, c, **kw: answer_with_bundle(use_tiny, q, c, top_k=1))
    monkeypatch.setattr(qx, "SECONDS_PER_TOKEN_STEP", tuple(1000 * x for x in qx.SECONDS_PER_TOKEN_STEP))
    r = client.post("/api/qa", json={"question": EN_QUESTION, "context": EN_CONTEXT, "explain": True})
    assert r.status_code == 200, r.text[:500]
    out = r.json()
    assert out["answers"] and out["explanation"]["code"] == "too-slow"  # the answer stands
    assert out["explanation"]["passage"] is None


def test_api_explain_is_strict_and_documented(client: Any) -> None:
    r = client.post("/api/qa", json={"question": "q", "context": "c", "explain": "yes"})
    assert r.status_code == 422
    spec = client.get("/openapi.json").json()["components"]["schemas"]
    assert spec["QARequest"]["properties"]["explain"]["type"] == "boolean"
    assert "explanation" in spec["QAResponse"]["properties"]
    assert {"pieces", "weights", "notes"} <= set(spec["WordWeightsOut"]["properties"])
    assert "too-slow" in spec["ExplanationOut"]["properties"]["code"]["enum"]


# --- the bundled qa-e5 (slow: its PyTorch copy loads, IG takes seconds) -----------------


def _weight_of(a: Any, start: int, end: int) -> float:
    pos, total = 0, 0.0
    for p, w in zip(a.pieces, a.weights):
        if pos < end and start < pos + len(p):
            total += w
        pos += len(p)
    return total


@pytest.mark.slow
@pytest.mark.parametrize("example", ["eiffel_en", "ai_zh"])
def test_real_model_weights_make_sense(example: str) -> None:
    from core.explain import units
    from core.qa import answer_details
    from ui.qa_examples import EXAMPLES

    context, question = EXAMPLES[example]
    result = answer_details(question, context, top_k=1)
    assert result.mode == "span" and result.answers
    e = qx.explain_answer(question, context, result)
    _check_shape(e, question, context)
    assert e.passage.completeness_error is not None and e.passage.completeness_error < 0.05
    a = e.answer
    assert _weight_of(e.passage, a.start, a.end) > 0  # the answer's own words pushed towards it
    assert max(e.question.weights) > 0
    assert e.passage.drop is not None and e.passage.random_drop is not None
    assert e.passage.drop > e.passage.random_drop  # deleting the top words hurts more than random ones
    spans = set(units.words(context)[0])
    pos = 0
    for p in e.passage.pieces:  # every weighed piece is one whole word (jieba's for Chinese)
        if p.strip() and e.window[0] <= pos < e.window[1]:
            assert (pos, pos + len(p)) in spans, p
        pos += len(p)


@pytest.mark.slow
def test_real_model_long_passage_explains_the_part_around_the_answer() -> None:
    from core.qa import answer_details
    from ui.qa_examples import EXAMPLES

    eiffel, question = EXAMPLES["eiffel_en"]
    others = [c for k, (c, _) in EXAMPLES.items() if k.endswith("_en") and k != "eiffel_en"]
    context = "\n\n".join([*others, eiffel, *others])  # the answer's paragraph in the middle
    result = answer_details(question, context, top_k=1)
    assert result.mode == "span" and result.answers and result.windows_total > 1
    window, logits = qx.explained_window(qx._torch_bundle(result.model), question, context, result.answers[0], None)
    assert logits.shape == (2, window.inputs["input_ids"].shape[1])
    assert window.count == 1 and window.inputs["input_ids"].shape[1] <= max(qx.EXPLAIN_SIZES)
    e = qx.explain_answer(question, context, result)
    _check_shape(e, question, context)
    assert "outside-window" in e.passage.notes and e.window[1] - e.window[0] < len(context) / 2
    assert e.passage.completeness_error is not None and e.passage.completeness_error < 0.05
    assert _weight_of(e.passage, e.answer.start, e.answer.end) > 0


@pytest.mark.slow
def test_real_model_over_the_api(client: Any) -> None:
    from ui.qa_examples import EXAMPLES

    context, question = EXAMPLES["curie_en"]
    r = client.post("/api/qa", json={"question": question, "context": context, "explain": True, "top_k": 2})
    assert r.status_code == 200, r.text[:500]
    out = r.json()
    _check_api_explanation(out["explanation"], question, context)
    top = out["answers"][0]
    weights = out["explanation"]["passage"]
    pos, total = 0, 0.0
    for p, w in zip(weights["pieces"], weights["weights"]):
        if pos < top["end"] and top["start"] < pos + len(p):
            total += w
        pos += len(p)
    assert total > 0


# --- the page's view (pure HTML builders) -----------------------------------------------


def test_words_html_escapes_tints_and_elides() -> None:
    from ui.qa_explain_view import legend_html, scale_of, tint, words_html

    pieces = ["before ", "<b>", " ", "Paris", " ", "after"]
    weights = [0.0, -0.5, 0.0, 2.0, 0.0, 0.0]
    top = scale_of(weights, [1.0])
    assert top == 2.0 and scale_of([0.0]) == 1.0
    out = words_html(pieces, weights, top, answer=(11, 16), window=(7, 16))
    assert "&lt;b&gt;" in out and "<b>" not in out
    assert "before" not in out and "after" not in out and out.count("…") == 2
    assert 'class="w ans"' in out and tint(2.0, top) in out and tint(-0.5, top) in out
    assert tint(1.0, 1.0).startswith("rgba(234,88,12") and tint(-1.0, 1.0).startswith("rgba(37,99,235")
    assert "−2.00" in legend_html(2.0)


# --- the page (AppTest, offline) ----------------------------------------------------------


def test_page_why_for_sentence_retrieval_says_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.apptest_pages import open_page

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    at = open_page("pages/qa.py", "zh", model="minilm", why="true")
    assert at.toggle(key="why").value is True
    assert any("抽取模型" in i.value for i in at.info)


def test_page_why_too_slow_says_so(monkeypatch: pytest.MonkeyPatch, use_tiny: ModelBundle) -> None:
    from tests.apptest_pages import open_page

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(qx, "SECONDS_PER_TOKEN_STEP", tuple(1000 * x for x in qx.SECONDS_PER_TOKEN_STEP))
    at = open_page("pages/qa.py", "zh", why="true")
    assert not at.exception and not at.error
    assert any("超过几秒钟" in i.value for i in at.info)
    assert any(m.value for m in at.markdown if "qa-why" not in m.value)  # the answer itself is still shown


def test_page_why_draws_the_explanation(monkeypatch: pytest.MonkeyPatch, use_tiny: ModelBundle) -> None:
    import ui.qa_explain_view as view
    from tests.apptest_pages import open_page

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    seen: list[QAResult] = []

    def tiny_explain(question: str, context: str, result: QAResult) -> qx.QAExplanation:
        seen.append(result)  # the page's real answer, explained by the tiny model
        return qx.explain_answer(question, context, result, steps=8)

    monkeypatch.setattr(view, "explain_answer", tiny_explain)
    at = open_page("pages/qa.py", "en", why="true")
    assert seen and seen[0].answers[0].text == "Gustave Eiffel"
    page = " ".join(m.value for m in at.markdown)
    assert 'class="qa-why"' in page and "qa-why-legend" in page
    assert any("Integrated Gradients (8 steps" in c.value for c in at.caption)
    assert any('"explain": true' in c.value for c in at.code)  # "Use via API" asks for it too
