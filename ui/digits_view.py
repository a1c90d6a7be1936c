"""Pictures and charts of the digits page: enlarged 28x28 images, the saliency overlay,
the probability bar chart and the big predicted digit. Pure functions, no Streamlit calls."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image

ACCENT = "#ff4b4b"
MUTED = "#a3a8b8"


def pixelated(img: np.ndarray, size: int = 196) -> Image.Image:
    """A ``(28, 28)`` [0, 1] image enlarged with hard pixel edges (white digit on black)."""
    grey = (np.clip(img, 0.0, 1.0) * 255).astype(np.uint8)
    return Image.fromarray(grey, mode="L").resize((size, size), Image.Resampling.NEAREST)


def saliency_overlay(img: np.ndarray, heat: np.ndarray, size: int = 196) -> Image.Image:
    """The digit in grey with the saliency ``heat`` (28, 28) in [0, 1] laid over it in red-yellow."""
    base = np.clip(img, 0.0, 1.0) * 0.55
    h = np.clip(heat, 0.0, 1.0)
    rgb = np.stack([base, base, base], axis=-1)
    # warm colour ramp: dark red for a little, bright yellow for the most important pixels
    colour = np.stack([np.ones_like(h), 0.15 + 0.85 * h, 0.1 * h], axis=-1)
    strength = (h**0.8)[..., None] * 0.9
    out = rgb * (1 - strength) + colour * strength
    pic = (np.clip(out, 0.0, 1.0) * 255).astype(np.uint8)
    return Image.fromarray(pic, mode="RGB").resize((size, size), Image.Resampling.NEAREST)


def probability_chart(probs: np.ndarray, digit_label: str, prob_label: str, height: int = 260) -> go.Figure:
    """Bar chart of the ten probabilities, the most likely digit highlighted."""
    top = int(np.argmax(probs))
    pct = [float(p) * 100 for p in probs]
    fig = go.Figure(
        go.Bar(
            x=[str(i) for i in range(10)],
            y=pct,
            marker_color=[ACCENT if i == top else MUTED for i in range(10)],
            text=[f"{p:.0f}%" if p >= 1 else "" for p in pct],
            textposition="outside",
            cliponaxis=False,
            hovertemplate=f"{digit_label} %{{x}}: %{{y:.1f}}%<extra>{prob_label}</extra>",
        )
    )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=20, b=10),
        xaxis=dict(title=digit_label, type="category", tickfont=dict(size=16)),
        yaxis=dict(title=None, range=[0, 112], showgrid=True, tickvals=[0, 50, 100], ticktext=["0%", "50%", "100%"]),
        bargap=0.25,
        showlegend=False,
    )
    return fig


def big_digit_html(digit: int, confidence_text: str, unsure: bool) -> str:
    """The predicted digit in large type with its confidence underneath (no user text inside)."""
    colour = "#b0b4c0" if unsure else ACCENT
    return (
        f'<div style="display:flex;align-items:baseline;gap:0.6rem;">'
        f'<span style="font-size:6rem;font-weight:800;line-height:1;color:{colour};">{int(digit)}</span>'
        f'<span style="font-size:1.2rem;opacity:0.8;">{confidence_text}</span></div>'
    )
