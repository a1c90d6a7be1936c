"""Where the API's routes send task calls.

A backend runs a ``core`` task by name (:mod:`core.tasks`) and says which models it has
loaded (and on which runtime). :class:`InProcess` runs them in this process (on the threadpool: a forward pass
never blocks the event loop); :class:`api.ray_serve.RayBackend` sends them to one Ray Serve
deployment per model family. Routes only know this protocol, so the single-process API and
the Ray Serve ingress are one set of route code.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool

from api.batching import GROUPERS, MicroBatcher, batchable, item
from core import tasks


class Backend(Protocol):
    engine: str  # "single-process" | "ray-serve"

    async def run(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: ...

    async def loaded(self) -> dict[str, float]: ...

    async def runtimes(self) -> dict[str, tuple[str, str, str]]: ...

    async def stats(self) -> dict[str, Any]: ...


class InProcess:
    """Task calls answered by ``core`` in this process (models load once, on first use)."""

    engine = "single-process"

    def __init__(self, batching: bool = True) -> None:
        self._calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.batchers = {name: MicroBatcher(fn) for name, fn in GROUPERS.items()} if batching else {}

    async def run(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        fn = tasks.function(name)
        with self._lock:
            self._calls[name] += 1
        if name in self.batchers and batchable(name, args, kwargs):
            return await self.batchers[name].submit(item(name, args, kwargs))
        return await run_in_threadpool(fn, *args, **kwargs)

    async def loaded(self) -> dict[str, float]:
        from core.loaders import loaded_models

        return loaded_models()

    async def runtimes(self) -> dict[str, tuple[str, str, str]]:
        """Loaded models' (runtime, precision, note): :func:`core.loaders.loaded_runtimes`."""
        from core.loaders import loaded_runtimes

        return loaded_runtimes()

    async def stats(self) -> dict[str, Any]:
        with self._lock:
            calls = dict(self._calls)
        batches = {k: {"batches": b.batches, "requests": b.items} for k, b in self.batchers.items()}
        return {"engine": self.engine, "calls": calls, "batches": batches}
