"""The attention viewer in headless Chromium: every view draws a Plotly chart (or the
summary table), a click on a thumbnail of the all-heads grid opens that head, options
and view are kept in the URL, and nothing shows a traceback. Screenshots in both
languages are saved as test artifacts."""

from __future__ import annotations

import urllib.parse

import pytest

from tests.e2e.conftest import assert_no_exception, wait_script_done
from ui.i18n import TABLE

VIEWS = ["head", "grid", "average", "rollout", "summary"]


def _label(view: str, lang: str = "en") -> str:
    """How ``?view=`` names a view: the label the bound segmented control shows (the
    default view, "head", is left out of the URL)."""
    return TABLE[f"attention.view.{view}"][lang]


def _params(page) -> dict[str, str]:
    q = urllib.parse.urlparse(page.url).query
    return {k: v[0] for k, v in urllib.parse.parse_qs(q).items()}


def _svg_texts(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.textContent || '')")


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_view_renders(app_server, browser_page, lang):
    page = browser_page
    for view in VIEWS:
        page.goto_app(f"{app_server}/attention?lang={lang}&view={urllib.parse.quote(_label(view, lang))}&merge=true")
        assert_no_exception(page)
        if view == "summary":
            page.wait_for_selector('[data-testid="stDataFrame"]', timeout=30_000)
        else:
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
            assert page.locator(".js-plotly-plot").count() == 1
            # token labels are drawn (the axes are not blank)
            ticks = _svg_texts(page, ".js-plotly-plot .xtick text")
            assert len([t for t in ticks if t.strip()]) >= 3, ticks
        # the page may rerun once more (it writes its choices into the URL): wait for the button
        page.get_by_text("Download CSV" if lang == "en" else "下载 CSV").first.wait_for(timeout=30_000)
        text = _main_text(page)
        if lang == "zh":
            assert "注意力" in text
        assert _params(page).get("view") == (None if view == "head" else _label(view, lang)), page.url
        page.shot(f"attention-{view}-{lang}")


def test_grid_click_opens_that_head(app_server, browser_page):
    page = browser_page
    page.goto_app(f"{app_server}/attention?lang=en&view={urllib.parse.quote(_label('grid'))}&model=minilm")
    page.wait_for_selector(".js-plotly-plot .scatterlayer .point", timeout=30_000)
    points = page.locator(".js-plotly-plot .scatterlayer .point")
    assert points.count() == 6 * 12
    # the markers run layer by layer: index 2*12+4 is layer 3, head 5
    target = points.nth(2 * 12 + 4)
    target.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = target.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(500)
    wait_script_done(page)
    assert_no_exception(page)
    # the one-head view is the default, so it leaves the URL
    page.wait_for_function("() => !new URLSearchParams(location.search).has('view')", timeout=30_000)
    p = _params(page)
    assert p.get("layer") == "3" and p.get("head") == "5", p
    assert "Layer 3 · head 5" in _main_text(page) or "Layer 3 · head 5" in " ".join(
        _svg_texts(page, ".js-plotly-plot .gtitle")
    )


def test_shared_link_reproduces_the_view(app_server, browser_page):
    page = browser_page
    url = (
        f"{app_server}/attention?lang=en&text=Where+is+the+cat%3F&pair=On+the+%3Cb%3Emat%3C%2Fb%3E+%F0%9F%90%B1"
        "&view=Head+average&layer=4&hide=true&model=minilm"
    )
    page.goto_app(url)
    assert_no_exception(page)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    text = _main_text(page)
    assert "Special tokens are hidden" in text
    assert "Layer 4" in " ".join(_svg_texts(page, ".js-plotly-plot .gtitle"))
    ticks = " ".join(_svg_texts(page, ".js-plotly-plot .xtick text"))
    assert "<" in ticks and "mat" in ticks  # HTML typed by the user is shown as text
    assert "[CLS]" not in ticks  # hidden
    p = _params(page)
    assert p.get("text") == "Where is the cat?" and p.get("layer") == "4" and p.get("hide") == "true"
    page.shot("attention-shared-link-en")


def test_back_from_a_linked_model_keeps_text_and_options(app_server, browser_page):
    page = browser_page
    page.goto_app(f"{app_server}/attention?lang=en&text=What+a+moving+film.&model=sentiment-en-minilm&merge=true")
    assert_no_exception(page)
    assert "MiniLM sentiment (ours, English)" in _main_text(page)
    page.get_by_role("button", name="Choose another model").click()
    page.wait_for_timeout(500)
    wait_script_done(page)
    assert_no_exception(page)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    p = _params(page)
    assert p.get("model") != "sentiment-en-minilm", page.url
    assert p.get("text") == "What a moving film." and p.get("merge") == "true", page.url
    assert "MiniLM sentiment (ours, English)" not in _main_text(page)


def test_empty_text_prompts(app_server, browser_page):
    page = browser_page
    page.goto_app(f"{app_server}/attention?lang=zh&text=")
    assert_no_exception(page)
    assert page.locator(".js-plotly-plot").count() == 0
    assert "请在上方输入" in _main_text(page)


def test_png_and_csv_export(app_server, browser_page, tmp_path):
    page = browser_page
    page.goto_app(f"{app_server}/attention?lang=en&layer=2&head=3&model=minilm")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    page.locator(".js-plotly-plot").hover()
    with page.expect_download(timeout=30_000) as png:
        page.locator(".modebar-btn[data-title='Download plot as a PNG']").click()
    assert png.value.suggested_filename == "attention-L2-H3.png"
    png.value.save_as(tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download(timeout=30_000) as csv:
        page.get_by_role("button", name="Download CSV").click()
    csv.value.save_as(tmp_path / "a.csv")
    lines = (tmp_path / "a.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].split(",")[1] == "[CLS]" and lines[1].startswith("[CLS],")
    row = [float(x) for x in lines[1].split(",")[1:]]
    assert abs(sum(row) - 1) < 1e-4  # one row of the current matrix, as numbers
