"""Start-up benchmark: seconds from process start to a healthy server and to a finished
home page (headless Chromium), and the server's peak memory. Printed, not asserted.

    python bench/startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.browser import CHROMIUM, CHROMIUM_ARGS, WAIT_DONE  # noqa: E402
from harness.server import free_port, streamlit_command  # noqa: E402


def _rss_tree(proc: psutil.Process) -> int:
    try:
        return proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
    except psutil.Error:
        return 0


def one_run(browser) -> tuple[float, float, float]:
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *streamlit_command(port)],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    ps = psutil.Process(proc.pid)
    peak = 0
    try:
        while True:
            peak = max(peak, _rss_tree(ps))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.05)
        healthy = time.perf_counter() - t0
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
        page.wait_for_function(WAIT_DONE, timeout=60_000)
        home = time.perf_counter() - t0
        peak = max(peak, _rss_tree(ps))
        page.close()
        return healthy, home, peak / 2**20
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        rows = [one_run(browser) for _ in range(args.runs)]
        browser.close()
    h, p, m = zip(*rows)
    print(f"startup over {args.runs} runs (median, min-max)")
    print(f"  process start -> healthy server : {statistics.median(h):5.2f} s  ({min(h):.2f}-{max(h):.2f})")
    print(f"  process start -> home painted   : {statistics.median(p):5.2f} s  ({min(p):.2f}-{max(p):.2f})")
    print(f"  server peak RSS                 : {statistics.median(m):5.0f} MB ({min(m):.0f}-{max(m):.0f})")
    print(
        f"  home page after healthy         : {statistics.median(p) - statistics.median(h):5.2f} s "
        "(no torch import on the landing page)"
    )


if __name__ == "__main__":
    main()
