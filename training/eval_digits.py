"""Evaluate the shipped digit CNN on the official MNIST test set, once, at the end.

    python -m training.eval_digits                 # models/digits on ../shared/data/mnist-test

Prints three accuracies on the 10,000 test digits:
  * plain: the test images as they are;
  * simulated canvas: each digit enlarged onto a 280x280 RGBA canvas at a random size and
    position (ink in the alpha channel in a random colour on a transparent background,
    or dark ink on an opaque white background for a quarter of them), then passed through
    ``canvas_to_mnist`` exactly as a drawing on the page is;
  * naive resize: the same canvases squashed to 28x28 without MNIST preprocessing.
The test set is for this report only: nothing is trained, tuned or selected on it.
Writes the figures to ``<model>/eval.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.digits import canvas_to_mnist, load_mnist, load_model, naive_resize, predict_proba
from core.registry import MODELS_DIR, REPO_ROOT
from training.digits import _shown

TEST = REPO_ROOT.parent / "shared" / "data" / "mnist-test"
CANVAS = 280


def simulate_canvas(digit: np.ndarray, rng: np.random.Generator, size: int = CANVAS) -> np.ndarray:
    """One ``(28, 28)`` [0, 1] digit drawn on a ``(size, size, 4)`` uint8 canvas."""
    side = int(rng.integers(120, 281))  # the 28x28 field becomes side x side pixels
    ink = (
        np.asarray(
            Image.fromarray((digit * 255).astype(np.uint8)).resize((side, side), Image.Resampling.BILINEAR),
            dtype=np.float32,
        )
        / 255.0
    )
    # the digit's 20x20 box must stay on the canvas: the field may hang over the edge by its margin
    margin = int(side * 4 / 28)
    top = int(rng.integers(-margin, size - side + margin + 1))
    left = int(rng.integers(-margin, size - side + margin + 1))
    field = np.zeros((size, size), dtype=np.float32)
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + side, size), min(left + side, size)
    field[t0:t1, l0:l1] = ink[t0 - top : t1 - top, l0 - left : l1 - left]
    canvas = np.zeros((size, size, 4), dtype=np.uint8)
    if rng.random() < 0.25:  # dark ink on an opaque white background
        canvas[..., :3] = (255 * (1.0 - field[..., None])).astype(np.uint8)
        canvas[..., 3] = 255
    else:  # the drawable canvas: coloured ink, opacity in the alpha channel
        canvas[..., :3] = rng.integers(0, 256, size=3, dtype=np.uint8)
        canvas[..., 3] = (255 * field).round().astype(np.uint8)
    return canvas


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(MODELS_DIR / "digits"))
    ap.add_argument("--images", default=str(TEST / "t10k-images-idx3-ubyte.gz"))
    ap.add_argument("--labels", default=str(TEST / "t10k-labels-idx1-ubyte.gz"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="only the first N digits (smoke tests)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    model = load_model(Path(args.model))
    x, y = load_mnist(args.images, args.labels)
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    t0 = time.perf_counter()
    plain = float((predict_proba(model, x).argmax(1) == y).mean())

    rng = np.random.default_rng(args.seed)
    canvas_imgs = np.zeros_like(x)
    naive_imgs = np.zeros_like(x)
    blank = np.zeros(len(x), dtype=bool)
    for i, digit in enumerate(x):
        canvas = simulate_canvas(digit, rng)
        img = canvas_to_mnist(canvas)
        if img is None:
            blank[i] = True
        else:
            canvas_imgs[i] = img
        naive = naive_resize(canvas)
        if naive is not None:
            naive_imgs[i] = naive
    pred_canvas = predict_proba(model, canvas_imgs).argmax(1)
    canvas_acc = float(((pred_canvas == y) & ~blank).mean())
    naive_acc = float((predict_proba(model, naive_imgs).argmax(1) == y).mean())
    seconds = time.perf_counter() - t0

    result = {
        "test_set": _shown(args.images),
        "digits": int(len(x)),
        "accuracy_plain": plain,
        "accuracy_simulated_canvas": canvas_acc,
        "accuracy_naive_resize": naive_acc,
        "canvas_gap_points": round(100 * (plain - canvas_acc), 2),
        "canvases_read_as_blank": int(blank.sum()),
        "seed": args.seed,
        "seconds": round(seconds, 1),
    }
    print(f"MNIST test, {len(x)} digits ({args.images})")
    print(f"  plain test images          : {100 * plain:.2f} %")
    print(
        f"  simulated canvas + canvas_to_mnist : {100 * canvas_acc:.2f} %  (gap {result['canvas_gap_points']:+.2f} points)"
    )
    print(f"  naive whole-canvas resize  : {100 * naive_acc:.2f} %")
    print(
        f"  targets: plain >= 99.30 % {'OK' if plain >= 0.993 else 'MISSED'}; "
        f"canvas within 0.5 points {'OK' if plain - canvas_acc <= 0.005 else 'MISSED'}"
    )
    out = Path(args.model) / "eval.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
