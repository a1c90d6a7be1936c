"""The classify page in headless Chromium: one text in English and Chinese (label, chart,
coloured explanation, attention link), a GBK-encoded CSV upload classified with a results
table and download, user HTML shown as text. Screenshots go to tests/artifacts/classify_*.png."""

from __future__ import annotations

import urllib.parse

from core.availability import default_model
from tests.e2e.conftest import assert_no_exception, wait_script_done

ZH_DEFAULT = default_model("sentiment", "zh", online=False)
# the results table (the "How this model was trained" expander at the end of the page has a table too)
RESULTS_TABLE = '[data-testid="stMain"] [data-testid="stDataFrame"]:not([data-testid="stExpander"] *)'

CSV_ROWS = [
    ("1", "质量很好，物流也快，非常满意！"),
    ("2", "用了两天就坏了，太失望了。"),
    ("3", "What a wonderful, moving film."),
    ("4", "Boring, badly acted and far too long."),
    ("5", "房间干净，服务热情，下次还来。"),
    ("6", ""),
]


def _open(page, base: str, **params: str) -> None:
    page.goto_app(f"{base}/classify?{urllib.parse.urlencode(params)}", timeout_ms=180_000)
    assert_no_exception(page)


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_single_text_english(app_server, browser_page):
    page = browser_page
    _open(page, app_server, lang="en")
    page.locator(".cls-explain").wait_for(timeout=120_000)
    text = _main_text(page)
    assert "Positive" in text and "Confidence" in text
    assert "MiniLM sentiment" in page.locator('[data-testid="stSidebar"]').inner_text()  # footer: last prediction
    assert page.locator(".cls-explain .cls-w").count() >= 5
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=30_000)  # drawn after the text
    href = page.get_by_role("link", name="View attention for this input").get_attribute("href") or ""
    assert "attention" in href and "text=A+gorgeous" in href.replace("%20", "+")
    page.shot("classify_en")
    area = page.get_by_label("Text", exact=True)
    area.fill("Boring and far too long.")
    area.press("Control+Enter")
    wait_script_done(page)
    page.get_by_text("Negative", exact=True).first.wait_for(timeout=60_000)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert query["text"] == ["Boring and far too long."]  # a shareable link


def test_single_text_chinese_and_escaping(app_server, browser_page):
    page = browser_page
    _open(
        page,
        app_server,
        lang="zh",
        text="<b>质量太差了</b>，非常失望，客服态度也很差，再也不会买了。<script>__p=1</script>",
    )
    box = page.locator(".cls-explain")
    box.wait_for(timeout=120_000)
    assert "负面" in _main_text(page)
    assert "<b>" in box.inner_text() and box.locator("b, script").count() == 0
    assert page.evaluate("() => window.__p === undefined")
    href = page.get_by_role("link", name="查看这段文本的注意力").get_attribute("href") or ""
    assert f"model={ZH_DEFAULT}" in href  # the attention of the classifier that answered
    _open(page, app_server, lang="zh")
    page.locator(".cls-explain").wait_for(timeout=120_000)
    assert "正面" in _main_text(page)
    page.shot("classify_zh")


def test_csv_upload_gbk(app_server, browser_page, tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_bytes(("id,review\n" + "".join(f"{a},{b}\n" for a, b in CSV_ROWS)).encode("gbk"))
    page = browser_page
    _open(page, app_server, lang="zh")
    page.get_by_role("tab", name="批量 / CSV 文件").click()
    page.get_by_text("CSV 文件", exact=True).click()
    wait_script_done(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    wait_script_done(page)
    text = _main_text(page)
    assert "GBK/GB18030" in text and "已跳过 1 个空行" in text
    page.get_by_role("button", name="分类 5 条文本").click()
    page.get_by_text("5 条文本，用时").wait_for(timeout=120_000)
    wait_script_done(page)
    assert_no_exception(page)
    assert page.locator(RESULTS_TABLE).count() == 1
    page.get_by_role("button", name="下载结果（CSV）").wait_for(timeout=30_000)  # drawn after the table
    page.locator(RESULTS_TABLE).scroll_into_view_if_needed()
    page.shot("classify_csv_zh")


def test_pasted_lines_english(app_server, browser_page):
    page = browser_page
    _open(page, app_server, lang="en")
    page.get_by_role("tab", name="Many texts / CSV").click()
    area = page.get_by_label("One text per line")
    area.fill("What a wonderful, moving film.\n质量太差了，非常失望。\nBoring and far too long.\nA charming delight.")
    area.press("Control+Enter")
    wait_script_done(page)
    page.get_by_role("button", name="Classify 4 texts").click()
    page.get_by_text("4 texts in").wait_for(timeout=120_000)
    wait_script_done(page)
    assert_no_exception(page)
    assert page.locator(RESULTS_TABLE).count() == 1
    page.locator(RESULTS_TABLE).scroll_into_view_if_needed()
    page.shot("classify_batch_en")
