"""The LLM reader in headless Chromium, on a tiny random Qwen2 installed as the pack (a model
cache of the test's own, given to the server by ``DEMO_MODEL_CACHE``): the Q&A page answers
with it and highlights the answer, "compare readers" shows both readers' answers in their
colours, and the attention viewer opens the language model with its causal note. The tiny
model's answers are random spans; the real pack is looked at by hand (screenshots)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import assert_no_exception, serve_app
from tests.tiny_qwen import CORPUS, cache_without_pack, save_as_pack

KEY = "qwen-0.5b-reader"


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from core.llm import pack

    root = cache_without_pack(tmp_path_factory.mktemp("model-cache"))
    save_as_pack(Path(root) / pack.folder_for().name)
    with serve_app("server-llm.log", env={"DEMO_MODEL_CACHE": str(root), "DEMO_WARMUP": "0"}) as url:
        yield url


def _open(page, base: str, path: str, **params: str) -> None:
    page.goto_app(f"{base}/{path}?{urllib.parse.urlencode(params)}", timeout_ms=120_000)
    assert_no_exception(page)


def test_the_llm_answers_and_compares(llm_server, browser_page):
    page = browser_page
    _open(page, llm_server, "qa", lang="zh", model=KEY, context=CORPUS[1], question="什么是人工智能？")
    best = page.locator("mark#qa-best")
    best.wait_for(timeout=60_000)
    assert best.inner_text().rstrip("1") in CORPUS[1]
    assert "语言模型的答案" in page.locator('[data-testid="stMain"]').inner_text()
    _open(page, llm_server, "qa", lang="en", model=KEY, compare="true", context=CORPUS[0], question="Who?")
    page.locator("mark.qa-ans").first.wait_for(timeout=60_000)
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert "Span model" in main and "Language-model reader" in main and "first token" in main
    href = page.get_by_role("link", name="View attention for this input").get_attribute("href") or ""
    assert "im_start" in urllib.parse.unquote_plus(href) and f"model={KEY}" in href  # its prompt + answer
    page.shot("llm_compare_tiny")


def test_the_attention_viewer_opens_the_llm(llm_server, browser_page):
    page = browser_page
    _open(page, llm_server, "attention", lang="en", model=KEY, text="The cat sat on the mat.")
    main = page.locator('[data-testid="stMain"]')
    page.get_by_text("causal language model", exact=False).first.wait_for(timeout=60_000)
    assert "upper-right triangle" in main.inner_text() and "2 key/value heads" in main.inner_text()
    page.shot("llm_attention_tiny")
