"""The app's URLs in headless Chromium, in both languages: it renders, the script run
finishes, no traceback is shown. Screenshots are saved as test artifacts. The task pages (Q&A,
classification, digits, attention) are opened in both languages by their own browser tests
(tests/e2e/test_*_browser.py, with a prediction each), so they are not opened again here."""

import pytest

from tests.e2e.conftest import assert_no_exception

PATHS = ["", "status", "train"]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path", PATHS)
def test_page_renders(app_server, browser_page, path, lang):
    browser_page.goto_app(f"{app_server}/{path}?lang={lang}")
    assert_no_exception(browser_page)
    main = browser_page.locator('[data-testid="stMain"]').inner_text()
    assert main.strip(), "the page is empty"
    if lang == "zh":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in main), "no Chinese on the zh page"
    browser_page.shot(f"page-{path or 'home'}-{lang}")


def test_language_survives_navigation(app_server, browser_page):
    browser_page.goto_app(f"{app_server}/?lang=zh")
    browser_page.get_by_role("link", name="阅读理解问答").first.click()
    browser_page.wait_for_url("**/qa**")
    from tests.e2e.conftest import wait_script_done

    wait_script_done(browser_page)
    assert "lang=zh" in browser_page.url
    assert "阅读理解" in browser_page.locator('[data-testid="stMain"]').inner_text()


def test_home_shows_environment_badge(app_server, browser_page):
    browser_page.goto_app(f"{app_server}/?lang=en")
    text = browser_page.locator('[data-testid="stMain"]').inner_text()
    assert "Environment" in text
    assert "CPU" in text or "CUDA" in text or "MPS" in text
    assert "all-MiniLM-L6-v2" in text


def test_deep_link_as_first_visit_of_a_new_server_is_routed(browser_page):
    """A shared link to /qa opened first on a freshly started server still goes through the
    router: translated navigation and the language switch, not raw file names."""
    from tests.e2e.conftest import serve_app

    with serve_app("server-deeplink.log") as url:
        browser_page.goto_app(f"{url}/classify?lang=zh")
        sidebar = browser_page.locator('[data-testid="stSidebar"]').inner_text()
        assert "文本分类" in sidebar and "中文" in sidebar, sidebar
        assert "classify\n" not in sidebar
        assert "lang=zh" in browser_page.url


@pytest.mark.parametrize("step", range(6))
def test_pitch_step_in_browser(app_server, browser_page, step):
    from urllib.parse import urlencode

    from ui.pitch import STEPS

    s = STEPS[step]
    params = {**s.params.get("zh", {}), "pitch": "1", "step": str(step), "lang": "zh"}
    browser_page.goto_app(f"{app_server}/{s.page}?{urlencode(params)}")
    assert_no_exception(browser_page)
    main = browser_page.locator('[data-testid="stMain"]').inner_text()
    assert f"第 {step + 1} 步" in main
    browser_page.shot(f"pitch-step{step}-zh")


def test_language_switch_in_browser(app_server, browser_page):
    browser_page.goto_app(f"{app_server}/?lang=zh")
    browser_page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    from tests.e2e.conftest import wait_script_done

    wait_script_done(browser_page)
    assert "lang=en" in browser_page.url
    assert "AI Playground" in browser_page.locator('[data-testid="stMain"]').inner_text()
