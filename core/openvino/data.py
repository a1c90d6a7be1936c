"""The fixed, committed data an int8 build needs, so that a clone without ``../shared`` builds
and checks the same model:

- the calibration windows (``models/openvino/<key>.calibration.npz``): token ids of
  training windows, ``ids (N, T)`` int32 padded with the tokenizer's pad id and
  ``lengths (N,)``;
- the guard sample (``models/openvino/<key>.guard.json.gz``): held-out validation
  questions with their passages and reference answers, per language.

:func:`write_qa_files` makes both from ``../shared/data`` (``python -m core.openvino data
qa-e5``; run once, committed): calibration from ``training.qa_data.splits()["train"]``
(SQuAD 1.1 train articles < 426, CMRC 2018 train articles < 2103), the guard from the fixed
validation sample of ``training.qa_eval.validation_sample`` (SQuAD-train articles >= 426,
CMRC-train articles >= 2103): never XQuAD 24-47, SQuAD dev or another held-out set.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.registry import REPO_ROOT

FOLDER = REPO_ROOT / "models" / "openvino"
QA_SOURCES = {"en": "squad_train_v1.1", "zh": "cmrc2018_train"}
CALIBRATION_PER_LANG = 150
GUARD_PER_LANG = 150
SEED = 22


@dataclass(frozen=True)
class GuardQuestion:
    question: str
    context: str
    answers: tuple[str, ...]
    lang: str  # "en" | "zh"


def calibration_path(key: str) -> Path:
    return FOLDER / f"{key}.calibration.npz"


def guard_path(key: str) -> Path:
    return FOLDER / f"{key}.guard.json.gz"


def load_calibration(key: str) -> tuple[np.ndarray, np.ndarray]:
    """``(ids (N, T) int32, lengths (N,) int32)`` of the committed calibration windows."""
    with np.load(calibration_path(key)) as z:
        return np.asarray(z["ids"]), np.asarray(z["lengths"])


def load_guard(key: str) -> list[GuardQuestion]:
    """The committed guard questions (English first, then Chinese)."""
    rows = json.loads(gzip.decompress(guard_path(key).read_bytes()).decode("utf-8"))
    return [GuardQuestion(r["question"], r["context"], tuple(r["answers"]), r["lang"]) for r in rows]


def write_qa_files(key: str = "qa-e5", window: int = 256, stride: int = 128) -> tuple[Path, Path]:
    """Write the calibration windows and the guard sample of a span-QA model on e5 (needs
    ``../shared/data/qa``)."""
    from core import e5
    from core.qa.span import encode_windows
    from training import qa_data, qa_eval

    parts = qa_data.splits()
    rng = random.Random(SEED)
    tok = e5.tokenizer()
    rows: list[list[int]] = []
    for source in QA_SOURCES.values():
        train = [e for e in parts["train"] if e.source == source]
        rng.shuffle(train)
        for ex in train[:CALIBRATION_PER_LANG]:
            w = encode_windows(tok, ex.question, ex.context, max_length=window, stride=stride)
            pick = rng.randrange(w.count)
            n = int(w.inputs["attention_mask"][pick].sum())
            rows.append([int(i) for i in w.inputs["input_ids"][pick][:n]])
    ids = np.full((len(rows), window), int(tok.pad_token_id or 0), dtype=np.int32)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
    lengths = np.asarray([len(r) for r in rows], dtype=np.int32)
    FOLDER.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(calibration_path(key), ids=ids, lengths=lengths)

    sample = qa_eval.validation_sample(parts["validation"])
    guard = []
    for lang, source in QA_SOURCES.items():
        exs = [e for e in sample if e.source == source][:GUARD_PER_LANG]
        guard += [
            {
                "id": e.id,
                "question": e.question,
                "context": e.context,
                "answers": [a for a, _ in e.answers],
                "lang": lang,
            }
            for e in exs
        ]
    guard_path(key).write_bytes(gzip.compress(json.dumps(guard, ensure_ascii=False).encode("utf-8"), mtime=0))
    return calibration_path(key), guard_path(key)
