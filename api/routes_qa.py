"""Q&A routes: ``POST /api/ask`` (the article's shape) and ``POST /api/qa`` (the full result; with
``explain: true`` also why the top answer, :mod:`core.qa.explain`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api import schemas as s
from api.checks import blank, check_passage, check_text
from api.errors import BODY, GUARDED, ApiError, responses
from api.serving import Serving
from core.qa.explain import explain_code

ERRORS = responses(*BODY, *GUARDED, 404, 503)


def explanation_out(code: str, e: Any = None) -> s.ExplanationOut:
    """The response's ``explanation``: a :class:`core.qa.explain.QAExplanation` (``code`` ok), or
    why there is none (``code`` not-available, no-answer or too-slow, the rest null)."""
    if e is None:
        return s.ExplanationOut(
            code="no-answer" if code == "no-answer" else "too-slow" if code == "too-slow" else "not-available",
            method="integrated-gradients",
            question=None,
            passage=None,
            window=None,
            score=None,
            baseline_score=None,
            completeness_error=None,
            drop=None,
            random_drop=None,
            seconds=0.0,
        )

    def words(a: Any) -> s.WordWeightsOut:
        return s.WordWeightsOut(pieces=list(a.pieces), weights=[round(w, 5) for w in a.weights], notes=list(a.notes))

    return s.ExplanationOut(
        code="ok",
        method="integrated-gradients",
        question=words(e.question),
        passage=words(e.passage),
        window=e.window,
        score=e.score,
        baseline_score=e.baseline_score,
        completeness_error=e.passage.completeness_error,
        drop=e.passage.drop,
        random_drop=e.passage.random_drop,
        seconds=e.seconds,
    )


def qa_out(r: Any, explanation: s.ExplanationOut | None = None) -> s.QAResponse:
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
        explanation=explanation,
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
        res = await serving.run("qa", req.question, req.context, model=req.model, top_k=req.top_k)
        if not req.explain:
            return qa_out(res)
        code = explain_code(res)  # only the top answer of a span model is explained (bounded work)
        if code:
            return qa_out(res, explanation_out(code))
        try:
            why = await serving.run("qa-explain", req.question, req.context, res)
        except ApiError as exc:  # core refused to explain: the answer stands, with the code why
            if exc.code == "explain-refused" and exc.extra.get("reason") in ("too-slow", "no-answer"):
                return qa_out(res, explanation_out(str(exc.extra["reason"])))
            raise
        return qa_out(res, explanation_out("ok", why))

    return r
