"""The quality guard: a candidate runtime is served only within ``MAX_F1_DROP`` of PyTorch fp32.

:func:`qa_scores` answers the committed guard sample (``core.openvino.data``: held-out
SQuAD-train and CMRC-train questions) with the app's own decoding
(``core.qa.answer_with_bundle``) and scores EM / F1 per language with the training code's
metric (``training.qa_data.score``). :func:`passes` compares two such results.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

MAX_F1_DROP = 1.0  # F1 points a language may lose against PyTorch fp32
MAX_DROP = 1.0  # accuracy points (sentiment, zero-shot) likewise, for the other encoders
MIN_COSINE = 0.99  # e5-small: mean cosine of each group's embeddings with PyTorch's


class _Bundle:
    """What ``core.qa.answer_with_bundle`` needs of a bundle."""

    def __init__(self, model: Any, tok: Any, meta: Mapping[str, Any]) -> None:
        import torch

        self.model, self.preprocessor, self.device = model, tok, torch.device("cpu")
        self.lock = threading.Lock()
        self.meta = dict(meta)


def qa_scores(model: Any, tok: Any, meta: Mapping[str, Any], questions: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """``{lang: {"n", "em", "f1", "f1s"}}`` (percent; ``f1s`` per question, in order) of span
    model ``model`` on ``questions`` (:class:`core.openvino.data.GuardQuestion`), answered as
    the app answers."""
    from core.qa import answer_with_bundle
    from training.qa_data import score

    bundle = _Bundle(model, tok, meta)
    rows: dict[str, list[tuple[float, float]]] = {}
    for q in questions:
        best = answer_with_bundle(bundle, q.question, q.context, top_k=1).answers
        rows.setdefault(q.lang, []).append(score(best[0].text if best else "", list(q.answers), q.lang))
    return {
        lang: {
            "n": len(r),
            "em": 100 * sum(em for em, _ in r) / len(r),
            "f1": 100 * sum(f1 for _, f1 in r) / len(r),
            "f1s": [round(100 * f1, 2) for _, f1 in r],
        }
        for lang, r in rows.items()
    }


def passes(
    candidate: Mapping[str, Mapping[str, float]],
    reference: Mapping[str, Mapping[str, float]],
    metric: str = "f1",
    max_drop: float = MAX_F1_DROP,
) -> bool:
    """Every language (group) of ``reference`` is within ``max_drop`` of its ``metric`` in
    ``candidate`` (where it has one), and its mean ``cosine`` (where measured) is at least
    :data:`MIN_COSINE`."""
    return all(
        (metric not in ref or candidate[lang][metric] >= ref[metric] - max_drop)
        and candidate[lang].get("cosine", 1.0) >= MIN_COSINE
        for lang, ref in reference.items()
    )
