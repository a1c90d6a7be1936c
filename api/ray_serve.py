"""The API on Ray Serve: one deployment per model family, the same FastAPI routes.

Each family (:data:`core.tasks.FAMILIES`: ``qa``, ``classify``, ``digits``,
``attention``) is one deployment whose replicas load their models once, through
``core``'s loaders, and answer task calls by name. Classification and digits requests are
grouped by ``@serve.batch`` (many visitors' texts or pictures in one forward pass); Q&A
already runs all windows of a passage in one batch, and its requests are long, so it is
not batched across requests. The ingress is :func:`api.app.create_app` over
:class:`RayBackend`: the single-process API's routes and schemas, not a copy.

``python -m api.ray_serve --replicas N`` (``make serve-cluster``) starts a local Ray head
(dashboard off, a small object store), deploys, serves on ``API_PORT`` (8000) until
interrupted, then shuts Serve and Ray down. ``--address auto`` deploys on a running
cluster instead (``ray start --head`` / ``ray start --address=...``); ``deploy/serve.yaml``
is the same application for ``serve deploy`` and KubeRay's ``RayService``.

Never call ``ray.init`` in a Streamlit script run: the app talks to this server over HTTP
(``DEMO_INFERENCE_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ray import serve

from api.batching import MAX_BATCH, Failed, batchable, classify_many, digits_many, item
from core import tasks
from core.train.ray_jobs import TASK_CPUS

APP_NAME = "demo"
REPO_ROOT = Path(__file__).resolve().parent.parent
BATCH_WAIT_S = 0.01
RETRIES = 3


def _cause(exc: BaseException) -> BaseException:
    """The exception a replica raised, out of Ray's wrapper."""
    return getattr(exc, "cause", None) or exc


