"""The app as a thin client (``DEMO_INFERENCE_URL``) under AppTest, against a real
``python -m api`` subprocess: every page predicts through the API (the API counts the
calls, this process loads no model), the footer says where the prediction ran, the
"Use via API" expander shows the request, and running that very curl command / Python
snippet gives the page's answer. An API that is down is a friendly message, never a
traceback."""

from __future__ import annotations

import ast
import contextlib
import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.classify import DEFAULT_METHOD
from core.loaders import loaded_models
from harness.server import free_port
from tests.apptest_pages import open_page
from tests.inference_api import calls
from ui.i18n import TABLE

API_LABEL = {"en": "Use via API", "zh": "通过 API 调用"}


@pytest.fixture(scope="module")
def api_url(inference_api):
    return inference_api


@pytest.fixture
def remote(api_url, monkeypatch):
    monkeypatch.setenv("DEMO_INFERENCE_URL", api_url)
    monkeypatch.delenv("DEMO_PUBLIC_API_URL", raising=False)
    monkeypatch.delenv("DEMO_API_KEY", raising=False)
    return api_url


def _remembered(at: AppTest, slot: str):
    memo = at.session_state["_run_once"] if "_run_once" in at.session_state else {}
    return memo[slot][1] if slot in memo else None


def _footer(at: AppTest) -> str:
    return "\n".join(c.value for c in at.sidebar.caption)


def _api_snippets(at: AppTest, lang: str = "en") -> tuple[str, str]:
    """(curl, Python) of the page's one "Use via API" expander."""
    boxes = [e for e in at.expander if e.label == API_LABEL[lang]]
    assert len(boxes) == 1, [e.label for e in at.expander]
    codes = [c.value for c in boxes[0].code]
    assert len(codes) == 2 and codes[0].startswith("curl ") and "import requests" in codes[1]
    return codes[0], codes[1]


def _run_curl(command: str) -> dict:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    out = subprocess.run(["bash", "-c", command], capture_output=True, check=True, timeout=120).stdout
    return json.loads(out)


def _run_python(snippet: str) -> dict:
    out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, check=True, timeout=120)
    return ast.literal_eval(out.stdout.strip())  # print(response.json()): a Python literal


def _went_remote(url: str, task: str, before: dict[str, int], models_before: set[str]) -> None:
    assert calls(url).get(task, 0) > before.get(task, 0), f"the API did not answer {task}"
    assert set(loaded_models()) <= models_before, "a model was loaded in the app's process"


@pytest.mark.slow  # a subprocess: the API
def test_qa_page_asks_the_api(remote):
    before, models = calls(remote), set(loaded_models())
    at = open_page("pages/qa.py", "en", timeout=180)
    result = _remembered(at, "core.qa.answer_details")
    assert result is not None and result.answers[0].text == "Gustave Eiffel"
    _went_remote(remote, "qa", before, models)
    assert f"Ran on: API · [{remote}]({remote})" in _footer(at) and "Device:" in _footer(at)
    curl, python = _api_snippets(at)
    assert f"{remote}/api/qa" in curl and '"question": "Who designed the tower?"' in curl
    assert f'"model": "{result.model}"' in curl and '"top_k": 3' in curl
    assert _run_curl(curl)["answers"][0]["text"] == "Gustave Eiffel"


@pytest.mark.slow  # a subprocess: the API
def test_classify_page_one_text_and_own_labels_ask_the_api(remote):
    before, models = calls(remote), set(loaded_models())
    at = open_page("pages/classify.py", "en", timeout=180)
    single = _remembered(at, "core.classify.explain.sentiment_details")
    assert single is not None and single.prediction.label == "positive"
    _went_remote(remote, "sentiment", before, models)
    curl, _ = _api_snippets(at)
    assert f"{remote}/api/explain" in curl and '"model"' not in curl  # automatic choice: the API's default too
    answer = _run_curl(curl)
    assert answer["prediction"]["label"] == "positive" and answer["explanation"]["method"] == DEFAULT_METHOD["en"]

    at.session_state["cls_tab"] = TABLE["classify.tab_zeroshot"]["en"]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    zs = _remembered(at, "core.classify.zero_shot.zero_shot_details")
    assert zs is not None and zs.prediction is not None
    _went_remote(remote, "zero-shot-details", before, models)
    curl, python = _api_snippets(at)
    assert f"{remote}/api/zero-shot" in curl and '"labels": [' in curl
    assert _run_python(python)["predictions"][0]["label"] == zs.prediction.label


