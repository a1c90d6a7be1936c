"""Handwritten digits: canvas preprocessing exactly like MNIST, our CNN, and its helpers.

Pipeline: ``canvas_to_mnist`` (a canvas RGBA image -> the 28x28 picture MNIST would
have made of it) -> ``classify_digits`` (a batch of 28x28 pictures -> ten
probabilities each, through the cached loader) -> the page draws them.
``naive_resize`` is the "what if we did not preprocess" baseline and ``occlusion_saliency``
tells which strokes decided a prediction. Everything works in a plain Python process.

MNIST's recipe (LeCun et al.): the ink is cropped to its bounding box, scaled with
anti-aliasing so that the longer side is 20 pixels (aspect ratio kept), then put in a
28x28 field so that its centre of mass sits at the centre of the field.
"""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from scipy import ndimage
from torch import nn

MODEL_KEY = "digits-cnn"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
FIELD, BOX = 28, 20

# A canvas pixel counts as ink above this level (0..1) when finding the drawing.
INK_LEVEL = 0.2
# Fewer ink pixels than this share of the canvas (and than MIN_INK_PIXELS) is "blank".
MIN_INK_SHARE = 2e-4
MIN_INK_PIXELS = 12


# ---- preprocessing -----------------------------------------------------------------


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


# ---- the model -----------------------------------------------------------------------


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class DigitCNN(nn.Module):
    """A compact VGG-style CNN for 28x28 digits (about 0.2 M parameters).

    Input ``(N, 1, 28, 28)`` float in [0, 1] (normalised inside); output ``(N, 10)`` logits.
    One conv-BN-ReLU block at 28x28, two at 14x14 and two at 7x7 (max-pooling between),
    a last max-pool to 3x3, dropout and a linear classifier over the flattened 3x3 map.
    """

    def __init__(self, widths: tuple[int, int, int] = (32, 64, 96), dropout: float = 0.25) -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.widths = tuple(widths)
        self.features = nn.Sequential(
            _block(1, w1),
            nn.MaxPool2d(2),  # 14x14
            _block(w1, w2),
            _block(w2, w2),
            nn.MaxPool2d(2),  # 7x7
            _block(w2, w3),
            _block(w3, w3),
            nn.MaxPool2d(2),  # 3x3
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(w3 * 9, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 1, 28, 28)`` in [0, 1] -> ``(N, 10)`` logits."""
        return self.head(self.features((x - MNIST_MEAN) / MNIST_STD))


def save_model(model: DigitCNN, folder: Path, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model.safetensors`` and ``config.json`` (architecture + ``extra``) to ``folder``."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    cfg = {"architecture": "DigitCNN", "widths": list(model.widths), **(extra or {})}
    (folder / CONFIG_FILE).write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    return folder / WEIGHTS_FILE


def load_model(folder: Path, device: Any = "cpu") -> DigitCNN:
    """The :class:`DigitCNN` saved in ``folder`` (eval mode, on ``device``)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    cfg_path = folder / CONFIG_FILE
    cfg = json.loads(cfg_path.read_text(encoding="utf-8")) if cfg_path.exists() else {}
    model = DigitCNN(tuple(cfg.get("widths", (32, 64, 96))))
    weights = folder / WEIGHTS_FILE
    if not weights.exists():
        raise FileNotFoundError(f"{weights} is missing; train it with `python -m training.digits`")
    model.load_state_dict(load_file(str(weights)))
    return model.to(device).eval()


def build_model(entry: Any, path: Path, device: Any, *, attention: bool = False) -> Any:
    """Registry builder for ``digits-cnn`` (see ``core/loaders.py``)."""
    from core.loaders import Built

    model = load_model(path, device)

    def warmup(m: nn.Module, _pre: Any) -> None:
        m(torch.zeros(2, 1, FIELD, FIELD, device=next(m.parameters()).device))

    return Built(model=model, preprocessor=None, meta={"labels": [str(i) for i in range(10)]}, warmup=warmup)


# ---- inference -------------------------------------------------------------------


def _as_batch(images: np.ndarray) -> np.ndarray:
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (FIELD, FIELD):
        raise ValueError(f"expected (N, 28, 28) images, got shape {np.shape(images)}")
    return np.clip(np.nan_to_num(arr), 0.0, 1.0)


def predict_proba(model: nn.Module, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Probabilities from a bare model: ``(N, 28, 28)`` [0, 1] -> ``(N, 10)`` float32."""
    arr = _as_batch(images)
    device = next(model.parameters()).device
    out = np.empty((len(arr), 10), dtype=np.float32)
    with torch.inference_mode():
        for i in range(0, len(arr), batch_size):
            x = torch.from_numpy(arr[i : i + batch_size]).unsqueeze(1).to(device)
            out[i : i + batch_size] = torch.softmax(model(x).float(), dim=1).cpu().numpy()
    return out


def classify_digits(images: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
    """``(N, 28, 28)`` float32 in [0, 1] -> ``(N, 10)`` probabilities (rows sum to 1).

    Uses the cached ``digits-cnn`` bundle (GPU when there is one), in batches, one forward
    at a time under the bundle's lock. Raises ``ModelLoadError`` if the model is missing.
    """
    from core.loaders import load

    arr = _as_batch(images)
    if len(arr) == 0:
        return np.zeros((0, 10), dtype=np.float32)
    bundle = load(MODEL_KEY)
    with bundle.lock:
        return predict_proba(bundle.model, arr, batch_size)


def occlusion_saliency(image: np.ndarray, target: int, *, patch: int = 4, stride: int = 3) -> np.ndarray:
    """Which pixels decided the prediction ``target`` for one ``(28, 28)`` image.

    Occlusion: each ``patch`` x ``patch`` square (every ``stride`` px) is blanked and the
    drop of the target probability is spread over the square. Returns ``(28, 28)``
    float32 in [0, 1] (1 = most important), zero where blanking did not hurt.
    """
    img = _as_batch(image)[0]
    starts = list(range(0, FIELD - patch + 1, stride))
    variants = [img]
    boxes = []
    for r in starts:
        for c in starts:
            if img[r : r + patch, c : c + patch].max() <= 0.05:
                continue  # blanking empty background changes nothing
            v = img.copy()
            v[r : r + patch, c : c + patch] = 0.0
            variants.append(v)
            boxes.append((r, c))
    probs = classify_digits(np.stack(variants))[:, target]
    heat = np.zeros((FIELD, FIELD), dtype=np.float32)
    count = np.zeros((FIELD, FIELD), dtype=np.float32)
    for (r, c), p in zip(boxes, probs[1:]):
        heat[r : r + patch, c : c + patch] += max(float(probs[0] - p), 0.0)
        count[r : r + patch, c : c + patch] += 1.0
    heat = np.divide(heat, count, out=np.zeros_like(heat), where=count > 0)
    top = float(heat.max())
    return heat / top if top > 0 else heat


# ---- data ----------------------------------------------------------------------------


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (MNIST format), gzip-compressed or not, as a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(images: str | Path, labels: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 28, 28)`` float32 [0, 1] images and ``(N,)`` int64 labels from two IDX files."""
    x = read_idx(images).astype(np.float32) / 255.0
    y = read_idx(labels).astype(np.int64)
    if len(x) != len(y) or x.shape[1:] != (FIELD, FIELD):
        raise ValueError(f"mismatched MNIST files: {x.shape} images, {y.shape} labels")
    return x, y
