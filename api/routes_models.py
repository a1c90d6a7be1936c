"""Models, health and the thin client's route: ``GET /api/models``, ``GET /healthz``,
``GET /readyz``, ``GET /api/stats`` and ``POST /api/tasks/{name}``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api import schemas as s
from api.checks import check_strings
from api.errors import BODY, GUARDED, ApiError, responses
from api.serving import Serving
from core import tasks, wire


def router(serving: Serving) -> APIRouter:
    r = APIRouter()

    @r.post(
        "/api/tasks/{name}",
        response_model=s.TaskOut,
        tags=["Internal"],
        summary="A core task with wire-encoded arguments (the app's thin client)",
        responses=responses(*BODY, *GUARDED, 404, 503),
    )
    async def task(
        call: s.TaskCall,
        name: str = Path(description=f"a core task: {', '.join(tasks.NAMES)} (another: 404)", examples=["qa"]),
    ) -> dict[str, Any]:
        if name not in tasks.NAMES:
            raise ApiError(404, "unknown-task", f"no task {name!r}; tasks: {', '.join(tasks.NAMES)}")
        args = wire.decode(call.args)
        kwargs = wire.decode({"__dict__": call.kwargs})
        check_strings([args, kwargs])
        why = tasks.check_kwargs(name, kwargs)
        if why is not None:
            raise ApiError(422, "invalid-input", why)
        result = await serving.run(name, *args, **kwargs)
        return {"result": wire.encode(result), "engine": serving.backend().engine}

    @r.get(
        "/api/models",
        response_model=list[s.ModelOut],
        tags=["Models"],
        summary="Every model, its availability and, once loaded, its runtime and precision",
        responses=responses(*GUARDED),
    )
    async def models() -> list[s.ModelOut]:
        from core.health import model_states

        backend = serving.backend()
        loaded = await backend.loaded()
        runtimes = await backend.runtimes() if hasattr(backend, "runtimes") else {}
        states = await run_in_threadpool(model_states, loaded, None, runtimes)
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
                runtime=m.runtime,
                precision=m.precision,
                runtime_note=m.runtime_note,
            )
            for m in states
        ]

    @r.get("/healthz", response_model=s.HealthOut, tags=["Health"], summary="The server is up")
    async def healthz() -> dict[str, Any]:
        from core.device import describe_device

        dev = describe_device()
        return {"status": "ok", "engine": serving.backend().engine, "device": dev.label, "device_info": asdict(dev)}

    @r.get(
        "/readyz",
        response_model=s.ReadyOut,
        tags=["Health"],
        summary="The default models are loaded",
        responses={503: {"model": s.ReadyOut, "description": "not ready yet: some default models are not loaded"}},
    )
    async def readyz() -> JSONResponse:
        from core.loaders import loaded_name
        from core.warmup import default_loads

        loaded = await serving.backend().loaded()
        wanted = {loaded_name(key, attention) for _, key, attention in default_loads()}
        missing = sorted(wanted - set(loaded))
        body = {"ready": not missing, "loaded": sorted(loaded), "missing": missing, "engine": serving.backend().engine}
        return JSONResponse(body, status_code=200 if not missing else 503)

    @r.get(
        "/api/stats",
        response_model=s.StatsOut,
        tags=["Health"],
        summary="Calls served (and batches, on Ray Serve)",
        responses=responses(*GUARDED),
    )
    async def stats() -> dict[str, Any]:
        return await serving.backend().stats()

    return r
