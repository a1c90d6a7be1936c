"""Why: which words pushed a sentiment prediction (occlusion), and the one-text result the
page shows (prediction, explanation, which model answered and why).

Explanations always run on the PyTorch model: where the served model is OpenVINO int8
(``core.openvino``), the prediction comes from it, and the occlusion weights of that label from
the model's PyTorch copy (:func:`explaining_bundle`): int8's small logit noise moves the
small log-odds differences occlusion measures (on the 30 Chinese check sentences the top
piece differed in 7 of 30), while it rarely changes a label."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np

from core import loaders
from core.classify.labels import label_names
from core.classify.sentiment import Prediction, forward, max_length, reads, route, to_predictions
from core.text import detect_language, is_cjk

MAX_UNITS = 48  # occlusion: at most this many words / character groups


@dataclass(frozen=True)
class Explanation:
    """Pieces of the text in order (``pieces`` covers the whole text, spaces included) with
    ``weights``: how much removing each piece lowers the log-odds of the predicted label
    (positive: it pushed towards the label; negative: against it; 0 for spaces)."""

    prediction: Prediction
    pieces: list[str]
    weights: list[float]


def units(text: str, max_units: int = MAX_UNITS) -> list[tuple[int, int]]:
    """Spans to occlude: words (runs of letters/digits/apostrophes), single CJK characters
    and punctuation marks; merged into neighbouring groups when there are more than
    ``max_units``."""
    spans: list[tuple[int, int]] = []
    for m in re.finditer(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+|[^\w\s]", text):
        start = m.start()
        for i in range(m.start(), m.end()):  # CJK characters are units of their own
            if is_cjk(text[i]):
                if i > start:
                    spans.append((start, i))
                spans.append((i, i + 1))
                start = i + 1
        if start < m.end():
            spans.append((start, m.end()))
    if len(spans) > max_units:
        k = -(-len(spans) // max_units)
        spans = [(spans[j][0], spans[min(j + k, len(spans)) - 1][1]) for j in range(0, len(spans), k)]
    return spans


def explaining_bundle(bundle: loaders.ModelBundle) -> loaders.ModelBundle:
    """The PyTorch model explanations of ``bundle``'s predictions run on: ``bundle`` itself,
    unless it is served by OpenVINO; then the model's PyTorch copy (the attention viewer's,
    ``loaders.load(key, attention=True)``: loaded once, on the first explanation)."""
    if bundle.meta.get("runtime") != "openvino":
        return bundle
    return loaders.load(bundle.key, attention=True)


def _occlusion(bundle: loaders.ModelBundle, text: str, probs: np.ndarray) -> Explanation:
    """The explanation of ``text`` whose class probabilities (by ``bundle``) are ``probs``:
    every unit of :func:`units` deleted in turn, in one batched forward of ``1 + len(units)``
    texts of :func:`explaining_bundle` (the PyTorch model), weights for ``bundle``'s label."""
    pred = to_predictions(bundle, [text], probs[None], [detect_language(text)])[0]
    spans = units(text)
    names = label_names(dict(bundle.meta.get("id2label") or {}))
    cls = [j for j, n in enumerate(names) if n == pred.label]
    variants = [text[:a] + (" " if not is_cjk(text[a]) else "") + text[b:] for a, b in spans]
    explainer = explaining_bundle(bundle)
    if explainer is not bundle:  # the text itself through the PyTorch model too: one scale
        out = forward(explainer, [text, *variants])  # [1 + units, classes]
        base, occluded = out[0], out[1:]
    else:
        base = probs
        occluded = forward(bundle, variants) if variants else np.zeros((0, len(probs)), dtype=np.float32)
    p_label = np.clip(np.concatenate([base[None], occluded])[:, cls].sum(axis=1), 1e-6, 1 - 1e-6)  # [1 + units]
    log_odds = np.log(p_label) - np.log1p(-p_label)  # does not saturate near 100 %
    pieces: list[str] = []
    weights: list[float] = []
    pos = 0
    for (a, b), lo in zip(spans, log_odds[1:]):
        if a > pos:
            pieces.append(text[pos:a])
            weights.append(0.0)
        pieces.append(text[a:b])
        weights.append(float(log_odds[0] - lo))
        pos = b
    if pos < len(text):
        pieces.append(text[pos:])
        weights.append(0.0)
    return Explanation(pred, pieces, weights)


def explain(text: str, *, model: str | None = None) -> Explanation:
    """Occlusion explanation of :func:`classify` on one text: each unit of :func:`units` is
    deleted in turn and the drop of the predicted label's log-odds is its weight (the text
    itself, then one batched forward of its ``len(units)`` variants)."""
    key = model or next(iter(route([text])))
    bundle = loaders.load(key)
    return _occlusion(bundle, text, forward(bundle, [text])[0])


@dataclass(frozen=True)
class SentimentResult:
    """One text's sentiment with its explanation, and how the model was chosen.

    ``why`` is ``"default"`` (the default model of the text's ``language``) or ``"chosen"``
    (the caller named it). ``notes`` are codes: ``"model-language"`` (the chosen model was
    made for other languages: the result may mean little), ``"truncated"`` (only the first
    ``max_tokens`` tokens were read). ``latency_ms`` is the prediction's (as for
    :func:`classify` of this one text), without the explanation and the one-time model load."""

    explanation: Explanation
    model: str
    language: str
    why: str
    notes: tuple[str, ...]
    max_tokens: int
    latency_ms: float = 0.0

    @property
    def prediction(self) -> Prediction:
        return self.explanation.prediction


def sentiment_details(text: str, *, model: str | None = None) -> SentimentResult:
    """Sentiment of one text and why (:func:`explain`), with ``model=None`` the default
    model of the text's language; see :class:`SentimentResult`."""
    text = str(text)
    lang = detect_language(text)
    key = model or next(iter(route([text])))
    bundle = loaders.load(key)
    t0 = time.perf_counter()
    probs = forward(bundle, [text])[0]  # the prediction alone: its latency is the one shown
    ms = (time.perf_counter() - t0) * 1000
    expl = _occlusion(bundle, text, probs)
    notes = tuple(
        code for code, on in (("model-language", not reads(key, lang)), ("truncated", expl.prediction.truncated)) if on
    )
    return SentimentResult(expl, key, lang, "chosen" if model else "default", notes, max_length(bundle), ms)
