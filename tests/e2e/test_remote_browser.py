"""The app as a thin client in headless Chromium: a real ``python -m api`` subprocess, the
app served with ``DEMO_INFERENCE_URL`` pointing at it, and every page (Q&A, classification,
digits drawn with the mouse, attention) predicts through the API: the footer says so, the
"Use via API" expander opens on the request, and the app's own server loads no model
(its warm-up is on: it must be skipped). Screenshots: tests/artifacts/remote_*.png."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import assert_no_exception, serve_app, wait_script_done
from tests.e2e.test_digits_browser import SEVEN, _draw, _predicted
from tests.inference_api import calls

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def remote_app(inference_api):
    """(app URL, API URL): the app with ``DEMO_INFERENCE_URL`` set and warm-up asked for."""
    api = inference_api
    with serve_app("remote-e2e-server.log", env={"DEMO_INFERENCE_URL": api, "DEMO_WARMUP": "1"}) as app:
        yield app, api


def _ran_on_the_api(page, api: str) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text(f"Ran on: API · {api}").wait_for(timeout=10_000)
    assert "not answering" not in sidebar.inner_text()


def _open_api_box(page, route: str) -> None:
    page.get_by_text("Use via API", exact=True).click()
    code = page.locator('[data-testid="stExpanderDetails"] code').filter(has_text=route).first
    code.wait_for(timeout=10_000)
    code.scroll_into_view_if_needed()


def test_every_page_predicts_on_the_api(remote_app, browser_page):
    app, api = remote_app
    page = browser_page
    before = calls(api)  # the API is shared with other tests: count this test's calls

    page.goto_app(f"{app}/qa?lang=en", timeout_ms=120_000)
    page.locator("mark#qa-best").wait_for(timeout=90_000)
    assert page.locator("mark#qa-best").inner_text().startswith("Gustave Eiffel")
    _ran_on_the_api(page, api)
    _open_api_box(page, "/api/qa")
    page.shot("remote_qa_en")

    page.goto_app(f"{app}/classify?lang=en", timeout_ms=60_000)
    page.locator(".cls-explain").wait_for(timeout=60_000)
    _ran_on_the_api(page, api)
    _open_api_box(page, "/api/explain")

    page.goto_app(f"{app}/digits?lang=en", timeout_ms=60_000)
    _draw(page, SEVEN)
    assert _predicted(page) == "7"
    _ran_on_the_api(page, api)
    _open_api_box(page, "/api/digits")
    page.shot("remote_digits_en")

    page.goto_app(f"{app}/attention?lang=en", timeout_ms=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    _ran_on_the_api(page, api)
    _open_api_box(page, "/api/attention")
    assert_no_exception(page)

    served = {task for task, n in calls(api).items() if n > before.get(task, 0)}
    assert {"qa", "sentiment", "digits", "attention"} <= served, served
    # the app's own server loaded nothing: the home page counts the models it holds
    page.goto_app(f"{app}/?lang=en")
    loaded = page.locator('[data-testid="stMetric"]').filter(has_text="Loaded in this server")
    assert loaded.locator('[data-testid="stMetricValue"]').inner_text().strip() == "0"
    wait_script_done(page)
    assert_no_exception(page)
