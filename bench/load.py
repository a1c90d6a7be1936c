"""Load benchmark: many concurrent real sessions against one server, speaking Streamlit's own
websocket protocol (the BackMsg / ForwardMsg protobufs the browser exchanges with the server).

Starts the app on a free loopback port (127.0.0.1 only), warms it with one visit per page,
then for 1, 5, 20 and 50 concurrent sessions lets every session open each page with URL
parameters that make the page predict on load (as a visitor opening a shared link would),
pausing between pages like a person reading the result (``--think``, 10 s on average; the
single visitor of the baseline does not pause: alone, pauses change nothing but the wall time). Measures, per request, the
time from sending ``rerun_script`` to the server's ``script_finished``, and counts as errors:
an exception element in the delta stream, an ``st.error`` alert, a script that did not finish
(timeout, closed socket, compile error), or a page that finished without drawing its result.
Prints p50/p95 latency per page, errors, and the peak memory (RSS) of the server process tree.
Bounded: a time limit per level, a request cap, and the server is stopped at the end.

    python bench/load.py                        # levels 1 5 20 50
    python bench/load.py --think 2              # visitors who click every ~2 s (stress)
    python bench/load.py --ramp 0.5             # everyone opens the shared link at once
    python bench/load.py --levels 1 5 --think 0 # no pause between pages (worst case)
    python bench/load.py --entry serve          # production entry point (python -m ui.serve)
    python bench/load.py --runtime-cpu          # only: server CPU per page visit, OpenVINO vs DEMO_RUNTIME=torch

Targets on a 2-core CPU: 20 sessions with zero errors; p95 under 4x the single-session p50;
server memory at 50 sessions under 1.2x memory at 1 session plus a few MB per session.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import server, stats  # noqa: E402
from harness.protocol import PAGES, Result, request  # noqa: E402
from harness.stats import cpu_tree, rss_tree  # noqa: E402

HOST = server.HOST  # loopback only, never any other address
MB = 1024 * 1024


@dataclass
class Level:
    sessions: int
    results: list[Result] = field(default_factory=list)
    wall: float = 0.0
    peak_rss: int = 0
    cpu_seconds: float = 0.0  # CPU time the server process tree used during the level
    capped: bool = False


# ------------------------------------------------------------------------------------ server


def start_server(entry: str, port: int, log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    proc = server.start(server.streamlit_command(port, entry), log_path, env)
    try:
        server.wait_healthy(f"http://{HOST}:{port}", proc)
    except server.ServerFailed:
        server.stop(proc)
        raise SystemExit(f"server did not become healthy; see {log_path}") from None
    return proc


class PeakMemory:
    """Samples the RSS of the server process tree every 100 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_tree(self.proc))
            self._stop.wait(0.1)

    def __enter__(self) -> PeakMemory:
        self.peak = rss_tree(self.proc)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


async def session(
    sid: int,
    port: int,
    rounds: int,
    think: float,
    timeout: float,
    out: list[Result],
    stop_at: float,
    budget: list[int],
    server: psutil.Process | None = None,
    ramp: float = 0.5,
) -> None:
    """One visitor, ``rounds`` times: open a Streamlit session (one websocket, as a browser tab
    does) and visit every page in it, each opened from a link with its inputs in the URL.
    Pages read their URL inputs on the first visit of a session, so each round is a new
    session, as when a visitor opens a new shared link. Even visitors use the English
    interface and inputs, odd ones Chinese."""
    lang = "zh" if sid % 2 else "en"
    rng = random.Random(sid)
    url = f"ws://{HOST}:{port}/_stcore/stream"
    order = PAGES[sid % len(PAGES) :] + PAGES[: sid % len(PAGES)]  # sessions spread over pages
    await asyncio.sleep(rng.uniform(0, ramp))  # arrivals spread over the ramp
    for r in range(rounds):
        try:
            async with websockets.connect(
                url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout, ping_interval=None
            ) as ws:
                for page in order:
                    if time.monotonic() > stop_at or budget[0] <= 0:
                        return
                    budget[0] -= 1
                    query = {"lang": lang, **page.query(lang, sid + r)}
                    cpu0 = cpu_tree(server) if server else 0.0
                    res = await request(ws, page, query, port, timeout)
                    if server:
                        res.cpu = cpu_tree(server) - cpu0
                    out.append(res)
                    if think:
                        await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
        except (OSError, websockets.WebSocketException) as err:
            out.append(Result("connect", 0.0, error=f"cannot open session: {err}"))


