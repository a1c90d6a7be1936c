"""The QA page in headless Chromium: answers highlighted in English and Chinese, user HTML
shown as text (never run), a long passage scrolled to its answer, the attention link, the
inputs kept in the URL. Screenshots go to tests/artifacts/qa_*.png."""

from __future__ import annotations

import urllib.parse

from tests.e2e.conftest import assert_no_exception, wait_script_done


def _open(page, base: str, **params: str) -> None:
    page.goto_app(f"{base}/qa?{urllib.parse.urlencode(params)}", timeout_ms=120_000)
    assert_no_exception(page)


def test_english_answer_highlighted(app_server, browser_page):
    page = browser_page
    _open(page, app_server, lang="en")
    main = page.locator('[data-testid="stMain"]')
    best = page.locator("mark#qa-best")
    best.wait_for(timeout=60_000)
    assert best.inner_text().startswith("Gustave Eiffel")  # the exact span (plus its rank mark)
    assert "Answered by e5-small QA" in main.inner_text()
    marks = page.locator("mark.qa-ans")
    n = marks.count()
    assert n >= 1  # the best answer and its alternatives, each in its own colour
    colours = {marks.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(n)}
    assert len(colours) == n
    link = page.get_by_role("link", name="View attention for this input")
    href = link.get_attribute("href") or ""
    assert "attention" in href and "text=Who+designed" in href.replace("%20", "+")
    page.locator("mark#qa-best").scroll_into_view_if_needed()
    page.shot("qa_en")


def test_chinese_answer_highlighted(app_server, browser_page):
    page = browser_page
    _open(page, app_server, lang="zh")
    main = page.locator('[data-testid="stMain"]')
    best = page.locator("mark#qa-best")
    best.wait_for(timeout=60_000)
    assert best.inner_text().startswith("1956")  # the first Chinese example: when "AI" was named
    assert "作答模型" in main.inner_text() and "可能不包含答案" not in main.inner_text()
    page.shot("qa_zh")


def test_html_in_passage_is_shown_not_run(app_server, browser_page):
    page = browser_page
    context = (
        'Paris is the capital. <b>Bold?</b> <script>window.__pwned = 1</script> <img src=x onerror="window.__pwned=2">'
    )
    _open(page, app_server, lang="en", question="What is the capital?", context=context)
    box = page.locator("#qa-passage")
    box.wait_for(timeout=60_000)
    assert "<b>Bold?</b>" in box.inner_text() and "<script>" in box.inner_text()
    assert box.locator("b, script, img").count() == 0
    assert page.evaluate("() => window.__pwned === undefined")


def test_long_passage_scrolls_to_answer(app_server, browser_page):
    page = browser_page
    filler = " ".join(f"Sentence number {i} talks about the weather and nothing else." for i in range(60))
    context = filler + " The secret code of the vault is 4711. " + filler
    _open(page, app_server, lang="en", question="What is the secret code of the vault?", context=context)
    best = page.locator("mark#qa-best")
    best.wait_for(timeout=60_000)
    assert "4711" in best.inner_text()
    page.wait_for_timeout(500)
    top = page.locator("#qa-passage").evaluate("e => e.scrollTop")
    assert top > 100, "the passage box should open scrolled to the answer"


def test_empty_question_prompts(app_server, browser_page):
    page = browser_page
    _open(page, app_server, lang="en", question="", context="Some passage.")
    page.get_by_text("Now ask a question about the passage.").wait_for(timeout=30_000)
    assert page.locator("mark.qa-ans").count() == 0
    page.get_by_label("Question", exact=True).fill("What is it?")
    page.get_by_label("Question", exact=True).press("Enter")
    wait_script_done(page)
    assert_no_exception(page)
    page.locator("mark#qa-best").wait_for(timeout=60_000)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert query["question"] == ["What is it?"] and query["context"] == ["Some passage."]  # a shareable link
