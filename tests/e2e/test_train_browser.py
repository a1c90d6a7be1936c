"""The Train page in headless Chromium (issue 24): train the MLP preset briefly, see the
learning curve grow while it trains, then on the Digits page draw a digit with the mouse
and read it with the shipped CNN and the model just trained, side by side; in English and
中文, with screenshots (a curve mid-training, the confusion matrix, the side-by-side digits)."""

from __future__ import annotations

import importlib.util
import time

import pytest

from tests.e2e.conftest import ARTIFACTS, assert_no_exception, wait_script_done
from tests.e2e.test_digits_browser import BIG_DIGIT, SEVEN

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("core.train.jobs") is None, reason="core.train.jobs not written yet"),
]

CURVE_POINTS = """() => {
  const plots = [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')];
  const curves = plots.find(p => (p.data || []).length === 4);
  return curves ? curves.data[0].x.length : 0;
}"""
DONE = {"en": "Trained in", "zh": "训练用时"}
TRAIN = {"en": "Train", "zh": "开始训练"}
LINK = {"en": "Draw on your model", "zh": "去手写测试你的模型"}
CONFUSION = {"en": "Confusion matrix on the test set", "zh": "测试集上的混淆矩阵"}
SIDE = {"en": "Shipped CNN", "zh": "内置 CNN"}


def _draw(page, points: list[tuple[float, float]]) -> None:
    """Draw on the largest visible <canvas> (the drawing surface, inside a shadow root)."""
    box = None
    for _ in range(60):
        boxes = [page.locator("canvas").nth(i).bounding_box() for i in range(page.locator("canvas").count())]
        boxes = [b for b in boxes if b and b["width"] * b["height"] > 200 * 200]
        if boxes:
            box = max(boxes, key=lambda b: b["width"] * b["height"])
            break
        page.wait_for_timeout(500)
    assert box is not None, "no drawing canvas on the page"
    page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=4)
    page.mouse.up()
    wait_script_done(page)


def _points(page) -> int:
    return int(page.evaluate(CURVE_POINTS))


@pytest.mark.parametrize("lang", ["en"])  # the Chinese page: tests/test_page_train.py (AppTest)
def test_train_watch_the_curve_grow_then_draw_on_the_model(app_server, browser_page, lang):
    page = browser_page
    page.goto_app(f"{app_server}/train?lang={lang}&epochs=20&n_train=9000")
    assert_no_exception(page)
    main = page.locator('[data-testid="stMain"]')
    page.get_by_role("button", name=TRAIN[lang], exact=True).click()

    # the curve grows while it trains (the fragment redraws it every second)
    seen: list[int] = []
    shot = False
    deadline = time.time() + 120
    while time.time() < deadline and DONE[lang] not in main.inner_text():
        assert_no_exception(page)
        n = _points(page)
        if n and (not seen or n != seen[-1]):
            seen.append(n)
        if len(seen) >= 3 and not shot:  # a curve mid-training
            page.shot(f"train-curve-{lang}")
            shot = True
        page.wait_for_timeout(300)
    assert DONE[lang] in main.inner_text(), main.inner_text()[-800:]
    assert len(seen) >= 3 and seen == sorted(seen), f"the curve did not grow: {seen}"
    wait_script_done(page)
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=10_000)
    page.wait_for_timeout(800)
    page.shot(f"train-done-{lang}")
    page.get_by_text(CONFUSION[lang]).first.scroll_into_view_if_needed()
    page.mouse.wheel(0, 450)
    page.wait_for_timeout(800)
    page.shot(f"train-confusion-{lang}")

    # use it: the same session's Digits page, the drawing read by both models
    page.get_by_text(LINK[lang]).click()
    wait_script_done(page)
    _draw(page, SEVEN)
    assert_no_exception(page)
    page.get_by_text(SIDE[lang]).first.wait_for(timeout=30_000)
    page.locator(BIG_DIGIT).nth(1).wait_for(timeout=30_000)
    shipped, mine = (page.locator(BIG_DIGIT).nth(i).inner_text().strip() for i in (0, 1))
    assert shipped == "7" and mine.isdigit()
    page.wait_for_timeout(800)
    page.shot(f"train-side-by-side-{lang}")


LOST = "the server restarted"
STOP = "Stop"


def _open(context, url: str):
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded")
    wait_script_done(page)
    return page


def _button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def _wait_for(check, timeout_s: float, what: str) -> None:
    deadline = time.time() + timeout_s
    while not check():
        assert time.time() < deadline, what
        time.sleep(0.5)


def test_two_tabs_a_closed_tab_and_a_server_restart(_browser, tmp_path):
    """One visitor (one browser) in two tabs sees one job; closing every tab stops it (the
    visitor can train again); after a server restart the reconnected page says the job was lost."""
    from harness.server import free_port, serving, streamlit_command

    port = free_port()
    env = {"TRAIN_IDLE_SECONDS": "6"}
    context = _browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    long_job = "/train?lang=en&epochs=30&n_train=9000&preset=CNN+%28article+000%29"
    try:
        with serving(streamlit_command(port), tmp_path / "first.log", env, port=port) as (url, _):
            tab1 = _open(context, url + long_job)
            _button(tab1, TRAIN["en"]).click()
            _wait_for(lambda: _button(tab1, STOP).is_enabled(), 90, "the job never started")
            job = tab1.evaluate("new URLSearchParams(location.search).get('job')")
            assert job, tab1.url

            # a second tab of the same browser: the same job, Train disabled, Stop enabled
            tab2 = _open(context, url + "/train?lang=en")
            _wait_for(lambda: _button(tab2, STOP).is_enabled(), 30, "the second tab does not see the job")
            assert _button(tab2, TRAIN["en"]).is_disabled()
            assert tab2.evaluate("new URLSearchParams(location.search).get('job')") == job
            assert_no_exception(tab2)

            # every tab closed: nobody polls, the job is stopped; the visitor may train again
            tab1.close()
            tab2.close()
            time.sleep(6 + 4)
            tab3 = _open(context, url + long_job)
            assert_no_exception(tab3)
            assert _button(tab3, TRAIN["en"]).is_enabled() and _button(tab3, STOP).is_disabled()
            _button(tab3, TRAIN["en"]).click()
            _wait_for(lambda: _button(tab3, STOP).is_enabled(), 90, "no second job after the first was stopped")
            assert "already have a training job" not in tab3.inner_text("body")

        # the server restarts under the open tab: the reconnected page says the job was lost
        with serving(streamlit_command(port), tmp_path / "second.log", env, port=port):
            _wait_for(lambda: LOST in tab3.inner_text("body"), 90, "the restart was not said")
            assert_no_exception(tab3)
            assert _button(tab3, TRAIN["en"]).is_enabled()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            tab3.screenshot(path=str(ARTIFACTS / "train-lost-after-restart-en.png"))
    finally:
        context.close()
