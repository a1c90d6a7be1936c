"""Model loaders: every model of the registry loaded once per process. Plain Python.

``load(key)`` loads a registry model once per process, puts it in eval mode on the
device of ``core.device``, runs one warm-up forward, records its load time and returns
an immutable :class:`ModelBundle`. Task code runs the forward pass under
``bundle.lock`` (one forward at a time per model, so a crowd of sessions does not
oversubscribe the CPU) and ``torch.inference_mode()``.

The cache is a small interface: by default a thread-safe in-process memo (one load per
key even when two threads ask together); a host can plug its own with :func:`use_cache`
(the Streamlit app plugs ``st.cache_resource`` in from ``ui``, so it shows in the app's
cache menu). ``import core`` never imports Streamlit: tests, benchmarks, scripts and
other servers use the same loaders. :func:`clear_cache` forgets every loaded model.

A failure raises :class:`ModelLoadError` with a ``code`` (translated by the ``ui``) and
an English ``reason`` for logs; pages show it as a message, never a traceback.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from core import registry
from core.availability import availability, hub_offline_forced
from core.registry import ModelEntry

log = logging.getLogger(__name__)

# (key, attention) -> seconds it took to load; read by the home page's badge.
_LOAD_SECONDS: dict[tuple[str, bool], float] = {}
# (key, attention) -> how much the process's resident memory grew while it loaded (MB).
_LOAD_MB: dict[tuple[str, bool], float] = {}
# (key, attention) -> (runtime, precision, note): "pytorch"/"openvino", "fp32"/"int8"/..., a code
_RUNTIME: dict[tuple[str, bool], tuple[str, str, str]] = {}


def _rss_mb() -> float:
    try:
        import psutil

        return float(psutil.Process().memory_info().rss) / 2**20
    except Exception:  # memory is a figure to show, never a failure
        return 0.0


class ModelLoadError(RuntimeError):
    """A model could not be loaded.

    ``code`` names what failed for the ``ui`` to translate (``unknown-model``,
    ``not-installed``, ``not-trained``, ``offline-not-cached``, ``offline-forced``,
    ``download-failed``, ``load-failed``, ``no-model-for-language``, ``not-a-text-model``,
    ``e5-missing`` / ``e5-corrupt`` ...), ``params`` fills its placeholders, ``reason`` says
    it in English for logs and scripts, ``hint`` what to do (English)."""

    def __init__(
        self, key: str, reason: str, hint: str = "", code: str = "load-failed", params: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason
        self.hint = hint
        self.code = code or "load-failed"
        self.params: Mapping[str, Any] = dict(params or {})

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole (a Ray Serve replica raises it to the API's process)."""
        return (type(self), (self.key, self.reason, self.hint, self.code, dict(self.params)))


_HOOKS = threading.local()


@contextlib.contextmanager
def forward_hooks(
    before: Callable[[], None] | None = None, on_wait: Callable[[int], None] | None = None
) -> Iterator[None]:
    """Within this block (in this thread), every model lock acquisition first calls
    ``before()`` (which may raise, e.g. a rate limit), and when the model is busy with
    another caller, ``on_wait(position)`` is told the queue position, then ``on_wait(0)``
    once it is our turn. The UI uses this to show "queued"; core code knows nothing of it."""
    prev = (getattr(_HOOKS, "before", None), getattr(_HOOKS, "on_wait", None))
    _HOOKS.before, _HOOKS.on_wait = before, on_wait
    try:
        yield
    finally:
        _HOOKS.before, _HOOKS.on_wait = prev


