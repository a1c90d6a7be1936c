"""core.wire (the JSON codec of task arguments and results) and core.remote (the thin
client), on the real bundled models: every result dataclass survives the trip unchanged,
anything else is refused with WireError; then a real ``python -m api`` server answers
``core.remote.call`` for every task with the same type and values as the local call,
model errors keep their code, and an unreachable API says so."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core import remote, tasks, wire
from core.attention import AttentionResult, attention_maps
from core.classify import (
    Prediction,
    SentimentResult,
    ZeroShotResult,
    classify,
    classify_zero_shot,
    sentiment_details,
    zero_shot_details,
)
from core.digits import DigitResult, classify_digits, recognise
from core.loaders import ModelLoadError
from core.qa import QAResult, answer_details
from core.qa.explain import explain_answer
from harness import server

EN_QUESTION = "What is the capital of France?"
EN_CONTEXT = "France is a country in Europe. Its capital is Paris, a city on the Seine."
ZH_QUESTION = "什么是人工智能？"
ZH_CONTEXT = "人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。"
TEXTS = ["A wonderful film.", "Dull and far too long.", "这本书非常好看。", "Not bad at all.", "服务太差了。"]
LABELS = ["sport", "politics", "technology"]
TIMING = {"latency_ms", "seconds"}  # measured per call: differ between two calls
API_KEY = "wire-test-key"


def canvas() -> np.ndarray:
    """A 280x280 RGBA drawing of a 7 (ink on a transparent canvas, as the page sends it)."""
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(img).line([(60, 60), (220, 60), (120, 240)], fill=(0, 0, 0, 255), width=22)
    return np.asarray(img, dtype=np.uint8)


def same(a: Any, b: Any, *, tol: float = 0.0, path: str = "") -> None:
    """``a`` and ``b`` are the same value of the same types all the way down (arrays by
    dtype, shape and content; floats within ``tol``; timing fields not compared)."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{path}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        if tol:
            assert np.allclose(a, b, atol=tol, rtol=tol, equal_nan=True), path
        else:
            assert np.array_equal(a, b, equal_nan=True), path
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            if f.name not in TIMING:
                same(getattr(a, f.name), getattr(b, f.name), tol=tol, path=f"{path}.{f.name}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, tol=tol, path=f"{path}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            same(a[k], b[k], tol=tol, path=f"{path}[{k!r}]")
    elif isinstance(a, float) and tol:
        assert a == pytest.approx(b, rel=tol, abs=tol), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def over_the_wire(value: Any) -> Any:
    """encode -> JSON text -> decode, as between the API and the thin client."""
    return wire.decode(json.loads(json.dumps(wire.encode(value), ensure_ascii=False, allow_nan=False)))


# --- the codec ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    """One real result of every task (the models load once per module)."""
    return {
        "qa": answer_details(EN_QUESTION, EN_CONTEXT),
        "qa-zh": answer_details(ZH_QUESTION, ZH_CONTEXT, top_k=2),
        "classify": classify(TEXTS),
        "sentiment": sentiment_details("A wonderful, moving film."),
        "zero-shot": classify_zero_shot(["The team won the match.", "比赛赢了"], LABELS),
        "zero-shot-details": zero_shot_details("The election results are in.", LABELS),
        "digits": recognise(canvas(), saliency=True, compare=True),
        "digits-blank": recognise(np.zeros((280, 280, 4), dtype=np.uint8)),
        "digits-batch": classify_digits(np.zeros((3, 28, 28), dtype=np.float32)),
        "attention": attention_maps("The cat sat.", "e5-small", text_pair="It slept."),
    }


EXPECTED_TYPES = {
    "qa": QAResult,
    "qa-zh": QAResult,
    "sentiment": SentimentResult,
    "zero-shot-details": ZeroShotResult,
    "digits": DigitResult,
    "digits-blank": DigitResult,
    "attention": AttentionResult,
}


@pytest.mark.parametrize("name", ["qa", "qa-zh", "classify", "sentiment", "zero-shot", "zero-shot-details", "digits", "digits-blank", "digits-batch", "attention"])  # fmt: skip
def test_every_result_survives_the_wire(results: dict[str, Any], name: str) -> None:
    value = results[name]
    if name in EXPECTED_TYPES:
        assert isinstance(value, EXPECTED_TYPES[name])
    elif name in ("classify", "zero-shot"):
        assert value and all(isinstance(p, Prediction) for p in value)
    back = over_the_wire(value)
    same(back, value)
    if isinstance(value, (QAResult, SentimentResult, ZeroShotResult, list)):  # no arrays inside: == works
        assert back == value


def test_digit_result_arrays_and_properties_survive(results: dict[str, Any]) -> None:
    r, back = results["digits"], over_the_wire(results["digits"])
    for f in ("image", "probs", "saliency", "naive", "naive_probs"):
        a, b = getattr(r, f), getattr(back, f)
        assert isinstance(a, np.ndarray) and b.dtype == a.dtype and np.array_equal(a, b), f
        assert b.flags.writeable and b.flags.c_contiguous
    assert back.digit == r.digit == 7 and back.confidence == r.confidence
    blank = over_the_wire(results["digits-blank"])
    assert blank.blank and blank.image is None and blank.probs is None


def test_attention_result_keeps_its_tuples(results: dict[str, Any]) -> None:
    back = over_the_wire(results["attention"])
    assert isinstance(back.spans, tuple) and all(isinstance(sp, tuple) for sp in back.spans)
    assert back.attentions.dtype == np.float32 and back.attentions.shape == results["attention"].attentions.shape
    assert back.word_labels() == results["attention"].word_labels() and back.text_pair == "It slept."


def test_plain_values_round_trip() -> None:
    value = {
        "a": (1, 2.5, "x", None, True),
        "nested": [{"k": (np.float32(1.5), np.int64(3))}],
        "ints": {1: "one", 2: ("two",)},
        "arrays": [np.arange(6, dtype=np.int16).reshape(2, 3), np.zeros((0, 4)), np.asfortranarray(np.eye(3))],
    }
    back = over_the_wire(value)
    assert back["a"] == (1, 2.5, "x", None, True) and back["ints"] == {1: "one", 2: ("two",)}
    assert back["nested"] == [{"k": (1.5, 3)}]
    for a, b in zip(value["arrays"], back["arrays"]):
        assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b)


