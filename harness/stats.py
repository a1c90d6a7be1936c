"""Latency statistics for the benchmarks, and the CPU time a server process tree used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``; NaN when there are none."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def p50_p95(values: Sequence[float]) -> tuple[float, float]:
    """Median and 95th percentile."""
    return percentile(values, 50), percentile(values, 95)


def _tree_sum(proc: Any, read: Any) -> float:
    """``read(p)`` summed over a ``psutil.Process`` and all its children (gone ones skipped)."""
    import psutil

    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            total += read(p)
        except psutil.Error:
            pass
    return total


def cpu_tree(proc: Any) -> float:
    """User + system CPU seconds of a server process and all its children so far (its
    workers: Ray's raylet and replicas included)."""
    return _tree_sum(proc, lambda p: p.cpu_times().user + p.cpu_times().system)


def rss_tree(proc: Any) -> int:
    """Resident memory (bytes) of a server process and all its children now."""
    return int(_tree_sum(proc, lambda p: p.memory_info().rss))
