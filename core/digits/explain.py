"""Which pixels decided a digit: Captum attributions over the 28x28 picture, with their
faithfulness measured on that very picture.

:func:`explain_digit` returns a :class:`core.explain.Attribution` (``pieces=()``,
``weights`` the ``(28, 28)`` map row-major, ``shape=(28, 28)``). The explained quantity is
the **softmax probability** of the target digit (``scale="probability"``): a weight is the
share of that probability a pixel carries, positive for the digit, negative against it.

Methods (codes of :data:`DIGIT_METHODS`, Captum 0.9):

- ``occlusion``: Captum ``Occlusion``, a 4x4 square every 3 px blanked (set to 0) in turn,
  like the hand-written map of :mod:`core.digits.saliency`; each pixel gets the mean fall of
  the probability over the squares covering it. Its forwards go through
  :func:`core.digits.classify_digits` (the shared batched skeleton, one batch);
- ``integrated-gradients``: Captum ``IntegratedGradients`` from a blank (all-zero) picture,
  :data:`IG_STEPS` Gauss-Legendre steps (:data:`IG_STEPS_FINE` when the completeness error
  is over :data:`IG_RETRY_ABOVE`); ``completeness_error`` is Captum's convergence delta
  relative to ``p(image) - p(blank)``;
- ``gradient-x-input``: Captum ``InputXGradient`` (one forward and one backward).

The gradient methods need the torch module itself (``load(model_key()).model``); they run
under the model's lock with gradients on. Faithfulness (:func:`deletion_drops`): the
probability's fall when the top :data:`core.explain.TOP_FRACTION` of the **ink** pixels
(pixels > 0), ranked by weight, are set to 0 (``drop``), and the same for random ink pixels
(``random_drop``, mean of :data:`RANDOM_DRAWS` fixed-seed draws). ``bench/explain_digits.py``
measures every method over 500 validation digits; :data:`DEFAULT_METHOD` follows it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from core.digits.inference import _as_batch, classify_digits
from core.digits.preprocess import FIELD
from core.explain import TOP_FRACTION, Attribution, ExplainError

DIGIT_METHODS = ("occlusion", "integrated-gradients", "gradient-x-input")

# The default of the page, the API and ``method="auto"``, chosen by ``bench/explain_digits.py``
# (500 validation digits, table in models/digits/MODEL_CARD.md "Explanations"): faithful first,
# then fast. Deletion AOPC (mean probability fall over deleting the top 10-50 % of the ink;
# random order 0.386): occlusion 0.685, integrated gradients 0.639, gradient x input 0.529;
# top 20 % deleted: 0.653 / 0.591 / 0.487 (random 0.293); p50 105 / 150 / 20 ms on a busy
# 2-core CPU. Occlusion is the most faithful at every fraction and fast enough for every stroke.
DEFAULT_METHOD = "occlusion"

PATCH, STRIDE = 4, 3  # occlusion square and step, as in core.digits.saliency
IG_STEPS = 64  # completeness error p50 0.9 %, p95 3.2 % at 64 steps on the validation digits ...
IG_RETRY_ABOVE, IG_STEPS_FINE = 0.05, 256  # ... the few above 5 % (max 20 %) redone: max 4.7 %
RANDOM_DRAWS = 5  # random deletions averaged for ``random_drop``
SEED = 0

Weights = np.ndarray  # (28, 28) float32, signed


def resolve_method(method: str) -> str:
    """``method`` as a code of :data:`DIGIT_METHODS` (``"auto"`` -> :data:`DEFAULT_METHOD`);
    :class:`ExplainError` ``unknown-method`` for anything else."""
    code = DEFAULT_METHOD if method == "auto" else method
    if code not in DIGIT_METHODS:
        raise ExplainError("unknown-method", f"{method!r}: digits are explained by {', '.join(DIGIT_METHODS)}")
    return code


# ---- the attributions ---------------------------------------------------------------------


def _occlusion(img: np.ndarray, target: int) -> tuple[Weights, float | None]:
    """Captum ``Occlusion`` over ``img`` (28, 28); forwards through :func:`classify_digits`."""
    import torch
    from captum.attr import Occlusion

    def forward(x: torch.Tensor) -> torch.Tensor:  # (N, 1, 28, 28) -> (N, 10) probabilities
        return torch.from_numpy(classify_digits(x[:, 0].detach().cpu().numpy()))

    x = torch.from_numpy(img)[None, None]
    n_windows = (math.ceil((FIELD - PATCH) / STRIDE) + 1) ** 2
    att = Occlusion(forward).attribute(
        x,
        sliding_window_shapes=(1, PATCH, PATCH),
        strides=(1, STRIDE, STRIDE),
        baselines=0.0,
        target=target,
        perturbations_per_eval=n_windows,
    )
    return att[0, 0].numpy().astype(np.float32), None


def _with_module(fn: Callable[[Any, Any], tuple[Weights, float | None]]) -> tuple[Weights, float | None]:
    """Run ``fn(probability_function, device)`` on the cached digit model, under its lock,
    with gradients on; the function maps ``(N, 1, 28, 28)`` -> ``(N, 10)`` probabilities."""
    import contextlib

    import torch

    from core.digits.model import model_key
    from core.loaders import load

    bundle = load(model_key())
    model = bundle.model
    device = next(model.parameters()).device

    def probabilities(x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(model(x).float(), dim=1)

    lock = getattr(bundle, "lock", None)
    with lock if lock is not None else contextlib.nullcontext(), torch.enable_grad():
        return fn(probabilities, device)


def integrated_gradients(
    forward: Callable[[Any], Any], img: np.ndarray, target: int, device: Any = "cpu", steps: int = IG_STEPS
) -> tuple[Weights, float]:
    """Captum ``IntegratedGradients`` of ``forward`` ((N, 1, 28, 28) -> (N, 10)) at ``img``
    (28, 28) from the all-zero picture: the ``(28, 28)`` weights and the completeness error
    ``|sum(weights) - (f(img) - f(0))| / max(|f(img) - f(0)|, 1e-6)``."""
    import torch
    from captum.attr import IntegratedGradients

    x = torch.from_numpy(img)[None, None].to(device).requires_grad_()
    att, delta = IntegratedGradients(forward).attribute(
        x,
        baselines=torch.zeros_like(x),
        target=target,
        n_steps=steps,
        internal_batch_size=steps,
        return_convergence_delta=True,
    )
    att, delta = att.detach(), float(delta.detach().sum())
    gap = float(att.sum()) - delta  # f(img) - f(baseline)
    return att[0, 0].cpu().numpy().astype(np.float32), abs(delta) / max(abs(gap), 1e-6)


def gradient_x_input(forward: Callable[[Any], Any], img: np.ndarray, target: int, device: Any = "cpu") -> Weights:
    """Captum ``InputXGradient`` of ``forward`` ((N, 1, 28, 28) -> (N, 10)) at ``img`` (28, 28)."""
    import torch
    from captum.attr import InputXGradient

    x = torch.from_numpy(img)[None, None].to(device).requires_grad_()
    att = InputXGradient(forward).attribute(x, target=target)
    return att[0, 0].detach().cpu().numpy().astype(np.float32)


def attribute(img: np.ndarray, target: int, method: str) -> tuple[Weights, float | None]:
    """The ``(28, 28)`` signed weights of ``method`` (a code of :data:`DIGIT_METHODS`) for
    digit ``target`` of ``img`` (28, 28) [0, 1], and the completeness error (IG only)."""
    if method == "occlusion":
        return _occlusion(img, target)
    if method == "integrated-gradients":

        def ig(f: Callable[[Any], Any], dev: Any) -> tuple[Weights, float | None]:
            weights, err = integrated_gradients(f, img, target, dev)
            if err > IG_RETRY_ABOVE:  # a sharp bend of the softmax between two steps: a finer path
                weights, err = integrated_gradients(f, img, target, dev, steps=IG_STEPS_FINE)
            return weights, err

        return _with_module(ig)
    if method == "gradient-x-input":
        return _with_module(lambda f, dev: (gradient_x_input(f, img, target, dev), None))
    raise ExplainError("unknown-method", repr(method))


# ---- faithfulness: deleting ink pixels ----------------------------------------------------


def ink_order(img: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Flat indices of the ink pixels of ``img`` (28, 28) (value > 0), the highest weight
    first (ties: row-major order)."""
    ink = np.flatnonzero(np.asarray(img).ravel() > 0)
    w = np.asarray(weights, dtype=np.float64).ravel()[ink]
    return ink[np.argsort(-w, kind="stable")]


