"""Example drawings for the digits page: one hand-made stroke set per digit 0-9.

``example_drawing(n, stroke_width)`` is a Fabric.js drawing for the canvas'
``initial_drawing`` (so ``?example=N`` opens the page with digit N drawn);
``rasterize(strokes, stroke_width)`` renders the same strokes as the canvas would
(a ``(280, 280, 4)`` uint8 RGBA image, ink in the alpha channel), which the page uses
until the canvas sends its own picture, and which the tests use as drawn digits.
No Streamlit import here.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

CANVAS = 280
INK = "#111111"
Point = tuple[float, float]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 24) -> list[Point]:
    """Points on an ellipse from angle ``a0`` to ``a1`` degrees (0 = right, 90 = down)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a))) for a in np.linspace(a0, a1, n)]


# Each digit: a list of strokes, each a list of (x, y) points on a 280 x 280 canvas.
STROKES: dict[int, list[list[Point]]] = {
    0: [_arc(140, 140, 58, 88, -90, 272, 40)],
    1: [[(128, 72), (152, 50), (150, 140), (146, 232)]],
    2: [_arc(140, 102, 55, 52, 195, 400, 22) + [(88, 228), (204, 226)]],
    3: [_arc(136, 96, 48, 42, 205, 450, 20) + _arc(136, 184, 55, 50, 270, 515, 22)],
    4: [[(112, 50), (88, 168), (210, 166)], [(176, 62), (174, 236)]],
    5: [[(196, 56), (108, 56), (98, 132)] + _arc(140, 178, 56, 54, 230, 520, 26)],
    6: [[(182, 52), (134, 86), (98, 140)] + _arc(142, 182, 50, 50, 180, 540, 30)],
    7: [[(82, 60), (202, 60), (128, 236)]],
    8: [_arc(140, 95, 42, 42, 90, 450, 26) + _arc(140, 184, 50, 48, 270, 630, 30)],
    9: [_arc(136, 96, 50, 46, 10, 370, 28) + [(184, 110), (176, 236)]],
}


def example_drawing(n: int, stroke_width: int = 20, color: str = INK) -> dict:
    """Digit ``n`` as a Fabric.js drawing (``{"objects": [path, ...]}``) for ``initial_drawing``."""
    objects = []
    for stroke in STROKES[n]:
        xs, ys = [p[0] for p in stroke], [p[1] for p in stroke]
        path = [["M", round(xs[0], 1), round(ys[0], 1)]] + [["L", round(x, 1), round(y, 1)] for x, y in stroke[1:]]
        objects.append(
            {
                "type": "Path",
                "version": "6.0.0",
                "originX": "left",
                "originY": "top",
                "left": min(xs) - stroke_width / 2,
                "top": min(ys) - stroke_width / 2,
                "width": max(xs) - min(xs),
                "height": max(ys) - min(ys),
                "fill": None,
                "stroke": color,
                "strokeWidth": stroke_width,
                "strokeLineCap": "round",
                "strokeLineJoin": "round",
                "path": path,
            }
        )
    return {"version": "6.0.0", "objects": objects}


def rasterize(
    strokes: list[list[Point]], stroke_width: int = 20, size: int = CANVAS, rgb: tuple[int, int, int] = (17, 17, 17)
) -> np.ndarray:
    """Render strokes like the canvas does: ``(size, size, 4)`` uint8, ink in alpha, anti-aliased."""
    ss = 4  # supersampling factor for smooth edges
    img = Image.new("L", (size * ss, size * ss), 0)
    draw = ImageDraw.Draw(img)
    w = max(1, int(round(stroke_width * ss)))
    for stroke in strokes:
        pts = [(x * ss, y * ss) for x, y in stroke]
        if len(pts) > 1:
            draw.line(pts, fill=255, width=w, joint="curve")
        for x, y in (pts[0], pts[-1]):  # round caps
            draw.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=255)
    alpha = np.asarray(img.resize((size, size), Image.Resampling.BOX))
    out = np.zeros((size, size, 4), dtype=np.uint8)
    out[..., :3] = rgb
    out[..., 3] = alpha
    return out


def example_image(n: int, stroke_width: int = 20) -> np.ndarray:
    """Digit ``n`` rendered on a 280 x 280 RGBA canvas."""
    return rasterize(STROKES[n], stroke_width)
