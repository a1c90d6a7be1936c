"""The API's errors: every one is JSON ``{"error": {"code", "message", ...}}`` with a 4xx
status (503 when a model cannot be loaded or the model server is busy), never a traceback.

:func:`install` registers the handlers on the app; :func:`responses` is what each route
documents in the OpenAPI document (the statuses it can answer, with that JSON shape)."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api import schemas as s
from core import wire
from core.loaders import ModelLoadError

log = logging.getLogger(__name__)

_CLIENT_ERRORS = {"unknown-model": 404, "not-a-text-model": 422, "no-attention-maps": 422}


class ApiError(Exception):
    """A client error with its status and code."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


class Unavailable(Exception):
    """The serving side cannot answer right now (a replica died, overload): 503, retry."""


class BodyTooLarge(HTTPException):
    """Raised by the guard's ``receive`` past the cap; an ``HTTPException`` so that FastAPI's
    body parsing re-raises it instead of turning it into a 400."""

    def __init__(self) -> None:
        super().__init__(413, "the request body is too large")


class ErrorJSON(JSONResponse):
    """An error's JSON: text echoed from the request (a model key, a field name) may hold a
    lone surrogate, which UTF-8 cannot carry; it is replaced instead of failing with a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}
    return ErrorJSON({"error": body}, status_code=status, headers=headers)


# --- what the OpenAPI document says ------------------------------------------------------

_WHEN = {
    400: "the body is not valid JSON (code invalid-json) or not a readable multipart form (invalid-form)",
    401: "DEMO_API_KEY is set and X-API-Key (or Authorization: Bearer) is missing or wrong (unauthorized)",
    404: "an unknown model key (model-unavailable, reason unknown-model) or task name (unknown-task)",
    413: "the body is over API_MAX_BODY_BYTES, or the answer asked for would be too large (too-large)",
    422: "the request breaks this schema (invalid-input, with details), or its content is refused: "
    "blank text (empty), text that is not text (binary-text, wrong-encoding), a passage over the limit "
    "(passage-too-long), an image that is not a PNG/JPEG of 8x8 pixels or more (not-an-image, bad-shape), "
    "a layer or head the model does not have (bad-layer, bad-head), a model that cannot do the task "
    "(model-unavailable), an explanation refused (explain-refused, with its reason, e.g. too-slow), or input "
    "the model refuses (invalid-input)",
    429: "API_RATE_LIMIT is set and this client is over it (rate-limited; Retry-After says when to retry)",
    503: "a model cannot be loaded here (model-unavailable) or the model server is restarting (unavailable)",
}

BODY = (400, 413, 422)  # a route that reads a JSON body
GUARDED = (401, 429)  # a route behind the API key and the rate limit (not /healthz, /readyz)


def responses(*statuses: int, when: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The error responses a route can give, for ``@app.post(..., responses=...)``; ``when``
    says a route's own reasons for a status (instead of the shared text)."""
    text = {**_WHEN, **(when or {})}
    return {status: {"model": s.ErrorResponse, "description": text[status]} for status in sorted({*statuses})}


# --- the handlers ------------------------------------------------------------------------


def _allowed(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for the request's path (for a 405's ``Allow``)."""
    import re

    path = request.scope.get("path", "")
    methods: set[str] = set()
    for template, ops in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), path):
            methods |= {m.upper() for m in ops if m.lower() in ("get", "post", "put", "patch", "delete")}
    return sorted(methods)


def install(app: FastAPI) -> None:
    """JSON errors with a code for everything a route or FastAPI can raise."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error(exc.status, exc.code, exc.message, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error(400, "invalid-json", "the body is not valid JSON (UTF-8)")
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        msg = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid input"))
        details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in errors[:10]]
        return error(422, "invalid-input", msg, details=details)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return error(413, "too-large", "the request body is too large")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.__cause__ is not None:  # FastAPI could not parse the body
            return error(400, "invalid-json", "the body is not valid JSON (UTF-8)")
        code = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(exc.status_code, "http-error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path (Starlette names only its first route's)
            headers["Allow"] = ", ".join(_allowed(request)) or headers.get("Allow", "")
        return error(exc.status_code, code, str(exc.detail), headers or None)

    @app.exception_handler(ModelLoadError)
    async def _model_error(_: Request, exc: ModelLoadError) -> JSONResponse:
        status = _CLIENT_ERRORS.get(exc.code, 503)
        return error(
            status,
            "model-unavailable",
            exc.reason,
            reason=exc.code,
            key=exc.key,
            hint=exc.hint or None,
            params={k: v for k, v in exc.params.items() if isinstance(v, (str, int, float, bool))},
        )

    @app.exception_handler(Unavailable)
    async def _unavailable(_: Request, exc: Unavailable) -> JSONResponse:
        return error(503, "unavailable", str(exc) or "the model server is busy or restarting", {"Retry-After": "1"})

    @app.exception_handler(wire.WireError)
    async def _wire(_: Request, exc: wire.WireError) -> JSONResponse:
        return error(422, "invalid-input", str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected API error")
        return error(500, "internal-error", "an unexpected error; it has been logged")
