"""Handwritten digits: canvas preprocessing exactly like MNIST, our CNN, and reading a drawing.

Pipeline: :func:`canvas_to_mnist` (a canvas RGBA image -> the 28x28 picture MNIST would
have made of it) -> :func:`classify_digits` (a batch of 28x28 pictures -> ten
probabilities each, through the cached loader) and :func:`recognise` (one drawing ->
a :class:`DigitResult` with the picture, the probabilities, the occlusion saliency and
the no-preprocessing comparison: what the digits page shows). Everything works in a
plain Python process.

Modules: :mod:`~core.digits.preprocess` (numpy only), :mod:`~core.digits.model` (the
CNN, its files, the registry builder), :mod:`~core.digits.inference`,
:mod:`~core.digits.saliency`, :mod:`~core.digits.idx` (MNIST's file format).
"""

from core.digits.idx import load_mnist, read_idx
from core.digits.inference import (
    UNSURE_BELOW,
    DigitResult,
    _as_batch,
    classify_digits,
    occlusion_saliency,
    predict_proba,
    recognise,
)
from core.digits.model import (
    CONFIG_FILE,
    MNIST_MEAN,
    MNIST_STD,
    WEIGHTS_FILE,
    DigitCNN,
    ModelFacts,
    build_model,
    load_model,
    model_facts,
    model_key,
    save_model,
)
from core.digits.preprocess import (
    BOX,
    FIELD,
    INK_LEVEL,
    MIN_INK_PIXELS,
    MIN_INK_SHARE,
    canvas_to_mnist,
    center_of_mass,
    ink_map,
    naive_resize,
    place_by_mass,
)

__all__ = [
    "BOX",
    "CONFIG_FILE",
    "FIELD",
    "INK_LEVEL",
    "MIN_INK_PIXELS",
    "MIN_INK_SHARE",
    "MNIST_MEAN",
    "MNIST_STD",
    "UNSURE_BELOW",
    "WEIGHTS_FILE",
    "DigitCNN",
    "DigitResult",
    "ModelFacts",
    "build_model",
    "canvas_to_mnist",
    "center_of_mass",
    "classify_digits",
    "ink_map",
    "load_mnist",
    "load_model",
    "model_facts",
    "model_key",
    "naive_resize",
    "occlusion_saliency",
    "place_by_mass",
    "predict_proba",
    "read_idx",
    "recognise",
    "save_model",
    "_as_batch",
]
