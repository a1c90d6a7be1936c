"""Plotly figures of the attention viewer (no Streamlit here: pure figure builders).

Every token label goes through :func:`safe_labels`: Plotly renders a subset of HTML in
tick and hover text, so ``<b>`` typed by a user must be escaped to show as text, and
repeated tokens ("the" twice) must stay distinct categories on an axis.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.colors as pc
import plotly.graph_objects as go

from core.attention.views import downsample

COLORSCALE = "Blues"
THUMB = 16  # thumbnail side (cells) in the all-heads grid
_GAP = 101
_BLUES = pc.sequential.Blues
_GRID_SCALE = [[i / (len(_BLUES) - 1) * 100 / _GAP, c] for i, c in enumerate(_BLUES)] + [
    [100.5 / _GAP, "#ffffff"],
    [1.0, "#ffffff"],
]
_ZWSP = "\u200b"
_FONT = "Inter, 'Noto Sans CJK SC', 'Microsoft YaHei', 'PingFang SC', sans-serif"


def safe_labels(labels: Sequence[str], max_chars: int = 14) -> list[str]:
    """Escaped, non-empty, shortened and unique labels (duplicates get invisible suffixes)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for raw in labels:
        s = str(raw).replace("\n", " ").replace("\r", " ").replace("\t", " ").strip() or "␣"
        if len(s) > max_chars:
            s = s[: max_chars - 1] + "…"
        s = html.escape(s, quote=False)
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.append(s + _ZWSP * n)
    return out