class FamilyServer:
    """One model family in one replica: its task calls, batched where it pays.

    ``batching`` groups concurrent single calls (``classify`` of a few texts without a
    progress callback, ``digits`` without saliency) into one ``core`` call of up to
    :data:`MAX_BATCH` requests. Forward work runs in a thread, so the replica keeps taking
    (and batching) requests meanwhile."""

    def __init__(self, family: str, batching: bool = True, threads: int = 1, warm: bool = True) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        self.family = family
        self.batching = batching
        self.requests = 0
        self.core_calls = 0
        self.batch_sizes: list[int] = []
        self.started = time.time()
        if warm:
            self._warm()

    def _warm(self) -> None:
        """Load this family's default models now, so the first visitor does not wait."""
        from core.loaders import ModelLoadError, load
        from core.warmup import default_loads

        for task, key, attention in default_loads():
            if tasks.family(task) == self.family:
                try:
                    load(key, attention=attention)
                except ModelLoadError:
                    pass

    async def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.core_calls += 1
        return await asyncio.to_thread(tasks.function(name), *args, **kwargs)

    async def run(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if tasks.family(name) != self.family:
            raise ValueError(f"task {name!r} is not served by the {self.family} deployment")
        self.requests += 1
        if self.batching and batchable(name, args, kwargs):
            batch = self._classify_batch if name == "classify" else self._digits_batch
            result = await batch(item(name, args, kwargs))
            if isinstance(result, Failed):
                raise result.exc
            return result
        return await self._call(name, args, kwargs)

    @serve.batch(max_batch_size=MAX_BATCH, batch_wait_timeout_s=BATCH_WAIT_S)
    async def _classify_batch(self, items: list[tuple[list[str], str | None]]) -> list[Any]:
        """Many requests' texts, grouped by model, in one ``core.classify`` call each."""
        self.batch_sizes.append(len(items))
        self.core_calls += len({model for _, model in items})
        return await asyncio.to_thread(classify_many, items)

    @serve.batch(max_batch_size=MAX_BATCH, batch_wait_timeout_s=BATCH_WAIT_S)
    async def _digits_batch(self, drawings: list[Any]) -> list[Any]:
        """Many drawings: preprocessed one by one, read by the CNN in one forward pass."""
        self.batch_sizes.append(len(drawings))
        self.core_calls += 1
        return await asyncio.to_thread(digits_many, drawings)

    def loaded(self) -> dict[str, float]:
        from core.loaders import loaded_models

        return loaded_models()

    def runtimes(self) -> dict[str, tuple[str, str, str]]:
        from core.loaders import loaded_runtimes

        return loaded_runtimes()

    def stats(self) -> dict[str, Any]:
        sizes = self.batch_sizes
        return {
            "family": self.family,
            "pid": os.getpid(),
            "requests": self.requests,
            "core_calls": self.core_calls,
            "batches": len(sizes),
            "mean_batch": (sum(sizes) / len(sizes)) if sizes else 0.0,
            "batching": self.batching,
            "up_s": round(time.time() - self.started, 1),
        }


class RayBackend:
    """The API's backend on Ray Serve: each task call goes to its family's deployment.

    A replica that dies mid-request (killed, out of memory) is retried on another one
    (or the restarted one) up to :data:`RETRIES` times; then the API answers 503 with
    ``Retry-After``, never a silent loss."""

    engine = "ray-serve"

    def __init__(self) -> None:
        self._handles: dict[str, Any] = {}

    def _handle(self, family: str) -> Any:
        if family not in self._handles:
            self._handles[family] = serve.get_deployment_handle(family, app_name=APP_NAME)
        return self._handles[family]

    async def _remote(self, family: str, method: str, *args: Any) -> Any:
        from ray import exceptions as rex
        from ray.serve import exceptions as sex

        from api.errors import Unavailable

        retry = (rex.RayActorError, rex.ActorUnavailableError, sex.DeploymentUnavailableError, sex.BackPressureError)
        last: BaseException | None = None
        for attempt in range(RETRIES + 1):
            try:
                return await getattr(self._handle(family), method).remote(*args)
            except retry as exc:  # the replica died or is restarting: try again
                last = exc
                await asyncio.sleep(0.25 * (attempt + 1))
            except rex.RayTaskError as exc:  # the task raised: the same exception here
                raise _cause(exc) from None
        raise Unavailable(f"the {family} model server is restarting; retry in a moment ({type(last).__name__})")

    async def run(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return await self._remote(tasks.family(name), "run", name, args, kwargs)

    async def loaded(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for part in await asyncio.gather(*(self._remote(f, "loaded") for f in tasks.FAMILIES), return_exceptions=True):
            if isinstance(part, dict):
                out.update(part)
        return out

    async def runtimes(self) -> dict[str, tuple[str, str, str]]:
        out: dict[str, tuple[str, str, str]] = {}
        parts = await asyncio.gather(*(self._remote(f, "runtimes") for f in tasks.FAMILIES), return_exceptions=True)
        for part in parts:
            if isinstance(part, dict):
                out.update({k: (str(v[0]), str(v[1]), str(v[2])) for k, v in part.items()})
        return out

    async def stats(self) -> dict[str, Any]:
        parts = await asyncio.gather(*(self._remote(f, "stats") for f in tasks.FAMILIES), return_exceptions=True)
        return {
            "engine": self.engine,
            "families": {
                f: (p if isinstance(p, dict) else {"error": type(p).__name__})
                for f, p in zip(tasks.FAMILIES, parts, strict=True)
            },
        }


def _build_api() -> Any:
    from api.app import create_app

    return create_app(RayBackend)


@serve.deployment(name="ingress", max_ongoing_requests=256, ray_actor_options={"num_cpus": 0})
@serve.ingress(_build_api)
class Ingress:
    """The HTTP routes (the FastAPI app of :mod:`api.app`), in front of the families
    (bound here so they deploy with it; the routes reach them by name, see
    :class:`RayBackend`)."""

    def __init__(self, *families: Any) -> None:
        self.families = families


FamilyDeployment: Any = serve.deployment(FamilyServer)


def build(
    replicas: int = 1,
    *,
    batching: bool = True,
    cpus_per_replica: float = 0.25,
    threads: int = 1,
    max_replicas: int = 0,
    warm: bool = True,
) -> Any:
    """The Serve application: the ingress and one deployment per family. ``max_replicas``
    > ``replicas`` turns on autoscaling between them (on ongoing requests per replica)."""
    families = []
    for family in tasks.FAMILIES:
        scale: dict[str, Any]
        if max_replicas > replicas:
            scale = {
                "autoscaling_config": {
                    "min_replicas": replicas,
                    "max_replicas": max_replicas,
                    "target_ongoing_requests": MAX_BATCH // 2,
                    "upscale_delay_s": 5,
                    "downscale_delay_s": 60,
                }
            }
        else:
            scale = {"num_replicas": replicas}
        families.append(
            FamilyDeployment.options(
                name=family,
                max_ongoing_requests=MAX_BATCH * 8,  # all of them reach the batcher's queue
                ray_actor_options={"num_cpus": cpus_per_replica},
                health_check_period_s=2,
                **scale,
            ).bind(family, batching, threads, warm)
        )
    ingress: Any = Ingress
    return ingress.bind(*families)


def app_builder(args: dict[str, str]) -> Any:
    """For ``serve run`` / ``serve deploy`` config files: ``import_path:
    api.ray_serve:app_builder`` with ``args`` (replicas, batching, cpus_per_replica, threads)."""
    return build(
        int(args.get("replicas", 1)),
        batching=str(args.get("batching", "true")).lower() != "false",
        cpus_per_replica=float(args.get("cpus_per_replica", 0.25)),
        threads=int(args.get("threads", 1)),
        max_replicas=int(args.get("max_replicas", 0)),
    )


def start(
    replicas: int = 1,
    *,
    port: int = 8000,
    host: str = "0.0.0.0",
    batching: bool = True,
    address: str | None = None,
    num_cpus: int | None = None,
    threads: int | None = None,
    max_replicas: int = 0,
) -> None:
    """Start (or join) Ray, then Serve on ``host:port``, then deploy and wait until healthy."""
    import ray

    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Serve's faster request path (direct gRPC between replicas, Ray >= 2.56): on a small CPU
    # the proxy and handle hops, not the models, bound the throughput
    os.environ.setdefault("RAY_SERVE_THROUGHPUT_OPTIMIZED", "1")
    os.environ.setdefault("DEMO_WARMUP", "0")
    runtime_env = {
        "env_vars": {"PYTHONPATH": os.environ["PYTHONPATH"], "DEMO_WARMUP": "0", "TOKENIZERS_PARALLELISM": "false"}
    }
    if address:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
    else:
        cpus = num_cpus or os.cpu_count() or 2
        ray.init(
            num_cpus=cpus,
            include_dashboard=False,
            object_store_memory=200 * 1024 * 1024,
            runtime_env=runtime_env,
            log_to_driver=False,
            configure_logging=False,
        )
    total = int(ray.cluster_resources().get("CPU", 2))
    n_threads = threads or max(1, total // max(1, replicas))
    # the replicas' logical CPUs, leaving one training job's task room to be scheduled
    free = total * 0.9 - TASK_CPUS
    share = min(0.5, max(0.05, free / (len(tasks.FAMILIES) * max(replicas, max_replicas, 1))))
    serve.start(http_options={"host": host, "port": port})
    serve.run(
        build(replicas, batching=batching, cpus_per_replica=share, threads=n_threads, max_replicas=max_replicas),
        name=APP_NAME,
        route_prefix="/",
        blocking=False,
        logging_config={"enable_access_log": False, "log_level": "WARNING"},  # a log line per request costs CPU
    )


def stop() -> None:
    import ray

    try:
        serve.shutdown()
    finally:
        ray.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the API on Ray Serve (local head, or --address of a cluster).")
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS", "1")))
    parser.add_argument("--max-replicas", type=int, default=0, help="autoscale up to this many replicas per family")
    parser.add_argument("--port", type=int, default=int(os.environ.get("API_PORT", "8000")))
    parser.add_argument("--host", default=os.environ.get("API_HOST", "0.0.0.0"))
    parser.add_argument(
        "--address", default=None, help="join a running Ray cluster (e.g. auto) instead of starting one"
    )
    parser.add_argument("--num-cpus", type=int, default=None)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads per replica (default: CPUs / replicas)"
    )
    parser.add_argument("--no-batch", action="store_true", help="turn @serve.batch off (for the benchmark)")
    opts = parser.parse_args(argv)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    t0 = time.perf_counter()
    start(
        opts.replicas,
        port=opts.port,
        host=opts.host,
        batching=not opts.no_batch,
        address=opts.address,
        num_cpus=opts.num_cpus,
        threads=opts.threads,
        max_replicas=opts.max_replicas,
    )
    print(
        f"Ray Serve API on http://{opts.host}:{opts.port} (docs: /docs), {opts.replicas} replica(s) per family, "
        f"ready in {time.perf_counter() - t0:.0f} s. Ctrl-C stops it.",
        flush=True,
    )
    try:
        while not done.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping Ray Serve ...", flush=True)
        stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
