"""Accuracy of "your own labels" (zero-shot) on a small labelled set, English and Chinese.

The set (``bench/data/zero_shot_topics.json``) is 80 English and 80 Chinese short texts
written for this project, in two sets of five labels (sports / technology / food / travel /
finance and health / education / politics / entertainment / weather, and their Chinese
names); each text is scored against the five labels of its set, so chance is 20 %.

Prints, per language, for the bundled encoders:
- ``e5-small`` (multilingual-e5-small) in every input convention: the text as ``query:`` and
  the label sentence as ``passage:`` (what the app uses), the reverse, ``query:`` on both,
  and no prefixes; each with the app's template ("This text is about {label}." /
  "这段文字是关于{label}的。") and with the bare label;
- ``minilm`` (all-MiniLM-L6-v2, no prefixes), the English model of the app before e5, as
  the baseline measured in the same run (on Chinese, for reference only);
- for every row: accuracy, the mean margin (cosine of the right label minus the best wrong
  one) and the mean probability of the right label at the app's temperature for the model;
- the temperature that minimises the log loss of each model's app configuration;
- e5-small across languages: Chinese texts with the English labels and English texts with
  the Chinese labels (the app's template rule: Chinese when a label is Chinese);
- last, the accuracy of ``core.classify.classify_zero_shot`` itself with automatic model
  choice (the page's code path), per language.

    python bench/zero_shot.py [--threads 2] [--wrong]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = ROOT / "bench" / "data" / "zero_shot_topics.json"
CONVENTIONS = {  # name -> (prefix of the text, prefix of the label sentence)
    "text=query, label=passage": ("query: ", "passage: "),
    "text=passage, label=query": ("passage: ", "query: "),
    "query on both": ("query: ", "query: "),
    "no prefix": ("", ""),
}


def load_sets(path: Path = DATA) -> list[dict]:
    """The labelled sets: ``[{"name", "labels": {lang: [...]}, "items": [{lang, label, text}]}]``."""
    return json.loads(path.read_text(encoding="utf-8"))["sets"]


def items_of(sets: list[dict], lang: str) -> list[tuple[str, str, list[str]]]:
    """``(text, gold label, the set's labels)`` of every ``lang`` item."""
    return [(it["text"], it["label"], s["labels"][lang]) for s in sets for it in s["items"] if it["lang"] == lang]


class Scorer:
    """Embeds each distinct string once per model, then scores any convention from the cache."""

    def __init__(self, bundle) -> None:
        self.bundle = bundle
        self.cache: dict[str, np.ndarray] = {}

    def vectors(self, texts: list[str]) -> np.ndarray:
        from core.classify import embed

        new = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if new:
            for t, v in zip(new, embed(self.bundle, new)):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts])

    def score(
        self, items, text_prefix: str, label_prefix: str, template: dict[str, str] | str, lang: str
    ) -> np.ndarray:
        """Cosine similarities ``[n_items, n_labels]`` (every set has five labels)."""
        tpl = template if isinstance(template, str) else template[lang]
        texts = self.vectors([text_prefix + text for text, _, _ in items])
        rows = []
        for vec, (_, _, labels) in zip(texts, items):
            lab = self.vectors([label_prefix + tpl.format(label=lb) for lb in labels])
            rows.append(lab @ vec)
        return np.stack(rows)


def metrics(sims: np.ndarray, gold: np.ndarray, temperature: float) -> tuple[float, float, float]:
    """(accuracy, mean margin of the right label over the best wrong one, mean probability
    of the right label after a softmax at ``temperature``)."""
    n = np.arange(len(gold))
    right = sims[n, gold]
    wrong = sims.copy()
    wrong[n, gold] = -np.inf
    z = sims / temperature
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return float((sims.argmax(1) == gold).mean()), float((right - wrong.max(1)).mean()), float(p[n, gold].mean())


