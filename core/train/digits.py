"""Live training on digits: the MLP of article 001 and the CNN of article 000.

Data: the bundled 10,000 MNIST training digits (``<data>/mnist-train-10k``), split once with
a fixed seed into 9,000 for training (``n_train`` takes the first ones of a fixed shuffle,
so a bigger slider value only adds digits) and 1,000 for validation (the curves, the
mistakes); the final score is on the official MNIST test set (``<data>/mnist-test``), read
only at the end of a job. Inputs are what the shipped CNN receives: 28x28 float 0..1.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.train import TrainError, TrainSpec
from core.train.loop import Data, Outcome, Reporter, fit

LABELS = tuple(str(d) for d in range(10))
N_VAL = 1_000
N_TRAIN_MAX = 9_000
SPLIT_SEED = 0
MLP_DROPOUT = 0.2
SHIPPED_TEST_ACCURACY = 0.9949  # models/digits/eval.json accuracy_plain (the official test set)


def _files(data_dir: Path) -> tuple[Path, Path, Path, Path]:
    tr, te = data_dir / "mnist-train-10k", data_dir / "mnist-test"
    return (
        tr / "train-images-idx3-ubyte.gz",
        tr / "train-labels-idx1-ubyte.gz",
        te / "t10k-images-idx3-ubyte.gz",
        te / "t10k-labels-idx1-ubyte.gz",
    )


def load(data_dir: Path, n_train: int) -> Data:
    """The split (raises ``TrainError("no-data")`` when the bundled digits are missing)."""
    from core.digits.idx import load_mnist

    files = _files(Path(data_dir))
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise TrainError("no-data", f"the bundled MNIST files are missing: {', '.join(missing)}")
    try:
        x, y = load_mnist(files[0], files[1])
        xt, yt = load_mnist(files[2], files[3])
    except (OSError, ValueError) as exc:
        raise TrainError("no-data", f"cannot read the bundled MNIST files: {exc}") from None
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    val, train = order[:N_VAL], order[N_VAL:]
    train = train[: max(1, min(n_train, len(train)))]
    xv = x[val]
    return Data(
        x_train=torch.from_numpy(x[train]).unsqueeze(1),
        y_train=torch.from_numpy(y[train]),
        x_val=torch.from_numpy(xv).unsqueeze(1),
        y_val=torch.from_numpy(y[val]),
        x_test=torch.from_numpy(xt).unsqueeze(1),
        y_test=torch.from_numpy(yt),
        labels=LABELS,
        show=lambda i: {"image": xv[i]},
    )


class MLP(nn.Module):
    """Article 001: 784 -> (width, ReLU, dropout) x depth -> 10."""

    def __init__(self, width: int, depth: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        n_in = 28 * 28
        for _ in range(depth):
            layers += [nn.Linear(n_in, width), nn.ReLU(), nn.Dropout(MLP_DROPOUT)]
            n_in = width
        layers.append(nn.Linear(n_in, 10))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CNN(nn.Module):
    """Article 000: ``depth`` blocks of (3x3 convolution, batch norm, ReLU, 2x2 max-pooling),
    the first with ``width`` filters, each next one twice as many; then dense 128 -> 10."""

    def __init__(self, width: int, depth: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, side = 1, 28
        for i in range(depth):
            c = width * 2**i
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
            c_in, side = c, side // 2
        layers += [nn.Flatten(), nn.Linear(c_in * side * side, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def shift_augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Light augmentation for the CNN: per-digit shifts of up to 2 pixels, rotations of up to
    8 degrees and scales of 0.9..1.1 (bilinear)."""
    n = x.shape[0]

    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=g)

    ang = u(-8, 8) * math.pi / 180
    s = 1 / u(0.9, 1.1)
    cos, sin = torch.cos(ang) * s, torch.sin(ang) * s
    tx, ty = u(-2, 2) / 14, u(-2, 2) / 14
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def build(spec: TrainSpec) -> nn.Module:
    if spec.preset == "cnn":
        return CNN(spec.width, spec.depth)
    return MLP(spec.width, spec.depth)


def train(spec: TrainSpec, rep: Reporter, data_dir: Path) -> tuple[Outcome, nn.Module, dict[str, Any]]:
    """Train ``spec`` (child side) -> the outcome, the model, and what rebuilds it."""
    data = load(data_dir, spec.n_train)
    model = build(spec)
    if spec.preset == "cnn":
        data.augment = shift_augment
    out = fit(model, data, spec, rep, schedule=True)
    return out, model, {"kind": "digits"}


class TrainedDigits:
    """A finished digits model in the server's memory: ``predict((N, 28, 28) 0..1) -> (N, 10)``."""

    labels = LABELS

    def __init__(self, spec: TrainSpec, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.spec = spec
        self.meta = meta
        self.model = build(spec)
        self.model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        self.model.eval()

    def predict(self, inputs: Any) -> np.ndarray:
        x = torch.as_tensor(np.asarray(inputs, dtype=np.float32))
        if x.ndim == 2:
            x = x.unsqueeze(0)
        if x.shape[-2:] != (28, 28):
            raise ValueError(f"expected (N, 28, 28) images, got {tuple(x.shape)}")
        with torch.no_grad():
            return torch.softmax(self.model(x.reshape(-1, 1, 28, 28)), 1).numpy()
