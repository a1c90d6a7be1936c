"""The QA data of ``../shared/data/qa``: loading, the splits, and SQuAD / CMRC scoring.

Splits (fixed; the held-out test is never used for training, tuning or selection):

- **test** (held out): XQuAD articles 24-47, English and Chinese (558 questions each);
- **report only**: all of SQuAD 1.1 dev (:func:`squad_dev`; XQuAD is a subset of it), scored
  for the figure comparable with published ones, never for a choice;
- **validation**: SQuAD 1.1 train articles 426-441 (the last 16), CMRC 2018 train articles
  2103-2402 (the last 300), XQuAD articles 20-23 (en + zh), the last 250 questions of
  CMRC 2018 dev and the last 250 of DRCD test (whole paragraphs), COVID-QA articles 90-95;
- **train**: everything else: SQuAD 1.1 train 0-425, CMRC 2018 train 0-2102, XQuAD 0-19
  (en + zh), CMRC 2018 trial + dev, DRCD dev + test, COVID-QA articles 0-89.

Each file's language is fixed in :data:`LANGUAGE` (a file not listed there is refused, so
English is never scored with Chinese character F1 by accident).

Scores: English exact match / F1 with SQuAD 1.1's normalisation (lower case, no
punctuation, no articles, single spaces, word-level F1); Chinese as the CMRC 2018 script
(punctuation removed, CJK characters one token each, runs of Latin letters or digits one
token, F1 from the longest common substring, best over the reference answers).
"""

from __future__ import annotations

import collections
import gzip
import json
import re
import string
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core.registry import REPO_ROOT

DATA = REPO_ROOT.parent / "shared" / "data" / "qa"
HELD_OUT_FROM = 24  # XQuAD articles 24-47: the held-out test
SQUAD_VAL_FROM = 426  # SQuAD 1.1 train articles 426-441: English validation
CMRC_TRAIN_VAL_FROM = 2103  # CMRC 2018 train articles 2103-2402: Chinese validation

LANGUAGE = {
    "xquad.en": "en",
    "covid_qa": "en",
    "squad_train_v1.1": "en",
    "squad_dev_v1.1": "en",
    "xquad.zh": "zh",
    "cmrc2018_train": "zh",
    "cmrc2018_dev": "zh",
    "cmrc2018_trial": "zh",
    "drcd_dev": "zh",
    "drcd_test": "zh",
}


@dataclass(frozen=True)
class Example:
    id: str
    question: str
    context: str
    answers: tuple[tuple[str, int], ...]  # (text, char start), offsets checked
    lang: str  # "en" | "zh"
    source: str


def _fix_start(context: str, text: str, start: int) -> int | None:
    """The answer's real start: ``start`` if it matches, else the occurrence nearest it."""
    if context[start : start + len(text)] == text:
        return start
    hits = [m.start() for m in re.finditer(re.escape(text), context)]
    return min(hits, key=lambda h: abs(h - start)) if hits else None


def load(name: str, data: Path = DATA, *, keep_unplaced: bool = False) -> list[tuple[int, list[Example]]]:
    """``(article index, examples)`` of one file, answers with corrected offsets. An answer
    whose text is not in the passage is dropped, or kept with start -1 where
    ``keep_unplaced`` (a report set, scored against every reference as the official script)."""
    if name not in LANGUAGE:
        raise KeyError(f"unknown QA file {name!r}: add its language to training.qa_data.LANGUAGE")
    lang = LANGUAGE[name]
    raw = json.load(gzip.open(data / f"{name}.json.gz", "rt", encoding="utf-8"))
    out = []
    for ai, article in enumerate(raw["data"]):
        exs = []
        for pi, par in enumerate(article["paragraphs"]):
            ctx = par["context"]
            for qi, qa in enumerate(par["qas"]):
                answers = []
                for a in qa.get("answers", []):
                    t = a["text"].strip()
                    s = _fix_start(ctx, t, int(a.get("answer_start", 0))) if t else None
                    if s is None and keep_unplaced and t:
                        s = -1
                    if s is not None and (t, s) not in answers:
                        answers.append((t, s))
                if answers:
                    exs.append(
                        Example(f"{name}/{ai}/{pi}/{qi}", qa["question"].strip(), ctx, tuple(answers), lang, name)
                    )
        out.append((ai, exs))
    return out


