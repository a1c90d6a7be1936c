"""Q&A routes: ``POST /api/ask`` (the article's shape) and ``POST /api/qa`` (the full result)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api import schemas as s
from api.checks import blank, check_passage, check_text
from api.errors import BODY, GUARDED, responses
from api.serving import Serving

ERRORS = responses(*BODY, *GUARDED, 404, 503)


def qa_out(r: Any) -> s.QAResponse:
    return s.QAResponse(
        answers=[s.AnswerOut(text=a.text, start=a.start, end=a.end, score=a.score, kind=a.kind) for a in r.answers],
        model=r.model,
        mode=r.mode,
        language=r.language,
        no_answer=r.no_answer,
        weak=r.weak,
        null_score=r.null_score,
        windows=r.windows,
        requested=r.requested,
        why=r.why,
        fallback=r.fallback,
        notes=list(r.notes),
        device=r.device,
        latency_ms=r.latency_ms,
        segments=[(a, b) for a, b in r.segments],
        windows_total=r.windows_total,
        first_token_ms=r.first_token_ms,
    )


def router(serving: Serving) -> APIRouter:
    r = APIRouter(tags=["Q&A"], responses=ERRORS)

    @r.post("/api/ask", response_model=s.AskResponse, summary="Answer a question from a passage")
    async def ask(req: s.AskRequest) -> s.AskResponse:
        blank(check_text(req.question, "question"), "question")
        blank(check_passage(req.context), "context")
        res = await serving.run("qa", req.question, req.context, model=req.model, top_k=1)
        return s.AskResponse(answer="" if res.no_answer or not res.answers else res.answers[0].text)

    @r.post("/api/qa", response_model=s.QAResponse, summary="Answers with offsets, scores and details")
    async def qa(req: s.QARequest) -> s.QAResponse:
        blank(check_text(req.question, "question"), "question")
        blank(check_passage(req.context), "context")
        return qa_out(await serving.run("qa", req.question, req.context, model=req.model, top_k=req.top_k))

    return r
