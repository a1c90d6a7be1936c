"""The FastAPI application: every ``core`` task over HTTP, the same for one process and for
Ray Serve (the routes reach models only through a :class:`~api.backend.Backend`).

Routes (OpenAPI docs at ``/docs``):

- ``POST /api/ask``: ``{"question", "context"}`` -> ``{"answer"}`` (the article's shape);
  ``POST /api/qa``: the full result (offsets, scores, model, mode, latency, no-answer);
- ``POST /api/classify``, ``POST /api/zero-shot``, ``POST /api/digits`` (a PNG upload or a
  28x28 / 280x280 array), ``POST /api/attention`` (one layer/head; all of them on request,
  capped);
- ``GET /api/models``, ``GET /healthz``, ``GET /readyz``, ``GET /api/stats``;
- ``POST /api/tasks/{name}``: a ``core`` task with wire-encoded arguments (:mod:`core.wire`),
  used by the app's thin client (:mod:`core.remote`).

Bad input never gives a 500: every error is JSON ``{"error": {"code", "message"}}`` with a
4xx status (503 when a model cannot be loaded). Bodies are capped (``API_MAX_BODY_BYTES``,
default 2 MB); ``DEMO_API_KEY`` requires ``X-API-Key`` (or ``Authorization: Bearer``);
``API_RATE_LIMIT`` requests per minute per client (default off); CORS only when
``API_CORS_ORIGINS`` lists origins.
"""

from __future__ import annotations

import contextvars
import hmac
import io
import json
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from api import schemas as s
from api.backend import Backend, InProcess
from core import tasks, wire
from core.loaders import ModelLoadError
from core.qa.select import PassageTooLong, check_length

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

PUBLIC_PATHS = ("/healthz", "/readyz", "/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc")
MAX_FULL_ATTENTION = 1_000_000  # floats in a full attention answer (layers x heads x T x T)
MAX_IMAGE_PIXELS = 4096 * 4096
_CLIENT_ERRORS = {"unknown-model": 404, "not-a-text-model": 422, "no-attention-maps": 422}


class ApiError(Exception):
    """A client error with its status and code."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


class Unavailable(Exception):
    """The serving side cannot answer right now (a replica died, overload): 503, retry."""


class ErrorJSON(JSONResponse):
    """An error's JSON: text echoed from the request (a model key, a field name) may hold a
    lone surrogate, which UTF-8 cannot carry; it is replaced instead of failing with a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}
    return ErrorJSON({"error": body}, status_code=status, headers=headers)


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


# --- the guard: body cap, API key, rate limit, timing -----------------------------------


class RateLimiter:
    """At most ``per_minute`` requests per client in any 60 s (sliding window)."""

    def __init__(self, per_minute: int, max_clients: int = 10_000) -> None:
        self.per_minute = per_minute
        self.max_clients = max_clients
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, client: str, now: float | None = None) -> float:
        """0 if ``client`` may go now (and count it), else seconds until it may."""
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._seen.get(client)
            if q is None:
                if len(self._seen) >= self.max_clients:
                    self._seen.pop(next(iter(self._seen)))
                q = self._seen[client] = deque()
            while q and now - q[0] >= 60:
                q.popleft()
            if len(q) >= self.per_minute:
                return 60 - (now - q[0])
            q.append(now)
            return 0.0


class BodyTooLarge(HTTPException):
    """Raised by the guard's ``receive`` past the cap; an ``HTTPException`` so that FastAPI's
    body parsing re-raises it instead of turning it into a 400."""

    def __init__(self) -> None:
        super().__init__(413, "the request body is too large")


# Milliseconds the current request spent in backend task calls (the bare ``core`` work in one
# process; the round trip to the replica on Ray Serve), for the X-Task-Ms header.
_TASK_MS: contextvars.ContextVar[list[float]] = contextvars.ContextVar("task_ms")


