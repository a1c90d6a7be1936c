"""Which strokes decided a prediction: occlusion saliency over a 28x28 digit.

Each ``patch`` x ``patch`` square (every ``stride`` px) holding ink is blanked in turn;
the drop of the predicted digit's probability is spread over the square. Split in two
steps (the occluded copies, then the map from their probabilities) so that
:func:`core.digits.recognise` runs them in the same forward pass as the prediction.
"""

from __future__ import annotations

import numpy as np

from core.digits.preprocess import FIELD

Box = tuple[int, int]


def occlusion_variants(img: np.ndarray, *, patch: int = 4, stride: int = 3) -> tuple[list[np.ndarray], list[Box]]:
    """Copies of ``img`` (28, 28) with one square blanked each, and each square's top-left
    corner; squares over empty background are skipped (blanking them changes nothing)."""
    starts = range(0, FIELD - patch + 1, stride)
    variants, boxes = [], []
    for r in starts:
        for c in starts:
            if img[r : r + patch, c : c + patch].max() <= 0.05:
                continue
            v = img.copy()
            v[r : r + patch, c : c + patch] = 0.0
            variants.append(v)
            boxes.append((r, c))
    return variants, boxes


def occlusion_map(p_full: float, p_occluded: np.ndarray, boxes: list[Box], *, patch: int = 4) -> np.ndarray:
    """The ``(28, 28)`` float32 map in [0, 1] (1 = most important, 0 where blanking did not
    hurt) from the target probability of the whole digit and of each occluded copy."""
    heat = np.zeros((FIELD, FIELD), dtype=np.float32)
    count = np.zeros((FIELD, FIELD), dtype=np.float32)
    for (r, c), p in zip(boxes, p_occluded):
        heat[r : r + patch, c : c + patch] += max(float(p_full - p), 0.0)
        count[r : r + patch, c : c + patch] += 1.0
    heat = np.divide(heat, count, out=np.zeros_like(heat), where=count > 0)
    top = float(heat.max())
    return heat / top if top > 0 else heat
