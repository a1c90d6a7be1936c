"""OpenVINO serving (core.openvino): the build in the cache keyed by the weights' hash, the
quality guard, the same answers as PyTorch, and every bad build (missing, stale, damaged,
unreadable) served by PyTorch with a note, never a traceback.

Fast tests use a tiny random span model; the ``qa-e5`` tests use the build ``make setup``
made (built here once per session when it is missing: a few minutes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openvino")

import torch

from core import loaders, registry
from core.openvino import cache, export, runtime
from tests.tiny_bert import tiny_bert_config

QA_PATH = registry.bundled_path(registry.get("qa-e5"))
needs_qa = pytest.mark.skipif(QA_PATH is None, reason="models/qa-e5 is not trained yet")


def _tiny_qa() -> torch.nn.Module:
    from transformers import BertForQuestionAnswering

    config = tiny_bert_config(num_labels=2)
    return BertForQuestionAnswering(config).eval()


@pytest.fixture(scope="module")
def tiny() -> tuple[torch.nn.Module, object, object]:
    qa = _tiny_qa()
    fp32 = export.convert(qa)
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 120, size=(12, 24)).astype(np.int32)
    lengths = rng.integers(8, 25, size=12).astype(np.int32)
    return qa, fp32, export.quantize(fp32, export.calibration_feeds(qa, ids, lengths))


def test_converted_graph_gives_pytorch_logits_and_int8_is_close(tiny):
    qa, fp32, int8 = tiny
    ids = torch.randint(5, 120, (3, 20))
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0  # a padded row, dynamic batch and length
    with torch.inference_mode():
        want = qa(input_ids=ids, attention_mask=mask)
    for graph, tol in ((fp32, 1e-2), (int8, 0.5)):
        got = runtime.ov_qa_model(runtime.compile_model(graph, threads=1), qa)(input_ids=ids, attention_mask=mask)
        assert got.start_logits.shape == (3, 20)
        np.testing.assert_allclose(got.start_logits.numpy(), want.start_logits.numpy(), atol=tol)
        np.testing.assert_allclose(got.end_logits.numpy(), want.end_logits.numpy(), atol=tol)


def _fake_build(tmp: Path, graph: object, precision: str = "int8", passed: bool = True) -> None:
    import openvino as ov

    ov.save_model(graph, str(tmp / "model.xml"), compress_to_fp16=False)
    (tmp / "guard.json").write_text(json.dumps({"precision": precision, "passed": passed}))


@pytest.fixture
def model_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_MODEL_CACHE", str(tmp_path))
    monkeypatch.delenv(runtime.RUNTIME_ENV, raising=False)
    monkeypatch.setenv(runtime.BUILD_ENV, "background")
    started: list[str] = []
    monkeypatch.setattr(runtime, "_start_build", lambda key: started.append(key) or True)
    monkeypatch.setattr("core.openvino.build.qa_sources", lambda path: [path / "layers.safetensors"])
    runtime.clear()
    yield tmp_path, started
    runtime.clear()


def _serve(weights_dir: Path, qa: torch.nn.Module, attention: bool = False):
    return runtime.serve_qa("tiny-qa", weights_dir, lambda: qa, attention=attention)


def test_missing_stale_damaged_and_unreadable_builds_fall_back_to_pytorch_with_a_note(tiny, model_cache, tmp_path):
    qa, fp32, _ = tiny
    _, started = model_cache
    weights = tmp_path / "w"
    weights.mkdir()
    (weights / "layers.safetensors").write_bytes(b"v1")
    sha1 = cache.source_sha([weights / "layers.safetensors"])

    model, rt = _serve(weights, qa)  # missing: PyTorch now, a build started in the background
    assert model is qa and (rt.runtime, rt.note) == ("pytorch", "ov-missing") and started == ["tiny-qa"]

    cache.write("tiny-qa", sha1, lambda tmp: _fake_build(tmp, fp32))
    model, rt = _serve(weights, qa)
    assert (rt.runtime, rt.precision, rt.note) == ("openvino", "int8", "") and model is not qa

    (weights / "layers.safetensors").write_bytes(b"v2: retrained")  # new weights: the old build is stale
    sha2 = cache.source_sha([weights / "layers.safetensors"])
    assert cache.check("tiny-qa", sha2) == "stale"
    model, rt = _serve(weights, qa)
    assert model is qa and rt.note == "ov-stale" and started == ["tiny-qa", "tiny-qa"]
    folder = cache.write("tiny-qa", sha2, lambda tmp: _fake_build(tmp, fp32))  # the rebuild replaces it
    assert cache.check("tiny-qa", sha2) == "ok" and not cache.folder_for("tiny-qa", sha1).exists()

    data = bytearray((folder / "model.bin").read_bytes())
    data[100] ^= 0xFF  # one flipped byte
    (folder / "model.bin").write_bytes(bytes(data))
    model, rt = _serve(weights, qa)
    assert model is qa and rt.note == "ov-damaged"

    cache.write("tiny-qa", sha2, lambda tmp: _fake_build(tmp, fp32, passed=False), force=True)
    model, rt = _serve(weights, qa)  # no variant passed the guard
    assert model is qa and (rt.runtime, rt.note) == ("pytorch", "ov-guard-failed")

    cache.write(
        "tiny-qa", sha2, lambda tmp: (_fake_build(tmp, fp32), (tmp / "model.xml").write_text("<net")), force=True
    )
    model, rt = _serve(weights, qa)  # the manifest matches, but the graph cannot be read
    assert model is qa and (rt.runtime, rt.note) == ("pytorch", "ov-failed")


def test_attention_and_forced_torch_use_pytorch(tiny, model_cache, tmp_path, monkeypatch):
    qa, fp32, _ = tiny
    weights = tmp_path / "w"
    weights.mkdir()
    (weights / "layers.safetensors").write_bytes(b"v1")
    cache.write("tiny-qa", cache.source_sha([weights / "layers.safetensors"]), lambda tmp: _fake_build(tmp, fp32))
    assert _serve(weights, qa, attention=True)[1].runtime == "pytorch"
    monkeypatch.setenv(runtime.RUNTIME_ENV, "torch")
    model, rt = _serve(weights, qa)
    assert model is qa and rt.note == "ov-forced-torch"


# ---- the real qa-e5 build ----------------------------------------------------------


@pytest.fixture(scope="module")
def qa_build() -> Path:
    from core.openvino.build import build

    return build("qa-e5")  # kept when make setup built it for these weights


@needs_qa
def test_qa_e5_build_is_keyed_by_the_weights_and_records_its_guard(qa_build):
    from core.openvino.build import qa_sources

    sha = cache.source_sha(qa_sources(QA_PATH))
    assert qa_build == cache.folder_for("qa-e5", sha) and cache.check("qa-e5", sha) == "ok"
    record = json.loads((qa_build / "guard.json").read_text())
    assert record["precision"] in ("int8", "int8-dynamic", "fp32") and record["sample"] == {"en": 150, "zh": 150}
    assert record["passed"] and record["max_f1_drop"] == 1.0
    served = record["scores"][record.get("served", f"openvino-{record['precision']}")]
    for lang, ref in record["scores"]["pytorch-fp32"].items():
        assert served[lang]["f1"] >= ref["f1"] - record["max_f1_drop"], lang


@needs_qa
def test_qa_e5_guard_rechecked_live_on_the_validation_sample(qa_build):
    """The served graph, run now on the first 40 guard questions per language, scores what the
    build recorded for them (within 1 F1), and the build's full-sample scores pass the guard."""
    from core import e5
    from core.openvino import data, guard
    from core.openvino.build import qa_meta, torch_qa

    n = 40
    record = json.loads((qa_build / "guard.json").read_text())
    served = record["scores"][record.get("served", f"openvino-{record['precision']}")]
    assert guard.passes(served, record["scores"]["pytorch-fp32"])
    questions = [q for lang in ("en", "zh") for q in [x for x in data.load_guard("qa-e5") if x.lang == lang][:n]]
    model = runtime.ov_qa_model(runtime.compile_model(qa_build / "model.xml"), torch_qa(QA_PATH))
    live = guard.qa_scores(model, e5.tokenizer(), qa_meta(QA_PATH), questions)
    for lang in ("en", "zh"):
        assert abs(live[lang]["f1"] - float(np.mean(served[lang]["f1s"][:n]))) <= 1.0, lang