async def run_level(
    n: int,
    port: int,
    rounds: int,
    think: float,
    timeout: float,
    time_limit: float,
    max_requests: int,
    server: psutil.Process | None = None,
    ramp: float = 0.5,
) -> Level:
    """``n`` concurrent visitors; with one visitor and ``server`` given, each visit's server CPU
    time is measured too (alone, a visit's CPU is all its own)."""
    level = Level(n)
    budget = [max_requests]
    t0 = time.monotonic()
    await asyncio.gather(
        *(
            session(
                i,
                port,
                rounds,
                think,
                timeout,
                level.results,
                t0 + time_limit,
                budget,
                server if n == 1 else None,
                ramp,
            )
            for i in range(n)
        )
    )
    level.wall = time.monotonic() - t0
    level.capped = budget[0] <= 0 or level.wall > time_limit
    return level


# ----------------------------------------------------------------------------------- report


def pct(xs: list[float], q: float) -> float:
    """Percentile of ``xs`` with ``q`` in [0, 1]."""
    return stats.percentile(xs, q * 100)


def summarize(levels: list[Level], think: float, ramp: float) -> None:
    pages = [p.url_path for p in PAGES]
    print()
    print(
        f"{'sessions':>8} {'page':10} {'n':>4} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'errors':>6} {'queued':>6} {'cpu s':>6}  note"
    )
    base: dict[str, float] = {}
    for lv in levels:
        for name in pages:
            rs = [r for r in lv.results if r.page == name]
            ok = [r.seconds for r in rs if r.error is None]
            errs = sum(r.error is not None for r in rs)
            note = ""
            cpus = [r.cpu for r in rs if r.cpu is not None and r.error is None]
            cpu = f"{statistics.median(cpus):.2f}" if cpus else ""
            if lv.sessions == levels[0].sessions and ok:
                base[name] = pct(ok, 0.5)
            print(
                f"{lv.sessions:>8} {name:10} {len(rs):>4} {pct(ok, 0.5):7.2f} {pct(ok, 0.95):7.2f} "
                f"{max(ok, default=math.nan):7.2f} {errs:>6} {sum(r.queued for r in rs):>6} {cpu:>6}  {note}"
            )
        conn = [r for r in lv.results if r.page == "connect"]
        total = len(lv.results)
        errs = sum(r.error is not None for r in lv.results)
        print(
            f"{lv.sessions:>8} {'ALL':10} {total:>4} {'':7} {'':7} {'':7} {errs:>6} "
            f"{sum(r.queued for r in lv.results):>6}  "
            f"wall {lv.wall:.0f} s, {total / max(lv.wall, 1e-9):.1f} req/s, "
            f"server CPU {lv.cpu_seconds / max(total, 1):.2f} s/req, peak RSS {lv.peak_rss / MB:.0f} MB"
            + (", CAPPED by time/request limit" if lv.capped else "")
            + (f", {len(conn)} sessions could not connect" if conn else "")
        )
        seen: dict[str, int] = {}
        for r in lv.results:
            if r.error:
                seen[f"{r.page}: {r.error}"] = seen.get(f"{r.page}: {r.error}", 0) + 1
        for msg, k in list(seen.items())[:6]:
            print(f"{'':>8}   {k} x {msg}")
    print()
    print(
        f"machine: {psutil.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        "(other work on the machine slows every figure; compare within one run)"
    )
    cpus = [r.cpu for lv in levels for r in lv.results if r.cpu is not None and r.error is None]
    if cpus:
        per = statistics.mean(cpus)
        ncpu = psutil.cpu_count()
        print(
            f"capacity: {per:.2f} server CPU s per page visit (mean over the pages, one visitor) -> at most "
            f"{ncpu / per:.1f} visits/s on {ncpu} CPUs; visitors opening a page every ~20 s: "
            f"about {20 * ncpu / per:.0f} of them at once"
        )
    print(f"Targets (visitors pause ~{think:g} s between pages and arrive over {ramp:g} s):")
    by_n = {lv.sessions: lv for lv in levels}
    if 20 in by_n:
        e20 = sum(r.error is not None for r in by_n[20].results)
        print(f"  20 sessions, zero errors:                 {e20} errors -> {'MET' if e20 == 0 else 'NOT MET'}")
        worst = []
        for name in pages:
            ok = [r.seconds for r in by_n[20].results if r.page == name and r.error is None]
            if ok and base.get(name):
                worst.append((pct(ok, 0.95) / base[name], name))
        if worst:
            ratio, name = max(worst)
            print(
                f"  20 sessions, p95 < 4x single-session p50: worst page {name} at {ratio:.1f}x -> "
                f"{'MET' if ratio < 4 else 'NOT MET'}  ("
                + ", ".join(f"{n} {r:.1f}x" for r, n in sorted(worst, key=lambda x: x[1]))
                + ")"
            )
    if 1 in by_n and 50 in by_n:
        m1, m50 = by_n[1].peak_rss / MB, by_n[50].peak_rss / MB
        per = (m50 - m1) / 49
        limit = 1.2 * m1 + 4 * 50
        print(
            f"  memory: 1 session {m1:.0f} MB, 50 sessions {m50:.0f} MB = {m50 / m1:.2f}x, "
            f"{per:+.1f} MB per extra session; limit 1.2x + 4 MB/session = {limit:.0f} MB -> "
            f"{'MET' if m50 < limit else 'NOT MET'}"
        )


