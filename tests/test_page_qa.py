"""The QA page under Streamlit's AppTest (no browser), offline, in both languages."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_pages import html_of, open_page
from tests.hub_cache import fake_snapshot


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _page(lang: str = "en", **params: str) -> AppTest:
    return open_page("pages/qa.py", lang, timeout=180, **params)


def _result(at: AppTest):
    """The QAResult the page drew: the one ``ui.run.run_once`` remembers for this session."""
    memo = at.session_state["_run_once"] if "_run_once" in at.session_state else {}
    stored = memo.get("core.qa.answer_details")
    return stored[1] if stored else None


def test_english_example_answers_with_an_exact_span():
    at = _page("en")
    result = _result(at)
    assert result is not None and result.mode == "span" and result.model == "qa-e5"
    assert result.answers[0].text == "Gustave Eiffel"
    assert not any("Sentence retrieval" in i.value for i in at.info)
    assert "qa-best" in html_of(at) and "confidence" in html_of(at)
    assert any("Answered by e5-small QA" in c.value for c in at.caption)


def test_chinese_example_when_was_ai_named():
    """The first Chinese example is answered confidently (no "may not contain the answer"
    warning on the page a Chinese visitor opens first)."""
    at = _page("zh")
    assert at.text_input(key="question").value == "“人工智能”这一术语是哪一年被正式提出的？"
    result = _result(at)
    assert result.model == "qa-e5" and result.language == "zh" and result.mode == "span"
    assert result.answers[0].text.startswith("1956") and not result.weak
    assert any("作答模型" in c.value for c in at.caption)


def test_sentence_retrieval_when_chosen_says_so():
    at = _page("en", model="minilm")
    result = _result(at)
    assert result.mode == "sentence" and result.model == "minilm" and result.why == "chosen"
    assert "Gustave Eiffel" in result.answers[0].text
    assert any("Sentence retrieval" in i.value and "all-MiniLM-L6-v2" in i.value for i in at.info)
    assert not any("does not read" in c.value for c in at.caption)


def test_english_only_encoder_on_a_chinese_passage_says_so_in_both_languages():
    """MiniLM reads English only: core answers a Chinese passage lexically and says why (a
    note code), which the page shows in the interface language."""
    at = _page("en", model="minilm")
    at.selectbox(key="qa_example").set_value("panda_zh").run()
    result = _result(at)
    assert result.model == "lexical" and result.requested == "minilm" and result.why == "model-language"
    assert "model-language" in result.notes and "四川" in result.answers[0].text
    assert any("all-MiniLM-L6-v2 (bundled) does not read Chinese text" in c.value for c in at.caption)
    assert any("character overlap" in i.value for i in at.info)
    at = _page("zh", model="minilm")
    assert _result(at).why == "model-language"
    assert any("无法理解中文文本" in c.value for c in at.caption)


def test_prefill_from_query_params_and_html_is_escaped():
    context = "Paris is the capital of France. <script>alert(1)</script> <b>bold</b>"
    at = _page("en", question="What is the capital of France?", context=context)
    assert at.text_area(key="context").value == context
    assert at.selectbox(key="qa_example").value == "custom"  # a shared link's own text
    result = _result(at)
    assert result.answers[0].text == "Paris"
    body = html_of(at)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "&lt;b&gt;bold&lt;/b&gt;" in body
    assert "<script>alert" not in body and "<b>bold" not in body


def test_empty_question_is_a_prompt_without_model_call():
    at = _page("en", question="", context="Some passage without a question.")
    assert _result(at) is None
    assert any("ask a question" in i.value for i in at.info)
    at.text_area(key="context").set_value("")
    at.run()
    assert not at.exception and _result(at) is None
    assert any("Type or paste a passage" in i.value for i in at.info)


@pytest.mark.slow
def test_too_long_passage_is_cut_with_a_message():
    long = ("The sky is blue. " * 1300) + "The code is 42."
    at = _page("en", question="What is the code?", context=long)
    assert any("only the first 20,000" in w.value for w in at.warning)
    result = _result(at)
    assert result is not None and all(a.end <= 20_000 for a in result.answers)


def test_switching_example_fills_both_boxes():
    at = _page("en")
    at.selectbox(key="qa_example").set_value("greatwall_zh")
    at.run()
    assert not at.exception
    assert at.text_input(key="question").value.startswith("长城")
    assert at.text_area(key="context").value.startswith("长城是中国古代")
    result = _result(at)
    assert result.language == "zh" and "1987" in result.answers[0].text


def test_details_and_top_k():
    at = _page("en")
    at.slider(key="top_k").set_value(1)
    at.run()
    assert len(_result(at).answers) == 1
    details = " ".join(m.value for m in at.markdown)
    assert "Latency" in details and "Windows of 256 tokens" in details and "Device" in details  # qa-e5 config.json


def test_span_model_from_the_local_cache_answers_on_the_page(monkeypatch, tmp_path):
    """With a (tiny, random) span model in the local Hugging Face cache the page uses it:
    span mode, no offline notice, windows in the details, answers highlighted."""
    from core import loaders
    from tests.test_qa_span import _bpe_tokenizer, _model

    snap = fake_snapshot(tmp_path / "hub", "deepset/roberta-base-squad2", "0123abc")
    tok = _bpe_tokenizer(snap)
    _model("roberta", len(tok), tok.pad_token_id).save_pretrained(snap)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    loaders.clear_cache()
    try:
        at = _page("en")
        assert at.selectbox(key="qa_model").value == "qa-roberta-squad2"
        result = _result(at)
        assert result.mode == "span" and result.model == "qa-roberta-squad2" and result.windows == 1
        assert not any("Offline mode" in i.value for i in at.info)
        details = " ".join(m.value for m in at.markdown)
        assert "Windows of 384 tokens" in details and "span extraction" in details
        if result.no_answer:
            assert any("does not answer" in w.value for w in at.warning)
        else:
            assert "qa-best" in html_of(at)
    finally:
        loaders.clear_cache()


def test_editing_the_question_turns_the_example_into_own_text():
    at = _page("en")
    at.text_input(key="question").set_value("How tall is the tower?")
    at.run()
    assert not at.exception
    assert at.selectbox(key="qa_example").value == "custom"
    assert "330" in _result(at).answers[0].text  # the answer to the edited question, not the example's
    at.text_input(key="question").set_value("Who designed the tower?").run()  # the example's own text again
    assert at.selectbox(key="qa_example").value == "eiffel_en"


def test_top_k_and_texts_come_from_a_shared_link():
    at = _page("en", question="Who designed the tower?", top_k="1")
    assert at.slider(key="top_k").value == 1 and len(_result(at).answers) == 1
    assert at.selectbox(key="qa_example").value == "eiffel_en"  # the default passage, the example's question
