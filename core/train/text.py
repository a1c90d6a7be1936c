"""Live training on sentiment: the TextCNN of article 004 and a bag-of-words MLP.

Data: the bundled review corpora (``<data>/rt-polarity`` English, ``<data>/chn-sentiment``
Chinese), split exactly as the shipped models were (``training/sentiment_*.py``: a
``random.Random(13)`` shuffle, 10 % test, 5 % validation, the rest trains; ``n_train``
takes the first ones of the training part). Words: jieba (the default dictionary, HMM off,
through :mod:`core.explain.units`) for Chinese, lower-cased words and symbols for English.

Tokenising the 35,000 Chinese reviews takes jieba about 10 s on a busy CPU, so the first job
of a server does it (phase ``preparing``, not counted in the training time) and sends the
token ids back; the server keeps them (about 7 MB) and gives them to every later job.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.train import TrainError, TrainSpec
from core.train.loop import Data, Outcome, Reporter, fit

LABELS = ("negative", "positive")
SPLIT_SEED = 13  # the shipped models' split
MAX_VOCAB = 30_000
MIN_COUNT = 2
MAX_LEN = {"en": 60, "zh": 64}  # words per review (longer ones are cut)
EMBED = 64
KERNELS = (3, 4, 5)
SHIPPED = {"en": "sentiment-en", "zh": "sentiment-zh-e5"}

_WORD = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*|[^\sa-z0-9]")

# (vocabulary of every word in the corpus, token ids concatenated, offsets per review)
Corpus = tuple[list[str], np.ndarray, np.ndarray]


def load_reviews(folder: Path, lang: str) -> tuple[list[str], list[int]]:
    """The corpus as ``training/sentiment_{en,zh}.py`` read it (same order, so the same split)."""
    texts: list[str] = []
    labels: list[int] = []
    try:
        if lang == "en":
            for name, label in (("rt-polarity.neg", 0), ("rt-polarity.pos", 1)):
                for line in (folder / name).read_bytes().decode("latin-1").splitlines():
                    if line.strip():
                        texts.append(line.strip())
                        labels.append(label)
        else:
            for name, label in (("neg.txt.gz", 0), ("pos.txt.gz", 1)):
                with gzip.open(folder / name, "rt", encoding="utf-8", errors="replace") as f:
                    for line in f:
                        if line.strip():
                            texts.append(line.strip())
                            labels.append(label)
    except OSError as exc:
        raise TrainError("no-data", f"the bundled review corpus is missing: {exc}") from None
    return texts, labels


def split(n: int, seed: int = SPLIT_SEED) -> tuple[list[int], list[int], list[int]]:
    """train / validation (5 %) / test (10 %), as ``training.sentiment_en.split``."""
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    n_test, n_val = n // 10, n // 20
    return idx[n_test + n_val :], idx[n_test : n_test + n_val], idx[:n_test]


def words(text: str, lang: str) -> list[str]:
    """The words a review is read as."""
    if lang == "zh":
        from core.explain.units import _jieba

        try:
            return [w for w in _jieba().lcut(text.lower(), HMM=False) if w.strip()]
        except Exception:
            return [c for c in text.lower() if not c.isspace()]
    return _WORD.findall(text.lower())


def tokenise(texts: list[str], lang: str) -> Corpus:
    """Every review's words as ids into one corpus vocabulary (compact, to keep and send)."""
    index: dict[str, int] = {}
    ids: list[int] = []
    offsets = [0]
    for t in texts:
        for w in words(t, lang):
            ids.append(index.setdefault(w, len(index)))
        offsets.append(len(ids))
    return list(index), np.asarray(ids, dtype=np.int32), np.asarray(offsets, dtype=np.int64)


def encode(corpus: Corpus, rows: list[int], lookup: np.ndarray, max_len: int) -> torch.Tensor:
    """``(len(rows), L)`` model ids (0 padding, 1 unknown), L the longest review (capped)."""
    _, ids, off = corpus
    longest = max((int(off[r + 1] - off[r]) for r in rows), default=1)
    out = np.zeros((len(rows), max(1, min(longest, max_len))), dtype=np.int64)
    for i, r in enumerate(rows):
        seq = lookup[ids[off[r] : off[r + 1]][: out.shape[1]]]
        out[i, : len(seq)] = seq
    return torch.from_numpy(out)


