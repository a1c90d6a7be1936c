"""core.digits: MNIST-style canvas preprocessing invariants, the shipped CNN on real MNIST
*training* digits (the validation split held out by the training script), the API contract,
saliency and the IDX reader. The MNIST test set is never read here."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from core import digits
from core.digits import canvas_to_mnist, center_of_mass, classify_digits, naive_resize, occlusion_saliency
from core.digits.explain import positive_map, weights_map
from core.registry import REPO_ROOT
from ui.digits_examples import STROKES, example_image, rasterize

TRAIN = REPO_ROOT.parent / "shared" / "data" / "mnist-train-10k"
CENTRE = 13.5  # centre of a 28-pixel field, pixel centres at 0..27
MODEL_READY = (REPO_ROOT / "models" / "digits" / "model.safetensors").exists()
needs_model = pytest.mark.skipif(not MODEL_READY, reason="models/digits not trained")


def _bbox(img: np.ndarray, level: float = 0.0) -> tuple[int, int]:
    rows = np.flatnonzero((img > level).any(axis=1))
    cols = np.flatnonzero((img > level).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def _moved(strokes, dx: float, dy: float, scale: float = 1.0):
    return [[(140 + (x - 140) * scale + dx, 140 + (y - 140) * scale + dy) for x, y in s] for s in strokes]


# ---- preprocessing ---------------------------------------------------------------------


@pytest.mark.parametrize("n", range(10))
def test_output_is_mnist_like(n):
    img = canvas_to_mnist(example_image(n))
    assert img is not None and img.shape == (28, 28) and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() == pytest.approx(1.0)
    cy, cx = center_of_mass(img)
    assert abs(cy - CENTRE) <= 1.0 and abs(cx - CENTRE) <= 1.0
    assert max(_bbox(img)) == 20  # longer side exactly 20 pixels
    # white digit on black: most of the field is background
    assert (img == 0).mean() > 0.5


@pytest.mark.parametrize(("dx", "dy", "scale"), [(-70, -60, 0.4), (80, 70, 0.35), (0, 0, 1.3), (-30, 50, 0.6)])
def test_position_and_size_do_not_matter(dx, dy, scale):
    ref = canvas_to_mnist(example_image(5))
    img = canvas_to_mnist(rasterize(_moved(STROKES[5], dx, dy, scale), stroke_width=max(4, round(22 * scale))))
    assert img is not None
    cy, cx = center_of_mass(img)
    assert abs(cy - CENTRE) <= 1.0 and abs(cx - CENTRE) <= 1.0
    assert max(_bbox(img)) == 20
    assert np.abs(img - ref).mean() < 0.08  # the same picture up to resampling


def test_aspect_ratio_is_kept():
    img = canvas_to_mnist(example_image(1))  # tall and thin: height 20, width much less
    h, w = _bbox(img)
    assert h == 20 and w < 12
    wide = np.zeros((280, 280, 4), np.uint8)
    wide[130:150, 40:240, 3] = 255  # a horizontal bar 200 x 20
    h, w = _bbox(canvas_to_mnist(wide))
    assert w == 20 and h in (2, 3)


def test_blank_and_stray_pixels_give_none():
    blank = np.zeros((280, 280, 4), np.uint8)
    assert canvas_to_mnist(blank) is None
    assert naive_resize(blank) is None
    stray = blank.copy()
    stray[[10, 50, 200], [30, 120, 250], 3] = 255  # three stray taps
    stray[100:102, 100:102, 3] = 255
    assert canvas_to_mnist(stray) is None
    white = np.full((280, 280, 4), 255, np.uint8)
    assert canvas_to_mnist(white) is None


def test_stray_speck_does_not_move_the_digit():
    clean = example_image(7)
    speck = clean.copy()
    speck[5:8, 270:273, 3] = 255  # a small tap in the far corner
    a, b = canvas_to_mnist(clean), canvas_to_mnist(speck)
    assert np.abs(a - b).max() < 1e-6


def test_white_opaque_background_with_dark_ink_matches_transparent():
    rgba = example_image(2)
    alpha = rgba[..., 3:4].astype(np.float32) / 255
    opaque = np.empty_like(rgba)
    opaque[..., :3] = (255 * (1 - alpha) + 17 * alpha).astype(np.uint8)  # dark ink over white
    opaque[..., 3] = 255
    a, b = canvas_to_mnist(rgba), canvas_to_mnist(opaque)
    # the same picture (a one-pixel difference of the crop is allowed)
    assert np.abs(a - b).mean() < 0.01 and np.abs(a - b).max() < 0.15
    rgb_only = canvas_to_mnist(opaque[..., :3])  # an RGB image works too
    assert np.abs(a - rgb_only).mean() < 0.01
    grey = canvas_to_mnist(opaque[..., 0])  # and a grey one
    assert np.abs(a - grey).mean() < 0.01


@pytest.mark.parametrize("rgb", [(255, 0, 0), (0, 90, 255), (250, 220, 0)])
def test_coloured_ink(rgb):
    ref = canvas_to_mnist(example_image(4))
    transparent = rasterize(STROKES[4], 20, rgb=rgb)  # coloured ink, transparent background
    assert np.abs(canvas_to_mnist(transparent) - ref).max() < 1e-6
    alpha = transparent[..., 3:4].astype(np.float32) / 255
    on_white = np.empty_like(transparent)
    on_white[..., :3] = (255 * (1 - alpha) + np.array(rgb) * alpha).astype(np.uint8)
    on_white[..., 3] = 255
    assert np.abs(canvas_to_mnist(on_white) - ref).mean() < 0.02


def test_light_ink_on_dark_background():
    rgba = example_image(0)
    alpha = rgba[..., 3].astype(np.float32) / 255
    dark = np.zeros((280, 280, 3), np.uint8)
    dark[...] = (20 + 235 * alpha)[..., None].astype(np.uint8)
    assert np.abs(canvas_to_mnist(dark) - canvas_to_mnist(rgba)).mean() < 0.02


def test_bad_shapes_raise_value_error():
    with pytest.raises(ValueError):
        canvas_to_mnist(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ValueError):
        canvas_to_mnist(np.zeros((0, 0, 4), np.uint8))
    with pytest.raises(ValueError):
        classify_digits(np.zeros((3, 20, 20), np.float32)) if MODEL_READY else digits._as_batch(np.zeros((3, 20, 20)))


def test_naive_resize_keeps_the_whole_canvas():
    img = naive_resize(example_image(7))
    assert img.shape == (28, 28)
    # nothing cropped: the digit occupies only part of the field and the corners stay empty
    assert max(_bbox(img, 0.1)) < 26 and img[0, 0] == 0


def test_idx_reader_round_trip(tmp_path):
    x = (np.arange(2 * 28 * 28) % 256).astype(np.uint8).reshape(2, 28, 28)
    y = np.array([3, 7], np.uint8)
    for name, opener in (("plain", open), ("gz.gz", gzip.open)):
        xi, yi = tmp_path / f"x-{name}", tmp_path / f"y-{name}"
        with opener(xi, "wb") as f:
            f.write(struct.pack(">HBBIII", 0, 8, 3, 2, 28, 28) + x.tobytes())
        with opener(yi, "wb") as f:
            f.write(struct.pack(">HBBI", 0, 8, 1, 2) + y.tobytes())
        images, labels = digits.load_mnist(xi, yi)
        assert np.allclose(images * 255, x) and labels.tolist() == [3, 7]


# ---- the shipped model ---------------------------------------------------------------------


@needs_model
def test_classify_contract():
    probs = classify_digits(np.zeros((3, 28, 28), np.float32))
    assert probs.shape == (3, 10) and probs.dtype == np.float32
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert classify_digits(np.zeros((0, 28, 28), np.float32)).shape == (0, 10)


@needs_model
@pytest.mark.skipif(
    not (TRAIN / "train-images-idx3-ubyte.gz").exists(),
    reason="../shared/data (the MNIST training digits) is not beside the repo",
)
@pytest.mark.slow
def test_real_training_digits_through_a_simulated_canvas():
    """The 1,000 digits the training script held out for validation (never trained on),
    drawn onto 280x280 canvases and read back through canvas_to_mnist."""
    from training.eval_digits import simulate_canvas

    x, y = digits.load_mnist(TRAIN / "train-images-idx3-ubyte.gz", TRAIN / "train-labels-idx1-ubyte.gz")
    val = np.random.default_rng(0).permutation(len(x))[:1000][:400]  # same split as training.digits
    rng = np.random.default_rng(1)
    imgs = np.stack([canvas_to_mnist(simulate_canvas(x[i], rng)) for i in val])
    acc_canvas = float((classify_digits(imgs).argmax(1) == y[val]).mean())
    acc_plain = float((classify_digits(x[val]).argmax(1) == y[val]).mean())
    assert acc_plain >= 0.98, acc_plain
    assert acc_canvas >= 0.97, acc_canvas


@needs_model
def test_example_drawings_are_recognised():
    imgs = np.stack([canvas_to_mnist(example_image(n)) for n in range(10)])
    probs = classify_digits(imgs)
    assert probs.argmax(1).tolist() == list(range(10))


@needs_model
def test_scribble_is_low_confidence_not_an_error():
    rng = np.random.default_rng(0)
    pts = [(float(a), float(b)) for a, b in rng.uniform(10, 270, size=(40, 2))]
    img = canvas_to_mnist(rasterize([pts], 22))
    assert img is not None
    assert classify_digits(img[None])[0].max() < 0.9


@needs_model
def test_occlusion_saliency_marks_the_ink():
    img = canvas_to_mnist(example_image(7))
    heat = occlusion_saliency(img, 7)
    assert heat.shape == (28, 28) and heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    assert heat[img > 0.3].mean() > heat[img == 0].mean()  # the strokes matter more than the background


# ---- recognise: one drawing -> everything the page shows ------------------------------------


def test_recognise_a_blank_canvas_says_blank_without_the_model():
    blank = np.zeros((280, 280, 4), np.uint8)
    res = digits.recognise(blank)
    assert res.code == "blank" and res.blank and res.model == digits.model_key()
    assert res.image is None and res.probs is None and res.saliency is None and res.naive is None
    stray = blank.copy()
    stray[[10, 50, 200], [30, 120, 250], 3] = 255
    assert digits.recognise(stray).blank


@needs_model
@pytest.mark.parametrize("n", [1, 4, 7])
def test_recognise_a_drawn_digit(n):
    rgba = example_image(n)
    res = digits.recognise(rgba)
    assert res.code == "ok" and not res.blank
    assert np.array_equal(res.image, canvas_to_mnist(rgba))  # the very picture canvas_to_mnist makes
    assert np.allclose(res.probs, classify_digits(res.image[None])[0], atol=1e-5)
    assert res.digit == n and res.confidence == pytest.approx(float(res.probs.max()))
    assert res.runner_up != n and not res.unsure
    assert np.array_equal(res.saliency, positive_map(weights_map(res.attribution)))  # the explanation's map
    assert np.array_equal(res.naive, naive_resize(rgba))
    assert np.allclose(res.naive_probs, classify_digits(res.naive[None])[0], atol=1e-5)
    assert res.naive_digit == int(np.argmax(res.naive_probs))


@needs_model
def test_recognise_skips_what_is_not_asked_for():
    res = digits.recognise(example_image(3), saliency=False, compare=False)
    assert res.digit == 3 and res.saliency is None and res.naive is None and res.naive_probs is None
    assert res.naive_digit is None


@needs_model
def test_an_ambiguous_drawing_is_unsure():
    rng = np.random.default_rng(0)
    pts = [(float(a), float(b)) for a, b in rng.uniform(10, 270, size=(40, 2))]
    res = digits.recognise(rasterize([pts], 22))
    assert res.confidence < 0.9 and res.unsure == (res.confidence < digits.UNSURE_BELOW)


def test_model_facts_read_the_model_folder():
    facts = digits.model_facts()
    if MODEL_READY:
        assert 0.1 < facts.size_mb < 5
        assert facts.accuracy is None or 0.9 < facts.accuracy <= 1.0
    else:
        assert facts.size_mb == 0.0


def test_predict_proba_of_a_bare_model_keeps_input_order():
    import torch

    torch.manual_seed(0)
    model = digits.DigitCNN().eval()
    imgs = np.random.default_rng(0).random((7, 28, 28), dtype=np.float32)
    whole = digits.predict_proba(model, imgs)
    in_pieces = digits.predict_proba(model, imgs, batch_size=3)
    assert whole.shape == (7, 10) and np.allclose(whole, in_pieces, atol=1e-5)
    for i in (0, 6):
        assert np.allclose(digits.predict_proba(model, imgs[i]), whole[i], atol=1e-5)
