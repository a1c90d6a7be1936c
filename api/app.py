"""The FastAPI application: every ``core`` task over HTTP, the same for one process and for
Ray Serve (the routes reach models only through a :class:`~api.backend.Backend`).

Routes (OpenAPI docs at ``/docs``), one module per thing served:

- :mod:`api.routes_qa`: ``POST /api/ask``: ``{"question", "context"}`` -> ``{"answer"}`` (the
  article's shape); ``POST /api/qa``: the full result (offsets, scores, model, mode, latency,
  no-answer);
- :mod:`api.routes_classify`: ``POST /api/classify``, ``POST /api/zero-shot``;
- :mod:`api.routes_digits`: ``POST /api/digits`` (a PNG upload or a 28x28 / 280x280 array);
- :mod:`api.routes_attention`: ``POST /api/attention`` (one layer/head; all of them on
  request, capped);
- :mod:`api.routes_train`: ``POST /api/train`` -> a job id, ``GET /api/train/{id}`` (progress,
  curves), ``DELETE /api/train/{id}`` (live training, :mod:`core.train`);
- :mod:`api.routes_models`: ``GET /api/models``, ``GET /healthz``, ``GET /readyz``,
  ``GET /api/stats``, and ``POST /api/tasks/{name}``: a ``core`` task with wire-encoded
  arguments (:mod:`core.wire`), used by the app's thin client (:mod:`core.remote`).

Bad input never gives a 500: every error is JSON ``{"error": {"code", "message"}}`` with a
4xx status (503 when a model cannot be loaded), and each route's OpenAPI entry lists the
error statuses it can answer (:mod:`api.errors`). Request bodies are strict (no unknown
fields, no lax coercion). Bodies are capped (``API_MAX_BODY_BYTES``, default 2 MB);
``DEMO_API_KEY`` requires ``X-API-Key`` (or ``Authorization: Bearer``); ``API_RATE_LIMIT``
requests per minute per client (default off); CORS only when ``API_CORS_ORIGINS`` lists
origins (:mod:`api.guard`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors, routes_attention, routes_classify, routes_digits, routes_models, routes_qa, routes_train
from api.backend import Backend
from api.checks import MAX_IMAGE_PIXELS, check_passage, check_text, pixels_array, png_array
from api.errors import ApiError, BodyTooLarge, Unavailable
from api.guard import PUBLIC_PATHS, Guard, RateLimiter
from api.routes_attention import MAX_FULL_ATTENTION
from api.serving import Serving

__all__ = [
    "MAX_FULL_ATTENTION",
    "MAX_IMAGE_PIXELS",
    "PUBLIC_PATHS",
    "ApiError",
    "BodyTooLarge",
    "RateLimiter",
    "Unavailable",
    "check_passage",
    "check_text",
    "create_app",
    "pixels_array",
    "png_array",
]


def create_app(backend: Backend | Callable[[], Backend] | None = None, *, warm: bool = False) -> FastAPI:
    """The API over ``backend`` (default: :class:`~api.backend.InProcess`). A callable is
    called at startup (Ray Serve builds its backend inside the replica). ``warm`` loads the
    default models in the background at startup."""
    serving = Serving(backend)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        serving.backend()
        if warm:
            from core.warmup import start_background_warmup

            start_background_warmup(0.0)
        yield

    app = FastAPI(
        title="Try AI models: API",
        version="1.0",
        description="Every task of the app over HTTP: Q&A, classification, digits, attention. "
        "Errors are JSON {error: {code, message}}; each route lists the statuses it can answer.",
        lifespan=lifespan,
    )
    origins = [o.strip() for o in os.environ.get("API_CORS_ORIGINS", "").split(",") if o.strip()]
    if origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"], allow_headers=["*"])
    app.add_middleware(Guard, engine=lambda: serving.backend().engine)
    errors.install(app)
    for module in (routes_qa, routes_classify, routes_digits, routes_attention, routes_models, routes_train):
        app.include_router(module.router(serving))
    return app