def _flat(articles: list[tuple[int, list[Example]]], keep) -> list[Example]:
    return [e for ai, exs in articles if keep(ai) for e in exs]


def splits(data: Path = DATA) -> dict[str, list[Example]]:
    """``train`` and ``validation`` examples. The held-out test is in :func:`heldout`."""
    train: list[Example] = []
    val: list[Example] = []
    for name in ("xquad.en", "xquad.zh"):
        arts = load(name, data)
        train += _flat(arts, lambda a: a < 20)
        val += _flat(arts, lambda a: 20 <= a < HELD_OUT_FROM)
    for name, n_val in (("cmrc2018_trial", 0), ("cmrc2018_dev", 250), ("drcd_dev", 0), ("drcd_test", 250)):
        exs = _flat(load(name, data), lambda a: True)
        if n_val:
            cut = max(0, len(exs) - n_val)
            while 0 < cut < len(exs) and exs[cut - 1].context == exs[cut].context:
                cut -= 1  # keep whole paragraphs on one side
            train += exs[:cut]
            val += exs[cut:]
        else:
            train += exs
    covid = load("covid_qa", data)
    train += _flat(covid, lambda a: a < 90)
    val += _flat(covid, lambda a: a >= 90)
    for name, cut_at in (("squad_train_v1.1", SQUAD_VAL_FROM), ("cmrc2018_train", CMRC_TRAIN_VAL_FROM)):
        arts = load(name, data)
        train += _flat(arts, lambda a, c=cut_at: a < c)
        val += _flat(arts, lambda a, c=cut_at: a >= c)
    return {"train": train, "validation": val}


def squad_dev(data: Path = DATA) -> list[Example]:
    """All of SQuAD 1.1 dev (10,570 questions): **report only** (it holds the held-out XQuAD
    articles); its full score is the one comparable with published figures."""
    return _flat(load("squad_dev_v1.1", data, keep_unplaced=True), lambda a: True)


def heldout(lang: str, data: Path = DATA) -> list[Example]:
    """The held-out test: XQuAD articles 24-47 in ``lang``. Read only to report scores."""
    return _flat(load(f"xquad.{lang}", data), lambda a: a >= HELD_OUT_FROM)


# ---- scoring -------------------------------------------------------------------------


def _squad_norm(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def _cmrc_tokens(s: str) -> list[str]:
    """CMRC 2018's mixed segmentation: CJK characters one by one, other runs as words,
    punctuation dropped."""
    s = s.lower().strip()
    out, word = [], ""
    for ch in s:
        cat = unicodedata.category(ch)
        if cat.startswith("P") or cat.startswith("S") or ch.isspace() or ch in string.punctuation:
            if word:
                out.append(word)
                word = ""
            continue
        if re.match(r"[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]", ch):
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        else:
            word += ch
    if word:
        out.append(word)
    return out


def _lcs_len(a: list[str], b: list[str]) -> int:
    """Length of the longest common substring (as the CMRC script computes F1)."""
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                cur[j + 1] = prev[j] + 1
                best = max(best, cur[j + 1])
        prev = cur
    return best


def score(prediction: str, references: list[str], lang: str) -> tuple[float, float]:
    """(exact match, F1), each 0 or 1 / in [0, 1], best over the references."""
    em = f1 = 0.0
    for ref in references:
        if lang == "zh":
            p, r = _cmrc_tokens(prediction), _cmrc_tokens(ref)
            e = float(p == r)
            common = _lcs_len(p, r)
        else:
            p, r = _squad_norm(prediction).split(), _squad_norm(ref).split()
            e = float(p == r)
            common = sum((collections.Counter(p) & collections.Counter(r)).values())
        f = 0.0 if common == 0 else 2 * common / (len(p) + len(r))
        em, f1 = max(em, e), max(f1, f)
    return em, f1
