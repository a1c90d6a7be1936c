"""MNIST's IDX files: the reader the training and evaluation scripts use."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from core.digits.preprocess import FIELD


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
