"""``python -m core.openvino build [KEY]``: export, convert, quantise, guard, write, for each
encoder of :data:`SPECS` (``qa-e5``, ``sentiment-zh-e5``, ``e5-small``, ``sentiment-en-minilm``).

1. the PyTorch model (fp32, eager attention) from the model's own files;
2. :func:`core.openvino.export.convert` (graph from ``inputs_embeds``), then
   :func:`~core.openvino.export.quantize` on the committed calibration windows;
3. the guard (:mod:`core.openvino.guard`) on the committed validation sample: PyTorch fp32,
   then the OpenVINO candidates, fastest first: static int8 (``int8``), int8 weights with
   dynamically quantised activations (``int8-dynamic``), fp32; the first within
   ``MAX_F1_DROP`` F1 (span QA) or ``MAX_DROP`` accuracy points (sentiment, zero-shot; and
   embeddings' cosine >= ``MIN_COSINE``) of PyTorch in every language is served (every
   score recorded; :mod:`core.openvino.text` for the text encoders);
4. the chosen graph, ``guard.json`` and a manifest written atomically into the model cache
   (:mod:`core.openvino.cache`), keyed by the hash of the source weights.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import registry
from core.openvino import cache, data, guard, text

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Spec:
    """How one registry model is built: its graph's ``kind`` (``core.openvino.export.OUTPUTS``),
    the files its build is keyed by (``sources(path)``), its PyTorch fp32 reference
    (``torch_model(path)``, eager attention), and the guard's ``metric``."""

    kind: str
    sources: Callable[[Path], list[Path]]
    torch_model: Callable[[Path], Any]
    metric: str


SPECS: dict[str, Spec] = {  # built in this order by ``python -m core.openvino build`` (make setup)
    "qa-e5": Spec("qa", qa_sources, torch_qa, "f1"),
    "sentiment-zh-e5": Spec("classifier", text.zh_e5_sources, text.zh_e5_torch, "accuracy"),
    "e5-small": Spec("encoder", text.e5_sources, text.e5_torch, "accuracy"),
    "sentiment-en-minilm": Spec("classifier", text.en_sources, text.en_torch, "accuracy"),
}
SUPPORTED = tuple(SPECS)


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
    sha = cache.source_sha(SPECS[key].sources(path))
    return cache.write(key, sha, lambda tmp: _build_into(key, path, sha, tmp, questions), force=force)


def _scorer(key: str, path: Path, questions: int | None) -> Callable[[Any], dict[str, dict[str, Any]]]:
    """``score(model)`` on ``key``'s committed guard sample (the first ``questions`` per language)."""
    if key == "qa-e5":
        from core import e5

        tok, meta = e5.tokenizer(), qa_meta(path)
        sample = data.load_guard(key)
        if questions is not None:
            sample = [q for lang in ("en", "zh") for q in [s for s in sample if s.lang == lang][:questions]]
        return lambda model: guard.qa_scores(model, tok, meta, sample)
    rows = text.load_guard(key)
    if questions is not None:
        rows = [
            r
            for lang in dict.fromkeys(r["lang"] for r in rows)
            for r in [x for x in rows if x["lang"] == lang][:questions]
        ]
    return text.Scorer(key, path, rows)


def _build_into(key: str, path: Path, sha: str, tmp: Path, questions: int | None) -> None:
    import openvino as ov

    from core.openvino import export
    from core.openvino.runtime import compile_model, ov_model

    spec = SPECS[key]
    max_drop = guard.MAX_F1_DROP if spec.metric == "f1" else guard.MAX_DROP
    t0 = time.perf_counter()
    ref = spec.torch_model(path)
    score = _scorer(key, path, questions)
    fp32 = export.convert(ref, spec.kind)
    ids, lengths = data.load_calibration(key)
    feeds = list(export.calibration_feeds(ref, ids, lengths))
    log.info("%s: converted in %.0f s", key, time.perf_counter() - t0)

    scores = {"pytorch-fp32": score(ref)}
    # fastest first; the first within the guard is served. Static int8 with NNCF's SmoothQuant
    # default (alpha 0.95), then a milder one (0.75: qa-e5's SQuAD weights lost 1.4 F1 in Chinese
    # with 0.95 and 0.2 with 0.75 on the guard sample), then int8 weights with dynamic
    # activations, then fp32.
    candidates = (
        ("int8", None, lambda: export.quantize(fp32, feeds)),
        ("int8", 0.75, lambda: export.quantize(fp32, feeds, smooth_quant_alpha=0.75)),
        ("int8-dynamic", None, lambda: export.compress_weights(fp32)),
        ("fp32", None, lambda: fp32),
    )
    alpha = None
    for chosen, alpha, make in candidates:
        graph = make()
        name = f"openvino-{chosen}" + (f"-sq{alpha}" if alpha is not None else "")
        scores[name] = score(ov_model(compile_model(graph), ref, kind=spec.kind))
        log.info("%s: %s %s", key, name, _summary(scores[name], spec.metric))
        if guard.passes(scores[name], scores["pytorch-fp32"], spec.metric, max_drop):
            break
    ov.save_model(graph, str(tmp / "model.xml"), compress_to_fp16=False)
    record = {
        "key": key,
        "precision": chosen,
        "passed": guard.passes(scores[name], scores["pytorch-fp32"], spec.metric, max_drop),
        "smooth_quant_alpha": alpha,
        "served": name,  # the key of the served variant's scores
        "metric": spec.metric,
        "max_drop": max_drop,
        **({"max_f1_drop": max_drop} if spec.metric == "f1" else {"min_cosine": guard.MIN_COSINE}),
        "scores": scores,
        "sample": {lang: s["n"] for lang, s in scores["pytorch-fp32"].items()},
        "calibration_windows": int(len(ids)),
        "source_sha": sha,
        "openvino": ov.__version__,
        "build_seconds": round(time.perf_counter() - t0, 1),
    }
    (tmp / "guard.json").write_text(json.dumps(record, indent=2))


def _summary(scores: dict[str, dict[str, Any]], metric: str) -> str:
    """``en f1 65.7, zh f1 71.1`` / ``zh accuracy 87.5 cosine 0.998`` (logs, the CLI)."""
    parts = []
    for lang, sc in scores.items():
        bits = [f"{metric} {sc[metric]:.1f}"] if metric in sc else []
        bits += [f"cosine {sc['cosine']:.4f}"] if "cosine" in sc else []
        parts.append(f"{lang} " + " ".join(bits))
    return ", ".join(parts)
