"""Which runtime serves a model, and the compiled OpenVINO models of this process.

:func:`serve_qa` is called by the ``qa-e5`` builder: on the CPU, without attention maps and
unless ``DEMO_RUNTIME=torch``, it returns the OpenVINO adapter over the build in the model
cache for the current weights; otherwise (or when that build is missing, stale, damaged
or fails to compile) the PyTorch model, with a :class:`Runtime` that says which and why
(``note``, a code the status page translates). A missing or stale build is rebuilt in the
background (a niced ``python -m core.openvino build`` process, once per process;
``DEMO_OV_BUILD=now`` builds before answering, ``off`` never builds), and the next load
(e.g. a restart) uses it.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.openvino import cache

log = logging.getLogger(__name__)

RUNTIME_ENV = "DEMO_RUNTIME"  # "torch" forces PyTorch everywhere
BUILD_ENV = "DEMO_OV_BUILD"  # "background" (default) | "now" | "off"


@dataclass(frozen=True)
class Runtime:
    """How a loaded model runs: ``runtime`` ``pytorch`` | ``openvino``, ``precision``
    ``fp32`` | ``int8`` | ``int8-dynamic`` (int8 weights, activations quantised on the fly) |
    ``fp16`` | ``bf16``, ``note`` a code when OpenVINO was wanted
    but not used (``ov-forced-torch``, ``ov-missing``, ``ov-stale``, ``ov-damaged``,
    ``ov-failed``, ``ov-not-installed``, ``ov-guard-failed``), ``guard`` the build's record."""

    runtime: str
    precision: str
    note: str = ""
    guard: Mapping[str, Any] = field(default_factory=dict)

    def as_meta(self) -> dict[str, Any]:
        return {"runtime": self.runtime, "precision": self.precision, "runtime_note": self.note}


def forced_torch() -> bool:
    return os.environ.get(RUNTIME_ENV, "").strip().lower() in ("torch", "pytorch")


@functools.lru_cache(maxsize=1)
def _core() -> Any:
    import openvino as ov

    return ov.Core()


def compile_model(model: Any, threads: int | None = None) -> Any:
    """``model`` (an ``openvino.Model`` or a path to its ``.xml``) compiled for the CPU,
    latency hint, ``threads`` inference threads (default: ``core.device.cpu_threads()``)."""
    from core.device import cpu_threads

    config = {
        "INFERENCE_NUM_THREADS": int(threads or cpu_threads()),
        "PERFORMANCE_HINT": "LATENCY",
        "NUM_STREAMS": 1,
        "DYNAMIC_QUANTIZATION_GROUP_SIZE": 32,  # int8-dynamic: activations quantised on the fly
    }
    return _core().compile_model(str(model) if isinstance(model, Path) else model, "CPU", config)


def ov_model(compiled: Any, like: Any, runtime: Runtime | None = None, kind: str = "qa") -> Any:
    """The adapter (``core.openvino.adapter.ADAPTERS[kind]``) over ``compiled`` with the word
    table (for e5: the process's shared 4-bit one) and config of the PyTorch model ``like``."""
    from core.openvino.adapter import ADAPTERS
    from core.openvino.export import word_table

    info = (runtime or Runtime("openvino", "?")).as_meta()
    return ADAPTERS[kind](compiled, word_table(like), like.config, info)


def ov_qa_model(compiled: Any, like: Any, runtime: Runtime | None = None) -> Any:
    """:func:`ov_model` of a span-QA model."""
    return ov_model(compiled, like, runtime, "qa")


_COMPILED: dict[str, Any] = {}  # folder + file times -> compiled model, once per process
_COMPILE_LOCK = threading.Lock()
_BUILDS: dict[str, subprocess.Popen[bytes]] = {}


def _compiled(folder: Path) -> Any:
    """The build in ``folder`` compiled once per process (again if its files were rewritten)."""
    stamp = f"{folder}:" + ":".join(str((folder / f).stat().st_mtime_ns) for f in ("model.xml", "model.bin"))
    with _COMPILE_LOCK:
        hit = _COMPILED.get(stamp)
        if hit is None:
            hit = _COMPILED[stamp] = compile_model(folder / "model.xml")
        return hit


