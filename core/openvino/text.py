"""The text encoders' OpenVINO builds: what each is built from, its data and its guard.

- ``sentiment-zh-e5`` (our MLP head on e5, :func:`core.classify.models.build_chinese_e5`) and
  ``sentiment-en-minilm`` (MiniLM + our head): sequence classifiers (graph output ``logits``);
  guard: accuracy on their training script's validation split (seed 13, 5 %) within
  ``MAX_DROP`` points of PyTorch fp32 (Chinese: on all of it and on its reviews that are not
  in the training split, ``zh-unseen``, the two figures of the model card);
- ``e5-small`` (the base encoder of embeddings, zero-shot and ranking): graph output
  ``last_hidden_state``; guard: zero-shot accuracy (the app's e5 convention: ``query: `` text
  vs ``passage: `` label sentence) on validation reviews per language within ``MAX_DROP``
  points, and mean cosine of the sentence embeddings >= ``MIN_COSINE`` (reviews and the
  passages that ranking reads).

Calibration: training-split texts only (seed 22). Both files are committed in
``models/openvino`` (:func:`write_files`, from ``../shared/data``); tokens are kept as ids
``(N, T)`` padded + ``lengths (N,)``, as for ``qa-e5``.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.openvino.data import FOLDER, SEED, calibration_path, guard_path
from core.registry import REPO_ROOT

DATA = REPO_ROOT.parent / "shared" / "data"
SPLIT_SEED = 13  # training/sentiment_zh(_e5).py and training/sentiment_en.py
CALIBRATION = 300
ZERO_SHOT_LABELS = {"en": ("positive", "negative"), "zh": ("正面", "负面")}  # label 0 = positive here
PASSAGES = 60  # e5-small: passages (qa-e5's guard contexts) whose embeddings must agree too


# ---- what a build depends on, and the PyTorch reference ------------------------------


def zh_e5_sources(path: Path) -> list[Path]:
    from core import e5

    extra = [path / "layers.safetensors"] if (path / "layers.safetensors").exists() else []
    return [path / "head.safetensors", path / "config.json", *extra, e5.packed_file()]


def e5_sources(path: Path) -> list[Path]:
    from core import e5

    return [e5.packed_file()]


def en_sources(path: Path) -> list[Path]:
    from core.classify.models import minilm_folder

    return [path / "head.safetensors", minilm_folder() / "model.safetensors"]


def zh_e5_torch(path: Path) -> Any:
    from core.classify.models import e5_sentiment_from_files

    return e5_sentiment_from_files(path, attention=True)[0]


def e5_torch(path: Path) -> Any:
    from core import e5

    return e5.base_encoder()  # eager attention, the process's shared copy (read only here)


def en_torch(path: Path) -> Any:
    from core.classify.models import english_from_files

    return english_from_files(path, attention=True)[0]


def tokenizer_and_meta(key: str, path: Path) -> tuple[Any, dict[str, Any]]:
    """What the app tokenizes ``key``'s texts with, and its input limit."""
    if key == "sentiment-zh-e5":
        from core.classify.models import e5_sentiment_from_files

        _, tok, cfg = e5_sentiment_from_files(path)
        return tok, {"max_length": int(cfg["max_length"])}
    if key == "sentiment-en-minilm":
        from core.classify.models import load_encoder

        return load_encoder()[1], {"max_length": 256}
    from core import e5

    return e5.tokenizer(), {"max_length": 512}


# ---- the committed data -----------------------------------------------------------------


def _reviews(lang: str) -> tuple[list[str], list[int], list[int], list[int]]:
    """(texts, labels (1 = positive), distinct training rows, validation rows) of the
    training script's split."""
    if lang == "zh":
        from training.sentiment_zh import load_data, split

        texts, labels = load_data(DATA / "chn-sentiment")
    else:
        from training.sentiment_en import load_data, split  # type: ignore[assignment]

        texts, labels = load_data(DATA / "rt-polarity")
    tr, va, _ = split(len(texts), SPLIT_SEED)
    first: dict[str, int] = {}
    for i in tr:
        first.setdefault(texts[i], i)
    return texts, labels, sorted(first.values()), va


def _ids(tok: Any, texts: Sequence[str], limit: int) -> list[list[int]]:
    return [list(tok(t, truncation=True, max_length=limit)["input_ids"]) for t in texts]


