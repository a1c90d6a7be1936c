"""Speed of the sentiment models: single-text latency and batched throughput.

Prints, for the default (bundled) English and Chinese models of the registry:
- single-text latency p50 / p95 (``classify([text])``, the page's one-text path),
- throughput in texts per second on N short texts with ``classify(texts)`` (sorted,
  batched) next to a one-text-at-a-time baseline measured in the same run, and the ratio;
- PyTorch fp32 vs OpenVINO (the variant the guard chose, ``core.openvino``) side by side for
  every converted encoder (``sentiment-zh-e5``, ``sentiment-en-minilm``, ``e5-small``): both
  loaded in the same process, timed alternately (single text p50, batched throughput) and
  scored on the committed guard sample (validation accuracy; e5-small: zero-shot accuracy
  and the embeddings' cosine).

    python bench/classify.py [--n 1000] [--runs 50] [--threads 2] [--runtime-only]
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
    p.add_argument("--runtime-only", action="store_true", help="only PyTorch vs OpenVINO")
    p.add_argument("--guard-n", type=int, default=0, help="PyTorch vs OpenVINO: guard rows per group (0: all)")
    args = p.parse_args()
    if args.runtime_only:
        return runtimes(args)

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
    runtimes(args)


def _both(key: str) -> tuple[object, object]:
    """(PyTorch fp32 bundle, served bundle) of ``key``, both loaded in this process."""
    from core import loaders
    from core.openvino.runtime import RUNTIME_ENV

    os.environ[RUNTIME_ENV] = "torch"
    loaders.clear_cache()
    torch_bundle = loaders.load(key)
    del os.environ[RUNTIME_ENV]
    loaders.clear_cache()
    return torch_bundle, loaders.load(key)


def runtimes(args: argparse.Namespace) -> None:
    """PyTorch fp32 vs OpenVINO for each converted encoder, interleaved in one run."""
    import torch

    from core import registry
    from core.classify.sentiment import forward
    from core.classify.zero_shot import embed
    from core.openvino import text

    torch.set_num_threads(args.threads)
    os.environ["DEMO_TORCH_THREADS"] = str(args.threads)  # OpenVINO compiles with the same count
    print(f"\nPyTorch fp32 vs OpenVINO (served variant), alternating, {args.threads} threads each")
    for key, texts in (
        ("sentiment-zh-e5", chinese_texts(args.n)),
        ("sentiment-en-minilm", english_texts(args.n)),
        ("e5-small", chinese_texts(args.n // 2) + english_texts(args.n // 2)),
    ):
        pair = _both(key)
        names = [f"{b.meta.get('runtime', 'pytorch')} {b.meta.get('precision', 'fp32')}" for b in pair]
        if names[1].startswith("pytorch"):
            print(f"\n[{key}] not served by OpenVINO here ({pair[1].meta.get('runtime_note')}): skipped")
            continue
        run = (lambda b, ts: embed(b, ["query: " + t for t in ts])) if key == "e5-small" else forward
        for b in pair:  # warm, and every single text once: OpenVINO compiles a new length's
            run(b, texts[:8])  # kernels on first sight (~20 ms here), as a running server has done
            for i in range(args.runs):
                run(b, [texts[i % len(texts)]])
        lat: list[list[float]] = [[], []]
        for i in range(args.runs):
            for j in (i % 2, 1 - i % 2):  # alternate which goes first
                t0 = time.perf_counter()
                run(pair[j], [texts[i % len(texts)]])
                lat[j].append((time.perf_counter() - t0) * 1000)
        thr: list[float] = [0.0, 0.0]
        for j in (0, 1, 1, 0):
            t0 = time.perf_counter()
            run(pair[j], texts)
            thr[j] += time.perf_counter() - t0
        rows = text.load_guard(key)
        if args.guard_n:  # the first N of each group (zh, zh-unseen, en, passages)
            rows = [
                r
                for g in dict.fromkeys(r["lang"] for r in rows)
                for r in [x for x in rows if x["lang"] == g][: args.guard_n]
            ]
        score = text.Scorer(key, registry.bundled_path(pair[0].entry), rows)
        guard_s: list[float] = []
        scores = []
        for b in pair:
            t0 = time.perf_counter()
            scores.append(score(b.model))
            guard_s.append(time.perf_counter() - t0)
        print(f"\n[{key}] {names[0]} vs {names[1]}")
        p50 = [percentile(x, 50) for x in lat]
        print(f"  single text p50: {p50[0]:.1f} vs {p50[1]:.1f} ms ({p50[0] / p50[1]:.1f}x)")
        print(
            f"  {len(texts)} texts batched: {2 * len(texts) / thr[0]:.0f} vs {2 * len(texts) / thr[1]:.0f} texts/s "
            f"({thr[0] / thr[1]:.1f}x)"
        )
        for lang, ref in scores[0].items():
            got = scores[1][lang]
            bits = [f"accuracy {ref['accuracy']:.2f} vs {got['accuracy']:.2f} %"] if "accuracy" in ref else []
            bits += [f"same predictions {got['agree']:.1f} %"] if "agree" in got else []
            bits += [f"cosine mean {got['cosine']:.4f} (min {got['min_cosine']:.4f})"] if "cosine" in got else []
            print(f"  guard sample {lang} (n={ref['n']}): " + ", ".join(bits))
        print(f"  guard sample time: {guard_s[0]:.1f} vs {guard_s[1]:.1f} s ({guard_s[0] / guard_s[1]:.1f}x)")


if __name__ == "__main__":
    main()
