"""Start the app (or any server command) on a free loopback port, wait until it answers
``/_stcore/health``, stop it with its whole process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def per_worker(log_name: str) -> str:
    """``server.log`` as ``server-gw1.log`` under a pytest-xdist worker (``make test`` runs two),
    so that two workers' servers never write one log file."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker:
        return log_name
    stem, dot, ext = log_name.rpartition(".")
    return f"{stem}-{worker}.{ext}" if dot else f"{log_name}-{worker}"


class ServerFailed(RuntimeError):
    """The server exited or did not become healthy in time (see its log)."""


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def streamlit_command(port: int, entry: str = "streamlit") -> list[str]:
    """Arguments after the interpreter: ``streamlit run app.py`` or ``-m ui.serve`` (``entry="serve"``)."""
    flags = ["--server.headless", "true", "--server.port", str(port), "--server.address", HOST]
    return ["-m", "ui.serve", *flags] if entry == "serve" else ["-m", "streamlit", "run", "app.py", *flags]


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 120.0, path: str = "/_stcore/health") -> None:
    """Poll ``url + path`` until it answers 200 (Streamlit's health: says ok);
    :class:`ServerFailed` if the process exits or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url + path, timeout=2) as r:
                if r.status == 200 and (path != "/_stcore/health" or r.read().strip() == b"ok"):
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise ServerFailed(f"server at {url} did not become healthy")
        time.sleep(0.2)


def start(args: Sequence[str], log_path: Path | None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python *args`` in the repository root, in its own process group, offline by default."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
    out = open(log_path, "w") if log_path is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    proc._harness_log = out  # type: ignore[attr-defined]
    return proc


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL if it has not gone in 20 s; close its log."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    log = getattr(proc, "_harness_log", None)
    if log not in (None, subprocess.DEVNULL):
        log.close()


@contextlib.contextmanager
def serving(
    args: Sequence[str] | None = None,
    log_path: Path | None = None,
    env: dict[str, str] | None = None,
    port: int | None = None,
    timeout_s: float = 120.0,
    health_path: str = "/_stcore/health",
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run a server (default ``streamlit run app.py`` on a free port) until the block ends;
    yields ``(base_url, process)``. ``health_path``: what answers 200 once it serves
    (``/readyz`` for the API)."""
    port = port or free_port()
    proc = start(args or streamlit_command(port), log_path, env)
    url = f"http://{HOST}:{port}"
    try:
        wait_healthy(url, proc, timeout_s, health_path)
        yield url, proc
    finally:
        stop(proc)
