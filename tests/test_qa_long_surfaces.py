"""Long passages on the surfaces (issue 21): the Q&A page dims what the span model did not
read and says how much it read (en, zh); the API carries the parts read and the windows, and
refuses a passage over core's limit with code ``passage-too-long`` (a JSON 422), as the page
says in the visitor's language. Real bundled ``qa-e5``, offline."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from streamlit.testing.v1 import AppTest

from core import registry, remote
from core.qa import MAX_CONTEXT_CHARS, PassageTooLong
from core.qa.select import READ_WINDOWS
from tests.apptest_pages import html_of, open_page
from tests.test_qa_long import EIFFEL, FILLER_EN, FILLER_ZH, GREATWALL

pytestmark = pytest.mark.skipif(
    registry.bundled_path(registry.get("qa-e5")) is None,
    reason="models/qa-e5 is not trained yet (python -m training.qa)",
)

LONG_EN = FILLER_EN * 5 + EIFFEL + FILLER_EN * 5  # about 8,600 characters, 19 windows
LONG_ZH = FILLER_ZH * 6 + GREATWALL + FILLER_ZH * 6  # about 1,600 characters, 9 windows


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


# --- the page --------------------------------------------------------------------------


def _result(at: AppTest):
    stored = (at.session_state["_run_once"] if "_run_once" in at.session_state else {}).get("core.qa.answer_details")
    return stored[1] if stored else None


@pytest.mark.parametrize(
    "lang, question, context, answer, said",
    [
        ("en", "Who designed the tower?", LONG_EN, "Gustave Eiffel", "so the model read only the 3 windows"),
        ("zh", "历代长城总长度是多少？", LONG_ZH, "21196.18 千米", "模型只读了与问题用词最接近的 3 个窗口"),
    ],
)
def test_page_dims_what_the_span_model_did_not_read(lang, question, context, answer, said):
    at = open_page("pages/qa.py", lang, question=question, context=context)
    result = _result(at)
    assert result.mode == "span" and result.answers[0].text == answer
    assert result.windows == READ_WINDOWS < result.windows_total and result.segments
    captions = [c.value for c in at.caption]
    assert any(said in c and f"{len(context):,}" in c for c in captions), captions
    body = html_of(at)
    assert "qa-unread" in body and "opacity:0.42" in body  # the unread parts, dimmed
    assert "qa-best" in body  # the box scrolls to the best answer
    details = " ".join(m.value for m in at.markdown)
    read = (
        f"{READ_WINDOWS} of {result.windows_total} read" if lang == "en" else f"共 {result.windows_total} 个，读了 3 个"
    )
    assert read in details


def test_page_does_not_dim_a_short_passage():
    at = open_page("pages/qa.py", "en", question="Who designed the tower?", context=EIFFEL)
    result = _result(at)
    assert result.segments == () and result.windows == result.windows_total
    assert "qa-unread" not in html_of(at)
    assert not any("read only" in c.value for c in at.caption)


@pytest.mark.parametrize("lang, said", [("en", "only the first 20,000 are used"), ("zh", "只使用前 20,000 个字符")])
def test_page_cuts_a_passage_over_the_limit_and_says_so(lang, said):
    context = LONG_EN * 3  # about 26,000 characters
    assert len(context) > MAX_CONTEXT_CHARS
    at = open_page("pages/qa.py", lang, question="Who designed the tower?", context=context)
    assert any(said in w.value for w in at.warning), [w.value for w in at.warning]
    result = _result(at)
    assert result is not None and all(a.end <= MAX_CONTEXT_CHARS for a in result.answers)
    assert result.windows == READ_WINDOWS


def _refused_page() -> None:
    """A page whose core call refuses the passage (as an inference API with its own limit would)."""
    from core.qa import PassageTooLong
    from ui.errors import friendly_errors

    with friendly_errors():
        raise PassageTooLong(31_234)


@pytest.mark.parametrize(
    "lang, said",
    [
        ("en", "This passage has 31,234 characters: too long to read. Paste at most 20,000 characters"),
        ("zh", "该段落共有 31,234 个字符，太长了，无法阅读。请最多粘贴 20,000 个字符"),
    ],
)
def test_a_refused_passage_is_a_translated_message_not_a_traceback(lang, said):
    at = AppTest.from_function(_refused_page, default_timeout=60)
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception and not at.error
    assert [w.value for w in at.warning] == [
        said + ("（包含答案的那一部分）。" if lang == "zh" else " (the part that holds the answer).")
    ]


# --- the API ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(api_client: TestClient) -> TestClient:
    return api_client  # tests/conftest.py


def test_api_carries_the_parts_read_and_the_windows(client: TestClient) -> None:
    r = client.post("/api/qa", json={"question": "Who designed the tower?", "context": LONG_EN})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "span" and body["answers"][0]["text"] == "Gustave Eiffel"
    assert body["windows"] == READ_WINDOWS < body["windows_total"]
    assert body["segments"] and all(0 <= s < e <= len(LONG_EN) for s, e in body["segments"])
    a = body["answers"][0]
    assert LONG_EN[a["start"] : a["end"]] == a["text"]
    assert any(s <= a["start"] and a["end"] <= e for s, e in body["segments"])
    short = client.post("/api/qa", json={"question": "Who designed the tower?", "context": EIFFEL}).json()
    assert short["segments"] == [] and short["windows"] == short["windows_total"] >= 1


@pytest.mark.parametrize("route", ["/api/qa", "/api/ask"])
def test_api_refuses_a_passage_over_the_limit_with_its_code(client: TestClient, route: str) -> None:
    context = "x" * (MAX_CONTEXT_CHARS + 1)
    r = client.post(route, json={"question": "What?", "context": context})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "passage-too-long" and "20,000" in err["message"]
    assert err["length"] == MAX_CONTEXT_CHARS + 1 and err["limit"] == MAX_CONTEXT_CHARS
    ok = client.post(route, json={"question": "What?", "context": "x " * (MAX_CONTEXT_CHARS // 2)})
    assert ok.status_code == 200, ok.text  # exactly at the limit: read


def test_task_route_refuses_it_too_and_the_thin_client_gets_the_same_error(client: TestClient) -> None:
    r = client.post("/api/tasks/qa", json={"args": ["What?", "y" * (MAX_CONTEXT_CHARS + 5)], "kwargs": {}})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "passage-too-long"
    err = remote._error(r.status_code, r.content, "qa")  # what core.remote raises for the page
    assert isinstance(err, PassageTooLong) and err.length == MAX_CONTEXT_CHARS + 5
    assert err.limit == MAX_CONTEXT_CHARS


def test_openapi_documents_the_limit(client: TestClient) -> None:
    spec = json.loads(client.get("/openapi.json").text)
    context = spec["components"]["schemas"]["QARequest"]["properties"]["context"]
    assert context["maxLength"] == MAX_CONTEXT_CHARS and "passage-too-long" in context["description"]
    assert "windows_total" in spec["components"]["schemas"]["QAResponse"]["properties"]