@needs_qa
def test_qa_e5_served_on_openvino_gives_the_same_top_answers(qa_build, monkeypatch):
    from core.health import model_states
    from core.qa import answer_details
    from tests.test_qa_e5 import FACTOIDS_EN, FACTOIDS_ZH

    loaders.clear_cache()
    monkeypatch.setenv(runtime.RUNTIME_ENV, "torch")
    want = [answer_details(q, p, model="qa-e5").answers[0].text for q, p, _ in FACTOIDS_EN + FACTOIDS_ZH]
    assert loaders.loaded_runtimes()["qa-e5"] == ("pytorch", "fp32", "ov-forced-torch")
    loaders.clear_cache()
    monkeypatch.delenv(runtime.RUNTIME_ENV)
    got = [answer_details(q, p, model="qa-e5").answers[0].text for q, p, _ in FACTOIDS_EN + FACTOIDS_ZH]
    precision = json.loads((qa_build / "guard.json").read_text())["precision"]
    state = next(s for s in model_states() if s.key == "qa-e5")
    assert (state.runtime, state.precision, state.runtime_note) == ("openvino", precision, "")
    assert got == want
    attention = loaders.load("qa-e5", attention=True)  # attention maps: the PyTorch model
    assert attention.meta["runtime"] == "pytorch" and isinstance(attention.model, torch.nn.Module)
    assert loaders.load("qa-e5").meta["runtime"] == "openvino"
    loaders.clear_cache()


@needs_qa
@pytest.mark.parametrize("lang, column, shown", [("en", "Runtime", "OpenVINO · "), ("zh", "推理引擎", "OpenVINO · ")])
def test_status_page_shows_runtime_and_precision(qa_build, lang, column, shown):
    from streamlit.testing.v1 import AppTest

    precision = json.loads((qa_build / "guard.json").read_text())["precision"]
    loaders.load("qa-e5")
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("pages/status.py")
    at.run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("Key" if lang == "en" else "键")
    assert table.loc["qa-e5", column] == shown + precision
    assert table.loc["qa-roberta-squad2", column] == "—"  # a Hub model, never loaded offline


def test_adapter_copies_share_the_graph(tiny):
    import copy

    qa, fp32, _ = tiny
    model = runtime.ov_qa_model(runtime.compile_model(fp32, threads=1), qa)
    twin = copy.deepcopy(model)
    ids = torch.randint(5, 120, (1, 9))
    assert twin.compiled is model.compiled and twin._request is not model._request
    assert torch.equal(twin(input_ids=ids).start_logits, model(input_ids=ids).start_logits)