def _base_layout(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(
        height=height,
        margin=dict(l=8, r=8, t=40 if title else 8, b=8),
        font=dict(family=_FONT, size=12),
        title=dict(text=html.escape(title, quote=False), x=0.02, font=dict(size=14)) if title else None,
        plot_bgcolor="white",
    )
    return fig


def heatmap_figure(
    mat: np.ndarray,
    labels: Sequence[str],
    *,
    title: str | None = None,
    hover: tuple[str, str, str] = ("from", "to", "weight"),
    row_labels: Sequence[str] | None = None,
    split: int | None = None,
) -> go.Figure:
    """One ``(G, G)`` attention matrix: rows = from-token (top to bottom), columns = to-token.

    ``hover`` names the three hover fields in the page's language; ``split`` (a group
    index) draws a line before the second sentence of a pair."""
    m = np.asarray(mat, dtype=np.float32)
    n = m.shape[-1]
    cols = safe_labels(labels)
    rows = safe_labels(row_labels) if row_labels is not None else cols
    font = 12 if n <= 40 else 10 if n <= 80 else 8
    fig = go.Figure(
        go.Heatmap(
            z=np.round(m, 4),
            x=cols,
            y=rows,
            colorscale=COLORSCALE,
            zmin=0.0,
            zmax=float(max(m.max(), 1e-6)),
            hovertemplate=f"{hover[0]}: %{{y}}<br>{hover[1]}: %{{x}}<br>{hover[2]}: %{{z:.3f}}<extra></extra>",
            colorbar=dict(thickness=12, len=0.8),
            xgap=1 if n <= 40 else 0,
            ygap=1 if n <= 40 else 0,
        )
    )
    fig.update_xaxes(
        type="category",
        tickangle=-60 if n > 8 else 0,
        tickfont=dict(size=font),
        side="bottom",
        showgrid=False,
        automargin=True,
    )
    fig.update_yaxes(type="category", autorange="reversed", tickfont=dict(size=font), showgrid=False, automargin=True)
    if split is not None and 0 < split < n:
        for kind in ("x", "y"):
            ends = (
                dict(x0=split - 0.5, x1=split - 0.5, y0=-0.5, y1=n - 0.5)
                if kind == "x"
                else dict(y0=split - 0.5, y1=split - 0.5, x0=-0.5, x1=n - 0.5)
            )
            fig.add_shape(type="line", line=dict(color="#ff4b4b", width=1.5, dash="dot"), **ends)
    cell = float(np.clip(640 / max(n, 1), 5, 36))
    height = int(cell * n + (150 if n > 8 else 90) + (40 if title else 0))
    fig.update_layout(width=int(cell * n + 190))
    return _base_layout(fig, height, title)


def thumb_size(n_layers: int, n_heads: int, budget: int = 20_000) -> int:
    """Thumbnail side for a grid of ``n_layers x n_heads``: about ``budget`` cells in all,
    between ``THUMB`` (big models, e.g. 6 x 12 heads) and 48 (small ones)."""
    return int(np.clip(np.sqrt(budget / max(n_layers * n_heads, 1)), THUMB, 48))


def grid_figure(
    att: np.ndarray,
    *,
    selected: tuple[int, int] | None = None,
    thumb: int | None = None,
    layer_word: str = "Layer",
    head_word: str = "Head",
) -> go.Figure:
    """All heads at a glance: ``(L, H, G, G)`` -> one image of ``L x H`` thumbnails.

    Each thumbnail is block-averaged to at most ``thumb x thumb`` cells and scaled to its
    own maximum, so what the browser receives is ``L*H*thumb^2`` numbers whatever the
    text length (336 heads x 16 x 16 one-byte levels for a 24-layer, 14-head language
    model: about 150 kB of JSON). One transparent marker per head makes a thumbnail
    clickable (its x, y are the head and layer numbers, starting at 1)."""
    a = np.asarray(att, dtype=np.float32)
    n_layers, n_heads = a.shape[:2]
    small = downsample(a, thumb or thumb_size(n_layers, n_heads))
    s = small.shape[-1]
    peak = small.max(axis=(-2, -1), keepdims=True)
    small = small / np.maximum(peak, 1e-9)
    cell = s + 1  # one empty row/column between thumbnails
    # uint8 levels 0..100 (what the eye can tell apart), 101 = the white gap between thumbnails:
    # a quarter of the bytes of float32 in Plotly's binary array encoding
    canvas = np.full((n_layers * cell - 1, n_heads * cell - 1), _GAP, dtype=np.uint8)
    levels = np.rint(small * 100).astype(np.uint8)
    for layer in range(n_layers):
        for head in range(n_heads):
            canvas[layer * cell : layer * cell + s, head * cell : head * cell + s] = levels[layer, head]
    step = 1.0 / cell
    fig = go.Figure(
        go.Heatmap(
            z=canvas,
            x0=0.5 + 0.5 * step,
            dx=step,
            y0=0.5 + 0.5 * step,
            dy=step,
            colorscale=_GRID_SCALE,
            zmin=0,
            zmax=_GAP,
            showscale=False,
            hoverinfo="skip",
        )
    )
    # pixels per thumbnail: the grid about 720 px wide and at most about 920 px tall, so a deep
    # model (24 layers x 14 heads of a 0.5B language model: 336 thumbnails) fits one screen
    px = int(np.clip(min(720 / max(n_heads, 1), 920 / max(n_layers, 1)), 34, 120))
    hx, ly = np.meshgrid(np.arange(1, n_heads + 1), np.arange(1, n_layers + 1))
    centers_x = hx.ravel() + (s * step) / 2 - 0.5
    centers_y = ly.ravel() + (s * step) / 2 - 0.5
    fig.add_trace(
        go.Scatter(
            x=centers_x,
            y=centers_y,
            mode="markers",
            marker=dict(symbol="square", size=int(px * 0.9), color="rgba(0,0,0,0)"),
            customdata=np.stack([ly.ravel(), hx.ravel()], axis=-1),
            hovertemplate=f"{layer_word} %{{customdata[0]}} · {head_word} %{{customdata[1]}}<extra></extra>",
            showlegend=False,
        )
    )
    if selected is not None:
        layer, head = selected
        fig.add_shape(
            type="rect",
            x0=head + 0.5 - 0.3 * step,
            x1=head + 0.5 + (s + 0.3) * step,
            y0=layer + 0.5 - 0.3 * step,
            y1=layer + 0.5 + (s + 0.3) * step,
            line=dict(color="#ff4b4b", width=3),
        )
    fig.update_xaxes(
        tickmode="array",
        tickvals=list(range(1, n_heads + 1)),
        showgrid=False,
        zeroline=False,
        side="top",
        title=dict(text=head_word, standoff=4),
        range=[0.5 - 0.6 * step, n_heads + 0.5],
        fixedrange=True,
        automargin=True,
        ticks="",
    )
    fig.update_yaxes(
        tickmode="array",
        tickvals=list(range(1, n_layers + 1)),
        showgrid=False,
        zeroline=False,
        ticktext=[f"{html.escape(layer_word)} {i}" for i in range(1, n_layers + 1)],
        range=[n_layers + 0.5, 0.5 - 0.6 * step],
        fixedrange=True,
        automargin=True,
        ticks="",
    )
    fig.update_layout(
        clickmode="event+select", dragmode=False, width=px * n_heads + 90, margin=dict(l=8, r=8, t=8, b=8)
    )
    height = px * n_layers + 80
    return _base_layout(fig, height)


def rollout_figure(
    weights: np.ndarray,
    labels: Sequence[str],
    *,
    title: str | None = None,
    hover_word: str = "share",
    special: Sequence[bool] | None = None,
) -> go.Figure:
    """Bar chart of a ``(G,)`` distribution over tokens (rollout of the first token's row);
    bars of special tokens (``special``, ``(G,)``) are grey so the words stand out."""
    w = np.asarray(weights, dtype=np.float32)
    x = safe_labels(labels)
    n = len(x)
    colors = ["#b0b7c3" if (special is not None and special[i]) else "#1f77b4" for i in range(n)]
    fig = go.Figure(
        go.Bar(
            x=x,
            y=np.round(w, 4),
            marker_color=colors,
            hovertemplate=f"%{{x}}<br>{hover_word}: %{{y:.1%}}<extra></extra>",
        )
    )
    fig.update_xaxes(
        type="category", tickangle=-60 if n > 8 else 0, tickfont=dict(size=12 if n <= 40 else 9), automargin=True
    )
    fig.update_yaxes(tickformat=".0%", gridcolor="#eee", rangemode="tozero", automargin=True)
    _base_layout(fig, 420, title)
    fig.update_layout(margin=dict(l=60, r=10, t=40 if title else 10, b=90))
    return fig


def figure_bytes(fig: go.Figure) -> int:
    """Size of the JSON the browser receives for ``fig`` (bytes)."""
    return len(fig.to_json().encode("utf-8"))
