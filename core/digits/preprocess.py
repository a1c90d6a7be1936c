"""Canvas preprocessing exactly like MNIST (numpy, scipy and Pillow only; no torch).

MNIST's recipe (LeCun et al.): the ink is cropped to its bounding box, scaled with
anti-aliasing so that the longer side is 20 pixels (aspect ratio kept), then put in a
28x28 field so that its centre of mass sits at the centre of the field.
:func:`canvas_to_mnist` does that to a canvas drawing; :func:`naive_resize` is the
"what if we did not preprocess" baseline.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

FIELD, BOX = 28, 20

# A canvas pixel counts as ink above this level (0..1) when finding the drawing.
INK_LEVEL = 0.2
# Fewer ink pixels than this share of the canvas (and than MIN_INK_PIXELS) is "blank".
MIN_INK_SHARE = 2e-4
MIN_INK_PIXELS = 12


def ink_map(image: np.ndarray) -> np.ndarray:
    """How much ink each pixel holds: ``(H, W)`` float32 in [0, 1].

    Accepts ``(H, W, 4)`` RGBA, ``(H, W, 3)`` RGB or ``(H, W)`` grey, uint8 (0..255) or
    float (0..1). On a transparent background (the canvas' default) ink is the alpha
    channel. On an opaque background ink is how far each pixel's colour is from the
    background colour (the median of the image border), so dark ink on white, coloured ink
    on white and light ink on a dark background all work.
    """
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("empty image")
    if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 4:
        alpha8 = arr[:, :, 3]
        border8 = np.concatenate([alpha8[0], alpha8[-1], alpha8[:, 0], alpha8[:, -1]])
        if np.median(border8) < 128:  # fast path, the canvas' usual case: ink is opacity
            return alpha8.astype(np.float32) * np.float32(1 / 255)
    a = arr.astype(np.float32)
    if arr.dtype == np.uint8 or a.max(initial=0.0) > 1.0:
        a = a / 255.0
    a = np.nan_to_num(np.clip(a, 0.0, 1.0))
    if a.ndim == 2:
        a = a[:, :, None]
    rgb = a[:, :, :3] if a.shape[2] >= 3 else a[:, :, :1]
    alpha = a[:, :, 3] if a.shape[2] == 4 else None
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    if alpha is not None:
        border_alpha = np.concatenate([alpha[0], alpha[-1], alpha[:, 0], alpha[:, -1]])
        if float(np.median(border_alpha)) < 0.5:  # transparent background: ink is opacity
            return alpha.astype(np.float32, copy=False)
        # opaque background: composite partly transparent pixels over it first
        bg = np.median(border, axis=0)
        rgb = rgb * alpha[:, :, None] + bg * (1.0 - alpha[:, :, None])
    bg = np.median(border, axis=0)
    diff = np.abs(rgb - bg).max(axis=2)
    # normalise by the strongest possible contrast against this background
    reach = float(np.maximum(bg, 1.0 - bg).max())
    return np.clip(diff / max(reach, 1e-3), 0.0, 1.0).astype(np.float32)


def _reduce(ink: np.ndarray, target: int = 128) -> np.ndarray:
    """Average ``f`` x ``f`` blocks of a big ink map (``f`` = longer side // ``target``).

    An anti-aliased shrink that keeps every later step fast; a 280x280 canvas becomes
    140x140, still seven times the 20-pixel box the digit ends up in.
    """
    f = max(ink.shape) // target
    if f < 2:
        return ink
    h, w = ink.shape
    hp, wp = -(-h // f) * f, -(-w // f) * f  # pad up to a multiple of f
    if (hp, wp) != (h, w):
        ink = np.pad(ink, ((0, hp - h), (0, wp - w)))
    return ink.reshape(hp // f, f, wp // f, f).mean(axis=(1, 3), dtype=np.float32)


def _drop_specks(ink: np.ndarray) -> np.ndarray:
    """Erase tiny isolated ink blobs (stray taps) that would stretch the bounding box."""
    mask = ink > INK_LEVEL
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if n <= 1:
        return ink
    sizes = np.bincount(labels.ravel())[1:]
    keep_min = max(MIN_INK_PIXELS, 0.02 * sizes.max())
    small = np.flatnonzero(sizes < keep_min) + 1
    if small.size == 0:
        return ink
    # grow the removal mask a little so the faint anti-aliased rim of a speck goes too
    drop = ndimage.binary_dilation(np.isin(labels, small), iterations=2) & ~np.isin(
        labels, np.flatnonzero(sizes >= keep_min) + 1
    )
    out = ink.copy()
    out[drop] = 0.0
    return out


def _fit_box(crop: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale ``crop`` (h, w) so its longer side is ``box`` pixels, aspect kept, anti-aliased."""
    h, w = crop.shape
    scale = box / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    img = Image.fromarray(crop.astype(np.float32), mode="F")
    out = np.asarray(img.resize((nw, nh), Image.Resampling.LANCZOS, reducing_gap=None), dtype=np.float32)
    return np.clip(out, 0.0, 1.0)


def center_of_mass(img: np.ndarray) -> tuple[float, float]:
    """(row, col) centre of mass of a non-negative image (pixel centres at integer indices)."""
    total = float(img.sum())
    if total <= 0:
        return ((img.shape[0] - 1) / 2, (img.shape[1] - 1) / 2)
    rows = np.arange(img.shape[0], dtype=np.float64)
    cols = np.arange(img.shape[1], dtype=np.float64)
    return float((img.sum(axis=1) * rows).sum() / total), float((img.sum(axis=0) * cols).sum() / total)


def place_by_mass(digit: np.ndarray, field: int = FIELD) -> np.ndarray:
    """Put ``digit`` (h, w <= field) in a ``field`` x ``field`` image, centre of mass at the centre.

    The shift is a whole number of pixels (as MNIST did), so the centre of mass ends within
    half a pixel of the centre; the digit is kept inside the field.
    """
    h, w = digit.shape
    cy, cx = center_of_mass(digit)
    centre = (field - 1) / 2
    top = int(np.clip(round(centre - cy), 0, field - h))
    left = int(np.clip(round(centre - cx), 0, field - w))
    out = np.zeros((field, field), dtype=np.float32)
    out[top : top + h, left : left + w] = digit
    return out


def canvas_to_mnist(rgba: np.ndarray) -> np.ndarray | None:
    """A canvas drawing ``(H, W, 4)`` uint8 -> the ``(28, 28)`` float32 [0, 1] MNIST picture.

    White digit on black, made as MNIST was: ink (alpha, or darkness/colour contrast on an
    opaque background) cropped to its bounding box, scaled so the longer side is 20 px with
    anti-aliasing and the aspect ratio kept, then placed so its centre of mass is at the
    centre of the 28x28 field. Returns ``None`` for a blank canvas or a few stray pixels.
    """
    ink = _reduce(ink_map(rgba))
    h, w = ink.shape
    min_pixels = max(MIN_INK_PIXELS, MIN_INK_SHARE * h * w)
    if int((ink > INK_LEVEL).sum()) < min_pixels:
        return None
    ink = _drop_specks(ink)
    mask = ink > INK_LEVEL
    if int(mask.sum()) < min_pixels:
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    digit = _fit_box(crop)
    if digit.max() <= 0:
        return None
    digit = digit / float(digit.max())  # the brightest ink is 1, as in MNIST
    return place_by_mass(digit)


def naive_resize(rgba: np.ndarray) -> np.ndarray | None:
    """The whole canvas squashed to ``(28, 28)`` float32 [0, 1] with no cropping or centring.

    This is what a model sees without MNIST preprocessing; ``None`` for a blank canvas.
    """
    ink = ink_map(rgba)
    h, w = ink.shape
    if int((ink > INK_LEVEL).sum()) < max(MIN_INK_PIXELS, MIN_INK_SHARE * h * w):
        return None
    img = Image.fromarray(ink, mode="F").resize((FIELD, FIELD), Image.Resampling.BOX)
    return np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
