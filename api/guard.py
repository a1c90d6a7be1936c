"""The guard in front of every route: a pure ASGI middleware that caps request bodies,
checks the API key, applies the rate limit and adds the timing headers."""

from __future__ import annotations

import contextvars
import hmac
import math
import os
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.responses import JSONResponse

from api.errors import BodyTooLarge, error

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

PUBLIC_PATHS = ("/healthz", "/readyz", "/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc")


def env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


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


# Milliseconds the current request spent in backend task calls (the bare ``core`` work in one
# process; the round trip to the replica on Ray Serve), for the X-Task-Ms header.
TASK_MS: contextvars.ContextVar[list[float]] = contextvars.ContextVar("task_ms")


class Guard:
    """Pure ASGI middleware (cheap: no per-request task): caps request bodies, checks the
    API key, applies the rate limit and adds ``X-Process-Ms`` and ``X-Inference-Engine``."""

    def __init__(self, app: ASGIApp, engine: Callable[[], str]) -> None:
        self.app = app
        self.engine = engine
        self.max_body = env_int("API_MAX_BODY_BYTES", 2 * 1024 * 1024)
        self.key = os.environ.get("DEMO_API_KEY", "").strip()
        per_min = env_int("API_RATE_LIMIT", 0)
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
                await self._reply(send, error(401, "unauthorized", "a valid X-API-Key header is needed"))
                return
        if self.limiter is not None and not public:
            client = (scope.get("client") or ("?",))[0]  # not a header: a client could pick a new one per request
            wait = self.limiter.wait_s(str(client))
            if wait > 0:
                await self._reply(
                    send,
                    error(
                        429,
                        "rate-limited",
                        f"too many requests: retry in {wait:.0f} s",
                        {"Retry-After": f"{math.ceil(wait)}"},
                    ),
                )
                return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await self._reply(send, error(413, "too-large", f"request bodies are at most {self.max_body} bytes"))
            return
        received = 0
        task_ms = [0.0]
        TASK_MS.set(task_ms)

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
