"""``python -m core.openvino build qa-e5``: export, convert, quantise, guard, write.

1. the PyTorch model (fp32, eager attention) from the model's own files;
2. :func:`core.openvino.export.convert` (graph from ``inputs_embeds``), then
   :func:`~core.openvino.export.quantize` on the committed calibration windows;
3. the guard (:mod:`core.openvino.guard`) on the committed validation sample: PyTorch fp32,
   then the OpenVINO candidates, fastest first: static int8 (``int8``), int8 weights with
   dynamically quantised activations (``int8-dynamic``), fp32; the first within
   ``MAX_F1_DROP`` F1 of PyTorch in every language is served (every score recorded);
4. the chosen graph, ``guard.json`` and a manifest written atomically into the model cache
   (:mod:`core.openvino.cache`), keyed by the hash of the source weights.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from core import registry
from core.openvino import cache, data, guard

log = logging.getLogger(__name__)

SUPPORTED = ("qa-e5",)  # the span model first; the other encoders keep PyTorch for now


def qa_sources(path: Path) -> list[Path]:
    """The files a ``qa-e5`` build depends on: its layers and the e5 packed file."""
    from core import e5

    return [path / "layers.safetensors", e5.packed_file()]


def qa_meta(path: Path) -> dict[str, Any]:
    """The inference window the model answers with (``config.json``), as the loader's meta."""
    window = json.loads((path / "config.json").read_text()).get("inference_window") or {}
    if not window:
        return {}
    return {"window_tokens": int(window["max_length"]), "window_stride": int(window["stride"])}


def torch_qa(path: Path) -> Any:
    """The PyTorch fp32 span model (eager attention) from ``path/layers.safetensors``."""
    from transformers import BertForQuestionAnswering

    from core import e5

    return e5.build_model(
        BertForQuestionAnswering,
        weights=path / "layers.safetensors",
        attention=True,
        config_overrides={"num_labels": 2},
    )


def model_path(key: str) -> Path:
    if key not in SUPPORTED:
        raise ValueError(f"no OpenVINO build for {key!r} (supported: {', '.join(SUPPORTED)})")
    path = registry.bundled_path(registry.get(key))
    if path is None:
        raise FileNotFoundError(f"{key}: its weights are not here (train it first)")
    return path


def build(key: str = "qa-e5", *, force: bool = False, questions: int | None = None) -> Path:
    """Build (or keep, when valid and not ``force``) the OpenVINO model of ``key`` in the
    cache; returns its folder. ``questions`` limits the guard sample per language (tests)."""
    path = model_path(key)
    sha = cache.source_sha(qa_sources(path))
    return cache.write(key, sha, lambda tmp: _build_into(key, path, sha, tmp, questions), force=force)


def _build_into(key: str, path: Path, sha: str, tmp: Path, questions: int | None) -> None:
    import openvino as ov

    from core import e5
    from core.openvino import export
    from core.openvino.runtime import compile_model, ov_qa_model

    t0 = time.perf_counter()
    qa = torch_qa(path)
    tok = e5.tokenizer()
    meta = qa_meta(path)
    sample = data.load_guard(key)
    if questions is not None:
        sample = [q for lang in ("en", "zh") for q in [s for s in sample if s.lang == lang][:questions]]
    fp32 = export.convert(qa)
    ids, lengths = data.load_calibration(key)
    int8 = export.quantize(fp32, export.calibration_feeds(qa, ids, lengths))
    log.info("%s: converted and quantised in %.0f s", key, time.perf_counter() - t0)

    scores = {"pytorch-fp32": guard.qa_scores(qa, tok, meta, sample)}
    candidates = (  # fastest first; the first within the guard is served
        ("int8", lambda: int8),
        ("int8-dynamic", lambda: export.compress_weights(fp32)),
        ("fp32", lambda: fp32),
    )
    for chosen, make in candidates:
        graph = make()
        scores[f"openvino-{chosen}"] = guard.qa_scores(ov_qa_model(compile_model(graph), qa), tok, meta, sample)
        if guard.passes(scores[f"openvino-{chosen}"], scores["pytorch-fp32"]):
            break
    ov.save_model(graph, str(tmp / "model.xml"), compress_to_fp16=False)
    record = {
        "key": key,
        "precision": chosen,
        "passed": guard.passes(scores[f"openvino-{chosen}"], scores["pytorch-fp32"]),
        "max_f1_drop": guard.MAX_F1_DROP,
        "scores": scores,
        "sample": {lang: s["n"] for lang, s in scores["pytorch-fp32"].items()},
        "calibration_windows": int(len(ids)),
        "source_sha": sha,
        "openvino": ov.__version__,
        "build_seconds": round(time.perf_counter() - t0, 1),
    }
    (tmp / "guard.json").write_text(json.dumps(record, indent=2))
