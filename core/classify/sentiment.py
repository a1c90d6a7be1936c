"""Sentiment of texts: routing each text to a model, batched forward passes, predictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from core import loaders, registry
from core.availability import default_model
from core.classify.labels import label_names
from core.inference import Progress, model_inputs, run_batched
from core.loaders import ModelLoadError
from core.text import detect_language

BATCH_SIZE = 32


@dataclass(frozen=True)
class Prediction:
    """One text's result: the top ``label``, its probability ``score``, ``scores`` for every
    label (summing to 1), the ``model`` key, the text's ``language`` and whether the text was
    ``truncated`` to the model's length limit."""

    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    model: str = ""
    language: str = "en"
    truncated: bool = False


def reads(key: str, lang: str) -> bool:
    """Was model ``key`` made for ``lang`` text (per the registry)?"""
    return registry.get(key).reads(lang)


def max_length(bundle: loaders.ModelBundle) -> int:
    """The token limit this app uses for ``bundle`` (special tokens included)."""
    return int(bundle.meta.get("max_length", 256) or 256)


def is_truncated(text: str, bundle: loaders.ModelBundle, limit: int | None = None) -> bool:
    """Would ``text`` lose tokens to the model's limit (or ``limit``)? (Every token covers
    >= 1 character, so only texts longer than the limit need tokenizing.)"""
    limit = limit or max_length(bundle)
    if len(text) <= limit - 2:
        return False
    return len(bundle.preprocessor(text, truncation=False)["input_ids"]) > limit


def forward(
    bundle: loaders.ModelBundle,
    texts: Sequence[str],
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    done_before: int = 0,
    total: int | None = None,
) -> np.ndarray:
    """Class probabilities [len(texts), n_classes] of a sequence classifier, in input order
    (:func:`core.inference.run_batched`: length-sorted batches, each padded to its longest
    text and truncated to :func:`max_length`)."""
    import torch

    limit = max_length(bundle)

    def preprocess(idx: list[int]) -> dict:
        enc = bundle.preprocessor(
            [texts[i] for i in idx], padding=True, truncation=True, max_length=limit, return_tensors="pt"
        )
        return model_inputs(bundle.model, enc, bundle.device)

    def run(model, enc: dict):
        return torch.softmax(model(**enc).logits.float(), dim=-1)  # [batch, n_classes]

    outs = run_batched(
        bundle,
        [len(t) for t in texts],
        preprocess,
        run,
        batch_size=batch_size,
        progress=progress,
        done_before=done_before,
        total=total,
    )
    return outs[0] if outs else np.zeros((0, 2), dtype=np.float32)


def to_predictions(
    bundle: loaders.ModelBundle, texts: Sequence[str], probs: np.ndarray, langs: Sequence[str]
) -> list[Prediction]:
    """Rows of class probabilities as :class:`Prediction` objects (labels normalised)."""
    names = label_names(dict(bundle.meta.get("id2label") or {i: str(i) for i in range(probs.shape[1])}))
    preds = []
    for text, p, lg in zip(texts, probs, langs):
        scores: dict[str, float] = {}
        for name, v in zip(names, p):
            scores[name] = scores.get(name, 0.0) + float(v)
        label = max(scores, key=scores.__getitem__)
        preds.append(Prediction(label, scores[label], scores, bundle.key, lg, is_truncated(text, bundle)))
    return preds


def sentiment_model(lang: str) -> str:
    """The default sentiment model for ``lang`` text: the best available one, else the best
    downloadable one; :class:`ModelLoadError` (code ``no-model-for-language``) when none."""
    key = default_model("sentiment", lang, online=False) or default_model("sentiment", lang)
    if key is None:
        raise ModelLoadError(
            f"sentiment-{lang}",
            f"no sentiment model for '{lang}' text is available",
            "Train the bundled models (see training/) or go online.",
            code="no-model-for-language",
            params={"lang": lang},
        )
    return key


def route(texts: Sequence[str], model: str | None = None) -> dict[str, list[int]]:
    """Which model handles which texts: ``{model key: [text indices]}``.

    With ``model=None`` each text gets the default sentiment model of its language
    (:func:`sentiment_model`)."""
    if model is not None:
        return {model: list(range(len(texts)))}
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        groups.setdefault(sentiment_model(detect_language(text)), []).append(i)
    return groups


def classify(
    texts: list[str],
    *,
    model: str | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> list[Prediction]:
    """Sentiment of each text (see :mod:`core.classify`). ``progress(done, total)`` is
    called after every batch. Empty input gives an empty list."""
    texts = [str(t) for t in texts]
    results: list[Prediction | None] = [None] * len(texts)
    done = 0
    for key, idx in route(texts, model).items():
        bundle = loaders.load(key)
        sub = [texts[i] for i in idx]
        probs = forward(bundle, sub, batch_size=batch_size, progress=progress, done_before=done, total=len(texts))
        done += len(idx)
        for i, p in zip(idx, to_predictions(bundle, sub, probs, [detect_language(t) for t in sub])):
            results[i] = p
    return [r for r in results if r is not None]
