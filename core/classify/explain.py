"""Why: which words pushed a sentiment prediction (:mod:`core.explain`: Captum attributions
over words, Chinese over jieba words), and the one-text result the page shows (prediction,
explanation, which model answered and why).

Explanations are of the served model: where it is OpenVINO int8 (``core.openvino``), the
prediction, the perturbed texts of occlusion and Shapley and the faithfulness check all run on
it (3-4x faster than PyTorch here, which is what brings a 60-word Chinese review under 1 s), and
integrated gradients on the model's PyTorch copy (:func:`explaining_bundle`: gradients need
PyTorch).

The default method per language (:data:`DEFAULT_METHOD`) is the most faithful one within the
time budget on ``bench/explain.py``'s held-out reviews (figures in the README and the cards)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from core import loaders
from core.classify.labels import label_names
from core.classify.sentiment import Prediction, forward, max_length, reads, route, to_predictions
from core.explain import Attribution, ExplainError
from core.explain import text as explain_text
from core.text import detect_language

MAX_CHARS = 5_000  # a longer text is refused for explaining (the classifier reads far less anyway)
# The methods by faithfulness (deletion AOPC on 200 held-out reviews per language, perturbations
# on the served OpenVINO int8 models, bench/explain.py, 2026-12-07; the README's table): English
# Shapley 54.7, occlusion 48.5, integrated gradients 48.0; Chinese Shapley 45.1, occlusion 43.7,
# integrated gradients 24.4 (random order 8.0 / 6.5). "auto" takes the first estimated to fit
# AUTO_SECONDS, else the fastest: faithful first, then fast. Quiet 60-word reviews: English
# Shapley 0.73 s (the default), Chinese occlusion 0.64 s (Shapley 1.87 s is over the budget; it
# is taken for Chinese texts up to about 35 words, English up to about 70).
RANKING = {
    "en": ("shapley", "occlusion", "integrated-gradients"),
    "zh": ("shapley", "occlusion", "integrated-gradients"),
}
DEFAULT_METHOD = {lang: ranked[0] for lang, ranked in RANKING.items()}
# "auto" takes the most faithful method estimated (core.explain.text.estimate_seconds) to take
# at most this long on this 2-core CPU: the budget for a 60-word review.
AUTO_SECONDS = 1.0


def default_method(lang: str) -> str:
    return DEFAULT_METHOD.get(lang, DEFAULT_METHOD["en"])


def auto_method(lang: str, target: explain_text.TextTarget) -> str:
    """The most faithful method for ``lang`` estimated to fit :data:`AUTO_SECONDS` on
    ``target``, else the fastest: faithful first, then fast."""
    ranked = RANKING.get(lang, RANKING["en"])
    for method in ranked:
        if explain_text.estimate_seconds(method, target) <= AUTO_SECONDS:
            return method
    return min(ranked, key=lambda m: explain_text.estimate_seconds(m, target))


@dataclass(frozen=True)
class Explanation:
    """A prediction and its :class:`core.explain.Attribution` (``pieces`` cover the whole
    text, spaces included; ``weights``: how much each word pushed the predicted label's
    log-odds: positive towards it, negative against it, 0 for spaces)."""

    prediction: Prediction
    attribution: Attribution

    @property
    def pieces(self) -> list[str]:
        return list(self.attribution.pieces)

    @property
    def weights(self) -> list[float]:
        return list(self.attribution.weights)

    @property
    def method(self) -> str:
        return self.attribution.method


def explaining_bundle(bundle: loaders.ModelBundle) -> loaders.ModelBundle:
    """The PyTorch model integrated gradients of ``bundle``'s predictions run on (and whose
    tokenizer finds the words): ``bundle`` itself, unless it is served by OpenVINO; then the
    model's PyTorch copy (the attention viewer's, ``loaders.load(key, attention=True)``: loaded
    once, on the first explanation)."""
    if bundle.meta.get("runtime") != "openvino":
        return bundle
    return loaders.load(bundle.key, attention=True)


def _explain(bundle: loaders.ModelBundle, text: str, probs, method: str) -> Explanation:
    """The explanation of ``text`` whose class probabilities (by ``bundle``) are ``probs``,
    by ``method`` (``auto``: :func:`default_method` of the text's language), on
    ``bundle`` (integrated gradients on :func:`explaining_bundle`); weights for ``bundle``'s label."""
    lang = detect_language(text)
    pred = to_predictions(bundle, [text], probs[None], [lang])[0]
    if len(text) > MAX_CHARS:
        raise ExplainError("too-long", str(MAX_CHARS))
    names = label_names(dict(bundle.meta.get("id2label") or {}))
    cls = [j for j, n in enumerate(names) if n == pred.label]
    target = explain_text.target_for(bundle, text, cls, torch_bundle=lambda: explaining_bundle(bundle))
    chosen = auto_method(lang, target) if method == "auto" else method
    base = float(probs[cls].sum())  # the label's probability by the served model
    return Explanation(pred, explain_text.explain_text(target, chosen, base, pred.label))


def explain(text: str, *, model: str | None = None, method: str = "auto") -> Explanation:
    """Why :func:`classify` labels one text as it does: an attribution of the predicted label
    over the text's words by ``method`` (one of :data:`core.explain.text.TEXT_METHODS`, or
    ``auto``). Raises :class:`core.explain.ExplainError` (``empty``, ``too-long``,
    ``too-slow``, ``unknown-method``, ``no-units``)."""
    text = str(text)
    if not text.strip():
        raise ExplainError("empty")
    key = model or next(iter(route([text])))
    bundle = loaders.load(key)
    return _explain(bundle, text, forward(bundle, [text])[0], method)


@dataclass(frozen=True)
class SentimentResult:
    """One text's sentiment with its explanation, and how the model was chosen.

    ``explanation`` is the :class:`core.explain.Attribution` of the predicted label, or
    ``None`` with ``explain_error`` the :class:`core.explain.ExplainError` code when the
    text cannot be explained (``too-long``, ``too-slow``, ``no-units``): the prediction
    stands either way. ``why`` is ``"default"`` (the default model of the text's
    ``language``) or ``"chosen"`` (the caller named it). ``notes`` are codes:
    ``"model-language"`` (the chosen model was made for other languages: the result may mean
    little), ``"truncated"`` (only the first ``max_tokens`` tokens were read). ``latency_ms``
    is the prediction's (as for :func:`classify` of this one text), without the explanation
    and the one-time model load."""

    prediction: Prediction
    explanation: Attribution | None
    model: str
    language: str
    why: str
    notes: tuple[str, ...]
    max_tokens: int
    latency_ms: float = 0.0
    explain_error: str | None = None


def sentiment_details(text: str, *, model: str | None = None, method: str = "auto") -> SentimentResult:
    """Sentiment of one text and why (:func:`explain` by ``method``), with ``model=None`` the
    default model of the text's language; see :class:`SentimentResult`. An unknown ``method``
    raises :class:`core.explain.ExplainError` (``unknown-method``)."""
    from core.explain.text import TEXT_METHODS

    if method != "auto" and method not in TEXT_METHODS:
        raise ExplainError("unknown-method", method)
    text = str(text)
    lang = detect_language(text)
    key = model or next(iter(route([text])))
    bundle = loaders.load(key)
    t0 = time.perf_counter()
    probs = forward(bundle, [text])[0]  # the prediction alone: its latency is the one shown
    ms = (time.perf_counter() - t0) * 1000
    pred = to_predictions(bundle, [text], probs[None], [lang])[0]
    attribution, error = None, None
    try:
        attribution = _explain(bundle, text, probs, method).attribution
    except ExplainError as err:
        error = err.code
    notes = tuple(code for code, on in (("model-language", not reads(key, lang)), ("truncated", pred.truncated)) if on)
    return SentimentResult(
        pred, attribution, key, lang, "chosen" if model else "default", notes, max_length(bundle), ms, error
    )
