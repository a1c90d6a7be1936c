"""A real inference API (``python -m api --no-warm``) in a subprocess on a free loopback port,
for the tests of the app's thin-client mode (``DEMO_INFERENCE_URL``)."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness import server

ARTIFACTS = server.ROOT / "tests" / "artifacts"


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def _wait_up(url: str, proc, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(OSError, ValueError):
            if get_json(url + "/healthz", timeout=2).get("status") == "ok":
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise server.ServerFailed(f"the API at {url} did not come up")
        time.sleep(0.2)


@contextlib.contextmanager
def serving_api(log_name: str = "inference-api.log", timeout_s: float = 60.0) -> Iterator[str]:
    """``python -m api --no-warm`` (models load on first use) until the block ends; yields
    its base URL (``http://127.0.0.1:PORT``). Its log goes to ``tests/artifacts/``."""
    port = server.free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log: Path = ARTIFACTS / server.per_worker(log_name)
    args = ["-m", "api", "--no-warm", "--host", server.HOST, "--port", str(port)]
    # training jobs a test starts (POST /api/train, fuzzed) end in seconds, and unpolled ones sooner
    env = {"DEMO_API_KEY": "", "API_RATE_LIMIT": "0", "TRAIN_MAX_SECONDS": "2", "TRAIN_IDLE_SECONDS": "5"}
    proc = server.start(args, log, env)
    url = f"http://{server.HOST}:{port}"
    try:
        _wait_up(url, proc, timeout_s)
        yield url
    finally:
        server.stop(proc)


def calls(url: str) -> dict[str, int]:
    """How many calls of each task the API has served (``/api/stats``)."""
    return dict(get_json(url + "/api/stats").get("calls", {}))
