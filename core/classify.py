"""Text classification: sentiment (English and Chinese), your own labels, and why.

- :func:`classify` gives a :class:`Prediction` per text. Labels are normalised to
  ``positive`` / ``negative`` (and ``neutral``) whatever the model calls them. With
  ``model=None`` each text goes to the default sentiment model of its own language
  (``core.text.detect_language`` + ``core.availability.default_model``).
- :func:`classify_zero_shot` scores texts against labels the user types, by cosine
  similarity of mean-pooled sentence embeddings, with the best usable ``zero-shot`` encoder
  of the registry for the language of the text and labels (:func:`zero_shot_model`):
  offline, the bundled multilingual e5-small for English and Chinese alike (MiniLM, English
  only, when e5 is not installed). ``bench/zero_shot.py`` measures them on 80 English and
  80 Chinese labelled texts (chance 20 %): English e5-small 97.5 % vs MiniLM 96.2 %,
  Chinese e5-small 95.0 % (MiniLM 25.0 %).
- :func:`explain` says which words pushed the prediction, by occlusion.

Forward passes run in bounded batches of texts sorted by length (little padding),
under ``torch.inference_mode()`` and the bundle's lock. No Streamlit here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from core import loaders, registry
from core.availability import availability, default_model
from core.loaders import ModelLoadError
from core.text import detect_language, is_cjk

BATCH_SIZE = 32
TEMPLATES = {"en": "This text is about {label}.", "zh": "这段文字是关于{label}的。"}
TEMPERATURE = 0.05
# Encoders trained contrastively at temperature 0.01 (e5) give cosines in a narrow band
# (the right label ~0.03 above the others): 0.05 would spread the probabilities nearly flat.
PREFIXED_TEMPERATURE = 0.01
MAX_UNITS = 48  # occlusion: at most this many words / character groups
EMBED_MAX_TOKENS = 256  # sentence embeddings read at most this many tokens

Progress = Callable[[int, int], None]


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


class ZeroShotUnavailable(ModelLoadError):
    """No encoder can score labels for this language here (e.g. Chinese while offline)."""


# ---- labels ------------------------------------------------------------------------

_NAMED = (("pos", "positive"), ("neg", "negative"), ("neu", "neutral"),
          ("正面", "positive"), ("积极", "positive"), ("好评", "positive"),
          ("负面", "negative"), ("消极", "negative"), ("差评", "negative"), ("中性", "neutral"))
_GENERIC = re.compile(r"^(label[_ ]?)?(\d+)$")


def normalise_label(raw: str, index: int | None = None, n_labels: int = 2) -> str:
    """``"POSITIVE"``, ``"positive (stars 4 and 5)"``, ``"LABEL_1"`` (of 2) -> ``"positive"``.

    Generic names (``LABEL_k`` or ``k``) follow the usual convention: of two labels 0 is
    negative and 1 positive; of three, negative / neutral / positive. Anything else is
    returned lower-cased."""
    name = str(raw).strip().lower()
    for needle, label in _NAMED:
        if name.startswith(needle) or re.search(rf"\b{needle}", name) or (not needle.isascii() and needle in name):
            return label
    m = _GENERIC.match(name)
    k = int(m.group(2)) if m else index
    if m and n_labels == 2 and k in (0, 1):
        return ("negative", "positive")[k]
    if m and n_labels == 3 and k in (0, 1, 2):
        return ("negative", "neutral", "positive")[k]
    return name


def label_names(id2label: dict[int, str]) -> list[str]:
    """Normalised names for class indices ``0..n-1``."""
    n = len(id2label)
    return [normalise_label(id2label.get(i, str(i)), i, n) for i in range(n)]


# ---- batched forward ---------------------------------------------------------------


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


def _batches(texts: Sequence[str], size: int) -> list[list[int]]:
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[k:k + size] for k in range(0, len(order), size)]


def _model_inputs(model, enc) -> dict:
    """The tokenizer's tensors the model's forward accepts (DistilBERT takes no
    ``token_type_ids``), on the model's device."""
    import inspect

    params = inspect.signature(model.forward).parameters
    return {k: v.to(model.device) for k, v in enc.items() if k in params or k in ("input_ids", "attention_mask")}


