"""Train the digit CNN (``core.digits.DigitCNN``) on MNIST training digits.

    python -m training.digits                      # ../shared/data/mnist-train-10k, models/digits/
    python -m training.digits --images train-images-idx3-ubyte.gz --labels train-labels-idx1-ubyte.gz

A validation split is held out from the training digits (``--val-size``, fixed seed);
the MNIST *test* set is never read here (``python -m training.eval_digits`` reports it
once, at the end). Augmentation on the fly imitates drawing on a canvas: stroke
thickness (soft dilation / erosion by 3x3 max-pooling), shifts, small rotations, scales
and shears, a gentle elastic warp and a slight blur. AdamW with a one-cycle learning
rate, label smoothing, and an exponential moving average (EMA) of the weights; the
weights (raw or EMA) with the better validation accuracy are saved.
Reproducible: fixed seed, single-threaded by default.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from core.digits import DigitCNN, load_mnist, predict_proba, save_model
from core.registry import MODELS_DIR, REPO_ROOT

DATA = REPO_ROOT.parent / "shared" / "data" / "mnist-train-10k"


def _blend(x: torch.Tensor, y: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    return x + amount.view(-1, 1, 1, 1) * (y - x)


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Canvas-like random changes of a batch ``(N, 1, 28, 28)`` in [0, 1] -> same shape."""
    n = x.shape[0]

    def u(lo: float, hi: float, size: int = n) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(size, generator=g)

    # stroke thickness: soft dilation (thicker pen) or erosion (thinner pen)
    pick = torch.rand(n, generator=g)
    dil = F.max_pool2d(x, 3, 1, 1)
    ero = -F.max_pool2d(-x, 3, 1, 1)
    x = _blend(x, dil, torch.where(pick < 0.3, u(0.3, 1.0), torch.zeros(n)))
    x = _blend(x, ero, torch.where(pick > 0.85, u(0.2, 0.6), torch.zeros(n)))

    # affine: rotation, scale, aspect, shear, shift (in normalised [-1, 1] coordinates)
    ang = u(-12.0, 12.0) * math.pi / 180
    scale = u(0.88, 1.12)
    aspect = u(0.9, 1.1)
    shear = u(-0.15, 0.15)
    tx, ty = u(-2.0, 2.0) / 14, u(-2.0, 2.0) / 14
    cos, sin = torch.cos(ang), torch.sin(ang)
    sx, sy = 1 / (scale * aspect), aspect / scale
    theta = torch.stack(
        [
            torch.stack([cos * sx, (-sin + shear) * sx, tx], 1),
            torch.stack([sin * sy, cos * sy, ty], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # gentle elastic warp: a smooth random displacement field of about one pixel
    noise = torch.randn(n, 2, 4, 4, generator=g) * (u(0.0, 1.2).view(-1, 1, 1, 1) / 14)
    warp = F.interpolate(noise, size=(28, 28), mode="bicubic", align_corners=False)
    x = F.grid_sample(x, grid + warp.permute(0, 2, 3, 1), align_corners=False, padding_mode="zeros")

    # slight blur on some digits (per-sample Gaussian, grouped convolution)
    sigma = torch.where(torch.rand(n, generator=g) < 0.3, u(0.3, 0.7), torch.full((n,), 1e-3))
    r = torch.arange(-2, 3, dtype=torch.float32)
    k1 = torch.exp(-(r.view(1, -1) ** 2) / (2 * sigma.view(-1, 1) ** 2))
    k1 = k1 / k1.sum(1, keepdim=True)
    k2 = (k1.unsqueeze(2) * k1.unsqueeze(1)).unsqueeze(1)  # (N, 1, 5, 5)
    x = F.conv2d(x.view(1, n, 28, 28), k2, padding=2, groups=n).view(n, 1, 28, 28)
    # like canvas_to_mnist, the brightest ink pixel is 1
    peak = x.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
    return (x / peak).clamp_(0.0, 1.0)


def accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    return float((predict_proba(model, x).argmax(1) == y).mean())


def _shown(path: str) -> str:
    """``path`` as written in the saved metadata: relative to the repository's parent when inside it."""
    p = Path(path).resolve()
    try:
        return "../" + str(p.relative_to(REPO_ROOT.parent))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=str(DATA / "train-images-idx3-ubyte.gz"), help="IDX training images")
    ap.add_argument("--labels", default=str(DATA / "train-labels-idx1-ubyte.gz"), help="IDX training labels")
    ap.add_argument("--out", default=str(MODELS_DIR / "digits"), help="folder for model.safetensors")
    ap.add_argument("--val-size", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--widths", default="32,64,96")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a busy 2-core box)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N digits (smoke tests)")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    g = torch.Generator().manual_seed(args.seed)

    x, y = load_mnist(args.images, args.labels)
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    order = rng.permutation(len(x))
    val_idx, train_idx = order[: args.val_size], order[args.val_size :]
    xv, yv = x[val_idx], y[val_idx]
    xt = torch.from_numpy(x[train_idx]).unsqueeze(1)
    yt = torch.from_numpy(y[train_idx])
    print(f"train {len(xt)} digits, validation {len(xv)} (held out from {args.images})", flush=True)

    widths = tuple(int(w) for w in args.widths.split(","))
    model = DigitCNN(widths)  # type: ignore[arg-type]
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.995), use_buffers=True)
    steps_per_epoch = math.ceil(len(xt) / args.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.2
    )
    n_params = sum(p.numel() for p in model.parameters())
    print(f"DigitCNN{widths}: {n_params:,} parameters, {args.epochs} epochs x {steps_per_epoch} steps", flush=True)

    t0 = time.perf_counter()
    history = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(xt), generator=g)
        total = 0.0
        for i in range(0, len(xt), args.batch_size):
            idx = perm[i : i + args.batch_size]
            xb = augment(xt[idx], g)
            loss = F.cross_entropy(model(xb), yt[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            ema.update_parameters(model)
            total += loss.item() * len(idx)
        val = accuracy(model, xv, yv)
        val_ema = accuracy(ema.module, xv, yv)
        history.append({"epoch": epoch, "loss": total / len(xt), "val": val, "val_ema": val_ema})
        print(
            f"epoch {epoch:2d}  loss {total / len(xt):.4f}  val {val:.4f}  val(ema) {val_ema:.4f}"
            f"  {time.perf_counter() - t0:.0f}s",
            flush=True,
        )

    seconds = time.perf_counter() - t0
    val, val_ema = history[-1]["val"], history[-1]["val_ema"]
    use_ema = val_ema >= val
    final = ema.module if use_ema else model
    extra = {
        "trained_on": _shown(args.images),
        "train_digits": int(len(xt)),
        "val_digits": int(len(xv)),
        "val_accuracy": max(val, val_ema),
        "weights": "ema" if use_ema else "raw",
        "epochs": args.epochs,
        "seed": args.seed,
        "train_seconds": round(seconds, 1),
        "threads": args.threads,
        "parameters": n_params,
    }
    path = save_model(final.cpu(), Path(args.out), extra)
    (Path(args.out) / "training_log.json").write_text(json.dumps(history, indent=1) + "\n", encoding="utf-8")
    print(
        f"saved {path} ({path.stat().st_size / 1e6:.2f} MB, {'EMA' if use_ema else 'raw'} weights): "
        f"validation accuracy {max(val, val_ema):.4f}, trained in {seconds / 60:.1f} min",
        flush=True,
    )


if __name__ == "__main__":
    main()
