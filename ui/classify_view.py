"""Drawing classification results: Plotly bar charts and the coloured word explanation.

Every piece of user text that goes into HTML is escaped here.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

COLOURS = {"positive": "#16a34a", "negative": "#dc2626", "neutral": "#64748b"}
OTHER = ["#2563eb", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4d7c0f", "#7c3aed"]
EMOJI = {"positive": "😊", "negative": "😞", "neutral": "😐"}


def percent(p: float) -> str:
    """A probability as a percentage: one decimal near 0 % and 100 %, else whole numbers."""
    p = max(0.0, min(1.0, float(p))) * 100
    return f"{p:.1f}%" if p >= 99.5 or p < 1 else f"{p:.0f}%"


def colour(label: str, i: int = 0) -> str:
    return COLOURS.get(label, OTHER[i % len(OTHER)])


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def scores_figure(scores: Mapping[str, float], names: Mapping[str, str], *, height: int | None = None) -> go.Figure:
    """Horizontal bars of every label's probability, best on top. ``names``: label -> shown name."""
    order = list(scores)  # colours follow the labels' own order, as in the badge
    items = sorted(scores.items(), key=lambda kv: kv[1])
    labels = [names.get(k, k) for k, _ in items]
    fig = go.Figure(go.Bar(
        x=[v for _, v in items], y=labels, orientation="h",
        marker_color=[colour(k, order.index(k)) for k, _ in items],
        text=[f"{v:.1%}" for _, v in items], textposition="auto", hoverinfo="skip",
    ))
    fig.update_layout(
        height=height or 70 + 42 * len(items), margin=dict(l=8, r=8, t=8, b=8),
        xaxis=dict(range=[0, 1], tickformat=".0%", showgrid=True), yaxis=dict(automargin=True),
        showlegend=False, bargap=0.35,
    )
    return fig


def distribution_figure(counts: Mapping[str, int], names: Mapping[str, str]) -> go.Figure:
    """Bars of how many texts got each label."""
    keys = list(counts)
    fig = go.Figure(go.Bar(
        x=[names.get(k, k) for k in keys], y=[counts[k] for k in keys],
        marker_color=[colour(k, i) for i, k in enumerate(keys)],
        text=[str(counts[k]) for k in keys], textposition="auto", hoverinfo="skip",
    ))
    fig.update_layout(height=300, margin=dict(l=8, r=8, t=8, b=8), showlegend=False, bargap=0.4,
                      yaxis=dict(tickformat=",d", rangemode="tozero", dtick=max(1, -(-max(counts.values(), default=1) // 5))))
    return fig


def explanation_html(pieces: Sequence[str], weights: Sequence[float], label: str, *,
                     legend_for: str, legend_against: str) -> str:
    """The text with each word tinted by its weight: the predicted label's colour where it
    pushed towards that label, blue where it pushed against it. Escaped."""
    support = _rgb(colour(label))
    against = (37, 99, 235) if label != "positive" else (220, 38, 38)
    if label == "negative":
        against = (22, 163, 74)
    top = max((abs(w) for w in weights), default=0.0) or 1.0
    out = []
    for piece, w in zip(pieces, weights):
        text = html.escape(piece).replace("\n", "<br>")
        if abs(w) < 1e-4 or not piece.strip():
            out.append(text)
            continue
        r, g, b = support if w > 0 else against
        alpha = 0.12 + 0.68 * min(abs(w) / top, 1.0)
        tip = html.escape(f"{w:+.3f}")
        out.append(f'<span class="cls-w" style="background: rgba({r},{g},{b},{alpha:.2f})" title="{tip}">{text}</span>')
    sr, sg, sb = support
    ar, ag, ab = against
    legend = (
        f'<div class="cls-legend"><span class="cls-w" style="background: rgba({sr},{sg},{sb},0.6)">&nbsp;&nbsp;&nbsp;</span> '
        f"{html.escape(legend_for)} &nbsp; "
        f'<span class="cls-w" style="background: rgba({ar},{ag},{ab},0.6)">&nbsp;&nbsp;&nbsp;</span> '
        f"{html.escape(legend_against)}</div>"
    )
    style = (
        "<style>.cls-explain{font-size:1.1rem;line-height:2.1;padding:0.8rem 1rem;border-radius:0.5rem;"
        "border:1px solid rgba(128,128,128,0.3);word-break:break-word}"
        ".cls-w{border-radius:0.3rem;padding:0.1rem 0.15rem}"
        ".cls-legend{font-size:0.85rem;opacity:0.8;margin-top:0.4rem}</style>"
    )
    return f'{style}<div class="cls-explain">{"".join(out)}</div>{legend}'


def label_badge_html(label_name: str, label: str, confidence_text: str, colour_index: int = 0) -> str:
    """A large coloured badge with the predicted label and its confidence. Escaped."""
    c = colour(label, colour_index)
    emoji = EMOJI.get(label, "🏷️")
    return (
        f'<div style="display:flex;align-items:center;gap:0.8rem;padding:0.7rem 1rem;border-radius:0.6rem;'
        f'border-left:6px solid {c};background:rgba(128,128,128,0.08)">'
        f'<span style="font-size:2.2rem">{emoji}</span><div>'
        f'<div style="font-size:1.6rem;font-weight:700;color:{c}">{html.escape(label_name)}</div>'
        f'<div style="opacity:0.8">{html.escape(confidence_text)}</div></div></div>'
    )