@dataclasses.dataclass
class NotAllowed:
    x: int = 1


GOOD_ND = {"__nd__": "<f4", "shape": [2], "b64": "AACAPwAAAEA="}  # [1.0, 2.0]


@pytest.mark.parametrize(
    "payload",
    [
        {"__dc__": "tests.test_wire_remote:NotAllowed", "fields": {"x": 1}},
        {"__dc__": "os:system", "fields": {}},
        {"__dc__": "subprocess:Popen", "fields": {"args": ["true"]}},
        {"__dc__": "builtins:eval", "fields": {}},
        {"__dc__": ["core.qa:Answer"], "fields": {}},
        {"__dc__": "core.qa:Answer"},
        {"__dc__": "core.qa:Answer", "fields": []},
        {"__dc__": "core.qa:Answer", "fields": {"text": "only the text"}},
        {**GOOD_ND, "shape": [3]},
        {**GOOD_ND, "shape": [-1, -2]},
        {**GOOD_ND, "shape": [2**62, 4, 0]},
        {**GOOD_ND, "shape": "x"},
        {**GOOD_ND, "shape": [2**62, 4, 0], "b64": ""},
        {**GOOD_ND, "__nd__": "|O"},
        {**GOOD_ND, "__nd__": "not a dtype"},
        {**GOOD_ND, "b64": "@@@"},
        {"__nd__": "<f4", "b64": "AACAPwAAAEA="},
        {"__tuple__": 5},
        {"__dict__": [1, 2]},
        {"__items__": [[1]]},
        {"__items__": [[[1], 2]]},
        {"__items__": 3},
        {"plain": "dict"},
        [1, {"deep": {"__dc__": "os:system"}}],
    ],
)
def test_decode_refuses_what_it_does_not_know(payload: Any) -> None:
    with pytest.raises(wire.WireError):
        wire.decode(payload)


def test_decode_refuses_oversized_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "MAX_ARRAY_BYTES", 4)
    with pytest.raises(wire.WireError):
        wire.decode(GOOD_ND)  # 8 bytes
    assert wire.decode({**GOOD_ND, "shape": [1], "b64": "AACAPw=="}).tolist() == [1.0]


@pytest.mark.parametrize("value", [NotAllowed(), object(), {1, 2}, b"bytes", print, np.array([object()])])
def test_encode_refuses_other_types(value: Any) -> None:
    with pytest.raises(wire.WireError):
        wire.encode(value)


def test_every_wire_class_is_importable_and_a_dataclass() -> None:
    import importlib

    for name in wire.ALLOWED:
        module, qualname = name.split(":")
        assert dataclasses.is_dataclass(getattr(importlib.import_module(module), qualname)), name


def test_task_names_map_to_the_core_functions() -> None:
    fns = {
        "qa": answer_details,
        "qa-explain": explain_answer,
        "classify": classify,
        "sentiment": sentiment_details,
        "zero-shot": classify_zero_shot,
        "zero-shot-details": zero_shot_details,
        "digits": recognise,
        "digits-batch": classify_digits,
        "attention": attention_maps,
    }
    assert set(fns) == set(tasks.NAMES)
    for name, fn in fns.items():
        assert tasks.name_of(fn) == name and tasks.function(name) is fn
        assert tasks.family(name) in tasks.FAMILIES
    assert tasks.name_of(print) is None and tasks.name_of(same) is None
    with pytest.raises(KeyError):
        tasks.function("os.system")
    with pytest.raises(ValueError):
        remote.call(print, "x")  # not a task: refused before any network


