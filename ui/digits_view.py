"""What the digits page shows of a :class:`core.digits.DigitResult`.

The picture and chart builders (enlarged 28x28 images, the explanation overlay, red for the
digit and blue against it, the probability bar chart, the big predicted digit) are pure
functions; the ``show_*``
functions draw a result with Streamlit. Nothing here calls a model."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from core.digits import DigitResult, ModelFacts
from core.digits.explain import weights_map
from core.explain import TOP_FRACTION
from ui.i18n import t

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


FOR_RGB = np.array([0.86, 0.16, 0.16])  # red: pushed towards the digit
AGAINST_RGB = np.array([0.16, 0.42, 0.92])  # blue: pushed against it


def diverging_overlay(img: np.ndarray, weights: np.ndarray, size: int = 196) -> Image.Image:
    """The digit ``img`` (28, 28) in grey with signed ``weights`` (28, 28) laid over it, the
    colour scale centred on zero: red for the digit, blue against it, the strongest weight
    (either sign) at full colour, zero leaving the grey digit as it is."""
    base = np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0) * 0.55
    w = np.nan_to_num(np.asarray(weights, dtype=np.float32))
    top = float(np.abs(w).max())
    s = w / top if top > 0 else np.zeros_like(w)
    rgb = np.stack([base, base, base], axis=-1)
    colour = np.where((s >= 0)[..., None], FOR_RGB, AGAINST_RGB)
    strength = (np.abs(s) ** 0.7)[..., None] * 0.95
    out = rgb * (1 - strength) + colour * strength
    pic = (np.clip(out, 0.0, 1.0) * 255).astype(np.uint8)
    return Image.fromarray(pic, mode="RGB").resize((size, size), Image.Resampling.NEAREST)


def faithfulness_caption(res: DigitResult) -> str | None:
    """The sentence stating for this drawing what deleting the top strokes does (``None``
    when the attribution has no faithfulness figures)."""
    att = res.attribution
    if att is None or att.drop is None or att.random_drop is None or res.probs is None:
        return None
    d = int(att.target)
    p0 = float(res.probs[d])
    text = t(
        "digits.faithfulness",
        share=TOP_FRACTION,
        d=d,
        p0=p0,
        p1=max(p0 - att.drop, 0.0),
        pr=max(p0 - att.random_drop, 0.0),
    )
    if not att.faithful:
        text += " " + t("digits.faithfulness_weak")
    if att.completeness_error is not None:
        text += " " + t("digits.completeness", e=att.completeness_error)
    return text


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


# ---- drawing a result on the page (Streamlit calls, no model calls) -----------------------


def show_prediction(res: DigitResult, *, compare: bool, ms: float | None, headline: bool = True) -> None:
    """The big predicted digit (and "not sure" with two candidates), the 28x28 picture the
    model read beside the saliency map, the probability chart, the latency and, with
    ``compare``, the no-preprocessing comparison. ``headline=False``: without the big digit
    and the chart (shown already, e.g. in the side-by-side cards)."""
    if headline:
        st.markdown(f"**{t('digits.prediction')}**")
        st.markdown(
            big_digit_html(res.digit, t("digits.confidence", p=res.confidence), res.unsure), unsafe_allow_html=True
        )
    if res.unsure:
        b = res.runner_up
        st.warning(t("digits.not_sure", a=res.digit, pa=res.confidence, b=b, pb=float(res.probs[b])), icon="🤔")
    c1, c2 = st.columns(2)
    with c1:
        st.markdown(f"**{t('digits.model_input')}**", help=t("digits.model_input_help"))
        st.image(pixelated(res.image), width=196)
    att = res.attribution
    if att is not None:
        with c2:
            st.markdown(f"**{t('digits.saliency_title')}**", help=t(f"digits.method_help.{att.method}"))
            st.image(diverging_overlay(res.image, weights_map(att)), width=196)
            st.caption(t("digits.legend", d=att.target))
        caption = faithfulness_caption(res)
        if caption:
            st.caption(caption)
    elif res.saliency is not None:  # an older inference server: the map without its method
        with c2:
            st.markdown(f"**{t('digits.saliency_title')}**", help=t("digits.saliency_help"))
            st.image(saliency_overlay(res.image, res.saliency), width=196)
    if headline:
        st.markdown(f"**{t('digits.chart_title')}**")
        st.plotly_chart(
            probability_chart(res.probs, t("digits.chart_digit"), t("digits.chart_prob")),
            config={"displayModeBar": False},
            key="digits_chart",
        )
    if ms is not None:
        st.caption(t("digits.latency_saliency" if res.saliency is not None else "digits.latency", ms=ms))
    if compare and res.naive is not None and res.naive_probs is not None:
        show_comparison(res)


def show_comparison(res: DigitResult) -> None:
    """With and without MNIST preprocessing, side by side, and what that changes."""
    nd = res.naive_digit
    st.divider()
    n1, n2 = st.columns(2)
    with n1:
        st.markdown(f"**{t('digits.with_title')}**")
        st.image(pixelated(res.image, 160), width=160)
        st.markdown(t("digits.naive_pred", d=res.digit, p=res.confidence))
    with n2:
        st.markdown(f"**{t('digits.naive_title')}**")
        st.image(pixelated(res.naive, 160), width=160)
        st.markdown(t("digits.naive_pred", d=nd, p=float(res.naive_probs[nd])))
    st.caption(t("digits.naive_caption") + " " + t("digits.naive_differs" if nd != res.digit else "digits.naive_same"))


def show_about(facts: ModelFacts) -> None:
    """The "About this model" expander: size and measured accuracy."""
    with st.expander(t("digits.about")):
        acc = f"{facts.accuracy:.2%}" if facts.accuracy is not None else t("digits.unknown")
        st.markdown(t("digits.about_body", mb=facts.size_mb, acc=acc))