class TextCNN(nn.Module):
    """Article 004 (Kim 2014): word embeddings, convolutions of widths 3, 4 and 5 with
    ``width`` filters each, max-pooling over time, dropout, ``depth - 1`` hidden layers, 2 classes."""

    def __init__(self, vocab: int, width: int, depth: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, EMBED, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(EMBED, width, k, padding=k // 2) for k in KERNELS)
        layers: list[nn.Module] = [nn.Dropout(0.5)]
        n_in = width * len(KERNELS)
        for _ in range(depth - 1):
            layers += [nn.Linear(n_in, width), nn.ReLU(), nn.Dropout(0.3)]
            n_in = width
        layers.append(nn.Linear(n_in, 2))
        self.head = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.embed(x).transpose(1, 2)  # (N, E, L)
        pooled = [torch.relu(c(e)).amax(dim=2) for c in self.convs]
        return self.head(torch.cat(pooled, 1))


class BagOfWords(nn.Module):
    """A bag-of-words MLP: the mean of word vectors (a first dense layer over word counts),
    then ``depth`` hidden layers of ``width`` (ReLU, dropout), 2 classes."""

    def __init__(self, vocab: int, width: int, depth: int) -> None:
        super().__init__()
        self.bag = nn.EmbeddingBag(vocab, width, mode="mean", padding_idx=0)
        layers: list[nn.Module] = [nn.ReLU(), nn.Dropout(0.3)]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), nn.ReLU(), nn.Dropout(0.3)]
        layers.append(nn.Linear(width, 2))
        self.head = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.bag(x))


def build(spec: TrainSpec, vocab: int) -> nn.Module:
    if spec.preset == "bow":
        return BagOfWords(vocab, spec.width, spec.depth)
    return TextCNN(vocab, spec.width, spec.depth)


def corpus_for(folder: Path, lang: str, corpus: Corpus | None) -> tuple[list[str], list[int], Corpus, bool]:
    texts, labels = load_reviews(folder / ("rt-polarity" if lang == "en" else "chn-sentiment"), lang)
    fresh = corpus is None or len(corpus[2]) != len(texts) + 1
    if fresh:
        corpus = tokenise(texts, lang)
    assert corpus is not None
    return texts, labels, corpus, fresh


def train(
    spec: TrainSpec,
    rep: Reporter,
    data_dir: Path,
    corpus: Corpus | None = None,
    send: Callable[[Any], None] | None = None,
) -> tuple[Outcome, nn.Module, dict[str, Any]]:
    """Train ``spec`` (child side) -> the outcome, the model, and what rebuilds it (the vocabulary)."""
    lang = spec.lang
    texts, labels, corpus, fresh = corpus_for(Path(data_dir), lang, corpus)
    if fresh and send is not None:
        send(("corpus", lang, corpus))
    tr, va, te = split(len(texts))
    tr = tr[: max(1, min(spec.n_train, len(tr)))]
    counts = np.bincount(np.concatenate([corpus[1][corpus[2][r] : corpus[2][r + 1]] for r in tr]))
    keep = [i for i in np.argsort(-counts, kind="stable")[:MAX_VOCAB] if counts[i] >= MIN_COUNT]
    lookup = np.ones(len(corpus[0]), dtype=np.int64)  # unknown
    lookup[np.asarray(keep, dtype=np.int64)] = np.arange(2, len(keep) + 2)
    vocab = ["[PAD]", "[UNK]", *(corpus[0][i] for i in keep)]
    y = torch.tensor(labels)
    data = Data(
        x_train=encode(corpus, tr, lookup, MAX_LEN[lang]),
        y_train=y[tr],
        x_val=encode(corpus, va, lookup, MAX_LEN[lang]),
        y_val=y[va],
        x_test=encode(corpus, te, lookup, MAX_LEN[lang]),
        y_test=y[te],
        labels=LABELS,
        show=lambda i: {"text": texts[va[i]][:300]},
    )
    if send is not None:
        send(("info", {"n_train": len(tr), "n_val": len(va), "n_test": len(te), "vocab": len(vocab)}))
    model = build(spec, len(vocab))
    out = fit(model, data, spec, rep)
    return out, model, {"kind": "text", "vocab": vocab}


def shipped_accuracy(lang: str) -> float | None:
    """The shipped model's accuracy on the same test split (its ``metrics.json``)."""
    from core.registry import MODELS_DIR

    try:
        metrics = json.loads((MODELS_DIR / SHIPPED.get(lang, "") / "metrics.json").read_text(encoding="utf-8"))
        return float(metrics["test_accuracy"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class TrainedText:
    """A finished sentiment model in the server's memory: ``predict(texts) -> (N, 2)``."""

    labels = LABELS

    def __init__(self, spec: TrainSpec, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.spec = spec
        self.vocab: list[str] = list(meta["vocab"])
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.model = build(spec, len(self.vocab))
        self.model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        self.model.eval()

    def predict(self, inputs: Any) -> np.ndarray:
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        if not texts:
            return np.zeros((0, 2), dtype=np.float32)
        max_len = MAX_LEN.get(self.spec.lang, 80)
        seqs = [[self.index.get(w, 1) for w in words(str(t), self.spec.lang)][:max_len] or [1] for t in texts]
        x = torch.zeros((len(seqs), max(max(len(s) for s in seqs), max(KERNELS))), dtype=torch.long)
        for i, s in enumerate(seqs):
            x[i, : len(s)] = torch.tensor(s)
        with torch.no_grad():
            return torch.softmax(self.model(x), 1).numpy()
