"""Fixtures for end-to-end tests: a real `streamlit run` on a free loopback port and a
headless Chromium page (Debian's chromium driven by Playwright).

Under ``CI=true`` a missing browser is a failure, not a skip. Screenshots go to
``tests/artifacts/`` (kept as test artifacts, ignored by git).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness import server
from harness.browser import CHROMIUM, CHROMIUM_ARGS, WAIT_DONE

ROOT = server.ROOT
ARTIFACTS = ROOT / "tests" / "artifacts"


def _browser_missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser test cannot run under CI: {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def serve_app(
    log_name: str = "server.log", command: Callable[[int], list[str]] | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Start the app on a free loopback port (``streamlit run app.py``, or ``command(port)``:
    the arguments after the Python interpreter); wait until it is healthy; yield its base URL."""
    port = server.free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_name = server.per_worker(log_name)
    args = command(port) if command else server.streamlit_command(port)
    try:
        with server.serving(
            args, ARTIFACTS / log_name, {"DEMO_WARMUP": "1", **(env or {})}, port=port, timeout_s=90
        ) as (url, _proc):
            yield url
    except server.ServerFailed:
        pytest.fail(f"streamlit did not become healthy (see {ARTIFACTS / log_name})")


@pytest.fixture(scope="session")
def app_server() -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of the app served by ``streamlit run``."""
    with serve_app() as url:
        yield url


@pytest.fixture(scope="session")
def _browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        _browser_missing(f"no Chromium at {CHROMIUM} (make test installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_missing("playwright is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(_browser):
    """A fresh Chromium page (1400x900) with ``goto_app(url)`` and ``shot(name)`` helpers."""
    context = _browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    page = context.new_page()

    def goto_app(url: str, timeout_ms: int = 60_000) -> None:
        page.goto(url, wait_until="domcontentloaded")
        wait_script_done(page, timeout_ms)

    def shot(name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    page.goto_app = goto_app  # type: ignore[attr-defined]
    page.shot = shot  # type: ignore[attr-defined]
    yield page
    context.close()


def wait_script_done(page, timeout_ms: int = 60_000) -> None:
    """Wait until the Streamlit script run has finished (after it has had time to start)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_timeout(600)
    page.wait_for_function(WAIT_DONE, timeout=timeout_ms)
    page.wait_for_timeout(300)
    page.wait_for_function(WAIT_DONE, timeout=timeout_ms)


def assert_no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, "a traceback is shown on the page"