def write_files(key: str) -> tuple[Path, Path]:
    """Write ``key``'s calibration windows and guard sample (needs ``../shared/data``)."""
    from core import registry
    from core.openvino import data

    path = registry.bundled_path(registry.get(key))
    assert path is not None, key
    tok, meta = tokenizer_and_meta(key, path)
    rng = random.Random(SEED)
    rows: list[list[int]] = []
    guard: list[dict[str, Any]] = []
    if key in ("sentiment-zh-e5", "sentiment-en-minilm"):
        lang = "zh" if key == "sentiment-zh-e5" else "en"
        texts, labels, tr, va = _reviews(lang)
        rows = _ids(tok, [texts[i] for i in rng.sample(tr, CALIBRATION)], meta["max_length"])
        trained = {texts[i] for i in tr}
        guard = [{"text": texts[i], "label": labels[i], "lang": lang, "unseen": texts[i] not in trained} for i in va]
    else:  # e5-small: reviews as zero-shot reads them, and passage windows as ranking does
        for lang in ("zh", "en"):
            texts, labels, tr, va = _reviews(lang)
            rows += _ids(tok, ["query: " + texts[i] for i in rng.sample(tr, CALIBRATION // 3)], 256)
            guard += [{"text": texts[i], "label": labels[i], "lang": lang} for i in va[:300]]
        ids, lengths = data.load_calibration("qa-e5")  # training windows of the same tokenizer
        rows += [[int(x) for x in ids[i, : lengths[i]]] for i in rng.sample(range(len(ids)), CALIBRATION // 3)]
        qa = data.load_guard("qa-e5")
        seen: list[str] = []
        for q in qa[:: max(1, len(qa) // (2 * PASSAGES))]:
            if q.context not in seen and len(seen) < PASSAGES:
                seen.append(q.context)
        guard += [{"text": c, "label": -1, "lang": "passages"} for c in seen]
    ids = np.full((len(rows), max(len(r) for r in rows)), int(tok.pad_token_id or 0), dtype=np.int32)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
    FOLDER.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(calibration_path(key), ids=ids, lengths=np.asarray([len(r) for r in rows], dtype=np.int32))
    guard_path(key).write_bytes(gzip.compress(json.dumps(guard, ensure_ascii=False).encode("utf-8"), mtime=0))
    return calibration_path(key), guard_path(key)


def load_guard(key: str) -> list[dict[str, Any]]:
    """The committed guard rows ``{"text", "label" (1 positive, 0 negative, -1 none), "lang"
    (a group: zh, en, passages)[, "unseen" (not in the training split)]}``."""
    return list(json.loads(gzip.decompress(guard_path(key).read_bytes()).decode("utf-8")))


# ---- the guard ------------------------------------------------------------------------------


class Scorer:
    """``scorer(model)`` -> ``{lang: {"n", "accuracy", "agree"[, "cosine", "min_cosine"]}}``
    (percent; ``agree``: predictions equal to the first model scored, the PyTorch reference).
    Classifiers: accuracy of the sentiment; ``e5-small``: zero-shot accuracy and the cosine of
    each embedding with the reference's."""

    def __init__(self, key: str, path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
        self.key = key
        self.tok, self.meta = tokenizer_and_meta(key, path)
        self.rows = list(rows)
        self.reference: dict[str, np.ndarray] = {}

    def _bundle(self, model: Any) -> Any:
        from core.openvino.guard import _Bundle

        return _Bundle(model, self.tok, self.meta)

    def __call__(self, model: Any) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for lang in dict.fromkeys(r["lang"] for r in self.rows):
            rows = [r for r in self.rows if r["lang"] == lang]
            if self.key == "e5-small":
                out[lang] = self._encoder(model, lang, rows)
                continue
            out[lang] = self._classifier(model, lang, rows)
            unseen = [r for r in rows if r.get("unseen")]
            if unseen and len(unseen) < len(rows):  # the card's second figure: reviews not in training
                out[lang + "-unseen"] = self._classifier(model, lang + "-unseen", unseen)
        return out

    def _agree(self, name: str, value: np.ndarray) -> float:
        ref = self.reference.setdefault(name, value)
        return float(100 * np.mean(ref == value))

    def _classifier(self, model: Any, lang: str, rows: list[Mapping[str, Any]]) -> dict[str, Any]:
        from core.classify.sentiment import forward

        probs = forward(self._bundle(model), [r["text"] for r in rows])  # (N, 2): negative, positive
        pred = probs.argmax(axis=1)
        gold = np.asarray([r["label"] for r in rows])
        return {"n": len(rows), "accuracy": float(100 * np.mean(pred == gold)), "agree": self._agree(lang, pred)}

    def _encoder(self, model: Any, lang: str, rows: list[Mapping[str, Any]]) -> dict[str, Any]:
        from core.classify.zero_shot import embed, zero_shot_template

        bundle = self._bundle(model)
        prefix = "passage: " if lang == "passages" else "query: "
        vecs = embed(bundle, [prefix + r["text"] for r in rows])  # (N, H), unit norm
        cos = np.sum(self.reference.setdefault(lang + ":vecs", vecs) * vecs, axis=1)
        res: dict[str, Any] = {"n": len(rows), "cosine": float(cos.mean()), "min_cosine": float(cos.min())}
        if lang in ZERO_SHOT_LABELS:
            tpl = zero_shot_template(ZERO_SHOT_LABELS[lang], lang)
            labels = embed(bundle, ["passage: " + tpl.format(label=lb) for lb in ZERO_SHOT_LABELS[lang]])  # (2, H)
            pred = 1 - (vecs @ labels.T).argmax(axis=1)  # label 0 (positive) -> 1
            gold = np.asarray([r["label"] for r in rows])
            res.update(accuracy=float(100 * np.mean(pred == gold)), agree=self._agree(lang, pred))
        return res
