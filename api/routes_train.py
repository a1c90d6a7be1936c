"""``POST /api/train``, ``GET /api/train/{id}``, ``DELETE /api/train/{id}``: live training
jobs (:mod:`core.train`), with the page's limits: one live job per client (409 ``busy``),
``TRAIN_MAX_QUEUE`` waiting (429 ``queue-full``), ``TRAIN_MAX_SECONDS`` of training, a job
not polled for ``TRAIN_IDLE_SECONDS`` is cancelled. A job belongs to its client: the API key
when one is sent (``DEMO_API_KEY``), else the client's address. Nothing is written to disk."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import Any

import numpy as np
from fastapi import APIRouter, Request

from api import schemas as s
from api.errors import BODY, GUARDED, ApiError, responses
from api.serving import Serving
from core import train
from core.train import JobStatus, TrainError, TrainSpec

_WHEN = {
    404: "no such training job (unknown-job; also a job from before a server restart: its message says lost)",
    409: "this client already has a training job queued or running (busy): poll it or DELETE it first",
    422: "the request breaks this schema (invalid-input, with details), or a preset that is not the task's (bad-spec)",
    429: "too many training jobs are waiting (queue-full; Retry-After), or API_RATE_LIMIT is set and this "
    "client is over it (rate-limited)",
}
_STATUS = {"busy": 409, "queue-full": 429, "unknown-job": 404, "bad-spec": 422}


def owner(request: Request) -> str:
    """Whose job: the API key when one is sent (hashed), else the client's address."""
    key = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if key:
        return "api-key:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:16]
    return "api-client:" + (request.client.host if request.client else "?")


def _refuse(exc: TrainError) -> ApiError:
    return ApiError(_STATUS.get(exc.code, 422), exc.code, exc.detail or exc.code)


def _mine(job_id: str, request: Request) -> str:
    """``job_id`` if it is this client's job (another client's is as unknown as none)."""
    from core.train.jobs import RUNNER

    known = RUNNER.owner_of(job_id)
    if known is not None and known != owner(request):
        raise TrainError("unknown-job", "no such job")
    return job_id


def status_out(st: JobStatus, images: bool = False) -> s.TrainStatusOut:
    def image(x: Any) -> list[list[float]] | None:
        if not images or x is None:
            return None
        return np.round(np.asarray(x, dtype=np.float32), 3).tolist()

    return s.TrainStatusOut(
        id=st.id,
        state=st.state,
        spec=s.TrainRequest.model_validate(asdict(st.spec), strict=False),
        queue_position=st.queue_position,
        progress=st.progress,
        eta_s=st.eta_s,
        elapsed_s=st.elapsed_s,
        phase=st.extra.get("phase"),
        runs_on=st.extra.get("runs_on"),
        worker=st.extra.get("worker"),
        history=[s.TrainPointOut(**asdict(p)) for p in st.history],
        mistakes=[
            s.TrainMistakeOut(true=m.true, predicted=m.predicted, p=m.p, text=m.text, image=image(m.image))
            for m in st.mistakes
        ],
        labels=list(st.labels),
        confusion=None if st.confusion is None else [list(r) for r in st.confusion],
        test_accuracy=st.test_accuracy,
        shipped_accuracy=st.shipped_accuracy,
        notes=list(st.notes),
        error=st.error,
        detail=st.extra.get("detail"),
        finished_at=st.finished_at,
    )


def router(serving: Serving) -> APIRouter:
    r = APIRouter(tags=["Training"])

    @r.post(
        "/api/train",
        response_model=s.TrainStarted,
        status_code=202,
        summary="Start a training job",
        responses=responses(*BODY, *GUARDED, 409, when=_WHEN),
    )
    def start(body: s.TrainRequest, request: Request) -> s.TrainStarted:
        try:
            job_id = train.submit(TrainSpec(**body.model_dump()), owner(request))
            st = train.status(job_id)
        except TrainError as exc:
            raise _refuse(exc) from None
        return s.TrainStarted(id=st.id, state=st.state, queue_position=st.queue_position, notes=list(st.notes))

    @r.get(
        "/api/train/{job_id}",
        response_model=s.TrainStatusOut,
        summary="A training job's progress and curves (also its heartbeat)",
        responses=responses(*GUARDED, 404, 422, when=_WHEN),
    )
    def get(job_id: str, request: Request, images: bool = False) -> s.TrainStatusOut:
        try:
            return status_out(train.status(_mine(job_id, request)), images)
        except TrainError as exc:
            raise _refuse(exc) from None

    @r.delete(
        "/api/train/{job_id}",
        response_model=s.TrainStatusOut,
        summary="Stop a training job (the model so far is scored and kept)",
        responses=responses(*GUARDED, 404, 422, when=_WHEN),
    )
    def stop(job_id: str, request: Request) -> s.TrainStatusOut:
        try:
            return status_out(train.cancel(_mine(job_id, request)))
        except TrainError as exc:
            raise _refuse(exc) from None

    return r
