"""The load benchmark's client (harness.protocol) speaks Streamlit's websocket protocol: one real session on the test
server opens pages from links with inputs, and the script run is seen to its end."""

from __future__ import annotations

import asyncio

import websockets

from harness import protocol as load


def _visit(app_server: str, pages: list[tuple[object, dict]]) -> list:
    port = int(app_server.rsplit(":", 1)[1])

    async def go():
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"], max_size=None
        ) as ws:
            return [await load.request(ws, page, query, port, timeout=120) for page, query in pages]

    # In a thread of its own: Playwright's sync API (other e2e tests) keeps an event loop
    # running in the main thread, where asyncio.run() refuses to start.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def test_protocol_session_opens_pages_from_links(app_server):
    digits = next(p for p in load.PAGES if p.url_path == "digits")
    home = load.Page("", frozenset({"markdown"}))
    res_home, res_digits = _visit(app_server, [(home, {"lang": "en"}), (digits, {"lang": "zh", "example": "3"})])
    assert res_home.error is None and res_home.has_result
    assert res_digits.error is None, res_digits.error
    assert res_digits.has_result, "the digits page did not predict from ?example=3"
    assert 0 < res_digits.seconds < 120


def test_protocol_client_reports_a_missing_result(app_server):
    # the home page draws no plotly chart: asking for one must count as an error, not pass
    home = load.Page("", frozenset({"plotly_chart"}))
    (res,) = _visit(app_server, [(home, {"lang": "en"})])
    assert res.error == "finished without drawing a result"