def best_temperature(sims: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    """(temperature, mean log loss) minimising the log loss over a grid."""
    n = np.arange(len(gold))
    best = (0.0, np.inf)
    for temp in np.round(np.arange(0.0025, 0.1001, 0.0025), 4):
        z = sims / temp
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = float(-logp[n, gold].mean())
        if loss < best[1]:
            best = (float(temp), loss)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--wrong", action="store_true", help="list the misclassified texts of each row")
    args = p.parse_args()

    import torch

    from core import loaders
    from core.classify import TEMPLATES, classify_zero_shot, zero_shot_temperature, zero_shot_template

    torch.set_num_threads(args.threads)
    sets = load_sets()
    scorers = {}
    for key in ("e5-small", "minilm"):
        t0 = time.perf_counter()
        scorers[key] = Scorer(loaders.load(key))
        print(f"{key}: loaded in {time.perf_counter() - t0:.1f}s")
    temps = {key: zero_shot_temperature(s.bundle) for key, s in scorers.items()}
    print(f"app temperatures: {temps}; chance: 20.0 %")

    for lang in ("en", "zh"):
        items = items_of(sets, lang)
        gold = np.array([labels.index(g) for _, g, labels in items])
        print(f"\n[{lang}] {len(items)} texts, {len(sets)} sets of 5 labels")
        print(f"  {'model':9s} {'convention':27s} {'labels':9s} {'accuracy':>9s} {'margin':>7s} {'p(right)':>9s}")
        rows = [("e5-small", conv, tname) for conv in CONVENTIONS for tname in ("template", "bare")]
        rows += [("minilm", "no prefix", "template"), ("minilm", "no prefix", "bare")]
        for key, conv, tname in rows:
            tp, lp = CONVENTIONS[conv]
            sims = scorers[key].score(items, tp, lp, TEMPLATES if tname == "template" else "{label}", lang)
            acc, margin, pr = metrics(sims, gold, temps[key])
            print(f"  {key:9s} {conv:27s} {tname:9s} {acc:9.1%} {margin:7.4f} {pr:9.3f}")
            if args.wrong:
                for (text, g, labels), row in zip(items, sims):
                    if labels[int(row.argmax())] != g:
                        print(f"      {text!r}: {labels[int(row.argmax())]} (right: {g})")
        for key, conv in (("e5-small", "text=query, label=passage"), ("minilm", "no prefix")):
            tp, lp = CONVENTIONS[conv]
            temp, loss = best_temperature(scorers[key].score(items, tp, lp, TEMPLATES, lang), gold)
            print(f"  {key}, app convention: log loss is lowest at temperature {temp} ({loss:.3f})")

    print("\ne5-small across languages (text=query, label=passage, the app's template rule):")
    for text_lang, label_lang in (("zh", "en"), ("en", "zh")):
        items = []
        for s in sets:
            rename = dict(zip(s["labels"][text_lang], s["labels"][label_lang]))
            items += [
                (it["text"], rename[it["label"]], s["labels"][label_lang])
                for it in s["items"]
                if it["lang"] == text_lang
            ]
        gold = np.array([labels.index(g) for _, g, labels in items])
        tpl = zero_shot_template(items[0][2], text_lang)
        sims = scorers["e5-small"].score(items, "query: ", "passage: ", tpl, text_lang)
        acc, margin, pr = metrics(sims, gold, temps["e5-small"])
        print(
            f"  {text_lang} texts, {label_lang} labels, template {tpl!r}: accuracy {acc:.1%}, margin {margin:.4f}, "
            f"p(right) {pr:.3f}"
        )

    print("\napp path (core.classify.classify_zero_shot, automatic model):")
    for lang in ("en", "zh"):
        items = items_of(sets, lang)
        t0 = time.perf_counter()
        right, used = 0, set()
        for s in sets:
            texts = [it["text"] for it in s["items"] if it["lang"] == lang]
            golds = [it["label"] for it in s["items"] if it["lang"] == lang]
            preds = classify_zero_shot(texts, s["labels"][lang])
            right += sum(pr.label == g for pr, g in zip(preds, golds))
            used |= {pr.model for pr in preds}
        ms = (time.perf_counter() - t0) * 1000 / len(items)
        print(
            f"  [{lang}] {', '.join(sorted(used))}: {right}/{len(items)} = {right / len(items):.1%} "
            f"({ms:.1f} ms per text, batched per set)"
        )


if __name__ == "__main__":
    main()
