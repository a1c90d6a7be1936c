"""Digit drawing: draw 0-9 on a canvas, see the 28x28 image the CNN receives, its prediction,
the ten probabilities, which strokes mattered, and what happens without MNIST preprocessing.

``?example=N`` (0-9) opens the page with an example drawing of digit N on the canvas; the
pen width, the two options and the explanation method are kept in the URL too (``?pen=``,
``?compare=``, ``?saliency=``, ``?method=``).
"""

from __future__ import annotations

import streamlit as st

from core.digits import model_facts, model_key, recognise
from core.digits.explain import DEFAULT_METHOD, DIGIT_METHODS
from ui.api_view import body, pixels, show_api
from ui.digits_canvas import drawing_canvas
from ui.digits_view import show_about, show_prediction
from ui.i18n import t
from ui.layout import page_header
from ui.model_history_view import show_training
from ui.models import ensure_model
from ui.routing import use_navigation_routing
from ui.run import last_latency_ms, run_once
from ui.train_own import show_digits_side_by_side

use_navigation_routing()  # first: a new server's first deep link is routed by app.py (see ui.routing)

page_header("✍️ " + t("digits.title"), t("digits.subtitle"))
left, right = st.columns([1.1, 1.4], gap="large")

with left:
    pen = st.slider(t("digits.stroke"), 6, 40, 22, key="pen", bind="query-params", help=t("digits.stroke_help"))
    st.markdown(f"**{t('digits.canvas_label')}**")
    canvas_box = st.container()
    st.caption(t("digits.canvas_help"))
    example = st.pills(
        t("digits.examples"),
        list(range(10)),
        key="example",
        bind="query-params",
        help=t("digits.examples_help"),
        wrap=True,
    )
    compare = st.toggle(t("digits.compare"), key="compare", bind="query-params", help=t("digits.compare_help"))
    saliency = st.toggle(
        t("digits.saliency"), value=True, key="saliency", bind="query-params", help=t("digits.saliency_help")
    )
    method = st.segmented_control(
        t("digits.method"),
        DIGIT_METHODS,
        default=DEFAULT_METHOD,
        key="method",
        bind="query-params",
        required=True,
        format_func=lambda m: t(f"digits.method.{m}"),
        help=t("digits.method_help"),
        disabled=not saliency,
    )
    method = method if method in DIGIT_METHODS else DEFAULT_METHOD
    with canvas_box:
        rgba = drawing_canvas(example, pen)

with right:
    # the model is loaded first (with a spinner, or a message if it cannot be), so the latency is the reading's
    ready = rgba is not None and ensure_model(model_key())
    result = run_once(recognise, rgba, saliency=saliency, method=method) if ready else None
    if rgba is None or (result is not None and result.blank):
        st.info(t("digits.empty"))
    elif result is not None:
        both = show_digits_side_by_side(result.image, result.probs)  # this visitor's trained model, if any
        show_prediction(result, compare=compare, ms=last_latency_ms(recognise), headline=not both)

if result is not None and not result.blank:  # full width: 28 rows of pixels
    show_api("/api/digits", body(pixels=pixels(result.image)))

show_about(model_facts())
show_training("digits")  # how the model was trained (ui/model_history_view.py)