def random_orders(img: np.ndarray, draws: int = RANDOM_DRAWS, seed: int = SEED) -> list[np.ndarray]:
    """``draws`` random orders of the ink pixels of ``img`` (fixed seed)."""
    ink = np.flatnonzero(np.asarray(img).ravel() > 0)
    rng = np.random.default_rng(seed)
    return [rng.permutation(ink) for _ in range(draws)]


def n_deleted(n_ink: int, fraction: float) -> int:
    """How many of ``n_ink`` ink pixels a deletion of ``fraction`` removes (at least one)."""
    return min(n_ink, max(1, math.ceil(fraction * n_ink - 1e-9)))


def deletion_drops(
    img: np.ndarray, target: int, orders: Sequence[np.ndarray], fractions: Sequence[float]
) -> tuple[float, np.ndarray]:
    """The target's probability for ``img`` (28, 28), and its fall when the first
    ``fraction`` of each order's pixels are set to 0: ``(len(orders), len(fractions))``
    float32 (positive = the probability fell). One batch through :func:`classify_digits`."""
    flat = np.asarray(img, dtype=np.float32).ravel()
    copies = [flat.reshape(FIELD, FIELD)]
    for order in orders:
        for f in fractions:
            v = flat.copy()
            v[order[: n_deleted(len(order), f)]] = 0.0
            copies.append(v.reshape(FIELD, FIELD))
    p = classify_digits(np.stack(copies))[:, target]
    return float(p[0]), (p[0] - p[1:]).reshape(len(orders), len(fractions)).astype(np.float32)


