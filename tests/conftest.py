"""Shared test set-up: run from the repository root with its packages importable."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
# Tests never reach the network: Hub paths are tested on tiny local models.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# No background warm-up inside the test process (the e2e server sets its own environment).
os.environ.setdefault("DEMO_WARMUP", "0")
# A test process never starts a background OpenVINO build (a missing build serves PyTorch;
# tests/test_openvino.py builds what it needs itself).
os.environ.setdefault("DEMO_OV_BUILD", "off")


@pytest.fixture(scope="session")
def inference_api():
    """One real ``python -m api --no-warm`` for every test of the app's thin-client mode
    (AppTest pages and the browser), started once: its base URL."""
    from tests.inference_api import serving_api

    with serving_api("inference-api.log") as url:
        yield url


@pytest.fixture(scope="module")
def api_client():
    """A test client of the single-process API (``api.app.create_app``), without keys, rate
    limits or warm-up; one per test module."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    with pytest.MonkeyPatch.context() as mp:
        for name in ("DEMO_API_KEY", "API_RATE_LIMIT", "API_MAX_BODY_BYTES", "API_CORS_ORIGINS"):
            mp.delenv(name, raising=False)
        mp.setenv("DEMO_WARMUP", "0")
        mp.setenv("HF_HUB_OFFLINE", "1")
        with TestClient(create_app(), raise_server_exceptions=False) as c:
            yield c
