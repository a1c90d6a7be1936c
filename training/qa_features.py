"""Training windows for the span QA model, kept as flat numpy arrays.

A window is question + a slice of the passage (``truncation="only_second"``, ``max_length``
tokens, ``stride`` overlap), labelled with its answer's first and last token, or with the
``<s>`` token (0, 0) when the answer is not inside it (only a ``neg_keep`` share of those is
kept). About 100,000 windows for all of SQuAD + CMRC: as Python lists they cost ~0.6 GB more
than these arrays.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Features:
    """``count`` windows: window ``i``'s token ids are ``ids[offsets[i]:offsets[i + 1]]``
    (int32), its answer tokens ``starts[i]``..``ends[i]`` (0, 0: no answer in it)."""

    ids: np.ndarray  # (total tokens,) int32
    offsets: np.ndarray  # (count + 1,) int64
    starts: np.ndarray  # (count,) int32
    ends: np.ndarray  # (count,) int32

    @property
    def count(self) -> int:
        return int(len(self.starts))

    def lengths(self) -> np.ndarray:
        """``(count,)`` tokens per window."""
        return np.diff(self.offsets)

    def fingerprint(self) -> str:
        """sha256 of every array: two runs train on the same windows iff these match."""
        h = hashlib.sha256()
        for a in (self.ids, self.offsets, self.starts, self.ends):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, ids=self.ids, offsets=self.offsets, starts=self.starts, ends=self.ends)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Features:
        z = np.load(path)
        return cls(z["ids"], z["offsets"], z["starts"], z["ends"])


def _label(seq_ids: list[int | None], offs: list[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """First and last token of the answer ``[start, end)`` if the window holds all of it."""
    ctx = [i for i, s in enumerate(seq_ids) if s == 1]
    if not ctx or not (offs[ctx[0]][0] <= start and offs[ctx[-1]][1] >= end):
        return None
    s_tok = e_tok = None
    for i in ctx:
        if offs[i][0] <= start < offs[i][1] or offs[i][0] >= start:
            s_tok = i
            break
    for i in reversed(ctx):
        if offs[i][0] < end <= offs[i][1] or offs[i][1] <= end:
            e_tok = i
            break
    if s_tok is None or e_tok is None or e_tok < s_tok:
        return None
    return s_tok, e_tok


def featurize(
    examples: list[Any],
    tok: Any,
    max_length: int,
    stride: int,
    neg_keep: float,
    rng: random.Random,
    neg_keep_long: float = 0.03,
    chunk: int = 512,
) -> Features:
    """Windows of ``examples`` (``question``, ``context``, ``answers[0]`` = (text, start)),
    tokenised ``chunk`` examples at a time (the fast tokenizer works on the batch in Rust).
    Answerless windows: a ``neg_keep`` share kept (``neg_keep_long`` in passages of 8+
    windows), decided by ``rng`` in example order (so a seed fixes them)."""
    ids: list[np.ndarray] = []
    starts: list[int] = []
    ends: list[int] = []
    for c in range(0, len(examples), chunk):
        part = examples[c : c + chunk]
        enc = tok(
            [e.question for e in part],
            [e.context for e in part],
            truncation="only_second",
            max_length=max_length,
            stride=stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        sample = enc["overflow_to_sample_mapping"]
        per_example = np.bincount(sample, minlength=len(part))
        for w in range(len(enc["input_ids"])):
            ex = part[sample[w]]
            text, a_start = ex.answers[0]
            seq = enc.sequence_ids(w)
            if 1 not in seq:
                continue
            label = _label(seq, enc["offset_mapping"][w], a_start, a_start + len(text))
            if label is None:
                keep = neg_keep if per_example[sample[w]] < 8 else neg_keep_long
                if rng.random() >= keep:
                    continue
                label = (0, 0)
            ids.append(np.asarray(enc["input_ids"][w], dtype=np.int32))
            starts.append(label[0])
            ends.append(label[1])
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(x) for x in ids])
    flat = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32)
    return Features(flat, offsets, np.asarray(starts, dtype=np.int32), np.asarray(ends, dtype=np.int32))


def batches(feats: Features, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of windows of similar length (little padding), in random order."""
    lengths = feats.lengths()
    order = sorted(range(feats.count), key=lambda i: (int(lengths[i]), rng.random()))
    groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(groups)
    return groups


def collate(
    feats: Features, idx: list[int], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``input_ids`` and ``attention_mask`` ``(len(idx), longest)``, start and end labels ``(len(idx),)``."""
    lengths = feats.lengths()
    n = int(max(lengths[i] for i in idx))
    ids = torch.full((len(idx), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(idx), n), dtype=torch.long)
    for r, i in enumerate(idx):
        seq = feats.ids[feats.offsets[i] : feats.offsets[i + 1]]
        ids[r, : len(seq)] = torch.from_numpy(seq.astype(np.int64))
        mask[r, : len(seq)] = 1
    starts = torch.from_numpy(feats.starts[idx].astype(np.int64))
    ends = torch.from_numpy(feats.ends[idx].astype(np.int64))
    return ids, mask, starts, ends