def forward(bundle: loaders.ModelBundle, texts: Sequence[str], *, batch_size: int = BATCH_SIZE,
            progress: Progress | None = None, done_before: int = 0, total: int | None = None) -> np.ndarray:
    """Class probabilities [len(texts), n_classes] of a sequence classifier, in input order.

    Texts are sorted by length and run ``batch_size`` at a time (padded to the longest of
    the batch, truncated to :func:`max_length`)."""
    import torch

    out: np.ndarray | None = None
    total = total if total is not None else len(texts)
    done = done_before
    for idx in _batches(texts, batch_size):
        enc = bundle.preprocessor([texts[i] for i in idx], padding=True, truncation=True,
                                  max_length=max_length(bundle), return_tensors="pt")
        enc = _model_inputs(bundle.model, enc)
        with bundle.lock, torch.inference_mode():
            logits = bundle.model(**enc).logits  # [batch, n_classes]
        probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        if out is None:
            out = np.zeros((len(texts), probs.shape[1]), dtype=np.float32)
        out[idx] = probs
        done += len(idx)
        if progress is not None:
            progress(done, total)
    return out if out is not None else np.zeros((0, 2), dtype=np.float32)


def _to_predictions(bundle: loaders.ModelBundle, texts: Sequence[str], probs: np.ndarray,
                    langs: Sequence[str]) -> list[Prediction]:
    names = label_names(dict(bundle.meta.get("id2label") or {i: str(i) for i in range(probs.shape[1])}))
    preds = []
    for text, p, lg in zip(texts, probs, langs):
        scores: dict[str, float] = {}
        for name, v in zip(names, p):
            scores[name] = scores.get(name, 0.0) + float(v)
        label = max(scores, key=scores.__getitem__)
        preds.append(Prediction(label, scores[label], scores, bundle.key, lg, is_truncated(text, bundle)))
    return preds


def route(texts: Sequence[str], model: str | None = None) -> dict[str, list[int]]:
    """Which model handles which texts: ``{model key: [text indices]}``.

    With ``model=None`` each text gets the default sentiment model of its language; raises
    :class:`ModelLoadError` when a language has none usable here."""
    if model is not None:
        return {model: list(range(len(texts)))}
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        lang = detect_language(text)
        key = default_model("sentiment", lang, online=False) or default_model("sentiment", lang)
        if key is None:
            raise ModelLoadError(f"sentiment-{lang}", f"no sentiment model for '{lang}' text is available",
                                 "Train the bundled models (see training/) or go online.")
        groups.setdefault(key, []).append(i)
    return groups


def classify(texts: list[str], *, model: str | None = None, batch_size: int = BATCH_SIZE,
             progress: Progress | None = None) -> list[Prediction]:
    """Sentiment of each text (see the module docstring). ``progress(done, total)`` is
    called after every batch. Empty input gives an empty list."""
    texts = [str(t) for t in texts]
    results: list[Prediction | None] = [None] * len(texts)
    done = 0
    for key, idx in route(texts, model).items():
        bundle = loaders.load(key)
        sub = [texts[i] for i in idx]
        probs = forward(bundle, sub, batch_size=batch_size, progress=progress, done_before=done, total=len(texts))
        done += len(idx)
        for i, p in zip(idx, _to_predictions(bundle, sub, probs, [detect_language(t) for t in sub])):
            results[i] = p
    return [r for r in results if r is not None]


# ---- your own labels (zero-shot) ---------------------------------------------------


def _labels_language(labels: Sequence[str], text_lang: str) -> str:
    """``"zh"`` when any label is Chinese, else the text's language."""
    return "zh" if any(detect_language(lb) == "zh" for lb in labels) else text_lang


