"""Speed of the sentiment models: single-text latency and batched throughput.

Prints, for the default (bundled) English and Chinese models of the registry:
- single-text latency p50 / p95 (``classify([text])``, the page's one-text path),
- throughput in texts per second on N short texts with ``classify(texts)`` (sorted,
  batched) next to a one-text-at-a-time baseline measured in the same run, and the ratio.

    python bench/classify.py [--n 1000] [--runs 50] [--threads 2]
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = ROOT.parent / "shared" / "data"

from harness.stats import percentile  # noqa: E402


def english_texts(n: int) -> list[str]:
    path = DATA / "rt-polarity" / "rt-polarity.pos"
    if path.exists():
        lines = (
            path.read_bytes().decode("latin-1").splitlines()
            + (DATA / "rt-polarity" / "rt-polarity.neg").read_bytes().decode("latin-1").splitlines()
        )
        short = [ln.strip() for ln in lines if 20 <= len(ln.strip()) <= 120]
    else:
        short = [f"review {i}: the film was {'great' if i % 2 else 'dull'} and the cast was fine" for i in range(n)]
    return (short * (n // max(len(short), 1) + 1))[:n]


def chinese_texts(n: int) -> list[str]:
    path = DATA / "chn-sentiment" / "pos.txt.gz"
    if path.exists():
        lines: list[str] = []
        for name in ("pos.txt.gz", "neg.txt.gz"):
            with gzip.open(DATA / "chn-sentiment" / name, "rt", encoding="utf-8") as f:
                lines += [ln.strip() for ln in f if 10 <= len(ln.strip()) <= 60]
        short = lines[::7]
    else:
        short = [f"第{i}条评论：质量{'很好' if i % 2 else '太差'}，物流也快。" for i in range(n)]
    return (short * (n // max(len(short), 1) + 1))[:n]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1000, help="texts per language for throughput")
    p.add_argument("--runs", type=int, default=50, help="single-text latency runs")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

    import torch

    from core.classify import classify, sentiment_model
    from core.loaders import load

    torch.set_num_threads(args.threads)
    print(f"torch threads: {torch.get_num_threads()}, texts per language: {args.n}")
    for lang, texts in (("en", english_texts(args.n)), ("zh", chinese_texts(args.n))):
        key = sentiment_model(lang)
        t0 = time.perf_counter()
        load(key)
        print(
            f"\n[{lang}] {key}: loaded in {time.perf_counter() - t0:.1f}s; "
            f"mean length {statistics.mean(len(t) for t in texts):.0f} characters"
        )
        classify(texts[:8], model=key)  # warm
        lat = []
        for i in range(args.runs):
            t0 = time.perf_counter()
            classify([texts[i % len(texts)]], model=key)
            lat.append((time.perf_counter() - t0) * 1000)
        print(f"  single text: p50 {percentile(lat, 50):.1f} ms, p95 {percentile(lat, 95):.1f} ms ({args.runs} runs)")

        t0 = time.perf_counter()
        one = [classify([t], model=key)[0] for t in texts]
        base_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        batched = classify(texts, model=key)
        batch_s = time.perf_counter() - t0
        agree = sum(a.label == b.label for a, b in zip(one, batched)) / len(texts)
        print(f"  one at a time: {len(texts) / base_s:8.1f} texts/s ({base_s:.1f}s)")
        print(f"  batched:       {len(texts) / batch_s:8.1f} texts/s ({batch_s:.1f}s)")
        print(f"  speed-up: {base_s / batch_s:.1f}x  (same labels: {agree:.1%})")


if __name__ == "__main__":
    main()
