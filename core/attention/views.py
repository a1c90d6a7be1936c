"""Pure view transforms over raw attention matrices (numpy only, no model).

Shapes: ``L`` layers, ``H`` heads, ``T`` tokens, ``T'`` kept tokens after hiding,
``G`` groups after merging. Every transform keeps rows summing to 1.

Nothing here assumes a symmetric matrix or a full row: a causal language model's maps are
lower-triangular (row ``i`` is zero after column ``i``) and stay so through hiding, merging
(a group's row may then reach into the group's later pieces, never past them), head
averages and rollout (a product of lower-triangular matrices is lower-triangular). A row
that hiding leaves empty stays all zero instead of dividing by zero.

- :func:`make_view` + :func:`apply_view`: hide special tokens (their rows and columns
  are dropped and each remaining row re-normalised to sum to 1), then merge word pieces
  into words (columns of one group summed, rows of one group averaged).
- :func:`head_average`: mean over heads.
- :func:`rollout`: attention rollout (Abnar & Zuidema, 2020).
- :func:`head_stats`: per-head entropy and where attention goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class View:
    """How to turn a ``(..., T, T)`` token matrix into a ``(..., G, G)`` view matrix.

    ``keep``: ``(T,)`` bool, tokens that stay. ``groups``: ``(T',)`` group id of each kept
    token, ids ``0..G-1`` in order. ``labels``: ``(G,)`` display label per group.
    """

    keep: np.ndarray
    groups: np.ndarray
    labels: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.labels)

    def pooling(self) -> tuple[np.ndarray, np.ndarray]:
        """``P`` ``(T', G)`` one-hot membership and ``R`` ``(G, T')`` row-averaging matrix."""
        n = len(self.groups)
        p = np.zeros((n, self.size), dtype=np.float64)
        p[np.arange(n), self.groups] = 1.0
        counts = p.sum(axis=0)
        r = (p / np.maximum(counts, 1.0)).T
        return p, r


def make_view(
    tokens: Sequence[str],
    special: Sequence[bool],
    *,
    hide_special: bool = False,
    groups: Sequence[int] | None = None,
    labels: Sequence[str] | None = None,
) -> View:
    """A view over ``T`` tokens.

    ``groups`` (``(T,)``, non-decreasing or arbitrary ints) merges tokens sharing an id;
    ``None`` keeps every token on its own. ``labels`` gives one label per distinct group
    id in order of first appearance (default: the first token of each group).
    """
    t = len(tokens)
    keep = ~np.asarray(special, dtype=bool) if hide_special else np.ones(t, dtype=bool)
    if not keep.any():  # nothing but special tokens: hiding would leave nothing to show
        keep = np.ones(t, dtype=bool)
    raw = np.arange(t) if groups is None else np.asarray(groups)
    all_ids: list[int] = []
    for g in raw.tolist():
        if g not in all_ids:
            all_ids.append(g)
    label_of = {}
    for j, g in enumerate(all_ids):
        if labels is not None and j < len(labels):
            label_of[g] = labels[j]
    kept_ids: list[int] = []
    for g in raw[keep].tolist():
        if g not in kept_ids:
            kept_ids.append(g)
    remap = {g: i for i, g in enumerate(kept_ids)}
    new_groups = np.array([remap[g] for g in raw[keep].tolist()], dtype=np.int64)
    first = {}
    for tok, g, k in zip(tokens, raw.tolist(), keep.tolist()):
        if k and g not in first:
            first[g] = tok
    out_labels = tuple(label_of.get(g, first[g]) for g in kept_ids)
    return View(keep=keep, groups=new_groups, labels=out_labels)


def _renorm(a: np.ndarray) -> np.ndarray:
    s = a.sum(axis=-1, keepdims=True)
    return np.divide(a, s, out=np.zeros_like(a), where=s > 0)


def _pool(a: np.ndarray, p: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``r @ a @ p`` for a stack ``a`` ``(..., T', T')``, ``p`` ``(T', G)``, ``r`` ``(G, T')``,
    as two plain 2-D products (numpy's broadcast matmul over a ``(24, 14, T, T)`` stack is
    about 20x slower)."""
    lead, t, g = a.shape[:-2], a.shape[-1], p.shape[1]
    cols = (a.reshape(-1, t) @ p).reshape(-1, t, g)  # (N, T', G): columns summed
    rows = np.swapaxes(cols, 1, 2).reshape(-1, t) @ r.T  # (N*G, G): [n, col, row]
    return np.swapaxes(rows.reshape(-1, g, g), 1, 2).reshape(*lead, g, g)


def apply_view(att: np.ndarray, view: View) -> np.ndarray:
    """``(..., T, T)`` -> ``(..., G, G)`` float32: hide (re-normalise rows), then merge."""
    a = np.asarray(att, dtype=np.float64)
    if not view.keep.all():
        a = _renorm(a[..., view.keep, :][..., :, view.keep])
    if view.size != a.shape[-1] or not np.array_equal(view.groups, np.arange(a.shape[-1])):
        p, r = view.pooling()
        a = _pool(a, p, r)
    return a.astype(np.float32)


def apply_view_vector(vec: np.ndarray, view: View) -> np.ndarray:
    """``(..., T)`` distribution over tokens -> ``(..., G)``: hide (re-normalise), sum groups."""
    v = np.asarray(vec, dtype=np.float64)[..., view.keep]
    if not view.keep.all():
        v = _renorm(v)
    p, _ = view.pooling()
    return (v @ p).astype(np.float32)


def head_average(att: np.ndarray) -> np.ndarray:
    """``(L, H, T, T)`` -> ``(L, T, T)``: mean over heads (rows still sum to 1)."""
    return np.asarray(att, dtype=np.float32).mean(axis=1)


def rollout(att: np.ndarray, residual: float = 0.5) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema, 2020): ``(L, H, T, T)`` -> ``(T, T)``.

    Per layer ``A_l = residual * I + (1 - residual) * mean_heads(att[l])``, rows
    re-normalised; rollout ``R = A_L @ ... @ A_1``. Row ``i`` of ``R`` is how much the
    last layer's token ``i`` draws on each input token through all layers. For a causal
    model ``R`` is lower-triangular and row 0 is all on token 0: its last row (the token
    that has read everything) is the one to look at.
    """
    a = np.asarray(att, dtype=np.float64).mean(axis=1)
    t = a.shape[-1]
    eye = np.eye(t)
    r = eye
    for layer in a:
        step = _renorm(residual * eye + (1.0 - residual) * layer)
        r = step @ r
    return r.astype(np.float32)


@dataclass(frozen=True)
class HeadStats:
    """Per-head summaries, each ``(L, H)`` float32, averaged over query rows.

    ``entropy``: bits of each row's distribution (0 = all on one token).
    ``to_special``: share of attention on special tokens; ``to_self``: on the token
    itself; ``to_prev`` / ``to_next``: on the previous / next token (rows that have one;
    ``to_next`` is 0 for a causal model, which never looks ahead).
    """

    entropy: np.ndarray
    to_special: np.ndarray
    to_self: np.ndarray
    to_prev: np.ndarray
    to_next: np.ndarray


def head_stats(att: np.ndarray, special: Sequence[bool]) -> HeadStats:
    """Summaries of raw ``(L, H, T, T)`` attention (``special``: ``(T,)`` bool)."""
    a = np.asarray(att, dtype=np.float64)
    t = a.shape[-1]
    sp = np.asarray(special, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(a > 0, np.log2(np.where(a > 0, a, 1.0)), 0.0)
    entropy = -(a * logs).sum(axis=-1).mean(axis=-1)
    to_special = a[..., sp].sum(axis=-1).mean(axis=-1) if sp.any() else np.zeros(a.shape[:2])
    diag = np.diagonal(a, axis1=-2, axis2=-1)
    to_self = diag.mean(axis=-1)
    if t > 1:
        to_prev = np.diagonal(a, offset=-1, axis1=-2, axis2=-1).mean(axis=-1)
        to_next = np.diagonal(a, offset=1, axis1=-2, axis2=-1).mean(axis=-1)
    else:
        to_prev = to_next = np.zeros(a.shape[:2])
    f = np.float32
    return HeadStats(entropy.astype(f), to_special.astype(f), to_self.astype(f), to_prev.astype(f), to_next.astype(f))


def downsample(mat: np.ndarray, size: int) -> np.ndarray:
    """``(..., T, T)`` -> ``(..., s, s)`` with ``s = min(T, size)`` by block averaging.

    For thumbnails only (values are cell means, not attention weights)."""
    m = np.asarray(mat, dtype=np.float32)
    t = m.shape[-1]
    if t <= size:
        return m
    edges = np.linspace(0, t, size + 1).round().astype(int)
    sums = np.add.reduceat(np.add.reduceat(m, edges[:-1], axis=-1), edges[:-1], axis=-2)
    widths = np.diff(edges).astype(np.float32)
    return sums / (widths[:, None] * widths[None, :])