# --- the thin client against a real API process ---------------------------------------


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m api --no-warm`` on a free port (with an API key), stopped at the end."""
    port = server.free_port()
    log = Path(tmp_path_factory.mktemp("api")) / "api.log"
    env = {"DEMO_WARMUP": "0", "DEMO_API_KEY": API_KEY, "API_RATE_LIMIT": "0", "DEMO_INFERENCE_URL": ""}
    args = ["-m", "api", "--no-warm", "--host", server.HOST, "--port", str(port)]
    try:
        with server.serving(args, log, env, port, timeout_s=60, health_path="/healthz") as (url, _):
            yield url
    except server.ServerFailed:
        pytest.fail(f"the API did not start:\n{log.read_text()[-3000:]}")


@pytest.fixture
def remote_env(api_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(remote.ENV, api_url + "/")  # a trailing slash is fine
    monkeypatch.setenv("DEMO_API_KEY", API_KEY)
    assert remote.enabled() and remote.base_url() == api_url
    return api_url


REMOTE_CALLS: list[tuple[str, Any, tuple[Any, ...], dict[str, Any]]] = [
    ("qa", answer_details, (EN_QUESTION, EN_CONTEXT), {"top_k": 2}),
    ("qa-zh", answer_details, (ZH_QUESTION, ZH_CONTEXT), {}),
    ("classify", classify, (TEXTS,), {}),
    ("sentiment", sentiment_details, ("Dull and far too long.",), {}),
    ("zero-shot", classify_zero_shot, (["The team won the match.", "比赛赢了"], LABELS), {}),
    ("zero-shot-details", zero_shot_details, ("The election results are in.", LABELS), {}),
    ("digits", recognise, (canvas(),), {"saliency": True, "compare": True}),
    ("digits-batch", classify_digits, (np.zeros((2, 28, 28), dtype=np.float32),), {}),
    ("attention", attention_maps, ("The cat sat.", "e5-small"), {"text_pair": "It slept."}),
]


@pytest.mark.slow
@pytest.mark.parametrize("label,fn,args,kwargs", REMOTE_CALLS, ids=[c[0] for c in REMOTE_CALLS])
def test_remote_call_matches_the_local_call(
    remote_env: str, label: str, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    there = remote.call(fn, *args, **kwargs)
    here = fn(*args, **kwargs)
    same(there, here, tol=1e-4)


@pytest.mark.slow
def test_remote_classify_reports_progress_in_chunks(remote_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote, "CLASSIFY_CHUNK", 2)
    seen: list[tuple[int, int]] = []
    preds = remote.call(classify, TEXTS, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2, 5), (4, 5), (5, 5)]
    same(preds, classify(TEXTS), tol=1e-4)
    seen.clear()
    assert remote.call(classify, [], progress=lambda d, t: seen.append((d, t))) == []
    assert seen == [(0, 0)]


@pytest.mark.slow
def test_remote_model_errors_keep_their_code(remote_env: str) -> None:
    with pytest.raises(ModelLoadError) as local:
        answer_details(EN_QUESTION, EN_CONTEXT, model="no-such-model")
    with pytest.raises(ModelLoadError) as there:
        remote.call(answer_details, EN_QUESTION, EN_CONTEXT, model="no-such-model")
    assert there.value.code == local.value.code == "unknown-model"
    assert there.value.key == "no-such-model" and there.value.hint
    with pytest.raises(ModelLoadError) as att:
        remote.call(attention_maps, "hello", "digits-cnn")
    assert att.value.code == "not-a-text-model"
    with pytest.raises(ValueError):  # bad input is a ValueError here as it is locally
        remote.call(classify_zero_shot, ["text"], ["only one label"])
    from core.explain import ExplainError
    from core.qa import Answer, QAResult

    llm = QAResult(language="en", answers=(Answer("Paris", 0, 5, 0.9, "llm"),), model="qwen-0.5b-reader", mode="llm")
    with pytest.raises(ExplainError) as refused:  # an explanation refused keeps its code (the page says why)
        remote.call(explain_answer, EN_QUESTION, EN_CONTEXT, llm)
    assert refused.value.code == "not-available"


@pytest.mark.slow
def test_remote_without_the_key_is_refused(remote_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_API_KEY")
    with pytest.raises(ModelLoadError) as err:
        remote.call(classify, ["fine"])
    assert err.value.code == "remote-error" and err.value.params["status"] == 401
    info = remote.server_info(ttl_s=0)  # /healthz needs no key
    assert info["engine"] == "single-process" and info["status"] == "ok"


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}", "127.0.0.1:{port}"])
def test_an_unreachable_api_says_so(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv(remote.ENV, url.format(port=server.free_port()))  # nothing listens there
    with pytest.raises(ModelLoadError) as err:
        remote.call(answer_details, EN_QUESTION, EN_CONTEXT)
    assert err.value.code == "remote-unreachable" and err.value.hint
    assert err.value.params["url"] == remote.base_url()
    assert remote.server_info(ttl_s=0) == {}


def test_remote_is_off_without_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(remote.ENV, raising=False)
    assert not remote.enabled() and remote.base_url() is None and remote.server_info() == {}
    monkeypatch.setenv(remote.ENV, "   ")
    assert not remote.enabled()