@pytest.mark.slow  # a subprocess: the API
def test_digits_page_asks_the_api_and_the_snippet_sends_what_the_model_saw(remote):
    before, models = calls(remote), set(loaded_models())
    at = open_page("pages/digits.py", "en", timeout=120, example="3")
    result = _remembered(at, "core.digits.inference.recognise")
    assert result is not None and result.digit == 3
    _went_remote(remote, "digits", before, models)
    assert f"Ran on: API · [{remote}]({remote})" in _footer(at)
    curl, _ = _api_snippets(at)
    body = json.loads(curl[curl.index("-d '") + 4 : curl.rindex("'")])
    assert np.array(body["pixels"]).shape == (28, 28)
    np.testing.assert_allclose(np.array(body["pixels"]) / 255, result.image, atol=0.5 / 255 + 1e-6)
    answer = _run_curl(curl)
    assert answer["digit"] == 3
    np.testing.assert_allclose(answer["probabilities"], result.probs, atol=1e-3)


@pytest.mark.slow  # a subprocess: the API
def test_attention_page_asks_the_api_and_the_snippet_names_the_shown_head(remote):
    before, models = calls(remote), set(loaded_models())
    at = open_page("pages/attention.py", "en", timeout=180, layer="2", head="3")
    res = _remembered(at, "core.attention.attention_maps")
    assert res is not None
    _went_remote(remote, "attention", before, models)
    curl, python = _api_snippets(at)
    assert '"layer": 1' in curl and '"head": 2' in curl and f'"model": "{res.model}"' in curl
    answer = _run_curl(curl)
    assert answer["tokens"] == list(res.tokens)
    np.testing.assert_allclose(answer["matrix"], res.attentions[1, 2], atol=1e-4)
    at.session_state["view"] = "average"  # the average of the layer's heads: head null
    at.run()
    curl, python = _api_snippets(at)
    assert '"head": null' in curl and '"head": None' in python


@pytest.mark.slow  # a subprocess: the API
def test_status_page_says_where_predictions_run_and_measures_nothing(remote):
    at = open_page("pages/status.py", "zh", timeout=60)
    assert any("推理服务器" in i.value and remote in i.value for i in at.info)
    assert not [tg for tg in at.toggle if tg.key == "measure"]


@pytest.mark.parametrize(("lang", "says"), [("en", "is not answering"), ("zh", "没有响应")])
def test_an_api_that_is_down_is_a_friendly_message(monkeypatch, lang, says):
    down = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("DEMO_INFERENCE_URL", down)
    at = open_page("pages/qa.py", lang, timeout=60)  # fails on any exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and says in errors[0] and down in errors[0] and "make api" in errors[0]
    assert not [e for e in at.expander if e.label == API_LABEL[lang]]  # no result, no snippet
    at = open_page("pages/digits.py", lang, timeout=60, example="7")
    assert any(says in e.value for e in at.error)


def test_without_an_api_the_page_runs_here_and_still_shows_the_snippet(monkeypatch):
    monkeypatch.delenv("DEMO_INFERENCE_URL", raising=False)
    monkeypatch.delenv("DEMO_PUBLIC_API_URL", raising=False)
    at = open_page("pages/digits.py", "zh", timeout=120, example="3")
    assert "设备:" in _footer(at)
    assert "运行于" not in _footer(at)
    curl, _ = _api_snippets(at, "zh")
    assert "http://localhost:8000/api/digits" in curl
    assert any("make api" in c.value for c in at.caption)


class _RayServeHealth(BaseHTTPRequestHandler):
    """Only what a Ray Serve ingress says on /healthz (a real Ray cluster is tests/test_ray_serve.py's job)."""

    def do_GET(self):
        body = json.dumps({"status": "ok", "engine": "ray-serve", "device": "CUDA · NVIDIA H200 · 139 GB"}).encode()
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _health_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RayServeHealth)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(("lang", "runs_on"), [("en", "Predictions run on"), ("zh", "预测运行于")])
def test_the_footer_names_ray_serve_and_its_device(monkeypatch, lang, runs_on):
    with _health_server() as url:
        monkeypatch.setenv("DEMO_INFERENCE_URL", url)
        at = open_page("pages/home.py", lang, timeout=60)
        footer = _footer(at)
    assert f"{runs_on}: Ray Serve · [{url}]({url})" in footer
    assert "CUDA · NVIDIA H200" in footer
