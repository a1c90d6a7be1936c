"""System check: what every registry model's state is, whether the app is ready offline,
and a live latency measurement of a loaded model. Used by the /status page."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core import registry
from core.availability import availability, default_model, is_online
from core.warmup import DEFAULTS


@dataclass(frozen=True)
class ModelState:
    key: str
    name: str
    tasks: tuple[str, ...]
    languages: tuple[str, ...]
    source: str
    status: str  # available | downloadable | unavailable
    reason: str  # English, for logs and scripts; the ui translates ``code``
    size_mb: float
    load_seconds: float | None  # None: not loaded in this process
    code: str = ""  # core.availability's code (e.g. "offline-not-cached")
    params: Mapping[str, Any] = field(default_factory=dict)
    memory_mb: float | None = None  # resident memory it took when it loaded (None: not loaded here)
    runtime: str | None = None  # "pytorch" | "openvino" once loaded (None: not loaded here)
    precision: str | None = None  # "fp32" | "int8" | "fp16" | "bf16" once loaded
    runtime_note: str = ""  # why OpenVINO is not used where it was wanted (core.openvino.runtime codes)


@dataclass(frozen=True)
class OfflineReadiness:
    ready: bool
    defaults: dict[str, str | None]  # "task/lang" -> default key without network (None: missing)


def model_states(
    loaded: dict[str, float] | None = None,
    memory: dict[str, float] | None = None,
    runtimes: dict[str, tuple[str, str, str]] | None = None,
) -> list[ModelState]:
    """Every registry model with its availability and, if loaded, its load time, memory and
    runtime/precision (``loaded``/``memory``/``runtimes``: :func:`core.loaders.loaded_models`
    / ``loaded_memory`` / ``loaded_runtimes`` of the process that serves them, default this
    one). The runtime shown is the default (non-attention) copy's when both are loaded."""
    from core.loaders import loaded_memory, loaded_models, loaded_name, loaded_runtimes

    online = is_online()
    if loaded is None:
        loaded, memory, runtimes = loaded_models(), loaded_memory(), loaded_runtimes()
    memory = memory or {}
    runtimes = runtimes or {}
    out = []
    for m in registry.MODELS:
        a = availability(m, online=online)
        out.append(
            ModelState(
                m.key,
                m.name,
                m.tasks,
                m.languages,
                m.source,
                a.status,
                a.reason,
                m.size_mb,
                loaded.get(m.key, loaded.get(loaded_name(m.key, True))),
                a.code,
                a.params,
                memory.get(m.key, memory.get(loaded_name(m.key, True))),
                *runtimes.get(m.key, runtimes.get(loaded_name(m.key, True), (None, None, ""))),
            )
        )
    return out


def offline_readiness() -> OfflineReadiness:
    """Green only when every page's default model is available without any network."""
    defaults = {f"{task}/{lang}": default_model(task, lang, online=False) for task, lang, _ in DEFAULTS}
    return OfflineReadiness(all(v is not None for v in defaults.values()), defaults)


def measure_latency(key: str, repeats: int = 5) -> float:
    """Median milliseconds of the model's tiny warm-up forward (loads it first if needed),
    run under its lock like any visitor's request."""
    import statistics

    import torch

    from core.inference import locked
    from core.loaders import load

    bundle = load(key)
    if bundle.warmup is None:
        raise ValueError(f"{key} has no warm-up forward to time")
    times = []
    for _ in range(repeats):
        with locked(bundle):
            t0 = time.perf_counter()
            bundle.warmup(bundle.model, bundle.preprocessor)
            if bundle.device.type == "cuda":
                torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


@dataclass(frozen=True)
class LLMPack:
    """The opt-in language-model pack (``make setup-llm``): its parts installed, converted
    (``folder``), and, once the reader is loaded in this process, its memory and load time."""

    installed: bool
    folder: str | None
    loaded: bool
    memory_mb: float | None
    load_seconds: float | None
    size_mb: float


def llm_pack() -> LLMPack:
    """Where the pack stands here (no hashing, no loading: cheap enough for the home page)."""
    from core.llm import pack
    from core.loaders import loaded_memory, loaded_models

    key = "qwen-0.5b-reader"
    state = pack.state()
    folder = pack.folder_for() if state == "converted" else None
    seconds = loaded_models().get(key)
    return LLMPack(
        state != "llm-not-installed",  # damaged parts are installed too (the page says how to fix them)
        str(folder) if folder else None,
        seconds is not None,
        loaded_memory().get(key),
        seconds,
        registry.get(key).size_mb,
    )
