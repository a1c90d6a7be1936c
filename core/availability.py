"""Whether each registry model can be used here and now, and whether we are online.

``available``: bundled and installed, or already in the local Hugging Face cache.
``downloadable``: a Hub model not cached yet while the Hub can be reached.
``unavailable``: anything else. Each answer carries a ``code`` (``not-installed``,
``not-trained``, ``offline-forced``, ``offline-not-cached``; ``downloads`` for a
downloadable model) with its ``params``, which the ``ui`` translates; ``reason`` says the
same in English for logs and scripts.

Offline detection never hangs: ``HF_HUB_OFFLINE=1`` answers at once, otherwise a TCP
connect to the Hub is tried with a short timeout (DNS included) and the answer is
cached for a minute. No torch or transformers import here.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core import registry
from core.registry import ModelEntry

Status = Literal["available", "downloadable", "unavailable"]

HUB_HOST = "huggingface.co"
_ONLINE_TTL_S = 60.0
_online_cache: tuple[float, bool] | None = None
_online_lock = threading.Lock()


_REASONS = {
    "not-installed": "the package {package} is not installed (run `make setup`)",
    "not-trained": "its weights are not in models/ (train it with its script in training/)",
    "offline-forced": "offline mode (HF_HUB_OFFLINE=1) and not in the local cache",
    "offline-not-cached": "no internet and not in the local cache (run `python -m core.prefetch` once online)",
    "downloads": "downloads {size_mb:.0f} MB on first use",
    "llm-not-installed": "installable: run `make setup-llm`",
    "llm-corrupt": "the LLM pack's parts are damaged (wrong size); reinstall them with `make setup-llm`",
}


@dataclass(frozen=True)
class Availability:
    status: Status
    code: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.status != "unavailable"

    @property
    def reason(self) -> str:
        """The code in English (logs, scripts); the ``ui`` translates ``code`` instead."""
        return _REASONS[self.code].format(**self.params) if self.code in _REASONS else ""


def hub_offline_forced() -> bool:
    """True when the user asked for offline mode (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE)."""
    return any(
        os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"}
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _probe(host: str, port: int, timeout: float) -> bool:
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(timeout)  # bounds DNS resolution too, which create_connection's timeout does not
    return bool(result and result[0])


def is_online(timeout: float = 1.5) -> bool:
    """Can the Hugging Face Hub be reached? At most ``timeout`` seconds, cached 60 s."""
    global _online_cache
    if hub_offline_forced():
        return False
    with _online_lock:
        now = time.monotonic()
        if _online_cache and now - _online_cache[0] < _ONLINE_TTL_S:
            return _online_cache[1]
        ok = _probe(HUB_HOST, 443, timeout)
        _online_cache = (now, ok)
        return ok


def availability(entry: ModelEntry | str, *, online: bool | None = None) -> Availability:
    """Where ``entry`` stands now; ``online`` skips the network probe when known."""
    if isinstance(entry, str):
        entry = registry.get(entry)
    if entry.source == "bundled":
        if registry.bundled_path(entry) is not None:
            return Availability("available")
        if entry.location.startswith("package:"):
            pkg = entry.location.split(":", 1)[1].split("/")[0].replace("_", "-")
            return Availability("unavailable", "not-installed", {"package": pkg})
        if entry.location.startswith("pack:"):  # installed, not converted: converted on first use
            from core.llm import pack

            code = pack.state()
            return Availability("available") if code == "installed" else Availability("unavailable", code)
        return Availability("unavailable", "not-trained")
    if registry.cached_snapshot(entry) is not None:
        return Availability("available")
    if hub_offline_forced():
        return Availability("unavailable", "offline-forced")
    if online is None:
        online = is_online()
    if online:
        return Availability("downloadable", "downloads", {"size_mb": entry.size_mb})
    return Availability("unavailable", "offline-not-cached")


def default_model(task: str, lang: str = "en", *, online: bool | None = None) -> str | None:
    """Key of the best model for ``task`` and ``lang`` that can be used now.

    Available models win over downloadable ones; among equals the higher ``quality``.
    Language models (``entry.is_llm``) are never the default.
    ``None`` when nothing can serve the task in that language.
    """
    best: tuple[int, int, str] | None = None
    for entry in registry.entries(task, lang):  # type: ignore[arg-type]
        if entry.is_llm:
            continue  # language models answer when chosen, never as a default (they load on demand)
        av = availability(entry, online=online if entry.source == "hub" else False)
        if not av.usable:
            continue
        rank = (1 if av.status == "available" else 0, entry.quality, entry.key)
        if best is None or rank[:2] > best[:2]:
            best = rank
    return best[2] if best else None
