"""The /digits page in headless Chromium: draw a digit on the real canvas with mouse events,
in both languages, and check the predicted digit; also ``?example=N`` and the toolbar's clear."""

from __future__ import annotations

import math

import pytest

from tests.e2e.conftest import assert_no_exception, wait_script_done

BIG_DIGIT = 'span[style*="font-size: 6rem"]'  # the browser normalises the inline style
SEVEN = [(0.22, 0.2), (0.5, 0.2), (0.78, 0.2), (0.65, 0.45), (0.52, 0.7), (0.45, 0.88)]
ZERO = [(0.5 + 0.24 * math.cos(a / 20 * 2 * math.pi), 0.5 + 0.34 * math.sin(a / 20 * 2 * math.pi)) for a in range(22)]


def _drawing_surface(page):
    """The canvas' drawing surface: the largest <canvas> (inside the component's shadow root)."""
    page.locator("canvas:visible").first.wait_for(state="visible", timeout=30_000)  # the expanders hold hidden ones
    best, area = None, 0.0
    for i in range(page.locator("canvas").count()):
        c = page.locator("canvas").nth(i)
        box = c.bounding_box()
        if box and box["width"] * box["height"] > area:
            best, area = c, box["width"] * box["height"]
    assert best is not None and area > 200 * 200, "no drawing canvas on the page"
    return best


def _draw(page, points: list[tuple[float, float]]) -> None:
    box = _drawing_surface(page).bounding_box()

    def at(p):
        return box["x"] + p[0] * box["width"], box["y"] + p[1] * box["height"]

    page.mouse.move(*at(points[0]))
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*at(p), steps=4)
    page.mouse.up()
    wait_script_done(page)


def _wait_chart(page) -> None:
    """Plotly draws after the script run; wait for its bars before a screenshot."""
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)


def _predicted(page) -> str:
    page.locator(BIG_DIGIT).first.wait_for(timeout=30_000)
    return page.locator(BIG_DIGIT).first.inner_text().strip()


@pytest.mark.parametrize(
    ("lang", "stroke", "digit", "label"),
    [
        ("en", SEVEN, "7", "What the model sees"),
        ("zh", ZERO, "0", "模型看到的图像"),
    ],
)
def test_draw_a_digit_with_the_mouse(app_server, browser_page, lang, stroke, digit, label):
    page = browser_page
    page.goto_app(f"{app_server}/digits?lang={lang}")
    assert_no_exception(page)
    main = page.locator('[data-testid="stMain"]')
    assert page.locator(BIG_DIGIT).count() == 0  # blank canvas: a prompt, no prediction
    _draw(page, stroke)
    assert_no_exception(page)
    assert _predicted(page) == digit
    assert label in main.inner_text()
    _wait_chart(page)
    page.shot(f"digits-drawn-{lang}")
    if lang == "en":  # the naive-resize comparison, side by side
        page.get_by_text("What if we skip MNIST preprocessing?").click()
        wait_script_done(page)
        assert_no_exception(page)
        text = main.inner_text()
        assert "Without MNIST preprocessing" in text and "With MNIST preprocessing" in text
        _wait_chart(page)
        page.shot("digits-compare-en")


def test_example_link_prefills_the_canvas(app_server, browser_page):
    page = browser_page
    page.goto_app(f"{app_server}/digits?lang=en&example=7")
    assert_no_exception(page)
    assert _predicted(page) == "7"
    page.shot("digits-example-7-en")


def test_draw_with_a_finger_on_a_phone(app_server, _browser):
    """A phone-sized touch screen: touch events on the canvas draw, and the digit is read."""
    context = _browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    try:
        page.goto(f"{app_server}/digits?lang=zh", wait_until="domcontentloaded")
        wait_script_done(page)
        collapse = page.locator('[data-testid="stSidebarCollapseButton"]').first
        if collapse.count() and collapse.is_visible():  # the sidebar may start open over the page
            collapse.click()
            page.wait_for_timeout(800)
        surface = _drawing_surface(page)
        surface.scroll_into_view_if_needed()
        box = surface.bounding_box()
        cdp = context.new_cdp_session(page)

        def touch(kind, p=None):
            points = [] if p is None else [{"x": box["x"] + p[0] * box["width"], "y": box["y"] + p[1] * box["height"]}]
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        touch("touchStart", SEVEN[0])
        for a, b in zip(SEVEN, SEVEN[1:]):
            for k in range(1, 5):
                touch("touchMove", (a[0] + (b[0] - a[0]) * k / 4, a[1] + (b[1] - a[1]) * k / 4))
        touch("touchEnd")
        wait_script_done(page)
        assert_no_exception(page)
        assert _predicted(page) == "7"
    finally:
        context.close()
