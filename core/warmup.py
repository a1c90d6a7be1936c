"""Load the default models in the background so the first visitor does not wait.

``start_background_warmup()`` is idempotent per process: the first call starts one daemon
thread that loads, through the same cached loaders the pages use, the default model of
every task and language (and the eager-attention copies the attention page uses).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from core.availability import default_model

log = logging.getLogger(__name__)

# (task, language, attention copy?) the pages ask for by default
DEFAULTS: tuple[tuple[str, str, bool], ...] = (
    ("digits", "en", False),
    ("sentiment", "en", False),
    ("sentiment", "zh", False),
    ("qa", "en", False),
    ("qa", "zh", False),
    ("zero-shot", "en", False),
    ("attention", "en", True),
    ("attention", "zh", True),
)

_started = threading.Event()
warmed: dict[str, float] = {}


def default_loads() -> list[tuple[str, str, bool]]:
    """``(task, registry key, attention copy?)`` of every default model available without a
    network: what the warm-up loads, a Ray Serve replica preloads and ``/readyz`` waits for."""
    out: list[tuple[str, str, bool]] = []
    for task, lang, attention in DEFAULTS:
        key = default_model(task, lang, online=False)
        if key is not None and (task, key, attention) not in out:
            out.append((task, key, attention))
    return out


def warm_defaults() -> dict[str, float]:
    """Load every default model now (offline only: never starts a download). Returns
    ``{key: load seconds}``; a model that fails is logged and skipped."""
    from core.loaders import _LOAD_LOCK, ModelLoadError, load, loaded_name

    with _LOAD_LOCK:  # resolve transformers' lazy imports once, before any page races us
        import transformers

        for name in ("AutoTokenizer", "AutoModel", "AutoModelForSequenceClassification", "AutoConfig"):
            getattr(transformers, name)
    for _, key, attention in default_loads():
        try:
            b = load(key, attention=attention)
            warmed[loaded_name(key, attention)] = b.load_seconds
        except ModelLoadError as err:
            log.warning("warm-up of %s skipped: %s", key, err.reason)
    return dict(warmed)


def start_background_warmup(delay_s: float = 1.0) -> bool:
    """Start warming in a daemon thread, once per process, after ``delay_s`` (so the first
    page paints before torch is imported). ``DEMO_WARMUP=0`` turns it off (the unit tests
    do). True if this call started it."""
    if _started.is_set() or os.environ.get("DEMO_WARMUP", "1") == "0":
        return False
    _started.set()

    def run() -> None:
        time.sleep(delay_s)
        warm_defaults()

    threading.Thread(target=run, name="model-warmup", daemon=True).start()
    return True