def runtime_cpu(entry: str, rounds: int) -> None:
    """Server CPU per page visit with the encoders on OpenVINO (the default) vs
    ``DEMO_RUNTIME=torch``: two servers up at once, one visitor each in turn (alone, a visit's CPU
    is all its own), the order alternated every round; median per page and the sum of the
    means (one visit of every page; the process CPU clock ticks in 10-15 ms steps, so means, not medians)."""
    servers: dict[str, tuple[subprocess.Popen, int]] = {}
    try:
        for name, env in (("openvino", None), ("torch", {"DEMO_RUNTIME": "torch"})):
            port = server.free_port()
            log = Path(tempfile.gettempdir()) / f"bench-load-{name}-{port}.log"
            servers[name] = (start_server(entry, port, log, env), port)
            warm = asyncio.run(run_level(2, port, 1, 0.0, 180.0, 600.0, 100))
            print(f"{name}: server on port {port} warm, {sum(r.error is not None for r in warm.results)} errors")
        cpus: dict[str, dict[str, list[float]]] = {k: {} for k in servers}
        errors = {k: 0 for k in servers}
        for r in range(rounds):
            order = list(servers) if r % 2 == 0 else list(servers)[::-1]
            for name in order:
                proc, port = servers[name]
                lv = asyncio.run(run_level(1, port, 1, 0.0, 90.0, 600.0, 100, psutil.Process(proc.pid)))
                for res in lv.results:
                    if res.error is None and res.cpu is not None:
                        cpus[name].setdefault(res.page, []).append(res.cpu)
                    errors[name] += res.error is not None
    finally:
        for proc, _ in servers.values():
            server.stop(proc)
    print(f"\nserver CPU per page visit (mean of {rounds} visits, one visitor, seconds)")
    print(f"{'page':10} {'OpenVINO':>9} {'PyTorch':>9} {'saved':>7}")
    tot = {k: 0.0 for k in servers}
    for page in [p.url_path for p in PAGES]:
        med = {k: statistics.fmean(cpus[k].get(page) or [math.nan]) for k in servers}
        for k in servers:
            tot[k] += med[k]
        print(f"{page:10} {med['openvino']:9.3f} {med['torch']:9.3f} {med['torch'] / med['openvino']:6.2f}x")
    print(
        f"{'ALL':10} {tot['openvino']:9.3f} {tot['torch']:9.3f} {tot['torch'] / tot['openvino']:6.2f}x  "
        f"(errors: OpenVINO {errors['openvino']}, PyTorch {errors['torch']}; load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())})"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 5, 20, 50], help="concurrent sessions")
    ap.add_argument(
        "--samples", type=int, default=8, help="at least this many requests per page per level (sessions repeat rounds)"
    )
    ap.add_argument(
        "--think",
        type=float,
        default=10.0,
        help="mean pause in seconds between a visitor's page visits, uniform in 0.5x-1.5x "
        "(0: back to back); not used with a single visitor",
    )
    ap.add_argument(
        "--ramp",
        type=float,
        default=None,
        help="visitors arrive spread over this many seconds (default: one think time; "
        "0.5 = everyone opens the link at once)",
    )
    ap.add_argument("--timeout", type=float, default=90.0, help="seconds a page may take before it counts as failed")
    ap.add_argument("--time-limit", type=float, default=180.0, help="seconds per level before sessions stop")
    ap.add_argument("--max-requests", type=int, default=400, help="request cap per level")
    ap.add_argument(
        "--entry",
        choices=["streamlit", "serve"],
        default="streamlit",
        help="streamlit: `streamlit run app.py`; serve: `python -m ui.serve` (warms models)",
    )
    ap.add_argument(
        "--runtime-cpu", action="store_true", help="only: server CPU per page visit, OpenVINO vs DEMO_RUNTIME=torch"
    )
    ap.add_argument("--rounds", type=int, default=4, help="--runtime-cpu: visits of every page per runtime")
    args = ap.parse_args(argv)
    if args.runtime_cpu:
        runtime_cpu(args.entry, args.rounds)
        return 0

    port = server.free_port()
    log_path = Path(tempfile.gettempdir()) / f"bench-load-{port}.log"
    print(
        f"Starting the app ({args.entry}) on http://{HOST}:{port} (log: {log_path}); "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY') or 'unset here (core sets PASSIVE)'}"
    )
    t0 = time.perf_counter()
    proc = start_server(args.entry, port, log_path)
    print(
        f"healthy after {time.perf_counter() - t0:.1f} s; server RSS {rss_tree(psutil.Process(proc.pid)) / MB:.0f} MB"
    )
    levels: list[Level] = []
    try:
        # Warm-up: one visitor per language opens every page once (first loads of the models).
        t0 = time.perf_counter()
        warm = asyncio.run(run_level(2, port, 1, 0.0, 180.0, 600.0, 100))
        print(
            f"warm-up (2 sessions, every page once, en + zh): {time.perf_counter() - t0:.1f} s, "
            f"{sum(r.error is not None for r in warm.results)} errors; "
            + ", ".join(f"{r.page} {r.seconds:.1f} s" for r in warm.results)
        )
        for r in warm.results:
            if r.error:
                print(f"    warm-up {r.page}: {r.error}")
        print(f"server RSS after warm-up {rss_tree(psutil.Process(proc.pid)) / MB:.0f} MB")
        for n in args.levels:
            rounds = max(1, math.ceil(args.samples / n))
            print(f"level {n:>2} sessions x {rounds} round(s) x {len(PAGES)} pages ...", flush=True)
            cpu0 = cpu_tree(psutil.Process(proc.pid))
            with PeakMemory(proc.pid) as mem:
                think = args.think if n > 1 else 0.0
                ramp = args.think if args.ramp is None else args.ramp
                lv = asyncio.run(
                    run_level(
                        n,
                        port,
                        rounds,
                        think,
                        args.timeout,
                        args.time_limit,
                        args.max_requests,
                        psutil.Process(proc.pid),
                        ramp,
                    )
                )
            lv.peak_rss = mem.peak
            lv.cpu_seconds = cpu_tree(psutil.Process(proc.pid)) - cpu0
            levels.append(lv)
            if proc.poll() is not None:
                print("the server exited during the run")
                break
    finally:
        server.stop(proc)
    summarize(levels, args.think, args.think if args.ramp is None else args.ramp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