class QueuedLock:
    """A lock that knows how many callers wait for it (shown as a queue position)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting = 0
        self._count_lock = threading.Lock()

    @property
    def waiting(self) -> int:
        return self._waiting

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> QueuedLock:
        before = getattr(_HOOKS, "before", None)
        if before is not None:
            before()
        if self._lock.acquire(blocking=False):
            return self
        with self._count_lock:
            self._waiting += 1
            position = self._waiting
        on_wait = getattr(_HOOKS, "on_wait", None)
        if on_wait is not None:
            on_wait(position)
        try:
            self._lock.acquire()
        finally:
            with self._count_lock:
                self._waiting -= 1
            if on_wait is not None:
                on_wait(0)
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


@dataclass(frozen=True)
class Built:
    """What a builder returns: the model, its tokenizer/preprocessor, extra metadata and
    an optional warm-up (called once with the model and preprocessor after loading)."""

    model: Any
    preprocessor: Any = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    warmup: Callable[[Any, Any], None] | None = None


@dataclass(frozen=True)
class ModelBundle:
    """A loaded model, ready for inference. Immutable: share it across sessions."""

    key: str
    entry: ModelEntry
    model: Any  # torch.nn.Module, eval mode, on ``device``
    preprocessor: Any  # tokenizer or None
    device: Any  # torch.device
    dtype: Any  # torch.dtype of the weights
    lock: QueuedLock
    load_seconds: float
    attention: bool  # loaded with eager attention that returns attention maps
    meta: Mapping[str, Any]
    warmup: Callable[[Any, Any], None] | None = None  # a tiny forward(model, preprocessor)


# ---- builders ------------------------------------------------------------------

_HF_AUTO = {
    "hf-qa": "AutoModelForQuestionAnswering",
    "hf-seq-cls": "AutoModelForSequenceClassification",
    "hf-encoder": "AutoModel",
}


def build_hf(entry: ModelEntry, path: Path, device: Any, *, attention: bool) -> Built:
    """Generic Hugging Face builder: Auto class by ``entry.builder``, tokenizer beside it."""
    import transformers

    auto = getattr(transformers, _HF_AUTO[entry.builder])
    return build_hf_class(auto, path, attention=attention, seq_cls=entry.builder == "hf-seq-cls")


def build_hf_class(model_class: Any, path: Path, *, attention: bool, seq_cls: bool) -> Built:
    """``model_class.from_pretrained(path)`` (our dtype; eager attention when asked) with the
    tokenizer beside it, its label names (``seq_cls``), input limit and a tiny warm-up."""
    import transformers

    from core.device import torch_dtype

    kwargs: dict[str, Any] = {"dtype": torch_dtype()}
    if attention:
        kwargs["attn_implementation"] = "eager"
    model = model_class.from_pretrained(str(path), **kwargs)
    tok = transformers.AutoTokenizer.from_pretrained(str(path))
    meta: dict[str, Any] = {}
    id2label = getattr(model.config, "id2label", None)
    if id2label and seq_cls:
        meta["id2label"] = {int(k): v for k, v in id2label.items()}
    meta["max_length"] = min(getattr(tok, "model_max_length", 512) or 512, 512)
    return Built(model, tok, meta, _hf_warmup)


def _hf_warmup(model: Any, tok: Any) -> None:
    enc = tok("warm up", "热身", return_tensors="pt", truncation=True)
    enc = {k: v.to(model.device) for k, v in enc.items()}
    model(**enc)


def _resolve_builder(entry: ModelEntry) -> Callable[..., Built]:
    if entry.builder in _HF_AUTO:
        return build_hf
    module, _, func = entry.builder.partition(":")
    return getattr(importlib.import_module(module), func)


def _weights_path(entry: ModelEntry) -> Path:
    """Where the weights are; availability (and its network probe) is asked only when they
    are not already on disk."""
    if entry.source == "bundled":
        if entry.location.startswith("pack:"):
            return _pack_path(entry)
        path = registry.bundled_path(entry)
        if path is None:
            av = availability(entry)
            raise ModelLoadError(
                entry.key,
                av.reason,
                "Pick another model, or run `make setup` / the training script.",
                av.code,
                av.params,
            )
        return path
    cached = registry.cached_snapshot(entry)
    if cached is not None:
        return cached
    av = availability(entry)
    if av.status != "downloadable":
        raise ModelLoadError(
            entry.key,
            av.reason or "not in the local cache",
            "Pick a bundled model, or run `python -m core.prefetch` once online.",
            av.code or "offline-not-cached",
            av.params,
        )
    return download(entry)


def _pack_path(entry: ModelEntry) -> Path:
    """An opt-in pack's converted folder; one that is installed but not converted yet is
    converted now (once, about a minute); missing or damaged parts raise ``llm-not-installed`` / ``llm-corrupt`` /
    ``llm-convert-failed`` with the command that fixes them."""
    from core.llm import pack

    try:
        return pack.ensure_converted()
    except pack.PackUnavailable as exc:
        raise ModelLoadError(entry.key, str(exc), f"Run `{pack.FIX}`.", exc.code, {"fix": pack.FIX}) from exc


def download(entry: ModelEntry, progress: Callable[[float, str], None] | None = None) -> Path:
    """Download a Hub model into the local cache; ``progress(fraction, text)`` is told how far."""
    if hub_offline_forced():
        raise ModelLoadError(
            entry.key, "offline mode is on (HF_HUB_OFFLINE=1)", "Unset it, or pick a bundled model.", "offline-forced"
        )
    from huggingface_hub import snapshot_download

    tqdm_class = None
    if progress is not None:
        from tqdm.auto import tqdm

        report = progress

        class _Progress(tqdm):
            def update(self, n: float | None = 1) -> bool | None:
                out = super().update(n)
                if self.total:
                    report(min(self.n / self.total, 1.0), f"{entry.name}: {self.desc or ''}")
                return out

        tqdm_class = _Progress
    try:
        path = snapshot_download(
            entry.location,
            revision=entry.revision,
            allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.bpe", "merges.txt", "vocab.*"],
            tqdm_class=tqdm_class,
        )
    except Exception as exc:  # network, auth, disk: all become one clear message
        raise ModelLoadError(
            entry.key,
            f"download failed ({type(exc).__name__}: {exc})",
            "Check the connection, or pick a bundled model.",
            "download-failed",
            {"error": type(exc).__name__},
        ) from exc
    return Path(path)


def _load_uncached(key: str, attention: bool) -> ModelBundle:
    import torch

    from core.device import choose_device, torch_device

    entry = registry.get(key)
    t0, rss0 = time.perf_counter(), _rss_mb()
    path = _weights_path(entry)
    choose_device()
    device = torch_device()
    try:
        built = _resolve_builder(entry)(entry, path, device, attention=attention)
        model = built.model.to(device).eval()
        warm = built.warmup
        if warm is not None:
            with torch.inference_mode():
                warm(model, built.preprocessor)
    except ModelLoadError:
        raise
    except Exception as exc:
        log.exception("loading %s failed", key)
        raise ModelLoadError(
            key,
            f"{type(exc).__name__}: {exc}",
            "Pick another model in the model picker.",
            "load-failed",
            {"error": type(exc).__name__},
        ) from exc
    seconds = time.perf_counter() - t0
    _LOAD_SECONDS[(key, attention)] = seconds
    gc.collect()
    _LOAD_MB[(key, attention)] = max(0.0, _rss_mb() - rss0)
    gc.freeze()  # the model's millions of long-lived objects leave the collector's view: later collections stay cheap
    first = next(model.parameters(), None)
    dtype = first.dtype if first is not None else torch.float32
    precision = {torch.float16: "fp16", torch.bfloat16: "bf16"}.get(dtype, "fp32")
    _RUNTIME[(key, attention)] = (
        str(built.meta.get("runtime", "pytorch")),
        str(built.meta.get("precision", precision)),
        str(built.meta.get("runtime_note", "")),
    )
    return ModelBundle(
        key=key,
        entry=entry,
        model=model,
        preprocessor=built.preprocessor,
        device=device,
        dtype=dtype,
        lock=QueuedLock(),
        load_seconds=seconds,
        attention=attention,
        meta=MappingProxyType(dict(built.meta)),
        warmup=warm,
    )


# One load at a time per process: the background warm-up and a visitor's page may ask
# together, and transformers' lazy imports are not safe to race from two threads.
_LOAD_LOCK = threading.RLock()


class _ProcessMemo:
    """One bundle per ``(key, attention)`` for the life of the process. A second caller
    asking while a model loads waits on ``_LOAD_LOCK``, then finds the bundle; a failed
    load is not remembered (the next call tries again)."""

    def __init__(self) -> None:
        self._bundles: dict[tuple[str, bool], ModelBundle] = {}

    def __call__(self, key: str, attention: bool) -> ModelBundle:
        hit = self._bundles.get((key, attention))
        if hit is not None:
            return hit
        with _LOAD_LOCK:
            hit = self._bundles.get((key, attention))
            if hit is None:
                hit = self._bundles[(key, attention)] = _load_uncached(key, attention)
            return hit

    def clear(self) -> None:
        with _LOAD_LOCK:
            self._bundles.clear()


_memo = _ProcessMemo()  # the base layer: one load per process, always


def load_via_memo(key: str, attention: bool) -> ModelBundle:
    """What a host's cache wraps: the process memo (a plain function, as caches expect)."""
    return _memo(key, attention)


