"""The one inference skeleton every task uses: preprocess -> forward -> postprocess.

Like transformers' pipelines, a task splits into three steps and only the middle one
touches the model. :func:`run_batched` owns what is common to every task:

- inputs are grouped into batches of similar length (:func:`length_batches`), so
  padding stays short;
- each batch runs under the bundle's lock (one forward at a time per model, so a crowd of
  sessions does not oversubscribe the CPU; the lock is taken per batch so other visitors
  interleave with a long CSV) and ``torch.inference_mode()``;
- outputs come back as numpy arrays, in input order, with an optional progress callback.

Pooling of token states (:func:`mean_pool`) lives here too: one definition for every
sentence embedding of the app.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

Progress = Callable[[int, int], None]  # (done, total)


def length_batches(lengths: Sequence[int], size: int) -> list[list[int]]:
    """Indices ``0..len(lengths)-1`` sorted by length (stable) and cut into groups of at
    most ``size``: each group pads to its own longest item."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[k : k + size] for k in range(0, len(order), size)]


@contextlib.contextmanager
def locked(bundle: Any, *, gradients: bool = False) -> Iterator[None]:
    """The forward-pass context: the bundle's lock, then ``torch.inference_mode()``; with
    ``gradients`` (attributions: :mod:`core.explain`), ``torch.enable_grad()`` instead."""
    import torch

    lock = getattr(bundle, "lock", None)
    mode = torch.enable_grad() if gradients else torch.inference_mode()
    with lock if lock is not None else contextlib.nullcontext(), mode:
        yield


def model_inputs(model: Any, enc: Mapping[str, Any], device: Any) -> dict[str, Any]:
    """The tokenizer's tensors that ``model.forward`` accepts (DistilBERT takes no
    ``token_type_ids``), moved to ``device``."""
    params = inspect.signature(model.forward).parameters
    return {k: v.to(device) for k, v in enc.items() if k in params or k in ("input_ids", "attention_mask")}


def run_batched(
    bundle: Any,
    lengths: Sequence[int],
    preprocess: Callable[[list[int]], Any],
    forward: Callable[[Any, Any], Any],
    *,
    batch_size: int,
    progress: Progress | None = None,
    done_before: int = 0,
    total: int | None = None,
) -> list[np.ndarray]:
    """Run a model over ``len(lengths)`` items in length-sorted batches.

    ``preprocess(indices)`` builds one batch's model inputs (outside the lock);
    ``forward(model, batch)`` returns a tensor or a tuple of tensors whose first dimension
    is the batch (run under :func:`locked`). Returns one float32 array per output of
    ``forward``, each ``(len(lengths), ...)``, rows in input order. Batches must have the
    same trailing shape per output (e.g. class scores, pooled vectors, or logits padded
    by the caller).
    """
    outs: list[np.ndarray] | None = None
    total = total if total is not None else len(lengths)
    done = done_before
    for idx in length_batches(lengths, batch_size):
        batch = preprocess(idx)
        with locked(bundle):
            res = forward(bundle.model, batch)
        parts = res if isinstance(res, tuple) else (res,)
        arrays = [p.float().cpu().numpy() for p in parts]
        if outs is None:
            outs = [np.zeros((len(lengths), *a.shape[1:]), dtype=np.float32) for a in arrays]
        for out, a in zip(outs, arrays):
            out[idx] = a
        done += len(idx)
        if progress is not None:
            progress(done, total)
    return outs or []


def mean_pool(hidden: Any, mask: Any) -> Any:
    """Mean of the token states where ``mask`` is 1: ``(batch, seq, hidden)`` and
    ``(batch, seq)`` -> ``(batch, hidden)`` (an all-padding row gives zeros)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
