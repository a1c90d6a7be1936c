"""HTTP API benchmark: requests per second and latency on loopback for the single-process
API, Ray Serve with 1 and 2 replicas per family, and the same predictions as Streamlit page
visits; the batching speed-up; the API's overhead over the bare ``core`` call; a soak.

The workload is sentiment of one short text per request (English and Chinese in turn), the
prediction a visitor of the classification page asks for. Each level runs ``--seconds``
with N concurrent clients (asyncio + aiohttp, keep-alive) and counts 5xx and failed
connections. Server CPU per request is the CPU time of the server's whole process tree
(Ray's raylet and replicas included) over the requests it answered. Everything runs on this
machine: the clients take CPU from the server too, as they would on one box.

    python bench/api.py                       # everything (about 8 minutes here)
    python bench/api.py --skip-ray --skip-streamlit --seconds 4
    python bench/api.py --runtime-cpu         # only: server CPU per request, OpenVINO vs DEMO_RUNTIME=torch
    python bench/api.py --runtime-cpu --workload qa --clients 4   # the same for Q&A requests

Targets on this 2-core CPU: API overhead over the bare core call under 5 ms p50; 128
concurrent clients for 60 s with zero 5xx; with @serve.batch at least 2x the throughput
without it for classification at 32 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import psutil

from harness import server
from harness.protocol import PAGES, TEXTS, request
from harness.stats import cpu_tree, percentile

BODIES = [{"text": t} for pair in zip(TEXTS["en"], TEXTS["zh"], strict=True) for t in pair]
ROUTE = "/api/classify"


def use_qa_workload() -> None:
    """``--workload qa``: a Q&A request per call (an English passage of about 1,600 characters,
    3 windows, and a Chinese one of 1,000 characters, in turn), the passages of bench/qa.py."""
    global ROUTE, BODIES
    from bench.qa import EN_QUESTION, EN_SENTENCES, ZH_QUESTION, chinese_passage

    ROUTE = "/api/qa"
    en = " ".join(EN_SENTENCES)[:1600]
    BODIES = [{"question": EN_QUESTION, "context": en}, {"question": ZH_QUESTION, "context": chinese_passage()}]


@dataclass
class Level:
    name: str
    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    server_5xx: int = 0
    other_errors: int = 0
    cpu_s: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        p50, p95 = percentile(self.latencies, 50) * 1000, percentile(self.latencies, 95) * 1000
        cpu = self.cpu_s / self.ok * 1000 if self.ok else float("nan")
        return (
            f"{self.name:<26} {self.clients:>4} clients  {self.rps:7.1f} req/s  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
            f"5xx {self.server_5xx:>3}  failed {self.other_errors:>3}  server CPU {cpu:6.1f} ms/req"
        )


async def _client(session: aiohttp.ClientSession, url: str, stop_at: float, level: Level, offset: int) -> None:
    i = offset
    while time.monotonic() < stop_at:
        body = BODIES[i % len(BODIES)]
        i += 1
        t0 = time.perf_counter()
        try:
            async with session.post(url + ROUTE, json=body) as resp:
                await resp.read()
                if resp.status >= 500:
                    level.server_5xx += 1
                elif resp.status == 200:
                    level.latencies.append(time.perf_counter() - t0)
                else:
                    level.other_errors += 1
        except (TimeoutError, aiohttp.ClientError):
            level.other_errors += 1


async def _load(url: str, clients: int, seconds: float, level: Level) -> None:
    conn = aiohttp.TCPConnector(limit=clients, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        t0 = time.monotonic()
        await asyncio.gather(*(_client(session, url, t0 + seconds, level, k) for k in range(clients)))
        level.seconds = time.monotonic() - t0


def run_level(name: str, url: str, proc: psutil.Process, clients: int, seconds: float) -> Level:
    level = Level(name, clients)
    cpu0 = cpu_tree(proc)
    asyncio.run(_load(url, clients, seconds, level))
    level.cpu_s = cpu_tree(proc) - cpu0
    print(level.line(), flush=True)
    return level


@contextmanager
def api_server(
    module: str, log: Path, *extra: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, psutil.Process]]:
    """``python -m module --host 127.0.0.1 --port P *extra`` until the block ends, once ready."""
    port = server.free_port()
    args = ["-m", module, "--host", server.HOST, "--port", str(port), *extra]
    with server.serving(args, log, port=port, timeout_s=300, health_path="/readyz", env=env) as (url, proc):
        yield url, psutil.Process(proc.pid)


def runtime_cpu(tmp: Path, clients: int, seconds: float, rounds: int = 3) -> None:
    """Server CPU per request of the single-process API with the encoders on OpenVINO (the
    default) vs ``DEMO_RUNTIME=torch``: both servers up at once, levels alternated."""
    with (
        api_server("api", tmp / "api-ov.log") as (ov_url, ov_ps),
        api_server("api", tmp / "api-torch.log", env={"DEMO_RUNTIME": "torch"}) as (pt_url, pt_ps),
    ):
        totals = {"torch": [0.0, 0], "openvino": [0.0, 0]}
        for url in (ov_url, pt_url):
            warm(url)
        for r in range(rounds):
            order = [("openvino", ov_url, ov_ps), ("torch", pt_url, pt_ps)]
            for name, url, ps in order if r % 2 == 0 else order[::-1]:
                lv = run_level(f"API, runtime {name}", url, ps, clients, seconds)
                totals[name][0] += lv.cpu_s
                totals[name][1] += lv.ok
        cpu = {k: v[0] / max(int(v[1]), 1) for k, v in totals.items()}
        rps = {k: v[1] / (rounds * seconds) for k, v in totals.items()}
        print(
            f"server CPU per request at {clients} clients: OpenVINO {cpu['openvino'] * 1000:.1f} ms vs PyTorch "
            f"{cpu['torch'] * 1000:.1f} ms ({cpu['torch'] / max(cpu['openvino'], 1e-9):.2f}x less); req/s "
            f"{rps['openvino']:.1f} vs {rps['torch']:.1f} (alternated, {rounds} rounds of {seconds:.0f} s)",
            flush=True,
        )


def warm(url: str) -> None:
    """A few seconds of requests first: lazy imports, first batches, connection pools."""
    asyncio.run(_load(url, 4, 3.0, Level("warm", 4)))


def bare_core_p50(repeats: int = 200) -> float:
    """p50 seconds of the bare ``core.classify([text])`` call in this process."""
    from core.classify import classify

    texts = [b["text"] for b in BODIES]
    for t in texts:
        classify([t])
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        classify([texts[i % len(texts)]])
        times.append(time.perf_counter() - t0)
    return percentile(times, 50)


def sequential_p50(url: str, repeats: int = 300) -> tuple[float, float, float]:
    """One client, keep-alive: p50 seconds of the round trip, of the task call inside the
    server (``X-Task-Ms``: the bare ``core`` call) and of their difference per request (the
    API's own overhead: HTTP, JSON, validation, the thread hand-off)."""
    import http.client
    import json
    from urllib.parse import urlparse

    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    rtt, task, extra = [], [], []
    for i in range(repeats):
        body = json.dumps(BODIES[i % len(BODIES)]).encode()
        t0 = time.perf_counter()
        conn.request("POST", "/api/classify", body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        dt = time.perf_counter() - t0
        inside = float(resp.getheader("x-task-ms", "nan")) / 1000
        rtt.append(dt)
        task.append(inside)
        extra.append(dt - inside)
    conn.close()
    return percentile(rtt, 50), percentile(task, 50), percentile(extra, 50)


async def _visits(port: int, clients: int, seconds: float, level: Level) -> None:
    import websockets

    page = next(p for p in PAGES if p.url_path == "classify")
    url = f"ws://{server.HOST}:{port}/_stcore/stream"
    stop_at = time.monotonic() + seconds

    async def visitor(k: int) -> None:
        i = k
        while time.monotonic() < stop_at:
            lang = "zh" if i % 2 else "en"
            i += 1
            try:
                async with websockets.connect(url, subprotocols=["streamlit"], max_size=None, ping_interval=None) as ws:
                    res = await request(ws, page, {"lang": lang, **page.query(lang, i)}, port, 60)
            except (OSError, websockets.WebSocketException):
                level.other_errors += 1
                continue
            if res.error:
                level.other_errors += 1
            else:
                level.latencies.append(res.seconds)

    t0 = time.monotonic()
    await asyncio.gather(*(visitor(k) for k in range(clients)))
    level.seconds = time.monotonic() - t0


def streamlit_levels(levels: list[int], seconds: float, tmp: Path) -> list[Level]:
    port = server.free_port()
    out = []
    with server.serving(server.streamlit_command(port), tmp / "streamlit.log", port=port) as (_, proc):
        ps = psutil.Process(proc.pid)
        warm_level = Level("warm", 1)
        asyncio.run(_visits(port, 1, 5.0, warm_level))
        for n in levels:
            level = Level("Streamlit page visits", n)
            cpu0 = cpu_tree(ps)
            asyncio.run(_visits(port, n, seconds, level))
            level.cpu_s = cpu_tree(ps) - cpu0
            print(level.line(), flush=True)
            out.append(level)
    return out


def main(argv: list[str] | None = None) -> int:
    import signal

    # SIGTERM (a timeout) unwinds like Ctrl-C, so the servers this run started are stopped
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--soak", type=float, default=60.0, help="seconds of 128 clients (0: skip)")
    parser.add_argument("--skip-single", action="store_true")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-streamlit", action="store_true")
    parser.add_argument("--runtime-cpu", action="store_true", help="only the OpenVINO vs PyTorch CPU per request")
    parser.add_argument("--workload", choices=("classify", "qa"), default="classify", help="--runtime-cpu: requests")
    parser.add_argument("--clients", type=int, default=32, help="--runtime-cpu: concurrent clients")
    opts = parser.parse_args(argv)
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    from core.device import describe_device

    device = describe_device().label
    if opts.runtime_cpu:
        if opts.workload == "qa":
            use_qa_workload()
        print(f"device: {device}   workload: POST {ROUTE} (en/zh in turn)   logs: {tmp}", flush=True)
        runtime_cpu(tmp, opts.clients, opts.seconds)
        return 0
    print(f"device: {device}   workload: POST /api/classify, one short text (en/zh)   logs: {tmp}", flush=True)
    results: dict[str, Any] = {}

    bare = bare_core_p50()
    print(f"bare core.classify([text]) in-process: p50 {bare * 1000:.2f} ms", flush=True)

    if not opts.skip_single:
        with api_server("api", tmp / "api.log") as (url, ps):
            warm(url)
            rtt, inside, overhead = sequential_p50(url)
            results["overhead_ms"] = overhead * 1000
            print(
                f"single-process API, 1 client: round trip p50 {rtt * 1000:.2f} ms, the core call inside it "
                f"{inside * 1000:.2f} ms; the API's own overhead {overhead * 1000:.2f} ms p50 (target < 5 ms)",
                flush=True,
            )
            results["single"] = [run_level("API, single process", url, ps, n, opts.seconds) for n in opts.levels]
            if opts.soak:
                results["soak_single"] = run_level("API, single process SOAK", url, ps, 128, opts.soak)
        with api_server("api", tmp / "api-nobatch.log", "--no-batch") as (url, ps):
            warm(url)
            results["single_nobatch"] = run_level("API, single, NO batching", url, ps, 32, opts.seconds)

    if not opts.skip_ray:
        for replicas in (1, 2):
            with api_server("api.ray_serve", tmp / f"ray{replicas}.log", "--replicas", str(replicas)) as (url, ps):
                warm(url)
                name = f"Ray Serve, {replicas} replica{'s' if replicas > 1 else ''}"
                results[f"ray{replicas}"] = [run_level(name, url, ps, n, opts.seconds) for n in opts.levels]
                if replicas == 1 and opts.soak:
                    results["soak_ray"] = run_level("Ray Serve, 1 replica SOAK", url, ps, 128, opts.soak)
        with api_server("api.ray_serve", tmp / "ray-nobatch.log", "--replicas", "1", "--no-batch") as (url, ps):
            warm(url)
            results["nobatch"] = run_level("Ray Serve, 1, NO batching", url, ps, 32, opts.seconds)

    if not opts.skip_streamlit:
        results["streamlit"] = streamlit_levels([n for n in opts.levels if n <= 32], opts.seconds, tmp)

    print("\n== summary", flush=True)
    print(f"device: {device}")
    if "overhead_ms" in results:
        print(f"API overhead over the bare core call: {results['overhead_ms']:.2f} ms p50 (target < 5 ms)")
    single = {lv.clients: lv for lv in results.get("single", [])}
    for key in ("ray1", "ray2"):
        if key in results:
            for lv in results[key]:
                base = single.get(lv.clients)
                if base and base.rps:
                    print(
                        f"{lv.name:<26} {lv.clients:>4} clients: {lv.rps / base.rps:5.2f}x the single-process API's req/s"
                    )
    if "nobatch" in results and "ray1" in results:
        batched = next(lv for lv in results["ray1"] if lv.clients == 32)
        ratio = batched.rps / results["nobatch"].rps if results["nobatch"].rps else float("inf")
        print(
            f"@serve.batch speed-up at 32 clients: {ratio:.2f}x ({batched.rps:.1f} vs {results['nobatch'].rps:.1f} req/s; target >= 2x)"
        )
    if "single_nobatch" in results and single.get(32):
        ratio = single[32].rps / results["single_nobatch"].rps if results["single_nobatch"].rps else float("inf")
        print(
            f"micro-batching in the single-process API at 32 clients: {ratio:.2f}x "
            f"({single[32].rps:.1f} vs {results['single_nobatch'].rps:.1f} req/s; target >= 2x)"
        )
    for key in ("soak_single", "soak_ray"):
        if key in results:
            lv = results[key]
            print(
                f"soak {lv.name}: {lv.ok} answered in {lv.seconds:.0f} s, 5xx {lv.server_5xx}, failed {lv.other_errors} (target 0 5xx)"
            )
    if "streamlit" in results:
        for lv in results["streamlit"]:
            base = single.get(lv.clients)
            if base and lv.rps:
                print(
                    f"Streamlit page visits {lv.clients:>4} clients: the API answers {base.rps / lv.rps:5.1f}x more predictions/s"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