class Guard:
    """Pure ASGI middleware (cheap: no per-request task): caps request bodies, checks the
    API key, applies the rate limit and adds ``X-Process-Ms`` and ``X-Inference-Engine``."""

    def __init__(self, app: ASGIApp, engine: Callable[[], str]) -> None:
        self.app = app
        self.engine = engine
        self.max_body = _env_int("API_MAX_BODY_BYTES", 2 * 1024 * 1024)
        self.key = os.environ.get("DEMO_API_KEY", "").strip()
        per_min = _env_int("API_RATE_LIMIT", 0)
        self.limiter = RateLimiter(per_min) if per_min > 0 else None

    async def _reply(self, send: Callable[[Message], Awaitable[None]], resp: JSONResponse) -> None:
        await send({"type": "http.response.start", "status": resp.status_code, "headers": resp.raw_headers})
        await send({"type": "http.response.body", "body": resp.body})

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        public = path in PUBLIC_PATHS
        if self.key and not public:
            given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode("latin-1"), self.key.encode("utf-8")):
                await self._reply(send, _error(401, "unauthorized", "a valid X-API-Key header is needed"))
                return
        if self.limiter is not None and not public:
            client = (scope.get("client") or ("?",))[0]  # not a header: a client could pick a new one per request
            wait = self.limiter.wait_s(str(client))
            if wait > 0:
                await self._reply(
                    send,
                    _error(
                        429,
                        "rate-limited",
                        f"too many requests: retry in {wait:.0f} s",
                        {"Retry-After": f"{math.ceil(wait)}"},
                    ),
                )
                return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await self._reply(send, _error(413, "too-large", f"request bodies are at most {self.max_body} bytes"))
            return
        received = 0
        task_ms = [0.0]
        _TASK_MS.set(task_ms)

        async def capped() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge
            return msg

        async def timed(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                ms = (time.perf_counter() - t0) * 1000
                msg["headers"] = [
                    *msg.get("headers", []),
                    (b"x-process-ms", f"{ms:.2f}".encode()),
                    (b"x-task-ms", f"{task_ms[0]:.2f}".encode()),
                    (b"x-inference-engine", self.engine().encode()),
                ]
            await send(msg)

        await self.app(scope, capped, timed)


# --- input checks -----------------------------------------------------------------------


def check_text(value: str, field: str) -> str:
    """Refuse text that is not text: lone surrogates (not UTF-8), NUL bytes or mostly
    control characters (a binary file pasted as text)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(422, "wrong-encoding", f"{field} is not valid UTF-8 text") from None
    if "\x00" in value:
        raise ApiError(422, "binary-text", f"{field} looks like binary data, not text")
    controls = sum(1 for ch in value if ord(ch) < 32 and ch not in "\t\n\r")
    if value and controls / len(value) > 0.05:
        raise ApiError(422, "binary-text", f"{field} looks like binary data, not text")
    return value


def _check_strings(value: Any) -> None:
    """:func:`check_text` on every string inside decoded task arguments (lists of texts,
    labels and keyword names included)."""
    if isinstance(value, str):
        check_text(value, "text")
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(k)
            _check_strings(v)


def _too_long(exc: PassageTooLong) -> ApiError:
    return ApiError(422, exc.code, str(exc), length=exc.length, limit=exc.limit)


def check_passage(value: str) -> str:
    """A Q&A passage, refused past core's limit (``core.qa.MAX_CONTEXT_CHARS``) with code
    ``passage-too-long`` before any other work on it."""
    try:
        check_length(value)
    except PassageTooLong as exc:
        raise _too_long(exc) from None
    return check_text(value, "context")


def _blank(value: str, field: str) -> None:
    if not value.strip():
        raise ApiError(422, "empty", f"{field} is empty")


def pixels_array(pixels: list[list[float]]) -> np.ndarray:
    """A JSON image (28x28 or 280x280, 0..255 or 0..1) as ``(H, W)`` uint8."""
    h = len(pixels)
    if h not in (28, 280) or any(len(row) != h for row in pixels):
        raise ApiError(422, "bad-shape", "pixels must be 28x28 or 280x280 (rows of equal length)")
    arr = np.asarray(pixels, dtype=np.float64)
    if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 255:
        raise ApiError(422, "bad-pixels", "pixel values are numbers from 0 to 255 (or 0 to 1)")
    if arr.max() <= 1.0:
        arr = arr * 255.0
    return arr.round().astype(np.uint8)


def png_array(data: bytes) -> np.ndarray:
    """An uploaded image as ``(H, W, 4)`` uint8 RGBA; 422 when it is not an image."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ApiError(422, "empty", "the uploaded file is empty")
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
            if w * h > MAX_IMAGE_PIXELS or w < 8 or h < 8:
                raise ApiError(422, "bad-shape", f"images are 8x8 to {MAX_IMAGE_PIXELS} pixels")
            return np.asarray(img.convert("RGBA"), dtype=np.uint8)
    except ApiError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ApiError(422, "not-an-image", "the uploaded file is not a PNG or JPEG image") from None


# --- the application --------------------------------------------------------------------


def _qa_out(r: Any) -> s.QAResponse:
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


def _prediction(p: Any) -> s.PredictionOut | None:
    if p is None:
        return None
    return s.PredictionOut(
        label=p.label, score=p.score, scores=dict(p.scores), model=p.model, language=p.language, truncated=p.truncated
    )


def _rounded(a: np.ndarray, digits: int = 5) -> Any:
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


def _texts(req: s.ClassifyRequest | s.ZeroShotRequest) -> list[str]:
    texts = [check_text(t, "text") for t in req.all_texts()]
    if req.text is not None:
        _blank(req.text, "text")
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


def create_app(backend: Backend | Callable[[], Backend] | None = None, *, warm: bool = False) -> FastAPI:
    """The API over ``backend`` (default: :class:`~api.backend.InProcess`). A callable is
    called at startup (Ray Serve builds its backend inside the replica). ``warm`` loads the
    default models in the background at startup."""
    state: dict[str, Backend] = {}

    def get_backend() -> Backend:
        if "b" not in state:
            b = (
                backend()
                if isinstance(backend, type) or (callable(backend) and not hasattr(backend, "run"))
                else backend
            )
            state["b"] = b if b is not None else InProcess()  # type: ignore[assignment]
        return state["b"]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        get_backend()
        if warm:
            from core.warmup import start_background_warmup

            start_background_warmup(0.0)
        yield

    app = FastAPI(
        title="Try AI models: API",
        version="1.0",
        description="Every task of the app over HTTP: Q&A, classification, digits, attention. "
        "Errors are JSON {error: {code, message}}.",
        lifespan=lifespan,
        responses={422: {"model": s.ErrorResponse}, 413: {"model": s.ErrorResponse}, 503: {"model": s.ErrorResponse}},
    )
    origins = [o.strip() for o in os.environ.get("API_CORS_ORIGINS", "").split(",") if o.strip()]
    if origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"], allow_headers=["*"])
    app.add_middleware(Guard, engine=lambda: get_backend().engine)

    # --- errors: JSON with a code, never a traceback ---

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "invalid-json", "the body is not valid JSON (UTF-8)")
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        msg = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid input"))
        details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in errors[:10]]
        return _error(422, "invalid-input", msg, details=details)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return _error(413, "too-large", "the request body is too large")

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.__cause__ is not None:  # FastAPI could not parse the body
            return _error(400, "invalid-json", "the body is not valid JSON (UTF-8)")
        code = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(exc.status_code, "http-error")
        return _error(exc.status_code, code, str(exc.detail), dict(exc.headers or {}) or None)

    @app.exception_handler(ModelLoadError)
    async def _model_error(_: Request, exc: ModelLoadError) -> JSONResponse:
        status = _CLIENT_ERRORS.get(exc.code, 503)
        return _error(
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
        return _error(503, "unavailable", str(exc) or "the model server is busy or restarting", {"Retry-After": "1"})

    @app.exception_handler(wire.WireError)
    async def _wire(_: Request, exc: wire.WireError) -> JSONResponse:
        return _error(422, "invalid-input", str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected API error")
        return _error(500, "internal-error", "an unexpected error; it has been logged")

    async def run(name: str, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await get_backend().run(name, args, kwargs)
        except (ModelLoadError, ApiError, Unavailable):
            raise
        except PassageTooLong as exc:  # e.g. a thin client's task call
            raise _too_long(exc) from None
        except (ValueError, TypeError) as exc:
            raise ApiError(422, "invalid-input", str(exc) or type(exc).__name__) from None
        finally:
            spent = _TASK_MS.get(None)
            if spent is not None:
                spent[0] += (time.perf_counter() - t0) * 1000

    # --- Q&A ---

    @app.post("/api/ask", response_model=s.AskResponse, tags=["Q&A"], summary="Answer a question from a passage")
    async def ask(req: s.AskRequest) -> s.AskResponse:
        _blank(check_text(req.question, "question"), "question")
        _blank(check_passage(req.context), "context")
        r = await run("qa", req.question, req.context, model=req.model, top_k=1)
        return s.AskResponse(answer="" if r.no_answer or not r.answers else r.answers[0].text)

    @app.post("/api/qa", response_model=s.QAResponse, tags=["Q&A"], summary="Answers with offsets, scores and details")
    async def qa(req: s.QARequest) -> s.QAResponse:
        _blank(check_text(req.question, "question"), "question")
        _blank(check_passage(req.context), "context")
        return _qa_out(await run("qa", req.question, req.context, model=req.model, top_k=req.top_k))

    # --- classification ---

    @app.post("/api/classify", response_model=s.ClassifyResponse, tags=["Classification"], summary="Sentiment")
    async def classify(req: s.ClassifyRequest) -> s.ClassifyResponse:
        texts = _texts(req)
        t0 = time.perf_counter()
        preds = await _per_text(texts, lambda chosen: run("classify", chosen, model=req.model))
        return s.ClassifyResponse(predictions=preds, latency_ms=(time.perf_counter() - t0) * 1000)

    @app.post("/api/zero-shot", response_model=s.ClassifyResponse, tags=["Classification"], summary="Your own labels")
    async def zero_shot(req: s.ZeroShotRequest) -> s.ClassifyResponse:
        texts = _texts(req)
        labels = [check_text(lab.strip(), "label") for lab in req.labels]
        t0 = time.perf_counter()
        preds = await _per_text(texts, lambda chosen: run("zero-shot", chosen, labels, model=req.model))
        return s.ClassifyResponse(predictions=preds, latency_ms=(time.perf_counter() - t0) * 1000)

    # --- digits ---

    @app.post(
        "/api/digits",
        response_model=s.DigitsResponse,
        tags=["Digits"],
        summary="Read a handwritten digit",
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/json": {"schema": s.DigitsRequest.model_json_schema()},
                    "multipart/form-data": {
                        "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
                    },
                },
                "required": True,
            }
        },
    )
    async def digits(request: Request) -> s.DigitsResponse:
        ctype = request.headers.get("content-type", "")
        saliency = False
        if ctype.startswith("multipart/form-data"):
            try:
                form = await request.form(max_files=1, max_fields=4)
            except BodyTooLarge:
                raise
            except Exception:
                raise ApiError(400, "invalid-form", "a multipart form with one file field named 'file'") from None
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise ApiError(422, "invalid-input", "upload the image as the form field 'file'")
            image = png_array(await upload.read())
            saliency = str(form.get("saliency", "")).lower() in ("1", "true", "yes")
        else:
            try:
                raw = json.loads(await request.body())
            except BodyTooLarge:
                raise
            except (ValueError, UnicodeDecodeError):
                raise ApiError(
                    400, "invalid-json", "the body is not valid JSON (or upload a PNG as multipart 'file')"
                ) from None
            try:
                body = s.DigitsRequest.model_validate(raw)
            except ValidationError as exc:
                raise RequestValidationError(exc.errors()) from None
            image = pixels_array(body.pixels)
            saliency = body.saliency
        t0 = time.perf_counter()
        r = await run("digits", image, saliency=saliency, compare=False)
        ms = (time.perf_counter() - t0) * 1000
        if r.code != "ok" or r.probs is None:
            return s.DigitsResponse(
                code="blank", digit=None, probabilities=None, image=None, model=r.model, latency_ms=ms
            )
        return s.DigitsResponse(
            code="ok",
            digit=int(np.argmax(r.probs)),
            probabilities=_rounded(r.probs, 6),
            image=_rounded(r.image, 4),
            saliency=None if r.saliency is None else _rounded(r.saliency, 4),
            model=r.model,
            latency_ms=ms,
        )

    # --- attention ---

    @app.post("/api/attention", response_model=s.AttentionResponse, tags=["Attention"], summary="Attention maps")
    async def attention(req: s.AttentionRequest) -> s.AttentionResponse:
        _blank(check_text(req.text, "text"), "text")
        pair = check_text(req.pair, "pair") if req.pair and req.pair.strip() else None
        r = await run("attention", req.text, req.model, text_pair=pair)
        att = r.attentions  # (layers, heads, T, T)
        n_layers, n_heads = int(att.shape[0]), int(att.shape[1])
        if not -n_layers <= req.layer < n_layers:
            raise ApiError(422, "bad-layer", f"layer is from 0 to {n_layers - 1} (or negative from the end)")
        if req.head is not None and not 0 <= req.head < n_heads:
            raise ApiError(422, "bad-head", f"head is from 0 to {n_heads - 1}, or null for the average")
        layer = req.layer % n_layers
        matrix = att[layer].mean(axis=0) if req.head is None else att[layer, req.head]
        full = None
        if req.full:
            if att.size > MAX_FULL_ATTENTION:
                raise ApiError(
                    413,
                    "too-large",
                    f"all maps would be {att.size} numbers (at most {MAX_FULL_ATTENTION}): ask one layer/head or a shorter text",
                )
            full = _rounded(att, 4)
        return s.AttentionResponse(
            model=r.model,
            tokens=list(r.tokens),
            layers=n_layers,
            heads=n_heads,
            layer=layer,
            head=req.head,
            matrix=_rounded(matrix, 5),
            truncated=r.truncated,
            n_input_tokens=r.n_input_tokens,
            causal=r.causal,
            kv_heads=r.kv_heads,
            full=full,
        )

    # --- the thin client's route ---

    @app.post(
        "/api/tasks/{name}",
        tags=["Internal"],
        summary="A core task with wire-encoded arguments (the app's thin client)",
    )
    async def task(name: str, call: s.TaskCall) -> dict[str, Any]:
        if name not in tasks.NAMES:
            raise ApiError(404, "unknown-task", f"no task {name!r}; tasks: {', '.join(tasks.NAMES)}")
        args = wire.decode(call.args)
        kwargs = wire.decode({"__dict__": call.kwargs})
        _check_strings([args, kwargs])
        why = tasks.check_kwargs(name, kwargs)
        if why is not None:
            raise ApiError(422, "invalid-input", why)
        result = await run(name, *args, **kwargs)
        return {"result": wire.encode(result), "engine": get_backend().engine}

    # --- models and health ---

    @app.get(
        "/api/models", response_model=list[s.ModelOut], tags=["Models"], summary="Every model and its availability"
    )
    async def models() -> list[s.ModelOut]:
        from core.health import model_states

        states = await run_in_threadpool(model_states, await get_backend().loaded())
        return [
            s.ModelOut(
                key=m.key,
                name=m.name,
                tasks=list(m.tasks),
                languages=list(m.languages),
                source=m.source,
                status=m.status,
                reason=m.reason,
                size_mb=m.size_mb,
                loaded_s=m.load_seconds,
            )
            for m in states
        ]

    @app.get("/healthz", tags=["Health"], summary="The server is up")
    async def healthz() -> dict[str, Any]:
        from core.device import describe_device

        dev = describe_device()
        return {"status": "ok", "engine": get_backend().engine, "device": dev.label, "device_info": asdict(dev)}

    @app.get("/readyz", tags=["Health"], summary="The default models are loaded")
    async def readyz() -> JSONResponse:
        from core.loaders import loaded_name
        from core.warmup import default_loads

        loaded = await get_backend().loaded()
        wanted = {loaded_name(key, attention) for _, key, attention in default_loads()}
        missing = sorted(wanted - set(loaded))
        body = {"ready": not missing, "loaded": sorted(loaded), "missing": missing, "engine": get_backend().engine}
        return JSONResponse(body, status_code=200 if not missing else 503)

    @app.get("/api/stats", tags=["Health"], summary="Calls served (and batches, on Ray Serve)")
    async def stats() -> dict[str, Any]:
        return await get_backend().stats()

    return app
