"""The container's run-time contract, without Docker: the health endpoint answers ``ok``, the
Dockerfile's HEALTHCHECK command passes against a live server (and fails where none runs),
and the container's ENTRYPOINT + CMD start a healthy server (on loopback here)."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

from harness.server import free_port
from tests.e2e.conftest import serve_app
from tests.test_deploy import container_command, healthcheck_command


def _run_healthcheck(port: int) -> subprocess.CompletedProcess:
    cmd = [c.replace(":8501/", f":{port}/") for c in healthcheck_command()]
    assert cmd[0] == "python"
    return subprocess.run([sys.executable, *cmd[1:]], capture_output=True, text=True, timeout=30)


def test_health_endpoint_answers_ok(app_server):
    with urllib.request.urlopen(app_server + "/_stcore/health", timeout=10) as r:
        assert r.status == 200
        assert r.read().decode().strip() == "ok"


def test_dockerfile_healthcheck_passes_on_a_live_server_and_fails_without_one(app_server):
    port = int(app_server.rsplit(":", 1)[1])
    ok = _run_healthcheck(port)
    assert ok.returncode == 0, ok.stderr
    down = _run_healthcheck(free_port())
    assert down.returncode != 0


def test_container_entrypoint_serves_a_healthy_app():
    """ENTRYPOINT + CMD of the Dockerfile, with the address swapped to loopback."""
    cmd = container_command()
    assert cmd[0] == "python"

    def entrypoint(port: int) -> list[str]:
        args = [a for a in cmd[1:] if not a.startswith(("--server.port=", "--server.address="))]
        return [*args, f"--server.port={port}", "--server.address=127.0.0.1", "--server.headless=true"]

    # serve_app fails the test unless /_stcore/health answers "ok"
    with serve_app("entrypoint-server.log", command=entrypoint, env={"DEMO_WARMUP": "0"}) as url:
        # it serves the app itself, not only the health route
        with urllib.request.urlopen(url + "/", timeout=10) as r:
            assert r.status == 200 and b"<html" in r.read(4096).lower()
