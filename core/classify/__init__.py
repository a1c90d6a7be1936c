"""Text classification: sentiment (English and Chinese), your own labels, and why.

- :func:`classify` gives a :class:`Prediction` per text. Labels are normalised to
  ``positive`` / ``negative`` (and ``neutral``) whatever the model calls them. With
  ``model=None`` each text goes to the default sentiment model of its own language
  (``core.text.detect_language`` + ``core.availability.default_model``).
- :func:`sentiment_details` is the one-text view: prediction, explanation, which model
  answered and why (codes).
- :func:`classify_zero_shot` scores texts against labels the user types, by cosine
  similarity of mean-pooled sentence embeddings, with the best usable ``zero-shot`` encoder
  of the registry for the language of the text and labels (:func:`zero_shot_model`):
  offline, the bundled multilingual e5-small for English and Chinese alike (MiniLM, English
  only, when e5 is not installed). ``bench/zero_shot.py`` measures them on 80 English and
  80 Chinese labelled texts (chance 20 %): English e5-small 97.5 % vs MiniLM 96.2 %,
  Chinese e5-small 95.0 % (MiniLM 25.0 %). :func:`zero_shot_details` is its one-text view.
- :func:`explain` says which words pushed the prediction, by occlusion.

Forward passes run through :func:`core.inference.run_batched` (length-sorted bounded
batches under ``torch.inference_mode()`` and the bundle's lock). No Streamlit here.

Modules: :mod:`~core.classify.labels` (label names), :mod:`~core.classify.sentiment`
(routing, forward, predictions), :mod:`~core.classify.zero_shot` (your own labels,
sentence embeddings), :mod:`~core.classify.explain` (attributions over words, the one-text result).
"""

from core.classify.explain import DEFAULT_METHOD, Explanation, SentimentResult, explain, sentiment_details
from core.classify.labels import label_names, normalise_label, parse_labels
from core.classify.sentiment import (
    BATCH_SIZE,
    Prediction,
    classify,
    forward,
    is_truncated,
    max_length,
    reads,
    route,
    sentiment_model,
    to_predictions,
)
from core.classify.zero_shot import (
    EMBED_MAX_TOKENS,
    PREFIXED_TEMPERATURE,
    TEMPERATURE,
    TEMPLATES,
    ZeroShotResult,
    ZeroShotUnavailable,
    classify_zero_shot,
    embed,
    labels_language,
    multilingual_zero_shot_models,
    unavailable_message,
    zero_shot_details,
    zero_shot_model,
    zero_shot_temperature,
    zero_shot_template,
)

__all__ = [
    "BATCH_SIZE",
    "EMBED_MAX_TOKENS",
    "DEFAULT_METHOD",
    "PREFIXED_TEMPERATURE",
    "TEMPERATURE",
    "TEMPLATES",
    "Explanation",
    "Prediction",
    "SentimentResult",
    "ZeroShotResult",
    "ZeroShotUnavailable",
    "classify",
    "classify_zero_shot",
    "embed",
    "explain",
    "forward",
    "is_truncated",
    "label_names",
    "labels_language",
    "max_length",
    "multilingual_zero_shot_models",
    "normalise_label",
    "parse_labels",
    "reads",
    "route",
    "sentiment_details",
    "sentiment_model",
    "to_predictions",
    "unavailable_message",
    "zero_shot_details",
    "zero_shot_model",
    "zero_shot_template",
    "zero_shot_temperature",
]
