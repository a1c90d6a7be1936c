"""The drawing canvas of the digits page (streamlit-drawable-canvas), opened blank or with
an example digit drawn on it."""

from __future__ import annotations

import numpy as np
from streamlit_drawable_canvas import st_canvas

from ui.digits_examples import example_drawing, example_image

CANVAS_PX = 280
EXAMPLE_PEN = 22  # the pen width the example drawings are made with


def drawing_canvas(example: int | None, pen: int) -> np.ndarray | None:
    """The canvas (280 x 280) with ``example`` drawn on it, if any; returns the drawing as
    RGBA (ink in the alpha channel), or ``None`` before anything was drawn."""
    canvas = st_canvas(
        stroke_width=pen,
        stroke_color="#111111",
        background_color="",
        update_streamlit=True,
        height=CANVAS_PX,
        width=CANVAS_PX,
        drawing_mode="freedraw",
        initial_drawing=example_drawing(example, EXAMPLE_PEN) if example is not None else None,
        return_image_data=True,
        # a new example gets a fresh canvas (the key changes), so the old drawing is not mixed in
        key=f"digits_canvas_{example if example is not None else 'blank'}",
    )
    rgba = canvas.image_data
    if rgba is None and example is not None:
        # the canvas shows the example but sends its picture only after the first stroke
        rgba = example_image(example, EXAMPLE_PEN)
    return rgba
