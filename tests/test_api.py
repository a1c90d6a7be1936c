"""The HTTP API (api/app.py) through FastAPI's TestClient on the real bundled models: every
route's contract, and every kind of bad input answered with a JSON error (a code and a
message), never a 500. The guard's settings (API key, rate limit, body cap) are read from
the environment when the app's middleware is built, so those tests build their own app."""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from api import schemas as s
from api.app import MAX_FULL_ATTENTION, create_app
from core import registry, tasks, wire

ZH_QUESTION = "什么是人工智能？"
ZH_CONTEXT = "人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。"
EN_QUESTION = "What is the capital of France?"
EN_CONTEXT = "France is a country in Europe. Its capital is Paris, a city on the Seine. Lyon is another large city."

ROUTES = {
    "/api/ask",
    "/api/qa",
    "/api/classify",
    "/api/zero-shot",
    "/api/digits",
    "/api/attention",
    "/api/tasks/{name}",
    "/api/models",
    "/healthz",
    "/readyz",
    "/api/stats",
    "/api/explain",
    "/api/train",
    "/api/train/{job_id}",
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as mp:
        for name in ("DEMO_API_KEY", "API_RATE_LIMIT", "API_MAX_BODY_BYTES", "API_CORS_ORIGINS"):
            mp.delenv(name, raising=False)
        mp.setenv("DEMO_WARMUP", "0")
        with TestClient(create_app(), raise_server_exceptions=False) as c:
            yield c


def error_of(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The JSON error of response ``r``, checked: its status, a code and a message."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert isinstance(err["code"], str) and err["code"], err
    assert isinstance(err["message"], str) and err["message"], err
    if code is not None:
        assert err["code"] == code, err
    return err


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def drawn_one(mode: str = "RGBA") -> bytes:
    """A 280x280 canvas with a vertical stroke (a "1"), dark ink on a transparent/white ground."""
    bg, ink = ((0, 0, 0, 0), (0, 0, 0, 255)) if mode == "RGBA" else (255, 0)
    img = Image.new(mode, (280, 280), bg)
    ImageDraw.Draw(img).line([(140, 50), (140, 230)], fill=ink, width=22)
    return png_bytes(img)


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header says ``width`` x ``height`` but whose pixel data is empty."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def digit_pixels(size: int, scale: float = 255.0) -> list[list[float]]:
    a = np.zeros((size, size))
    k = size // 28
    a[5 * k : 23 * k, 13 * k : 15 * k + (k > 1) * 4] = scale
    return a.tolist()


# --- Q&A ------------------------------------------------------------------------------


def test_ask_answers_the_chinese_example_with_a_span_of_the_context(client: TestClient) -> None:
    r = client.post("/api/ask", json={"question": ZH_QUESTION, "context": ZH_CONTEXT})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"answer"}
    answer = r.json()["answer"]
    assert answer.strip() and answer in ZH_CONTEXT
    assert r.headers["x-inference-engine"] == "single-process"
    assert float(r.headers["x-process-ms"]) >= 0


def test_qa_offsets_index_the_context(client: TestClient) -> None:
    r = client.post("/api/qa", json={"question": EN_QUESTION, "context": EN_CONTEXT, "top_k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == set(s.QAResponse.model_fields)
    assert 1 <= len(body["answers"]) <= 3 and body["language"] == "en" and body["model"]
    for a in body["answers"]:
        assert EN_CONTEXT[a["start"] : a["end"]] == a["text"] and a["text"]
        assert 0.0 <= a["score"] <= 1.0 and a["kind"] in ("span", "sentence")
    assert "Paris" in body["answers"][0]["text"]
    zh = client.post("/api/qa", json={"question": ZH_QUESTION, "context": ZH_CONTEXT, "top_k": 1}).json()
    assert len(zh["answers"]) == 1 and zh["language"] == "zh"
    a = zh["answers"][0]
    assert ZH_CONTEXT[a["start"] : a["end"]] == a["text"]


# --- classification -------------------------------------------------------------------


def _check_prediction(p: dict[str, Any]) -> None:
    assert set(p) == set(s.PredictionOut.model_fields)
    assert p["label"] in p["scores"] and math.isclose(p["score"], p["scores"][p["label"]])
    assert math.isclose(sum(p["scores"].values()), 1.0, abs_tol=1e-4)


def test_classify_one_text_and_a_list_with_blanks(client: TestClient) -> None:
    one = client.post("/api/classify", json={"text": "A wonderful, moving film. I loved it."})
    assert one.status_code == 200, one.text
    (p,) = one.json()["predictions"]
    _check_prediction(p)
    assert p["label"] == "positive" and p["language"] == "en"
    many = client.post(
        "/api/classify", json={"texts": ["Terrible and boring.", "", "   ", "这本书非常好看，我很喜欢。"]}
    )
    assert many.status_code == 200, many.text
    preds = many.json()["predictions"]
    assert len(preds) == 4 and preds[1] is None and preds[2] is None
    _check_prediction(preds[0])
    _check_prediction(preds[3])
    assert preds[0]["label"] == "negative" and preds[3]["language"] == "zh"
    assert many.json()["latency_ms"] >= 0
    assert client.post("/api/classify", json={"texts": []}).json()["predictions"] == []


def test_zero_shot_scores_the_given_labels(client: TestClient) -> None:
    labels = ["sport", "politics", "technology"]
    r = client.post("/api/zero-shot", json={"text": "The team won the football match.", "labels": labels})
    assert r.status_code == 200, r.text
    (p,) = r.json()["predictions"]
    _check_prediction(p)
    assert set(p["scores"]) == set(labels) and p["label"] == "sport"
    r = client.post("/api/zero-shot", json={"texts": ["", "比赛赢了"], "labels": ["体育", "政治"]})
    assert r.status_code == 200, r.text
    blank, zh = r.json()["predictions"]
    assert blank is None and set(zh["scores"]) == {"体育", "政治"}


# --- digits ---------------------------------------------------------------------------


def _check_digits(body: dict[str, Any]) -> None:
    assert body["code"] == "ok" and body["model"]
    probs = body["probabilities"]
    assert len(probs) == 10 and all(0 <= p <= 1 for p in probs)
    assert math.isclose(sum(probs), 1.0, abs_tol=1e-4)
    assert body["digit"] == int(np.argmax(probs))
    image = np.asarray(body["image"])
    assert image.shape == (28, 28) and image.min() >= 0 and image.max() <= 1 and image.max() > 0


@pytest.mark.parametrize("size,scale", [(28, 255.0), (280, 1.0)])
def test_digits_from_json_pixels(client: TestClient, size: int, scale: float) -> None:
    r = client.post("/api/digits", json={"pixels": digit_pixels(size, scale)})
    assert r.status_code == 200, r.text
    body = r.json()
    _check_digits(body)
    assert body["digit"] == 1 and body["saliency"] is None


@pytest.mark.parametrize("mode", ["RGBA", "L"])
def test_digits_from_a_png_upload(client: TestClient, mode: str) -> None:
    r = client.post("/api/digits", files={"file": ("one.png", drawn_one(mode), "image/png")})
    assert r.status_code == 200, r.text
    _check_digits(r.json())
    assert r.json()["digit"] == 1


def test_digits_saliency_on_request(client: TestClient) -> None:
    r = client.post("/api/digits", files={"file": ("one.png", drawn_one(), "image/png")}, data={"saliency": "true"})
    assert r.status_code == 200, r.text
    assert np.asarray(r.json()["saliency"]).shape == (28, 28)
    r = client.post("/api/digits", json={"pixels": digit_pixels(28), "saliency": True})
    assert np.asarray(r.json()["saliency"]).shape == (28, 28) and r.json()["saliency_method"] == "occlusion"
    from typing import get_args

    from api.schemas import DigitMethod
    from core.digits.explain import DIGIT_METHODS

    assert get_args(DigitMethod) == ("auto", *DIGIT_METHODS)  # the API offers exactly core's methods
    maps = {}
    for method in ("occlusion", "integrated-gradients", "gradient-x-input"):
        r = client.post("/api/digits", json={"pixels": digit_pixels(28), "saliency": True, "saliency_method": method})
        assert r.status_code == 200 and r.json()["saliency_method"] == method
        maps[method] = np.asarray(r.json()["saliency"])
    assert not np.allclose(maps["occlusion"], maps["integrated-gradients"])  # really another method
    r = client.post(
        "/api/digits",
        files={"file": ("one.png", drawn_one(), "image/png")},
        data={"saliency": "true", "saliency_method": "gradient-x-input"},
    )
    assert r.status_code == 200 and r.json()["saliency_method"] == "gradient-x-input"
    for bad in (
        {"json": {"pixels": digit_pixels(28), "saliency": True, "saliency_method": "lime"}},
        {"files": {"file": ("one.png", drawn_one(), "image/png")}, "data": {"saliency_method": "lime"}},
    ):
        assert client.post("/api/digits", **bad).status_code == 422


def test_a_blank_canvas_is_blank_not_an_error(client: TestClient) -> None:
    for r in (
        client.post("/api/digits", json={"pixels": [[0] * 28] * 28}),
        client.post("/api/digits", files={"file": ("b.png", png_bytes(Image.new("RGBA", (280, 280))), "image/png")}),
    ):
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["code"] == "blank" and body["digit"] is None and body["probabilities"] is None


# --- attention ------------------------------------------------------------------------


def test_attention_one_head_the_average_and_all(client: TestClient) -> None:
    head = client.post("/api/attention", json={"text": "The cat sat on the mat.", "layer": 0, "head": 0})
    assert head.status_code == 200, head.text
    h = head.json()
    assert set(h) == set(s.AttentionResponse.model_fields)
    n = len(h["tokens"])
    assert h["layer"] == 0 and h["head"] == 0 and h["full"] is None and n == h["n_input_tokens"]
    m = np.asarray(h["matrix"])
    assert m.shape == (n, n) and np.allclose(m.sum(axis=1), 1.0, atol=1e-3)

    avg = client.post("/api/attention", json={"text": "The cat sat on the mat."}).json()
    assert avg["head"] is None and avg["layer"] == avg["layers"] - 1  # layer -1: the last
    assert np.asarray(avg["matrix"]).shape == (n, n)

    full = client.post("/api/attention", json={"text": "The cat sat on the mat.", "full": True}).json()
    arr = np.asarray(full["full"])
    assert arr.shape == (full["layers"], full["heads"], n, n)
    assert np.allclose(arr[full["layers"] - 1].mean(axis=0), np.asarray(full["matrix"]), atol=1e-3)

    pair = client.post("/api/attention", json={"text": "猫坐在垫子上。", "pair": "它睡着了。", "head": 1})
    assert pair.status_code == 200, pair.text
    assert len(pair.json()["tokens"]) > 4


def test_full_attention_over_the_cap_is_413(client: TestClient) -> None:
    text = " ".join(["word"] * 200)  # 128 tokens: layers x heads x 128 x 128 > the cap
    r = client.post("/api/attention", json={"text": text, "full": True})
    err = error_of(r, 413, "too-large")
    assert str(MAX_FULL_ATTENTION) in err["message"]
    ok = client.post("/api/attention", json={"text": text})  # one layer of the same text is fine
    assert ok.status_code == 200 and ok.json()["truncated"] is True


# --- models, health, docs -------------------------------------------------------------


def test_models_lists_the_registry(client: TestClient) -> None:
    assert client.post("/api/digits", json={"pixels": digit_pixels(28)}).status_code == 200  # loads the CNN
    r = client.get("/api/models")
    assert r.status_code == 200, r.text
    rows = r.json()
    keys = [m["key"] for m in rows]
    assert len(keys) == len(set(keys)) and set(keys) == {e.key for e in registry.entries()}
    for m in rows:
        assert set(m) == set(s.ModelOut.model_fields) and m["tasks"] and m["status"]
    loaded = {m["key"]: m["loaded_s"] for m in rows}
    assert loaded["digits-cnn"] is not None and loaded["digits-cnn"] >= 0


def test_models_show_each_loaded_models_runtime(client: TestClient) -> None:
    from core.loaders import loaded_runtimes

    assert client.post("/api/digits", json={"pixels": digit_pixels(28)}).status_code == 200  # loads the CNN
    rows = {m["key"]: m for m in client.get("/api/models").json()}
    runtime, precision, note = loaded_runtimes()["digits-cnn"]
    cnn = rows["digits-cnn"]
    assert (cnn["runtime"], cnn["precision"], cnn["runtime_note"]) == (runtime, precision, note)
    assert cnn["runtime"] in ("pytorch", "openvino") and cnn["precision"] in ("fp32", "int8", "fp16", "bf16")
    for m in rows.values():
        if m["loaded_s"] is None:  # not loaded here: no runtime to show
            assert m["runtime"] is None and m["precision"] is None and m["runtime_note"] == ""


def test_models_take_runtimes_from_the_backend() -> None:
    """The runtime shown is the serving side's (Ray Serve: the replicas'), not this process's."""

    class Fake:
        engine = "fake"

        async def run(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            raise AssertionError("no task calls here")

        async def loaded(self) -> dict[str, float]:
            return {"qa-e5": 1.5}

        async def runtimes(self) -> dict[str, tuple[str, str, str]]:
            return {"qa-e5": ("openvino", "int8", "")}

        async def stats(self) -> dict[str, Any]:
            return {"engine": self.engine}

    with TestClient(create_app(Fake()), raise_server_exceptions=False) as c:
        rows = {m["key"]: m for m in c.get("/api/models").json()}
    qa = rows["qa-e5"]
    assert (qa["loaded_s"], qa["runtime"], qa["precision"], qa["runtime_note"]) == (1.5, "openvino", "int8", "")


def test_healthz_readyz_and_stats(client: TestClient) -> None:
    h = client.get("/healthz")
    assert h.status_code == 200 and h.json()["status"] == "ok"
    assert h.json()["engine"] == "single-process" and h.json()["device"]
    r = client.get("/readyz")
    body = r.json()
    assert set(body) == {"ready", "loaded", "missing", "engine"}
    assert body["ready"] == (not body["missing"]) and r.status_code == (200 if body["ready"] else 503)
    assert not set(body["missing"]) & set(body["loaded"])
    before = client.get("/api/stats").json()["calls"].get("digits", 0)
    client.post("/api/digits", json={"pixels": [[0] * 28] * 28})
    st = client.get("/api/stats")
    assert st.status_code == 200 and st.json()["engine"] == "single-process"
    assert all(name in tasks.NAMES and n > 0 for name, n in st.json()["calls"].items())
    assert st.json()["calls"]["digits"] == before + 1


def _refs(obj: Any) -> Iterator[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from _refs(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _refs(v)


def test_openapi_lists_every_route_and_docs_serve_html(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) == ROUTES
    schemas = spec["components"]["schemas"]
    for ref in _refs(spec):  # every $ref resolves (the digits body's did not)
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    digits_body = spec["paths"]["/api/digits"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(digits_body)
    docs = client.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")


# --- the OpenAPI document says what is enforced (schemathesis: tests/test_api_contract.py) ---


def test_every_route_documents_its_json_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            statuses = set(op["responses"]) - {"200", "202"}  # 202: a training job accepted
            if path in ("/healthz", "/readyz"):  # public: no key, no rate limit, no body
                continue
            assert {"401", "429"} <= statuses, (method, path)
            if method == "post":
                assert {"400", "413", "422"} <= statuses, (method, path)
            for status in statuses:
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorResponse"), (method, path, status)
    for path in ("/api/ask", "/api/qa", "/api/classify", "/api/zero-shot", "/api/attention", "/api/tasks/{name}"):
        assert "404" in spec["paths"][path]["post"]["responses"], path  # unknown model key or task
    body = spec["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"code", "message"}


def test_the_schema_states_the_rules_the_code_enforces(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("ClassifyRequest", "ZeroShotRequest"):  # text or texts: exactly one
        assert [b["required"] for b in schemas[name]["oneOf"]] == [["text"], ["texts"]]
    assert schemas["ZeroShotRequest"]["properties"]["labels"]["minItems"] == 2
    digits = client.get("/openapi.json").json()["paths"]["/api/digits"]["post"]["requestBody"]["content"]
    sides = [b["minItems"] for b in digits["application/json"]["schema"]["properties"]["pixels"]["oneOf"]]
    assert sides == [28, 280]
    form = digits["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and form["additionalProperties"] is False


# The mismatches schemathesis found (issue 22), each now a rule of the schema and of the code.
CONTRACT: list[tuple[dict[str, Any], str, int]] = [
    ({"json": {"text": "hello", "full": 0}}, "/api/attention", 422),  # 0 is not a boolean (was accepted)
    ({"json": {"text": "hello", "layer": "1"}}, "/api/attention", 422),  # "1" is not an integer
    ({"json": {"text": "hello", "layer": True}}, "/api/attention", 422),
    ({"json": {"text": "hello", "layer": -1.0}}, "/api/attention", 200),  # 1.0 is a JSON Schema integer
    ({"json": {"question": "q", "context": "c", "top_k": "2"}}, "/api/qa", 422),
    ({"json": {"question": "Who?", "context": "Ann wrote it.", "top_k": 2.0}}, "/api/qa", 200),
    ({"json": {"text": None, "texts": ["good"]}}, "/api/classify", 200),  # the other one null: fine
    ({"json": {"text": "good", "texts": None}}, "/api/classify", 200),
    ({"json": {"text": None, "texts": None}}, "/api/classify", 422),
    ({"json": {"text": "a", "labels": ["only one"]}}, "/api/zero-shot", 422),  # minItems 2 (was 1)
    ({"json": {"pixels": []}}, "/api/digits", 422),  # minItems 28 (was schema-valid)
    ({"files": {"file": ("one.png", drawn_one(), "image/png")}, "data": {"saliency": "maybe"}}, "/api/digits", 422),
    ({"files": {"file": ("one.png", drawn_one(), "image/png")}, "data": {"other": "x"}}, "/api/digits", 422),
    ({"files": {"file": ("one.png", drawn_one(), "image/png")}, "data": {"saliency": "false"}}, "/api/digits", 200),
]


@pytest.mark.parametrize(
    "kwargs,path,status", CONTRACT, ids=[f"{i}-{c[1].rsplit('/', 1)[-1]}" for i, c in enumerate(CONTRACT)]
)
def test_what_the_schema_allows_is_accepted_and_what_it_forbids_refused(
    client: TestClient, kwargs: dict[str, Any], path: str, status: int
) -> None:
    r = client.post(path, **kwargs)
    assert r.status_code == status, r.text[:300]
    if status == 422:
        error_of(r, 422)


# --- the thin client's route ----------------------------------------------------------


def test_task_route_runs_a_wire_encoded_call(client: TestClient) -> None:
    r = client.post("/api/tasks/qa", json={"args": [EN_QUESTION, EN_CONTEXT], "kwargs": {"top_k": 1}})
    assert r.status_code == 200, r.text
    res = wire.decode(r.json()["result"])
    assert type(res).__name__ == "QAResult" and len(res.answers) == 1
    assert EN_CONTEXT[res.answers[0].start : res.answers[0].end] == res.answers[0].text
    assert r.json()["engine"] == "single-process"


# --- bad input: JSON errors, never a 500 ----------------------------------------------

JSON = {"content-type": "application/json"}
LONG = "x" * (s.MAX_TEXT_CHARS + 1)
ND = {"__nd__": "|u1", "shape": [2, 2], "b64": "AAAAAA=="}

# (method, path, request keyword arguments, status, code or None for any)
BAD: list[tuple[str, str, dict[str, Any], int, str | None]] = [
    # wrong types, missing and extra fields
    ("post", "/api/ask", {"json": {"question": 123, "context": "c"}}, 422, "invalid-input"),
    ("post", "/api/ask", {"json": {"question": "q"}}, 422, "invalid-input"),
    ("post", "/api/ask", {"json": {"question": "q", "context": "c", "extra": 1}}, 422, "invalid-input"),
    ("post", "/api/ask", {"json": ["q", "c"]}, 422, "invalid-input"),
    ("post", "/api/ask", {"content": b"", "headers": JSON}, 422, "invalid-input"),
    ("post", "/api/ask", {"data": {"question": "q", "context": "c"}}, 422, "invalid-input"),
    ("post", "/api/qa", {"json": {"question": "q", "context": "c", "top_k": 0}}, 422, "invalid-input"),
    ("post", "/api/qa", {"json": {"question": "q", "context": "c", "top_k": "many"}}, 422, "invalid-input"),
    ("post", "/api/classify", {"json": {}}, 422, "invalid-input"),
    ("post", "/api/classify", {"json": {"text": "a", "texts": ["b"]}}, 422, "invalid-input"),
    ("post", "/api/classify", {"json": {"texts": "not a list"}}, 422, "invalid-input"),
    ("post", "/api/classify", {"json": {"texts": [1, 2]}}, 422, "invalid-input"),
    ("post", "/api/classify", {"json": {"text": "a", "labels": ["x"]}}, 422, "invalid-input"),
    ("post", "/api/zero-shot", {"json": {"text": "a"}}, 422, "invalid-input"),
    ("post", "/api/zero-shot", {"json": {"text": "a", "labels": "sport"}}, 422, "invalid-input"),
    ("post", "/api/attention", {"json": {"text": "a", "layer": "last"}}, 422, "invalid-input"),
    ("post", "/api/attention", {"json": {"text": "a", "head": 1.5}}, 422, "invalid-input"),
    ("post", "/api/digits", {"json": {"pixels": "image"}}, 422, "invalid-input"),
    ("post", "/api/digits", {"json": {"pixels": [[0] * 28] * 28, "extra": 1}}, 422, "invalid-input"),
    ("post", "/api/digits", {"json": {}}, 422, "invalid-input"),
    ("post", "/api/digits", {"json": [1, 2]}, 422, "invalid-input"),
    ("post", "/api/digits", {"json": {"pixels": [["a"] * 28] * 28}}, 422, "invalid-input"),
    # empty, whitespace and too long text
    ("post", "/api/ask", {"json": {"question": "", "context": "c"}}, 422, "invalid-input"),
    ("post", "/api/ask", {"json": {"question": "   ", "context": "c"}}, 422, "empty"),
    ("post", "/api/ask", {"json": {"question": "q", "context": "\n\t "}}, 422, "empty"),
    ("post", "/api/qa", {"json": {"question": " ", "context": "c"}}, 422, "empty"),
    ("post", "/api/ask", {"json": {"question": "q" * 1001, "context": "c"}}, 422, "invalid-input"),
    ("post", "/api/ask", {"json": {"question": "q", "context": "c" * 20_001}}, 422, "passage-too-long"),
    ("post", "/api/classify", {"json": {"text": "  "}}, 422, "empty"),
    ("post", "/api/classify", {"json": {"text": LONG}}, 422, "invalid-input"),
    ("post", "/api/classify", {"json": {"texts": ["ok", LONG]}}, 422, "invalid-input"),
    ("post", "/api/zero-shot", {"json": {"text": " ", "labels": ["a", "b"]}}, 422, "empty"),
    ("post", "/api/attention", {"json": {"text": ""}}, 422, "invalid-input"),
    ("post", "/api/attention", {"json": {"text": "   "}}, 422, "empty"),
    ("post", "/api/attention", {"json": {"text": "\u200b\u200b"}}, 422, "invalid-input"),
    ("post", "/api/attention", {"json": {"text": "a" * 2001}}, 422, "invalid-input"),
    # too many texts or labels, bad labels
    ("post", "/api/classify", {"json": {"texts": ["a"] * (s.MAX_TEXTS + 1)}}, 422, "invalid-input"),
    ("post", "/api/zero-shot", {"json": {"text": "a", "labels": [f"l{i}" for i in range(21)]}}, 422, "invalid-input"),
    ("post", "/api/zero-shot", {"json": {"text": "a", "labels": []}}, 422, "invalid-input"),
    ("post", "/api/zero-shot", {"json": {"text": "a", "labels": ["x", " "]}}, 422, "invalid-input"),
    ("post", "/api/zero-shot", {"json": {"text": "a", "labels": ["x", "y" * 101]}}, 422, "invalid-input"),
    ("post", "/api/zero-shot", {"json": {"text": "a", "labels": ["only one"]}}, 422, "invalid-input"),
    # NUL / binary text
    ("post", "/api/ask", {"json": {"question": "q\x00", "context": "c"}}, 422, "binary-text"),
    ("post", "/api/classify", {"json": {"texts": ["fine", "\x01\x02\x03\x04 binary"]}}, 422, "binary-text"),
    ("post", "/api/zero-shot", {"json": {"text": "a", "labels": ["x\x00", "y"]}}, 422, "binary-text"),
    ("post", "/api/attention", {"json": {"text": "ok", "pair": "\x00\x00"}}, 422, "binary-text"),
    # lone surrogates (valid JSON, not UTF-8 text), invalid JSON, non-UTF-8 bytes
    ("post", "/api/ask", {"content": b'{"question": "\\ud800", "context": "c"}', "headers": JSON}, 422, None),
    ("post", "/api/classify", {"content": b'{"texts": ["ok", "\\udfff"]}', "headers": JSON}, 422, None),
    ("post", "/api/ask", {"content": b'{"question": "q", "context": "c", "\\ud800": 1}', "headers": JSON}, 422, None),
    (
        "post",
        "/api/ask",
        {"content": b'{"question": "q", "context": "c", "model": "\\ud800"}', "headers": JSON},
        404,
        None,
    ),
    ("post", "/api/ask", {"content": b'{"question": ', "headers": JSON}, 400, "invalid-json"),
    ("post", "/api/ask", {"content": b"{'question': 'q'}", "headers": JSON}, 400, "invalid-json"),
    (
        "post",
        "/api/ask",
        {"content": b'{"question": "\xff\xfe", "context": "c"}', "headers": JSON},
        400,
        "invalid-json",
    ),
    ("post", "/api/classify", {"content": b"\x89PNG\r\n\x1a\n\x00\x00", "headers": JSON}, 400, "invalid-json"),
    ("post", "/api/digits", {"content": b'{"pixels": [[', "headers": JSON}, 400, "invalid-json"),
    ("post", "/api/digits", {"content": b"\xff\xfe\xfd", "headers": JSON}, 400, "invalid-json"),
    ("post", "/api/tasks/qa", {"content": b"{nope", "headers": JSON}, 400, "invalid-json"),
    # digits: shapes, values, NaN, uploads
    ("post", "/api/digits", {"json": {"pixels": [[0] * 28] * 27}}, 422, "bad-shape"),
    ("post", "/api/digits", {"json": {"pixels": [[0] * 27] * 28}}, 422, "bad-shape"),
    ("post", "/api/digits", {"json": {"pixels": [[0] * 28] * 27 + [[0] * 29]}}, 422, "bad-shape"),
    ("post", "/api/digits", {"json": {"pixels": [[0] * 100] * 100}}, 422, "bad-shape"),
    ("post", "/api/digits", {"json": {"pixels": []}}, 422, "bad-shape"),
    ("post", "/api/digits", {"json": {"pixels": [[300] * 28] * 28}}, 422, "bad-pixels"),
    ("post", "/api/digits", {"json": {"pixels": [[-1] * 28] * 28}}, 422, "bad-pixels"),
    (
        "post",
        "/api/digits",
        {
            "content": b'{"pixels": [' + b",".join([b"[" + b",".join([b"NaN"] * 28) + b"]"] * 28) + b"]}",
            "headers": JSON,
        },
        422,
        "bad-pixels",
    ),  # fmt: skip
    (
        "post",
        "/api/digits",
        {
            "content": b'{"pixels": [' + b",".join([b"[" + b",".join([b"Infinity"] * 28) + b"]"] * 28) + b"]}",
            "headers": JSON,
        },
        422,
        "bad-pixels",
    ),  # fmt: skip
    ("post", "/api/digits", {"files": {"file": ("x.png", b"this is not a png", "image/png")}}, 422, "not-an-image"),
    ("post", "/api/digits", {"files": {"file": ("x.png", drawn_one()[:200], "image/png")}}, 422, "not-an-image"),
    ("post", "/api/digits", {"files": {"file": ("x.png", png_header(300, 300), "image/png")}}, 422, "not-an-image"),
    ("post", "/api/digits", {"files": {"file": ("x.png", b"", "image/png")}}, 422, "empty"),
    ("post", "/api/digits", {"files": {"file": ("x.png", png_header(5000, 5000), "image/png")}}, 422, "bad-shape"),
    ("post", "/api/digits", {"files": {"file": ("x.png", png_header(100_000, 100_000), "image/png")}}, 422, None),
    (
        "post",
        "/api/digits",
        {"files": {"file": ("x.png", png_bytes(Image.new("L", (4, 4))), "image/png")}},
        422,
        "bad-shape",
    ),  # fmt: skip
    ("post", "/api/digits", {"files": {"image": ("x.png", drawn_one(), "image/png")}}, 422, "invalid-input"),
    ("post", "/api/digits", {"data": {"file": "not a file"}, "files": {"other": ("a", b"a")}}, 422, "invalid-input"),
    (
        "post",
        "/api/digits",
        {"content": b"garbage", "headers": {"content-type": "multipart/form-data"}},
        400,
        "invalid-form",
    ),  # fmt: skip
    # attention: bad layer/head, models
    ("post", "/api/attention", {"json": {"text": "hello", "layer": 99}}, 422, "bad-layer"),
    ("post", "/api/attention", {"json": {"text": "hello", "layer": -99}}, 422, "bad-layer"),
    ("post", "/api/attention", {"json": {"text": "hello", "head": 99}}, 422, "bad-head"),
    ("post", "/api/attention", {"json": {"text": "hello", "head": -1}}, 422, "bad-head"),
    ("post", "/api/attention", {"json": {"text": "hello", "model": "digits-cnn"}}, 422, "model-unavailable"),
    # unknown model keys: 404 model-unavailable (reason checked below)
    (
        "post",
        "/api/ask",
        {"json": {"question": "q", "context": "c", "model": "no-such-model"}},
        404,
        "model-unavailable",
    ),
    (
        "post",
        "/api/qa",
        {"json": {"question": "q", "context": "c", "model": "no-such-model"}},
        404,
        "model-unavailable",
    ),
    ("post", "/api/classify", {"json": {"text": "good", "model": "no-such-model"}}, 404, "model-unavailable"),
    (
        "post",
        "/api/zero-shot",
        {"json": {"text": "a", "labels": ["x", "y"], "model": "no-such-model"}},
        404,
        "model-unavailable",
    ),  # fmt: skip
    ("post", "/api/attention", {"json": {"text": "hello", "model": "no-such-model"}}, 404, "model-unavailable"),
    # the task route: unknown task, classes it must not build, malformed wire payloads
    ("post", "/api/tasks/no-such-task", {"json": {"args": [], "kwargs": {}}}, 404, "unknown-task"),
    # only the keyword arguments the pages use, within caps: no 100,000-token attention from outside
    (
        "post",
        "/api/tasks/attention",
        {"json": {"args": ["hi"], "kwargs": {"max_tokens": 100_000}}},
        422,
        "invalid-input",
    ),
    ("post", "/api/tasks/attention", {"json": {"args": ["hi"], "kwargs": {"max_tokens": True}}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": ["q", "c"], "kwargs": {"top_k": 50}}}, 422, "invalid-input"),
    ("post", "/api/tasks/classify", {"json": {"args": [["x"]], "kwargs": {"batch_size": 10**6}}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": [{"__dc__": "os:system", "fields": {}}]}}, 422, "invalid-input"),
    (
        "post",
        "/api/tasks/qa",
        {"json": {"args": [{"__dc__": "subprocess:Popen", "fields": {"args": "ls"}}]}},
        422,
        "invalid-input",
    ),  # fmt: skip
    ("post", "/api/tasks/qa", {"json": {"args": [{"__dc__": ["core.qa:Answer"]}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": [{"__dc__": "core.qa:Answer", "fields": {}}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": [{"__dc__": "core.qa:Answer", "fields": 5}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": [{"plain": "dict"}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": [{"__tuple__": 5}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": [{"__dict__": [1]}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": [{"__items__": [[1]]}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": [{"__items__": [[[1], 2]]}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/digits", {"json": {"args": [{**ND, "shape": [-1, -4]}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/digits", {"json": {"args": [{**ND, "shape": [3, 3]}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/digits", {"json": {"args": [{**ND, "__nd__": "|O"}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/digits", {"json": {"args": [{**ND, "__nd__": "nonsense"}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/digits", {"json": {"args": [{**ND, "b64": "!!not base64!!"}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/digits", {"json": {"args": [{**ND, "shape": [4]}]}}, 422, "invalid-input"),
    ("post", "/api/tasks/digits-batch", {"json": {"args": [ND]}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": "q", "kwargs": {}}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": ["q", "c"], "kwargs": {}, "extra": 1}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": ["q"], "kwargs": {}}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": ["q", "c"], "kwargs": {"nope": 1}}}, 422, "invalid-input"),
    ("post", "/api/tasks/qa", {"json": {"args": ["q\x00", "c"]}}, 422, "binary-text"),
    ("post", "/api/tasks/classify", {"json": {"args": [["fine", "a\x00b"]]}}, 422, "binary-text"),
    ("post", "/api/tasks/classify", {"json": {"args": [5]}}, 422, "invalid-input"),
    (
        "post",
        "/api/tasks/zero-shot",
        {"content": b'{"args": [["good"], ["a", "\\ud800"]]}', "headers": JSON},
        422,
        "wrong-encoding",
    ),  # fmt: skip
    (
        "post",
        "/api/tasks/classify",
        {"json": {"args": [["good"]], "kwargs": {"model": "no-such-model"}}},
        404,
        "model-unavailable",
    ),  # fmt: skip
    # routes and methods that do not exist
    ("get", "/api/nothing-here", {}, 404, "not-found"),
    ("get", "/api/ask", {}, 405, "method-not-allowed"),
    ("put", "/api/classify", {"json": {"text": "a"}}, 405, "method-not-allowed"),
]


@pytest.mark.parametrize(
    "method,path,kwargs,status,code", BAD, ids=[f"{i}-{b[1].rsplit('/', 1)[-1]}-{b[4]}" for i, b in enumerate(BAD)]
)
def test_bad_input_is_a_json_error_never_a_500(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int, code: str | None
) -> None:
    r = client.request(method.upper(), path, **kwargs)
    assert r.status_code < 500, (r.status_code, r.text[:500])
    error_of(r, status, code)


def test_unknown_models_say_why(client: TestClient) -> None:
    for path, body in [
        ("/api/ask", {"question": "q", "context": "c", "model": "no-such-model"}),
        ("/api/classify", {"text": "good", "model": "no-such-model"}),
        ("/api/attention", {"text": "hello", "model": "no-such-model"}),
    ]:
        err = error_of(client.post(path, json=body), 404, "model-unavailable")
        assert err["reason"] == "unknown-model" and err["key"] == "no-such-model" and err["hint"]
    err = error_of(client.post("/api/attention", json={"text": "hi", "model": "digits-cnn"}), 422)
    assert err["reason"] == "not-a-text-model"


def test_bodies_over_the_default_cap(client: TestClient) -> None:
    big = b'{"question": "' + b"q" * (2 * 1024 * 1024) + b'", "context": "c"}'
    error_of(client.post("/api/ask", content=big, headers=JSON), 413, "too-large")

    def chunks() -> Iterator[bytes]:  # no content-length: the guard counts what it reads
        yield b'{"question": "'
        for _ in range(25):
            yield b"q" * 100_000

    error_of(client.post("/api/ask", content=chunks(), headers=JSON), 413, "too-large")
    error_of(client.post("/api/digits", content=chunks(), headers=JSON), 413, "too-large")
    error_of(client.post("/api/ask", content=b"{}", headers={**JSON, "content-length": "-5"}), 413, "too-large")


# --- the guard's settings: each needs its own app -------------------------------------


@pytest.fixture
def app_with(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``app_with(**env)``: a new client for an app built under ``env`` (the guard reads
    the environment when the middleware is built, at the first request)."""
    clients: list[TestClient] = []
    for name in ("DEMO_API_KEY", "API_RATE_LIMIT", "API_MAX_BODY_BYTES", "API_CORS_ORIGINS"):
        monkeypatch.delenv(name, raising=False)

    def make(**env: str) -> TestClient:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        c = TestClient(create_app(), raise_server_exceptions=False)
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def test_api_key_on(app_with: Any) -> None:
    c = app_with(DEMO_API_KEY="s3cret")
    error_of(c.get("/api/stats"), 401, "unauthorized")
    error_of(c.get("/api/stats", headers={"X-API-Key": "wrong"}), 401, "unauthorized")
    error_of(c.get("/api/stats", headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
    error_of(c.post("/api/classify", json={"text": "good"}), 401, "unauthorized")
    error_of(c.get("/api/stats", headers={"X-API-Key": "sécret".encode()}), 401, "unauthorized")  # not ASCII
    assert c.get("/api/stats", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert c.get("/api/stats", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    for public in ("/healthz", "/openapi.json", "/docs"):
        assert c.get(public).status_code == 200, public
    assert c.get("/readyz").status_code in (200, 503)


def test_api_key_off(app_with: Any) -> None:
    c = app_with()
    assert c.get("/api/stats").status_code == 200
    assert c.get("/api/stats", headers={"X-API-Key": "anything"}).status_code == 200


def test_rate_limit_429_with_retry_after(app_with: Any) -> None:
    c = app_with(API_RATE_LIMIT="3")
    assert [c.get("/api/stats").status_code for _ in range(3)] == [200, 200, 200]
    r = c.get("/api/stats")
    error_of(r, 429, "rate-limited")
    assert 1 <= int(r.headers["retry-after"]) <= 60
    # a new X-API-Key per request does not reset the count (no key is configured)
    error_of(c.get("/api/stats", headers={"X-API-Key": "fresh-1"}), 429, "rate-limited")
    assert c.get("/healthz").status_code == 200  # health checks are never limited


def test_a_smaller_body_cap(app_with: Any) -> None:
    c = app_with(API_MAX_BODY_BYTES="1000")
    ok = {"question": "q", "context": "c" * 800}
    assert c.post("/api/ask", json=ok).status_code != 413
    error_of(c.post("/api/ask", json={"question": "q", "context": "c" * 1200}), 413, "too-large")
    error_of(c.post("/api/ask", content=iter([b'{"question": "', b"q" * 1500, b'"}']), headers=JSON), 413, "too-large")
    noise = png_bytes(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)))
    assert len(noise) > 5000
    error_of(c.post("/api/digits", files={"file": ("noise.png", noise, "image/png")}), 413, "too-large")
    upload = iter([b"--XX\r\n", b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n', b"a" * 5000])
    error_of(
        c.post("/api/digits", content=upload, headers={"content-type": "multipart/form-data; boundary=XX"}),
        413,
        "too-large",
    )