_cached: Any = _memo


def use_cache(decorator: Callable[[Callable[[str, bool], ModelBundle]], Any]) -> None:
    """Plug a host's cache in on top of the process memo, e.g.
    ``use_cache(st.cache_resource(show_spinner=False))``. Models already loaded (by the
    background warm-up, say) are not loaded again: the host's cache asks the memo."""
    global _cached
    _cached = decorator(load_via_memo)


def clear_cache() -> None:
    """Forget every loaded model and its load time (tests; after changing weights on disk)."""
    if _cached is not _memo and hasattr(_cached, "clear"):
        _cached.clear()
    _memo.clear()
    _LOAD_SECONDS.clear()
    _LOAD_MB.clear()
    _RUNTIME.clear()


def load(key: str, *, attention: bool = False) -> ModelBundle:
    """The model ``key`` of the registry, loaded once per process (per ``attention`` flag).

    ``attention=True`` loads a separate copy with eager attention so that forward passes
    can return attention maps, while other pages keep the faster default attention.
    Raises :class:`ModelLoadError` (never anything else) when it cannot be loaded.
    A language model (``entry.is_llm``) has one copy, always with eager attention: both
    calls return it.
    """
    try:
        entry = registry.get(key)
    except KeyError as exc:
        raise ModelLoadError(key, "unknown model", "Pick a model from the list.", "unknown-model") from exc
    return _cached(key, attention or entry.is_llm)


def loaded_name(key: str, attention: bool) -> str:
    """How :func:`loaded_models` names a loaded copy (``"e5-small (attention)"``; a language
    model's one copy by its key)."""
    try:
        llm = registry.get(key).is_llm
    except KeyError:
        llm = False
    return key + " (attention)" if attention and not llm else key


def loaded_models() -> dict[str, float]:
    """Models loaded in this process so far: display key -> load seconds."""
    return {loaded_name(k, att): s for (k, att), s in sorted(_LOAD_SECONDS.items())}


def loaded_memory() -> dict[str, float]:
    """Models loaded in this process so far: display key -> MB the process grew by while it
    loaded (resident memory; a model loaded while another grew may be over- or under-counted)."""
    return {loaded_name(k, att): mb for (k, att), mb in sorted(_LOAD_MB.items())}


def loaded_runtimes() -> dict[str, tuple[str, str, str]]:
    """Models loaded in this process so far: display key -> (runtime, precision, note):
    ``("openvino", "int8", "")``, ``("pytorch", "fp32", "ov-stale")`` (OpenVINO was wanted;
    the note says why not) ..."""
    return {loaded_name(k, att): r for (k, att), r in sorted(_RUNTIME.items())}
