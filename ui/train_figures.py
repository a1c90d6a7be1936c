"""The training page's pictures, as pure functions of a :class:`core.train.JobStatus`'s parts:
the loss and accuracy curves (train solid, validation dashed, growing as the job runs), the
confusion matrix on the test set, and the enlarged images of the current mistakes.

Labels come in as arguments (already in the interface language); nothing here calls
Streamlit or a model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.train import EpochPoint

TRAIN_COLOUR = "#ff4b4b"
VAL_COLOUR = "#1f77b4"


def curve_series(history: Sequence[EpochPoint]) -> dict[str, list[float | None]]:
    """The curves as columns: ``epoch``, ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``
    (``None`` where a point has no validation figure yet; non-finite losses as ``None``)."""

    def finite(v: float | None) -> float | None:
        return float(v) if v is not None and np.isfinite(v) else None

    return {
        "epoch": [float(p.epoch) for p in history],
        "train_loss": [finite(p.train_loss) for p in history],
        "train_acc": [finite(p.train_acc) for p in history],
        "val_loss": [finite(p.val_loss) for p in history],
        "val_acc": [finite(p.val_acc) for p in history],
    }


def curves_figure(
    history: Sequence[EpochPoint],
    *,
    epochs: int,
    titles: tuple[str, str],
    names: tuple[str, str],
    epoch_label: str,
    height: int = 320,
) -> go.Figure:
    """Loss (left) and accuracy (right) against the epoch, train and validation; the x axis
    spans the whole run (``epochs``) from the start so the curves visibly grow into it."""
    s = curve_series(history)
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.1)
    # validation points only where there is one (they come once per epoch)
    val_x = [x for x, v in zip(s["epoch"], s["val_loss"]) if v is not None]
    for col, (train_key, val_key) in enumerate((("train_loss", "val_loss"), ("train_acc", "val_acc")), start=1):
        pct = 100.0 if col == 2 else 1.0
        train_y = [None if v is None else v * pct for v in s[train_key]]
        val_y = [v * pct for v in s[val_key] if v is not None]
        fig.add_trace(
            go.Scatter(
                x=s["epoch"],
                y=train_y,
                mode="lines",
                name=names[0],
                line=dict(color=TRAIN_COLOUR, width=2),
                legendgroup="train",
                showlegend=col == 1,
                hovertemplate="%{x:.2f}: %{y:.3f}<extra>" + names[0] + "</extra>",
            ),
            row=1,
            col=col,
        )
        fig.add_trace(
            go.Scatter(
                x=val_x,
                y=val_y,
                mode="lines+markers" if len(val_x) <= 30 else "lines",  # dots while they can be told apart
                name=names[1],
                line=dict(color=VAL_COLOUR, width=2, dash="dash"),
                marker=dict(size=7),
                legendgroup="val",
                showlegend=col == 1,
                hovertemplate="%{x:.2f}: %{y:.3f}<extra>" + names[1] + "</extra>",
            ),
            row=1,
            col=col,
        )
    span = [0, max(int(epochs), 1)]
    fig.update_xaxes(title_text=epoch_label, range=span, dtick=1 if epochs <= 12 else None)
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    accs = [v * 100 for v in s["train_acc"] + s["val_acc"] if v is not None]
    low = min(accs) if accs else 0.0
    fig.update_yaxes(range=[max(0.0, min(low - 2, 90.0)), 100.5], ticksuffix="%", row=1, col=2)
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=-0.32, xanchor="center", x=0.5),
        uirevision="train",  # zoom and hover survive the refresh
    )
    return fig


def confusion_figure(
    confusion: Sequence[Sequence[int]],
    labels: Sequence[str],
    *,
    true_label: str,
    predicted_label: str,
    height: int = 420,
) -> go.Figure:
    """The test set's confusion matrix (rows: true labels, top to bottom; columns: predicted),
    each cell's count written in it; the diagonal (right answers) is left out of the colour
    scale so the mistakes stand out."""
    z = np.asarray(confusion, dtype=float)
    off = z.copy()
    np.fill_diagonal(off, np.nan)  # colour: mistakes only
    top = float(np.nanmax(off)) if np.isfinite(off).any() and np.nanmax(off) > 0 else 1.0
    text = [[str(int(v)) for v in row] for row in z]
    names = [str(x) for x in labels]
    fig = go.Figure(
        go.Heatmap(
            z=off,
            x=names,
            y=names,
            zmin=0,
            zmax=top,
            colorscale="Reds",
            showscale=False,
            hovertemplate=f"{true_label} %{{y}} → {predicted_label} %{{x}}<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    # the diagonal as pale green cells, every count as text
    diag = np.full_like(z, np.nan)
    np.fill_diagonal(diag, 1.0)
    fig.add_trace(
        go.Heatmap(
            z=diag,
            x=names,
            y=names,
            colorscale=[[0, "#d9f2e1"], [1, "#d9f2e1"]],
            showscale=False,
            hoverinfo="skip",
            xgap=1,
            ygap=1,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[names[j] for i in range(len(names)) for j in range(len(names))],
            y=[names[i] for i in range(len(names)) for _j in range(len(names))],
            mode="text",
            text=[text[i][j] for i in range(len(names)) for j in range(len(names))],
            textfont=dict(
                size=11 if len(names) > 4 else 16,
                # white on the darkest mistakes, dark grey elsewhere
                color=[
                    "white" if i != j and z[i][j] > 0.55 * top else "#31333f"
                    for i in range(len(names))
                    for j in range(len(names))
                ],
            ),
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(title=predicted_label, type="category", side="top", showgrid=False),
        yaxis=dict(title=true_label, type="category", autorange="reversed", showgrid=False),
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return fig


def mistake_image(image: np.ndarray, size: int = 84) -> np.ndarray:
    """A ``(28, 28)`` [0, 1] digit enlarged with hard pixel edges to ``(size, size)`` uint8."""
    img = np.clip(np.nan_to_num(np.asarray(image, dtype=np.float32)), 0.0, 1.0)
    k = max(size // img.shape[0], 1)
    return (np.kron(img, np.ones((k, k), dtype=np.float32)) * 255).astype(np.uint8)