def zero_shot_model(lang: str, labels: Sequence[str] = ()) -> str | None:
    """The encoder for ``labels`` on ``lang`` text: the best usable ``zero-shot`` model of
    the registry (available before downloadable, then by ``quality``) for Chinese when the
    text or any label is Chinese, else for the text's language; ``None`` when there is none."""
    need = "zh" if lang == "zh" else _labels_language(labels, lang)
    return default_model("zero-shot", need)


def multilingual_zero_shot_models() -> tuple[registry.ModelEntry | None, registry.ModelEntry | None]:
    """(the best bundled, the best Hub) ``zero-shot`` entries that read Chinese: what to
    name when Chinese text or labels find no encoder."""
    zh = registry.entries("zero-shot", "zh")
    return (next((e for e in zh if e.is_bundled), None), next((e for e in zh if not e.is_bundled), None))


def zero_shot_template(labels: Sequence[str], text_lang: str) -> str:
    """The sentence each label is put in: Chinese when any label is Chinese, else the
    text's language (English for languages without a template)."""
    return TEMPLATES.get(_labels_language(labels, text_lang), TEMPLATES["en"])


def zero_shot_temperature(bundle: loaders.ModelBundle) -> float:
    """The softmax temperature for ``bundle``: ``meta["zero_shot_temperature"]`` when the
    builder gives one, :data:`PREFIXED_TEMPERATURE` for e5-style encoders (those with a
    ``query_prefix``), else :data:`TEMPERATURE`."""
    given = bundle.meta.get("zero_shot_temperature")
    if given:
        return float(given)
    return PREFIXED_TEMPERATURE if bundle.meta.get("query_prefix") else TEMPERATURE


def embed(bundle: loaders.ModelBundle, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
    """L2-normalised mean-pooled sentence embeddings [len(texts), hidden] of an encoder bundle."""
    import torch

    out: np.ndarray | None = None
    for idx in _batches(texts, batch_size):
        enc = bundle.preprocessor([texts[i] for i in idx], padding=True, truncation=True,
                                  max_length=min(max_length(bundle), EMBED_MAX_TOKENS), return_tensors="pt")
        enc = _model_inputs(bundle.model, enc)
        with bundle.lock, torch.inference_mode():
            hidden = bundle.model(**enc).last_hidden_state.float()  # [batch, seq, hidden]
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-6)
        pooled = torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy()
        if out is None:
            out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
        out[idx] = pooled
    return out if out is not None else np.zeros((0, 1), dtype=np.float32)


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


def parse_labels(text: str) -> list[str]:
    """``"sports, politics；科技"`` -> ``["sports", "politics", "科技"]`` (unique, in order)."""
    seen: list[str] = []
    for part in re.split(r"[,，;；、\n]+", text or ""):
        part = part.strip()
        if part and part not in seen:
            seen.append(part)
    return seen


def classify_zero_shot(texts: list[str], labels: list[str], *, model: str | None = None,
                       template: str | None = None, temperature: float | None = None) -> list[Prediction]:
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
            named = next(iter(e for e in multilingual_zero_shot_models() if e is not None), None)
            raise ZeroShotUnavailable(named.key if named else "zero-shot", *unavailable_message())
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


# ---- why: occlusion ----------------------------------------------------------------


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


def explain(text: str, *, model: str | None = None) -> Explanation:
    """Occlusion explanation of :func:`classify` on one text: each unit of :func:`units` is
    deleted in turn and the drop of the predicted label's log-odds is its weight.
    One batched forward of ``1 + len(units)`` texts."""
    key = model or next(iter(route([text])))
    bundle = loaders.load(key)
    spans = units(text)
    variants = [text] + [text[:a] + (" " if not is_cjk(text[a]) else "") + text[b:] for a, b in spans]
    probs = forward(bundle, variants)
    pred = _to_predictions(bundle, [text], probs[:1], [detect_language(text)])[0]
    names = label_names(dict(bundle.meta.get("id2label") or {}))
    cls = [j for j, n in enumerate(names) if n == pred.label]
    p_label = np.clip(probs[:, cls].sum(axis=1), 1e-6, 1 - 1e-6)  # [1 + units]
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
