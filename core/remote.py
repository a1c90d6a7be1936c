"""The thin client: ``core`` task calls answered by the HTTP API of another process.

With ``DEMO_INFERENCE_URL`` set (``http://host:8000``: the single-process API or Ray
Serve), the app's pages call :func:`call` instead of the task function; it posts the
arguments to ``/api/tasks/<name>`` and rebuilds the same dataclasses from the answer
(:mod:`core.wire`). Errors come back as the same exceptions: a model that cannot load
is a :class:`~core.loaders.ModelLoadError` with the server's code, an API that cannot be
reached one with ``code="remote-unreachable"``. No Streamlit here, no extra dependency
(urllib).
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from core import tasks, wire
from core.loaders import ModelLoadError

ENV = "DEMO_INFERENCE_URL"
TIMEOUT_S = 120.0
CLASSIFY_CHUNK = 32  # a CSV goes in chunks: progress on the page, bodies under the API's cap

_INFO: dict[str, tuple[float, dict[str, Any]]] = {}
_INFO_LOCK = threading.Lock()


def base_url() -> str | None:
    """The API's address when inference is remote, else ``None``."""
    url = os.environ.get(ENV, "").strip().rstrip("/")
    return url or None


def enabled() -> bool:
    return base_url() is not None


def _headers() -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    key = os.environ.get("DEMO_API_KEY", "").strip()
    if key:
        headers["X-API-Key"] = key
    return headers


def _error(status: int, body: bytes, name: str) -> Exception:
    try:
        err = json.loads(body)["error"]
    except Exception:
        err = {"code": "remote-error", "message": body[:200].decode("utf-8", "replace")}
    code = str(err.get("code", "remote-error"))
    message = str(err.get("message", ""))
    if code == "model-unavailable":
        return ModelLoadError(
            str(err.get("key", name)),
            message,
            str(err.get("hint", "")),
            code=str(err.get("reason", "load-failed")),
            params=err.get("params") or {},
        )
    if code == "passage-too-long":  # the same error as in process, so the page says it the same way
        from core.qa.select import MAX_CONTEXT_CHARS, PassageTooLong

        return PassageTooLong(int(err.get("length") or 0), int(err.get("limit") or MAX_CONTEXT_CHARS))
    if code == "explain-refused":  # the same error as in process: the page says why in its words
        from core.explain import ExplainError

        return ExplainError(str(err.get("reason") or "unknown-target"), message)
    if status in (400, 413, 422):
        return ValueError(f"{code}: {message}")
    return ModelLoadError(
        name, f"the inference API answered {status} {code}: {message}", code="remote-error", params={"status": status}
    )


def post(path: str, payload: Any, *, timeout: float = TIMEOUT_S, url: str | None = None) -> tuple[int, Any]:
    """POST JSON to the API; ``(status, decoded JSON)``. Raises ``OSError`` when unreachable."""
    base = url or base_url()
    if base is None:
        raise RuntimeError(f"{ENV} is not set")
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(base + path, data=data, headers=_headers(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            try:
                return resp.status, json.loads(raw)
            except ValueError:  # not JSON: not the API (another server on that port)
                return resp.status, raw
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _call_once(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    payload = {"args": wire.encode(list(args)), "kwargs": {k: wire.encode(v) for k, v in kwargs.items()}}
    try:
        status, body = post(f"/api/tasks/{name}", payload)
    except (OSError, ValueError) as exc:  # ValueError: a URL urllib cannot use ("host:8000" without http://)
        raise ModelLoadError(
            name,
            f"the inference API at {base_url()} cannot be reached ({exc})",
            f"start it (make api) or unset {ENV}",
            code="remote-unreachable",
            params={"url": base_url() or ""},
        ) from None
    if status != 200 or not isinstance(body, dict) or "result" not in body:
        raise _error(status, body if isinstance(body, bytes) else json.dumps(body).encode(), name)
    try:
        return wire.decode(body["result"])
    except wire.WireError as exc:
        raise ModelLoadError(
            name, f"the inference API answered what this client cannot read ({exc})", code="remote-error"
        ) from None


def call(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` answered by the remote API: the same result type as the local
    call. ``progress`` (a callback) stays here: a list of texts goes in chunks and
    ``progress(done, total)`` is called after each."""
    name = tasks.name_of(fn)
    if name is None:
        raise ValueError(f"{getattr(fn, '__name__', fn)!r} is not a core task")
    progress = kwargs.pop("progress", None)
    if name == "classify" and args and isinstance(args[0], list):
        texts: list[str] = args[0]
        out: list[Any] = []
        for i in range(0, max(len(texts), 1), CLASSIFY_CHUNK):
            out.extend(_call_once(name, (texts[i : i + CLASSIFY_CHUNK], *args[1:]), kwargs))
            if progress is not None:
                progress(min(i + CLASSIFY_CHUNK, len(texts)), len(texts))
        return out
    return _call_once(name, args, kwargs)


def server_info(ttl_s: float = 30.0) -> dict[str, Any]:
    """What ``/healthz`` of the remote API says (engine, device), cached for ``ttl_s``;
    ``{}`` when it cannot be reached."""
    base = base_url()
    if base is None:
        return {}
    with _INFO_LOCK:
        hit = _INFO.get(base)
        if hit is not None and time.monotonic() - hit[0] < ttl_s:
            return hit[1]
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2.0) as resp:
            info = dict(json.loads(resp.read()))
    except Exception:
        info = {}
    with _INFO_LOCK:
        _INFO[base] = (time.monotonic(), info)
    return info
