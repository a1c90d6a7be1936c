"""Training jobs as Ray tasks: with the Ray Serve deployment (``make serve-cluster``), each
visitor's job is a Ray task of one CPU, so a cluster spreads the jobs over its nodes while
the runner (:mod:`core.train.jobs`, in the API's ingress) keeps the queue, the limits and
the records exactly as with local child processes.

Where the runner finds itself inside a running Ray (``ray.is_initialized()``: a Serve
replica) it starts jobs here; ``TRAIN_BACKEND=process`` keeps child processes, ``ray``
asks for Ray (falling back to processes, with a note, where Ray is not running). The job's
code is the same :func:`core.train.jobs.child_main`; only its three handles differ:

- the message queue is a ``ray.util.queue.Queue`` (an actor of no CPU, drained in batches);
- Stop is a small flag actor, asked by the job at most every :data:`STOP_POLL_S`;
- the "process" is the task's object ref: alive while the task is not finished, killed with
  ``ray.cancel(force=True)`` (idle, over the cap, Stop past its grace), and its actors are
  killed with it. A job whose ingress dies loses its queue actor: its next message fails and
  the task ends (it never outlives its cap either way).

The bundled data must be at the same path on every node (``TRAIN_DATA_DIR``), as the
models are for Serve's replicas."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

STOP_POLL_S = 0.25
TASK_CPUS = 1.0  # a job's Ray task: one torch thread (api.ray_serve leaves this much unreserved)
_REMOTE: tuple[Any, Any] | None = None  # (the flag actor class, the job task), made once


def enabled() -> bool:
    """Whether jobs run as Ray tasks here (``TRAIN_BACKEND``: ``auto`` by default)."""
    mode = os.environ.get("TRAIN_BACKEND", "auto").strip().lower()
    if mode == "process":
        return False
    ray = sys.modules.get("ray")  # never import Ray where nothing else did (Streamlit, tests)
    return ray is not None and bool(ray.is_initialized())


def wanted_but_missing() -> bool:
    """``TRAIN_BACKEND=ray`` without a running Ray (the runner notes it and uses processes)."""
    return os.environ.get("TRAIN_BACKEND", "").strip().lower() == "ray" and not enabled()


CPUS_TTL = 30.0  # seconds a cluster's CPU count is trusted (the queue asks on every pump tick)
_cpus: tuple[float, int] | None = None  # (monotonic time asked, CPUs)


def cluster_cpus() -> int:
    """The Ray cluster's CPUs, asked of Ray at most once per :data:`CPUS_TTL` seconds."""
    global _cpus
    now = time.monotonic()
    if _cpus is None or now - _cpus[0] > CPUS_TTL:
        import ray

        _cpus = (now, int(ray.cluster_resources().get("CPU", 1)))
    return _cpus[1]


class _Flag:
    """Stop, as a Ray actor."""

    def __init__(self) -> None:
        self.on = False

    def set(self) -> None:
        self.on = True

    def is_set(self) -> bool:
        return self.on


class RayStop:
    """The job's and the runner's view of the flag actor (``multiprocessing.Event``'s
    ``set``/``is_set``); the job asks the actor at most every :data:`STOP_POLL_S`."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self._on = False
        self._next = 0.0

    def set(self) -> None:
        self._on = True
        self.actor.set.remote()

    def is_set(self) -> bool:
        if self._on:
            return True
        now = time.monotonic()
        if now >= self._next:
            import ray

            self._next = now + STOP_POLL_S
            self._on = bool(ray.get(self.actor.is_set.remote()))
        return self._on


class RayTask:
    """The job's task, with the ``multiprocessing.Process`` methods the runner uses."""

    def __init__(self, ref: Any, q: Any, stop: RayStop) -> None:
        self.ref, self.q, self.stop = ref, q, stop
        self.name = "ray-task"

    def is_alive(self) -> bool:
        import ray

        ready, _ = ray.wait([self.ref], timeout=0)
        return not ready

    def kill(self) -> None:
        import ray

        try:
            ray.cancel(self.ref, force=True)
        except Exception:  # finished meanwhile
            pass

    def join(self, timeout: float | None = None) -> None:
        return None

    def close(self) -> None:
        import ray

        for actor in (getattr(self.q, "actor", None), self.stop.actor):
            if actor is not None:
                try:
                    ray.kill(actor)
                except Exception:
                    pass


def launch(args: tuple[Any, ...]) -> tuple[Any, RayStop, RayTask]:
    """Start :func:`core.train.jobs.child_main` as a Ray task of one CPU: (queue, stop, task).
    ``args`` as for the child process; the parent pid is replaced by 0 (no pid to watch on
    another node: the queue actor's death ends the job instead)."""
    import ray
    from ray.util.queue import Queue

    from core.train.jobs import child_main

    global _REMOTE
    if _REMOTE is None:
        _REMOTE = (ray.remote(num_cpus=0)(_Flag), ray.remote(num_cpus=TASK_CPUS, max_retries=0)(child_main))
    flag, fn = _REMOTE
    spec, cap, _pid, folder, corpus, t_submit = args
    q = Queue(actor_options={"num_cpus": 0})
    stop = RayStop(flag.remote())
    ref = fn.remote(spec, q, stop, cap, 0, folder, corpus, t_submit)
    return q, stop, RayTask(ref, q, stop)