def clear() -> None:
    """Forget compiled models (tests)."""
    with _COMPILE_LOCK:
        _COMPILED.clear()


def _start_build(key: str) -> bool:
    """Start ``nice python -m core.openvino build key`` once per process; True if running."""
    running = _BUILDS.get(key)
    if running is not None and running.poll() is None:
        return True
    if running is not None:
        return False  # built once already in this process (or failed): do not loop
    cmd = [sys.executable, "-m", "core.openvino", "build", key]
    if hasattr(os, "nice"):
        cmd = ["nice", "-n", "10", *cmd]
    from core.registry import REPO_ROOT

    try:
        _BUILDS[key] = subprocess.Popen(
            cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
    except OSError as exc:
        log.warning("could not start the OpenVINO build of %s: %s", key, exc)
        return False
    return True


def serve_qa(key: str, path: Path, torch_model: Callable[[], Any], *, attention: bool) -> tuple[Any, Runtime]:
    """:func:`serve` for a span-QA model (its sources: ``core.openvino.build.qa_sources``)."""
    from core.openvino import build

    return serve(key, path, torch_model, attention=attention, sources=lambda p: build.qa_sources(p), kind="qa")


def serve_model(key: str, path: Path, torch_model: Callable[[], Any], *, attention: bool) -> tuple[Any, Runtime]:
    """:func:`serve` for registry model ``key`` of ``core.openvino.build.SPECS``."""
    from core.openvino import build

    spec = build.SPECS[key]
    return serve(key, path, torch_model, attention=attention, sources=spec.sources, kind=spec.kind)


def serve(
    key: str,
    path: Path,
    torch_model: Callable[[], Any],
    *,
    attention: bool,
    sources: Callable[[Path], list[Path]],
    kind: str,
) -> tuple[Any, Runtime]:
    """The model ``key`` should be served with, and how. ``torch_model()`` builds the
    PyTorch model (called when it is needed: also to borrow the config for the adapter);
    ``sources(path)`` are the files the build is keyed by; ``kind`` picks the adapter."""
    from core.device import choose_device

    if attention or choose_device().kind != "cpu":
        model = torch_model()
        return model, Runtime("pytorch", _torch_precision(model))
    if forced_torch():
        return torch_model(), Runtime("pytorch", "fp32", "ov-forced-torch")
    try:
        import openvino  # noqa: F401
    except ImportError:
        return torch_model(), Runtime("pytorch", "fp32", "ov-not-installed")
    try:
        sha = cache.source_sha(sources(path))
    except Exception:  # e.g. no e5 file: the PyTorch builder raises the loader's own error for it
        return torch_model(), Runtime("pytorch", "fp32", "ov-failed")
    state = cache.check(key, sha)
    if state != "ok":
        mode = os.environ.get(BUILD_ENV, "background").strip().lower()
        if mode == "now":
            state = _build_now(key)
        elif mode != "off" and state in ("missing", "stale", "damaged") and _start_build(key):
            log.warning("%s: OpenVINO build %s, rebuilding in the background; PyTorch meanwhile", key, state)
    if state != "ok":
        return torch_model(), Runtime("pytorch", "fp32", f"ov-{state}")
    folder = cache.folder_for(key, sha)
    record = cache.read_guard(key, sha) or {}
    model = torch_model()
    if record.get("passed") is False:  # no OpenVINO variant kept PyTorch's accuracy
        return model, Runtime("pytorch", "fp32", "ov-guard-failed", record)
    try:
        runtime = Runtime("openvino", str(record.get("precision", "?")), "", record)
        return ov_model(_compiled(folder), model, runtime, kind), runtime
    except Exception as exc:  # an unreadable graph: PyTorch, with a note, never a traceback
        log.warning("%s: OpenVINO model failed to compile (%s); PyTorch instead", key, exc)
        return model, Runtime("pytorch", "fp32", "ov-failed")


def _build_now(key: str) -> str:
    from core.openvino.build import build

    try:
        build(key)
    except Exception as exc:
        log.warning("%s: OpenVINO build failed (%s)", key, exc)
        return "failed"
    return "ok"


def _torch_precision(model: Any) -> str:
    first = next(iter(model.parameters()), None)
    name = str(getattr(first, "dtype", "torch.float32")).removeprefix("torch.")
    return {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}.get(name, name)
