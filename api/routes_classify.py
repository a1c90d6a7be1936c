"""Classification routes: ``POST /api/classify`` (sentiment), ``POST /api/explain`` (sentiment and
why, word by word) and ``POST /api/zero-shot``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter

from api import schemas as s
from api.checks import blank, check_text
from api.errors import BODY, GUARDED, ApiError, responses
from api.schemas import MAX_LABEL_CHARS
from api.serving import Serving

ERRORS = responses(*BODY, *GUARDED, 404, 503)


def _prediction(p: Any) -> s.PredictionOut | None:
    if p is None:
        return None
    return s.PredictionOut(
        label=p.label, score=p.score, scores=dict(p.scores), model=p.model, language=p.language, truncated=p.truncated
    )


def _texts(req: s.ClassifyRequest | s.ZeroShotRequest) -> list[str]:
    texts = [check_text(t, "text") for t in req.all_texts()]
    if req.text is not None:
        blank(req.text, "text")
    return texts


async def _per_text(
    texts: list[str], predict: Callable[[list[str]], Awaitable[list[Any]]]
) -> list[s.PredictionOut | None]:
    """Predictions for the non-blank texts, ``None`` in the places of blank ones."""
    keep = [i for i, t in enumerate(texts) if t.strip()]
    out: list[s.PredictionOut | None] = [None] * len(texts)
    if keep:
        for i, p in zip(keep, await predict([texts[i] for i in keep]), strict=True):
            out[i] = _prediction(p)
    return out


def router(serving: Serving) -> APIRouter:
    r = APIRouter(tags=["Classification"], responses=ERRORS)

    @r.post("/api/classify", response_model=s.ClassifyResponse, summary="Sentiment")
    async def classify(req: s.ClassifyRequest) -> s.ClassifyResponse:
        texts = _texts(req)
        t0 = time.perf_counter()
        preds = await _per_text(texts, lambda chosen: serving.run("classify", chosen, model=req.model))
        return s.ClassifyResponse(predictions=preds, latency_ms=(time.perf_counter() - t0) * 1000)

    @r.post("/api/explain", response_model=s.ExplainResponse, summary="Sentiment and the words that decided it")
    async def explain(req: s.ExplainRequest) -> s.ExplainResponse:
        text = check_text(req.text, "text")
        blank(text, "text")
        t0 = time.perf_counter()
        res = await serving.run("sentiment", text, model=req.model, method=req.method)
        attr = res.explanation
        out = None
        if attr is not None:
            out = s.WordAttributionOut(
                method=attr.method,
                pieces=list(attr.pieces),
                weights=[float(w) for w in attr.weights],
                completeness_error=attr.completeness_error,
                drop=float(attr.drop or 0.0),
                random_drop=float(attr.random_drop or 0.0),
                notes=list(attr.notes),
                seconds=attr.seconds,
            )
        pred = _prediction(res.prediction)
        assert pred is not None  # a non-blank text always has a prediction
        return s.ExplainResponse(
            prediction=pred,
            explanation=out,
            explain_error=res.explain_error,
            latency_ms=(time.perf_counter() - t0) * 1000,
        )

    @r.post("/api/zero-shot", response_model=s.ClassifyResponse, summary="Your own labels")
    async def zero_shot(req: s.ZeroShotRequest) -> s.ClassifyResponse:
        texts = _texts(req)
        if any(not lab.strip() for lab in req.labels):  # content, not shape: the schema cannot say "not blank"
            raise ApiError(422, "invalid-input", f"labels are 1 to {MAX_LABEL_CHARS} characters, not blank")
        labels = [check_text(lab.strip(), "label") for lab in req.labels]
        t0 = time.perf_counter()
        preds = await _per_text(texts, lambda chosen: serving.run("zero-shot", chosen, labels, model=req.model))
        return s.ClassifyResponse(predictions=preds, latency_ms=(time.perf_counter() - t0) * 1000)

    return r
