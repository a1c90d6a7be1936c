"""A client of Streamlit's own websocket protocol (the BackMsg / ForwardMsg protobufs a
browser exchanges with the server): open a page from a link with inputs, read the delta
stream to ``script_finished`` and say whether the page drew its result or an error.
Used by ``bench/load.py`` and by its end-to-end test."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from dataclasses import dataclass

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from harness.server import HOST

# Inputs per page and language; each request takes the next one so a page really predicts
# (pages keep one result per session and would otherwise answer from it).
QA = {
    "en": [
        (
            "When was the Eiffel Tower completed?",
            "The Eiffel Tower is a wrought-iron lattice tower in Paris. It was designed by the company of "
            "Gustave Eiffel and completed in 1889 for the World's Fair. It is 330 metres tall.",
        ),
        (
            "Where do penguins live?",
            "Penguins are flightless birds. Most species live in the Southern Hemisphere, from Antarctica "
            "to the coasts of South America, Africa and Australia. They eat fish, squid and krill.",
        ),
        (
            "What does a CPU do?",
            "A central processing unit executes the instructions of a computer program. Modern CPUs have "
            "several cores. Graphics cards, by contrast, run thousands of small threads in parallel.",
        ),
    ],
    "zh": [
        ("长城有多长？", "长城是中国古代的军事防御工程。明长城总长约八千八百公里。它东起山海关，西至嘉峪关。"),
        ("熊猫吃什么？", "大熊猫生活在中国四川、陕西和甘肃的山区。它们主要吃竹子，有时也吃小动物。"),
        (
            "北京是什么时候成为首都的？",
            "北京是中华人民共和国的首都。元朝时，北京称为大都。1949年，北京成为新中国的首都。",
        ),
    ],
}
TEXTS = {
    "en": [
        "The film was a delight from start to finish.",
        "Terrible service, I waited an hour and left.",
        "The new phone is fast but the battery is disappointing.",
        "What a wonderful surprise party!",
        "The package arrived broken and nobody answered my emails.",
    ],
    "zh": [
        "这部电影太精彩了，我还想再看一遍。",
        "服务态度很差，等了一个小时也没人理。",
        "手机速度很快，但是电池不太耐用。",
        "今天的天气真好，我们去公园散步吧。",
        "快递送来的时候盒子已经破了。",
    ],
}


@dataclass(frozen=True)
class Page:
    url_path: str
    # element types of which at least one must be drawn for the request to count as a result
    result_elements: frozenset[str]

    def query(self, lang: str, i: int) -> dict[str, str]:
        if self.url_path == "qa":
            q, c = QA[lang][i % len(QA[lang])]
            return {"question": q, "context": c}
        if self.url_path == "digits":
            return {"example": str(i % 10)}
        return {"text": TEXTS[lang][i % len(TEXTS[lang])]}


PAGES = [
    Page("qa", frozenset({"html"})),  # the answer card
    Page("classify", frozenset({"plotly_chart"})),  # the label scores
    Page("attention", frozenset({"plotly_chart"})),  # the attention heatmap
    Page("digits", frozenset({"plotly_chart"})),  # the ten probabilities
]


@dataclass
class Result:
    page: str
    seconds: float
    error: str | None = None  # exception / error alert / no script_finished / ...
    has_result: bool = False
    queued: bool = False  # the page said "queued" (model busy with other visitors)
    cpu: float | None = None  # server CPU seconds of this visit (measured with 1 session only)


def rerun_message(page: str, query: dict[str, str], port: int) -> bytes:
    """What the browser sends when it opens ``/page?query``: a ``rerun_script`` BackMsg."""
    qs = urllib.parse.urlencode(query)
    msg = BackMsg()
    msg.rerun_script.query_string = qs
    msg.rerun_script.page_name = page
    msg.rerun_script.page_script_hash = ""
    ctx = msg.rerun_script.context_info
    ctx.timezone = "UTC"
    ctx.locale = "zh-CN" if query.get("lang") == "zh" else "en-US"
    ctx.url = f"http://{HOST}:{port}/{page}?{qs}"
    return msg.SerializeToString()


async def request(ws, page: Page, query: dict[str, str], port: int, timeout: float) -> Result:
    """One page visit: send rerun_script, read ForwardMsgs until script_finished."""
    res = Result(page.url_path, 0.0)
    t0 = time.perf_counter()
    await ws.send(rerun_message(page.url_path, query, port))
    deadline = t0 + timeout
    try:
        while True:
            raw = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.perf_counter()))
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                etype = el.WhichOneof("type")
                if etype == "exception" and res.error is None:
                    res.error = f"exception: {el.exception.type}: {el.exception.message[:120]}"
                elif etype == "alert" and el.alert.format == el.alert.ERROR and res.error is None:
                    res.error = f"st.error: {el.alert.body[:120]}"
                elif etype == "alert" and el.alert.icon == "⏳":
                    res.queued = True
                elif etype == "alert" and el.alert.icon == "🐢" and res.error is None:
                    res.error = "rate limited"
                if etype in page.result_elements:
                    res.has_result = True
            elif kind == "page_not_found":
                res.error = f"page not found: {page.url_path}"
            elif kind == "script_finished":
                status = fm.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # the script asked for a rerun (st.rerun): the browser waits for it too
                if status not in (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                    res.error = res.error or f"script finished with status {status}"
                break
    except TimeoutError:
        res.error = f"no script_finished within {timeout:.0f} s"
    except websockets.ConnectionClosed as err:
        res.error = f"websocket closed: {err}"
    res.seconds = time.perf_counter() - t0
    if res.error is None and not res.has_result:
        res.error = "finished without drawing a result"
    return res
