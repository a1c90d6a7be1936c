"""Digit drawing: draw 0-9 on a canvas, see the 28x28 image the CNN receives, its prediction,
the ten probabilities, which strokes mattered, and what happens without MNIST preprocessing.

Reads ``?example=N`` (0-9) to open with an example drawing of digit N on the canvas.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from core import registry
from core.digits import MODEL_KEY, canvas_to_mnist, classify_digits, naive_resize, occlusion_saliency
from ui.common import ensure_model, friendly_errors, page_header, record_prediction
from ui.digits_examples import example_drawing, example_image
from ui.digits_view import big_digit_html, pixelated, probability_chart, saliency_overlay
from ui.i18n import t

CANVAS_PX = 280
UNSURE_BELOW = 0.6  # top probability under this: say "not sure" and show two candidates
PICK_KEY = "digits_example_pick"
MEMO_KEY = "_digits_memo"


def _example_from_url() -> int | None:
    raw = st.query_params.get("example")
    if raw is None or raw == "":
        return None
    if raw.strip().isdigit() and 0 <= int(raw) <= 9:
        return int(raw)
    st.warning(t("digits.bad_example", value=raw[:20]), icon="ℹ️")
    return None


def _on_pick() -> None:
    pick = st.session_state.get(PICK_KEY)
    if pick is None:
        st.query_params.pop("example", None)
    else:
        st.query_params["example"] = str(pick)


def _memo(image: np.ndarray) -> dict:
    """This session's results for ``image``: reused when only a toggle changed."""
    key = hashlib.blake2b(image.tobytes(), digest_size=16).hexdigest()
    memo = st.session_state.get(MEMO_KEY)
    if not memo or memo.get("key") != key:
        memo = {"key": key}
        st.session_state[MEMO_KEY] = memo
    return memo


def _model_accuracy() -> tuple[float, str]:
    folder = registry.MODELS_DIR / "digits"
    weights = folder / "model.safetensors"
    mb = weights.stat().st_size / 1e6 if weights.exists() else 0.0
    try:
        acc = json.loads(Path(folder / "eval.json").read_text(encoding="utf-8"))["accuracy_plain"]
        return mb, f"{acc:.2%}"
    except (OSError, KeyError, ValueError):
        return mb, t("digits.unknown")


page_header("✍️ " + t("digits.title"), t("digits.subtitle"))

example = _example_from_url()
if PICK_KEY not in st.session_state:
    st.session_state[PICK_KEY] = example

left, right = st.columns([1.1, 1.4], gap="large")

with left:
    stroke = st.slider(t("digits.stroke"), 6, 40, 22, key="digits_stroke", help=t("digits.stroke_help"))
    st.markdown(f"**{t('digits.canvas_label')}**")
    canvas = st_canvas(
        stroke_width=stroke,
        stroke_color="#111111",
        background_color="",
        update_streamlit=True,
        height=CANVAS_PX,
        width=CANVAS_PX,
        drawing_mode="freedraw",
        initial_drawing=example_drawing(example, 22) if example is not None else None,
        return_image_data=True,
        # a new example gets a fresh canvas (the key changes), so the old drawing is not mixed in
        key=f"digits_canvas_{example if example is not None else 'blank'}",
    )
    st.caption(t("digits.canvas_help"))
    st.pills(t("digits.examples"), list(range(10)), key=PICK_KEY, on_change=_on_pick,
             help=t("digits.examples_help"), wrap=True)
    compare = st.toggle(t("digits.compare"), key="digits_compare", help=t("digits.compare_help"))
    show_saliency = st.toggle(t("digits.saliency"), value=True, key="digits_saliency", help=t("digits.saliency_help"))

rgba = canvas.image_data
if rgba is None and example is not None:
    # the canvas shows the example but sends its picture only after the first stroke
    rgba = example_image(example, 22)

with right:
    image = canvas_to_mnist(rgba) if rgba is not None else None
    if image is None:
        st.info(t("digits.empty"))
    elif ensure_model(MODEL_KEY):
        with friendly_errors():
            memo = _memo(image)
            if "probs" not in memo:  # a new drawing (a toggle alone reuses the last result)
                t0 = time.perf_counter()
                image = canvas_to_mnist(rgba)  # timed again, warm, with the model call
                memo["probs"] = classify_digits(image[None])[0]
                memo["ms"] = (time.perf_counter() - t0) * 1000
                record_prediction(MODEL_KEY, memo["ms"])
            probs, ms = memo["probs"], memo["ms"]
            order = np.argsort(probs)[::-1]
            top, second = int(order[0]), int(order[1])
            unsure = float(probs[top]) < UNSURE_BELOW

            st.markdown(f"**{t('digits.prediction')}**")
            st.markdown(big_digit_html(top, t("digits.confidence", p=float(probs[top])), unsure),
                        unsafe_allow_html=True)
            if unsure:
                st.warning(t("digits.not_sure", a=top, pa=float(probs[top]), b=second, pb=float(probs[second])),
                           icon="🤔")

            c1, c2 = st.columns(2)
            with c1:
                st.markdown(f"**{t('digits.model_input')}**", help=t("digits.model_input_help"))
                st.image(pixelated(image), width=196)
            if show_saliency:
                if "heat" not in memo:
                    memo["heat"] = occlusion_saliency(image, top)
                heat = memo["heat"]
                with c2:
                    st.markdown(f"**{t('digits.saliency_title')}**", help=t("digits.saliency_help"))
                    st.image(saliency_overlay(image, heat), width=196)

            st.markdown(f"**{t('digits.chart_title')}**")
            st.plotly_chart(
                probability_chart(probs, t("digits.chart_digit"), t("digits.chart_prob")),
                config={"displayModeBar": False}, key="digits_chart",
            )
            st.caption(t("digits.latency", ms=ms))

            if compare:
                naive = naive_resize(rgba)
                if naive is not None:
                    naive_probs = classify_digits(naive[None])[0]
                    st.divider()
                    n1, n2 = st.columns(2)
                    with n1:
                        st.markdown(f"**{t('digits.with_title')}**")
                        st.image(pixelated(image, 160), width=160)
                        st.markdown(t("digits.naive_pred", d=top, p=float(probs[top])))
                    with n2:
                        nd = int(np.argmax(naive_probs))
                        st.markdown(f"**{t('digits.naive_title')}**")
                        st.image(pixelated(naive, 160), width=160)
                        st.markdown(t("digits.naive_pred", d=nd, p=float(naive_probs[nd])))
                    st.caption(t("digits.naive_caption") + " " +
                               t("digits.naive_differs" if nd != top else "digits.naive_same"))

with st.expander(t("digits.about")):
    mb, acc = _model_accuracy()
    st.markdown(t("digits.about_body", mb=mb, acc=acc))
