"""Reading digits with the CNN: ``classify_digits`` (28x28 pictures -> ten probabilities
each, through the cached loader and the shared inference skeleton) and ``recognise``
(one canvas drawing -> everything the digits page shows, in one forward pass)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import nn

from core.digits.model import model_key
from core.digits.preprocess import FIELD, canvas_to_mnist, naive_resize
from core.digits.saliency import occlusion_map, occlusion_variants
from core.explain import Attribution
from core.inference import run_batched

# A top probability under this is "not sure": the page names two candidates.
UNSURE_BELOW = 0.6


def _as_batch(images: np.ndarray) -> np.ndarray:
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (FIELD, FIELD):
        raise ValueError(f"expected (N, 28, 28) images, got shape {np.shape(images)}")
    return np.clip(np.nan_to_num(arr), 0.0, 1.0)


def _softmax(model: nn.Module, batch: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(batch).unsqueeze(1).to(next(model.parameters()).device)
    return torch.softmax(model(x).float(), dim=1)


def _probabilities(bundle: Any, arr: np.ndarray, batch_size: int) -> np.ndarray:
    if len(arr) == 0:
        return np.zeros((0, 10), dtype=np.float32)
    (probs,) = run_batched(bundle, [FIELD] * len(arr), lambda idx: arr[idx], _softmax, batch_size=batch_size)
    return probs


def predict_proba(model: nn.Module, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Probabilities from a bare model (training, evaluation): ``(N, 28, 28)`` [0, 1] ->
    ``(N, 10)`` float32."""
    return _probabilities(SimpleNamespace(model=model, lock=None), _as_batch(images), batch_size)


def classify_digits(images: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
    """``(N, 28, 28)`` float32 in [0, 1] -> ``(N, 10)`` probabilities (rows sum to 1).

    Uses the cached digit model (GPU when there is one), in batches, each forward under
    the model's lock. Raises ``ModelLoadError`` if the model is missing.
    """
    from core.loaders import load

    arr = _as_batch(images)
    if len(arr) == 0:
        return np.zeros((0, 10), dtype=np.float32)
    return _probabilities(load(model_key()), arr, batch_size)


def occlusion_saliency(image: np.ndarray, target: int, *, patch: int = 4, stride: int = 3) -> np.ndarray:
    """Which pixels decided the prediction ``target`` for one ``(28, 28)`` image: ``(28, 28)``
    float32 in [0, 1] (1 = most important), zero where blanking did not hurt (see
    :mod:`core.digits.saliency`)."""
    img = _as_batch(image)[0]
    variants, boxes = occlusion_variants(img, patch=patch, stride=stride)
    probs = classify_digits(np.stack([img, *variants]))[:, target]
    return occlusion_map(float(probs[0]), probs[1:], boxes, patch=patch)


@dataclass(frozen=True)
class DigitResult:
    """What the model makes of one drawing.

    ``code``: ``"ok"``, or ``"blank"`` when nothing (or only a few stray pixels) was drawn,
    and then every array is ``None``. ``image``: the ``(28, 28)`` picture the CNN reads
    (:func:`canvas_to_mnist`); ``probs``: its ten probabilities; ``attribution``: which
    pixels decided the predicted digit (:func:`core.digits.explain.explain_digit`: signed
    weights, the method, the per-drawing faithfulness; ``None`` when not asked for);
    ``saliency``: the same map's positive part scaled to [0, 1] (``(28, 28)`` float32, 1 =
    most important; kept for the API); ``naive`` and ``naive_probs``: the whole canvas
    squashed to 28x28 without MNIST preprocessing, and what the model makes of that
    (``None`` when not asked for).
    """

    code: str
    model: str
    image: np.ndarray | None = None
    probs: np.ndarray | None = None
    saliency: np.ndarray | None = None
    naive: np.ndarray | None = None
    naive_probs: np.ndarray | None = None
    attribution: Attribution | None = None

    @property
    def blank(self) -> bool:
        return self.code == "blank"

    def _ranked(self) -> np.ndarray:
        if self.probs is None:
            raise ValueError("a blank drawing has no prediction")
        return np.argsort(self.probs)[::-1]

    @property
    def digit(self) -> int:
        """The predicted digit."""
        return int(self._ranked()[0])

    @property
    def runner_up(self) -> int:
        """The second most likely digit."""
        return int(self._ranked()[1])

    @property
    def confidence(self) -> float:
        """Probability of the predicted digit."""
        return float(self.probs[self.digit]) if self.probs is not None else 0.0

    @property
    def unsure(self) -> bool:
        """The model is not sure (top probability under ``UNSURE_BELOW``)."""
        return self.confidence < UNSURE_BELOW

    @property
    def naive_digit(self) -> int | None:
        return None if self.naive_probs is None else int(np.argmax(self.naive_probs))


def recognise(rgba: np.ndarray, *, saliency: bool = True, compare: bool = True, method: str = "auto") -> DigitResult:
    """Read one canvas drawing (``(H, W, 4)`` RGBA, or RGB / grey; see
    :func:`canvas_to_mnist`): the 28x28 picture, the ten probabilities and, when asked,
    the explanation of the predicted digit by ``method`` (a code of
    :data:`core.digits.explain.DIGIT_METHODS`, ``"auto"``: the benchmark's default) and the
    no-preprocessing comparison. The picture and the comparison go through the model in
    one batch. A blank canvas gives ``code="blank"`` without touching the model; an
    unknown ``method`` raises :class:`core.explain.ExplainError` before any work."""
    from core.digits.explain import explain_digit, positive_map, resolve_method, weights_map

    if saliency:
        resolve_method(method)
    key = model_key()
    image = canvas_to_mnist(rgba)
    if image is None:
        return DigitResult("blank", key)
    naive = naive_resize(rgba) if compare else None
    extra = [] if naive is None else [naive]
    probs = classify_digits(np.stack([image, *extra]))
    first = probs[0]
    att = heat = None
    if saliency:
        att = explain_digit(image, target=int(np.argmax(first)), method=method)
        heat = positive_map(weights_map(att))
    return DigitResult(
        "ok",
        key,
        image=image,
        probs=first,
        saliency=heat,
        naive=naive,
        naive_probs=probs[1] if extra else None,
        attribution=att,
    )
