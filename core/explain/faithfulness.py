"""How far to trust an explanation: the ERASER deletion metrics (DeYoung et al., 2020).

Given ``prob(masks) -> probabilities`` (masks ``(N, U)`` of 0/1 over the ``U`` units, 1 =
kept; output ``(N,)``: the probability of the explained label for the input with only the kept
units) and the explanation's ``weights (U,)``:

- comprehensiveness at k %: ``p(all) - p(without the top k % units)`` (higher = the
  explanation found what the model used);
- sufficiency at k %: ``p(all) - p(only the top k % units)`` (lower = they suffice);
- deletion AOPC: comprehensiveness averaged over :data:`FRACTIONS`, for the explanation's
  order and for random orders (mean of :data:`RANDOM_DRAWS` fixed draws): the explanation is
  worth something where its AOPC beats random.

Top k % of ``U`` units is ``max(1, round(k * U))`` units, by weight (most positive first).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5)
REPORT = (0.1, 0.2, 0.5)  # comprehensiveness / sufficiency columns of the benchmark
RANDOM_DRAWS = 3
SEED = 7

ProbFn = Callable[[np.ndarray], np.ndarray]  # masks (N, U) float 0/1 -> (N,) probabilities


def top_k(n_units: int, fraction: float) -> int:
    return max(1, int(round(fraction * n_units))) if n_units else 0


def _masks(order: np.ndarray, n_units: int, fractions: Sequence[float], keep_top: bool) -> np.ndarray:
    rows = []
    for f in fractions:
        m = np.zeros(n_units, dtype=np.float32) if keep_top else np.ones(n_units, dtype=np.float32)
        m[order[: top_k(n_units, f)]] = 1.0 if keep_top else 0.0
        rows.append(m)
    return np.stack(rows) if rows else np.zeros((0, n_units), dtype=np.float32)


def random_orders(n_units: int, draws: int = RANDOM_DRAWS, seed: int = SEED) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.permutation(n_units) for _ in range(draws)]


@dataclass(frozen=True)
class Scores:
    """ERASER figures of one explanation (probability points, 0-1)."""

    comprehensiveness: dict[float, float]
    sufficiency: dict[float, float]
    aopc: float
    aopc_random: float


def drop_for_input(
    prob: ProbFn, weights: Sequence[float] | np.ndarray, base: float, fraction: float = 0.2
) -> tuple[float, float]:
    """(fall of the probability when the top ``fraction`` of units are deleted, the same for
    random units: mean of :data:`RANDOM_DRAWS` draws) — one batched call of ``prob``."""
    w = np.asarray(weights, dtype=np.float64)
    n = len(w)
    if n == 0:
        return 0.0, 0.0
    orders = [np.argsort(-w, kind="stable"), *random_orders(n)]
    masks = np.concatenate([_masks(o, n, (fraction,), keep_top=False) for o in orders])
    p = prob(masks)
    return float(base - p[0]), float(base - np.mean(p[1:]))


def score(prob: ProbFn, weights: Sequence[float] | np.ndarray, base: float) -> Scores:
    """Every ERASER figure of one explanation, in one batched call of ``prob``."""
    w = np.asarray(weights, dtype=np.float64)
    n = len(w)
    order = np.argsort(-w, kind="stable")
    rnd = random_orders(n)
    fr = tuple(sorted(set(FRACTIONS) | set(REPORT)))
    blocks = [_masks(order, n, fr, False), _masks(order, n, REPORT, True)] + [
        _masks(o, n, FRACTIONS, False) for o in rnd
    ]
    p = prob(np.concatenate(blocks)) if n else np.full(sum(len(b) for b in blocks), base)
    deleted = dict(zip(fr, base - p[: len(fr)]))
    kept = base - p[len(fr) : len(fr) + len(REPORT)]
    rand = (base - p[len(fr) + len(REPORT) :]).reshape(len(rnd), len(FRACTIONS)) if rnd else np.zeros((1, 1))
    return Scores(
        {f: float(deleted[f]) for f in REPORT},
        {f: float(v) for f, v in zip(REPORT, kept)},
        float(np.mean([deleted[f] for f in FRACTIONS])),
        float(rand.mean()),
    )
