"""The QA API contract (core.qa.answer / answer_details): model choice, empty input,
errors, and the whole span path through the loaders with a tiny model placed in a
temporary Hugging Face cache (as `python -m core.prefetch` would leave it)."""

from __future__ import annotations

import dataclasses

import pytest

from core import loaders
from core.qa import Answer, answer, answer_details, is_sentence_model, pick_model, route, sentence_fallback
from tests.hub_cache import fake_snapshot
from tests.test_qa_span import _bpe_tokenizer, _model

EN_CTX = "The tower was designed by Gustave Eiffel in 1887. Paris is a big city. I love Paris."
ZH_CTX = "人工智能是计算机科学的一个分支。北京是中国的首都。长城在中国。"


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    return tmp_path


def test_answer_is_frozen():
    a = Answer("x", 0, 1, 0.5, "span")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.text = "y"  # type: ignore[misc]


def test_offline_default_models(offline):
    assert pick_model(EN_CTX) == "qa-e5"  # our span model, English and Chinese
    assert pick_model(ZH_CTX) == "qa-e5"
    assert pick_model(ZH_CTX, "minilm") == "lexical"  # MiniLM is English only


@pytest.mark.parametrize("question, context", [("", EN_CTX), ("   ", EN_CTX), ("Who?", ""), ("谁？", " \n ")])
def test_empty_input_gives_nothing_and_loads_nothing(question, context):
    # an unavailable model would raise if anything tried to load it
    assert answer(question, context, model="qa-roberta-squad2") == []


def test_unavailable_model_raises_model_load_error(offline):
    with pytest.raises(loaders.ModelLoadError):
        answer("Who designed it?", EN_CTX, model="qa-roberta-squad2")


def test_type_errors():
    with pytest.raises(TypeError):
        answer(None, EN_CTX)  # type: ignore[arg-type]


def test_chinese_offline_answer_contract(offline):
    result = answer_details("北京是哪个国家的首都？", ZH_CTX, top_k=2, model="lexical")
    assert result.model == "lexical" and result.mode == "sentence" and result.windows == 3
    assert len(result.answers) == 2
    assert result.answers[0].text == "北京是中国的首都。"
    for a in result.answers:
        assert ZH_CTX[a.start : a.end] == a.text


def test_span_path_through_loaders_with_cached_tiny_model(monkeypatch, tmp_path):
    """A tiny RoBERTa saved as the cached snapshot of deepset/roberta-base-squad2 is
    found by availability, picked as the default, loaded by the hf-qa builder and
    decoded into spans that keep the contract."""
    cache = tmp_path / "hub"
    snap = fake_snapshot(cache, "deepset/roberta-base-squad2", "0123abc")
    tok = _bpe_tokenizer(snap)
    _model("roberta", len(tok), tok.pad_token_id).save_pretrained(snap)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaders.clear_cache()
    try:
        assert pick_model(EN_CTX) == "qa-roberta-squad2"
        long_ctx = " ".join([EN_CTX] * 40)
        result = answer_details("Who designed the tower?", long_ctx, top_k=3)
        assert result.model == "qa-roberta-squad2" and result.mode == "span"
        assert result.windows >= 2 and result.window_tokens == 384  # no window in its meta: the default
        if not result.no_answer:
            assert 1 <= len(result.answers) <= 3
        for a in result.answers:
            assert long_ctx[a.start : a.end] == a.text and a.kind == "span" and 0 <= a.score <= 1
        assert answer("Who designed the tower?", long_ctx) == list(result.answers)
    finally:
        loaders.clear_cache()


def test_route_says_which_model_answers_and_why(offline):
    assert route(EN_CTX) == route(EN_CTX, None)
    assert (route(EN_CTX).model, route(EN_CTX).why) == ("qa-e5", "default")
    assert (route(EN_CTX, "minilm").model, route(EN_CTX, "minilm").why) == ("minilm", "chosen")
    chinese = route(ZH_CTX, "minilm")  # the registry says MiniLM reads English only
    assert (chinese.model, chinese.requested, chinese.why) == ("lexical", "minilm", "model-language")
    assert is_sentence_model("minilm") and is_sentence_model("lexical") and not is_sentence_model("qa-e5")
    assert sentence_fallback("en") == "minilm" and sentence_fallback("zh") == "lexical"


def test_english_only_encoder_on_chinese_is_a_note_code_in_the_result(offline):
    result = answer_details("北京是哪个国家的首都？", ZH_CTX, model="minilm", top_k=1)
    assert result.model == "lexical" and result.mode == "sentence"
    assert result.requested == "minilm" and result.why == "model-language" and result.notes == ("model-language",)
    assert result.answers[0].text == "北京是中国的首都。"
    english = answer_details("Who designed the tower?", EN_CTX, model="minilm")
    assert english.model == "minilm" and english.why == "chosen" and english.notes == ()
    assert english.attention_model is None  # sentence retrieval: no span model's attention to show


def test_span_result_carries_its_limits_and_attention_model(offline):
    result = answer_details("Who designed the tower?", EN_CTX)
    assert result.model == "qa-e5" and result.why == "default" and result.requested == "qa-e5"
    # qa-e5 reads with the window its config.json names (chosen on validation); Hub models keep 384
    assert result.window_tokens == 256 and result.question_tokens == 64 and result.notes == ()
    assert result.attention_model == "qa-e5" and "Gustave Eiffel" in result.answers[0].text
    long_question = "Who " + "really " * 80 + "designed the tower?"
    assert answer_details(long_question, EN_CTX).notes == ("question-cut",)
