"""Digit explanations (:mod:`core.digits.explain`): Captum's methods on a linear model where the
answer is known, the completeness of integrated gradients on the real CNN, pixel-deletion
faithfulness on held-out validation digits (never the MNIST test set), the blank picture,
unknown methods, and what ``recognise`` carries (and sends over the wire)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core import wire
from core.digits import canvas_to_mnist, load_mnist, recognise
from core.digits.explain import (
    DEFAULT_METHOD,
    DIGIT_METHODS,
    explain_digit,
    gradient_x_input,
    integrated_gradients,
    positive_map,
    resolve_method,
    weights_map,
)
from core.explain import METHODS, Attribution, ExplainError
from core.registry import REPO_ROOT
from ui.digits_examples import example_image

MODEL_READY = (REPO_ROOT / "models" / "digits" / "model.safetensors").exists()
needs_model = pytest.mark.skipif(not MODEL_READY, reason="models/digits not trained")
TRAIN = REPO_ROOT.parent / "shared" / "data" / "mnist-train-10k"


def validation_digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` of the 1,000 digits ``training/digits.py`` held out for validation
    (seed 0 permutation of mnist-train-10k): the model never trained on them."""
    if not (TRAIN / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("../shared/data/mnist-train-10k is not here")
    x, y = load_mnist(TRAIN / "train-images-idx3-ubyte.gz", TRAIN / "train-labels-idx1-ubyte.gz")
    val = np.random.default_rng(0).permutation(len(x))[:1000][:n]
    return x[val], y[val]


# ---- on a linear model the answer is known -------------------------------------------------


def test_integrated_gradients_equals_gradient_x_input_on_a_linear_model():
    torch.manual_seed(0)
    lin = torch.nn.Linear(784, 10)

    def forward(x: torch.Tensor) -> torch.Tensor:  # (N, 1, 28, 28) -> (N, 10)
        return lin(x.flatten(1))

    img = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    for target in (0, 3, 9):
        ig, err = integrated_gradients(forward, img, target, steps=16)
        gxi = gradient_x_input(forward, img, target)
        expected = img * lin.weight[target].detach().numpy().reshape(28, 28)
        assert np.allclose(ig, gxi, atol=1e-5)  # from a zero baseline, the path integral of a constant gradient
        assert np.allclose(gxi, expected, atol=1e-6)
        assert err < 1e-4  # the weights add up to f(x) - f(0)


def test_unknown_methods_are_refused():
    assert set(DIGIT_METHODS) <= set(METHODS) and DEFAULT_METHOD in DIGIT_METHODS
    assert resolve_method("auto") == DEFAULT_METHOD
    for bad in ("shapley", "saliency", "", "OCCLUSION"):
        with pytest.raises(ExplainError) as e:
            resolve_method(bad)
        assert e.value.code == "unknown-method"


@needs_model
def test_unknown_method_and_target_raise_explain_errors():
    img = canvas_to_mnist(example_image(7))
    with pytest.raises(ExplainError) as e:
        explain_digit(img, method="lime")
    assert e.value.code == "unknown-method"
    with pytest.raises(ExplainError) as e:
        explain_digit(img, target=10)
    assert e.value.code == "unknown-target"
    with pytest.raises(ExplainError):
        recognise(example_image(7), method="lime")


@needs_model
def test_a_blank_picture_gets_zero_weights_and_a_note():
    att = explain_digit(np.zeros((28, 28), np.float32), method="integrated-gradients")
    assert att.notes == ("empty",) and att.shape == (28, 28) and len(att.weights) == 784
    assert not any(att.weights) and att.drop is None and att.faithful is None
    assert recognise(np.zeros((280, 280, 4), np.uint8)).attribution is None  # the page's blank canvas


# ---- the real CNN ------------------------------------------------------------------------------


@needs_model
@pytest.mark.parametrize("method", DIGIT_METHODS)
def test_an_explanation_of_a_drawn_seven(method):
    img = canvas_to_mnist(example_image(7))
    att = explain_digit(img, method=method)
    assert isinstance(att, Attribution) and att.method == method and att.target == "7"
    assert att.scale == "probability" and att.pieces == () and att.shape == (28, 28)
    w = weights_map(att)
    assert w.shape == (28, 28) and np.isfinite(w).all()
    assert np.abs(w[img > 0.3]).mean() > np.abs(w[img == 0]).mean()  # the strokes, not the background
    assert att.drop is not None and att.random_drop is not None and att.faithful
    assert (att.completeness_error is not None) == (method == "integrated-gradients")
    assert att.seconds > 0


@needs_model
@pytest.mark.parametrize("n", [1, 3, 8])
def test_integrated_gradients_is_complete_on_the_cnn(n):
    att = explain_digit(canvas_to_mnist(example_image(n)), method="integrated-gradients")
    assert att.completeness_error is not None and att.completeness_error < 0.05


@needs_model
@pytest.mark.slow
@pytest.mark.parametrize("method", DIGIT_METHODS)
def test_deleting_the_top_pixels_hurts_more_than_random_ones(method):
    x, _ = validation_digits(20)
    drops = np.array([(a.drop, a.random_drop) for a in (explain_digit(img, method=method) for img in x)])
    assert drops[:, 0].mean() > drops[:, 1].mean() + 0.1
    assert (drops[:, 0] > drops[:, 1]).mean() >= 0.75


@needs_model
def test_recognise_carries_the_attribution_and_it_survives_the_wire():
    res = recognise(example_image(4), compare=False, method="gradient-x-input")
    att = res.attribution
    assert att is not None and att.method == "gradient-x-input" and att.target == str(res.digit)
    assert np.array_equal(res.saliency, positive_map(weights_map(att)))
    assert res.saliency.max() == pytest.approx(1.0) and res.saliency.min() >= 0
    assert recognise(example_image(4), compare=False).attribution.method == DEFAULT_METHOD
    assert recognise(example_image(4), saliency=False).attribution is None
    back = wire.decode(wire.encode(res))
    assert back.attribution == att and np.array_equal(back.saliency, res.saliency)