def positive_map(weights: np.ndarray) -> np.ndarray:
    """The ``(28, 28)`` float32 map in [0, 1] of what pushed towards the digit (negative
    weights at 0, the largest at 1): the page's former ``saliency`` array."""
    w = np.clip(np.asarray(weights, dtype=np.float32).reshape(FIELD, FIELD), 0.0, None)
    top = float(w.max())
    return w / top if top > 0 else w


# ---- the one entry point ------------------------------------------------------------------


def explain_digit(image: np.ndarray, *, target: int | None = None, method: str = "auto") -> Attribution:
    """Which pixels of ``image`` ((28, 28) float in [0, 1], as the model receives it) decided
    the probability of digit ``target`` (default: the predicted digit), by ``method`` (a code
    of :data:`DIGIT_METHODS` or ``"auto"``), with ``drop`` / ``random_drop`` measured on this
    image. A picture without ink gives zero weights and the note ``empty`` (nothing to
    explain, no faithfulness). Raises :class:`ExplainError` ``unknown-method`` and
    ``ValueError`` for a picture that is not (28, 28)."""
    code = resolve_method(method)
    img = _as_batch(image)[0]
    if target is not None and not (isinstance(target, int | np.integer) and 0 <= int(target) <= 9):
        raise ExplainError("unknown-target", f"a digit 0-9, got {target!r}")
    t0 = time.perf_counter()
    tgt = int(np.argmax(classify_digits(img[None])[0])) if target is None else int(target)
    if not (img > 0).any():
        zeros = (0.0,) * (FIELD * FIELD)
        return Attribution(
            (), zeros, code, str(tgt), scale="probability", notes=("empty",), seconds=0.0, shape=(FIELD, FIELD)
        )
    weights, completeness = attribute(img, tgt, code)
    _, drops = deletion_drops(img, tgt, [ink_order(img, weights), *random_orders(img)], [TOP_FRACTION])
    return Attribution(
        pieces=(),
        weights=tuple(float(v) for v in weights.ravel()),
        method=code,
        target=str(tgt),
        scale="probability",
        completeness_error=completeness,
        drop=float(drops[0, 0]),
        random_drop=float(drops[1:, 0].mean()),
        seconds=time.perf_counter() - t0,
        shape=(FIELD, FIELD),
    )


def weights_map(att: Attribution) -> np.ndarray:
    """``att.weights`` as a ``(28, 28)`` float32 array."""
    return np.asarray(att.weights, dtype=np.float32).reshape(att.shape or (FIELD, FIELD))


__all__ = [
    "DEFAULT_METHOD",
    "DIGIT_METHODS",
    "IG_STEPS",
    "attribute",
    "deletion_drops",
    "explain_digit",
    "gradient_x_input",
    "ink_order",
    "integrated_gradients",
    "positive_map",
    "random_orders",
    "resolve_method",
    "weights_map",
]
