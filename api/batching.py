"""Many requests, one forward pass: the grouping both servers use.

Concurrent single calls of ``classify`` (a few texts, no progress callback) and of
``digits`` (one drawing, no saliency or comparison) are worth grouping: the forward pass of
32 short texts costs a few times that of one. :func:`classify_many` and :func:`digits_many`
answer a list of such calls with one ``core`` call (one per model); Ray Serve groups calls
with ``@serve.batch`` (:mod:`api.ray_serve`), the single-process API with
:class:`MicroBatcher`: while a batch runs, the calls that arrive wait and go together next,
so a lone request waits for nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

MAX_BATCH = 32


class Failed:
    """One call's error travelling out of a batch (the caller raises ``exc``)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def batchable(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Can this task call be grouped with others (:func:`classify_many`, :func:`digits_many`)?"""
    if name == "classify":
        return len(args) == 1 and isinstance(args[0], list) and set(kwargs) <= {"model"}
    if name == "digits":
        return len(args) == 1 and kwargs.get("saliency") is False and kwargs.get("compare") is False
    return False


def item(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The part of a batchable call that goes into the batch."""
    return (list(args[0]), kwargs.get("model")) if name == "classify" else args[0]


def classify_many(items: list[tuple[list[str], str | None]]) -> list[Any]:
    """``[(texts, model), ...]`` -> each call's predictions (or :class:`Failed`), with one
    ``core.classify`` call per distinct model."""
    from core.classify import classify

    out: list[Any] = [None] * len(items)
    by_model: dict[str | None, list[int]] = {}
    for i, (_, model) in enumerate(items):
        by_model.setdefault(model, []).append(i)
    for model, idx in by_model.items():
        try:
            preds = classify([t for i in idx for t in items[i][0]], model=model)
        except Exception as exc:  # every call of this group gets the error
            for i in idx:
                out[i] = Failed(exc)
            continue
        pos = 0
        for i in idx:
            n = len(items[i][0])
            out[i] = preds[pos : pos + n]
            pos += n
    return out


def digits_many(drawings: list[Any]) -> list[Any]:
    """Drawings ``(H, W[, C])`` -> each one's ``DigitResult``: preprocessed one by one, read by
    the CNN in one forward pass (``recognise(d, saliency=False, compare=False)`` each)."""
    import numpy as np

    from core.digits import DigitResult, canvas_to_mnist, classify_digits
    from core.digits.model import model_key

    key = model_key()
    try:
        images = [canvas_to_mnist(d) for d in drawings]
        ready = [im for im in images if im is not None]
        probs = classify_digits(np.stack(ready)) if ready else np.zeros((0, 10), np.float32)
    except Exception as exc:
        return [Failed(exc)] * len(drawings)
    out: list[Any] = []
    j = 0
    for im in images:
        if im is None:
            out.append(DigitResult("blank", key))
        else:
            out.append(DigitResult("ok", key, image=im, probs=probs[j]))
            j += 1
    return out


GROUPERS: dict[str, Callable[[list[Any]], list[Any]]] = {"classify": classify_many, "digits": digits_many}


class MicroBatcher:
    """Groups concurrent calls in one event loop: the first call runs at once; calls that
    arrive while a batch runs wait and go together (up to ``max_batch``) in the next one."""

    def __init__(self, fn: Callable[[list[Any]], list[Any]], max_batch: int = MAX_BATCH) -> None:
        self.fn = fn
        self.max_batch = max_batch
        self.batches = 0
        self.items = 0
        self._pending: list[tuple[Any, asyncio.Future[Any]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, value: Any) -> Any:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending.append((value, fut))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        result = await fut
        if isinstance(result, Failed):
            raise result.exc
        return result

    async def _drain(self) -> None:
        while self._pending:
            await asyncio.sleep(0)  # calls that arrived in the same tick join this batch
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            self.batches += 1
            self.items += len(batch)
            try:
                results = await run_in_threadpool(self.fn, [v for v, _ in batch])
            except Exception as exc:
                results = [Failed(exc)] * len(batch)
            for (_, fut), res in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(res)
