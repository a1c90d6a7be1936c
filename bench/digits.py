"""Speed of the digits pipeline on this machine (prints figures; asserts nothing).

    python bench/digits.py [--repeats 200] [--threads N]

* one 280x280 drawing: p50/p95 of ``canvas_to_mnist`` + ``classify_digits`` (warm), and of
  each part alone; target: under 20 ms;
* a batch of 1,000 digits through ``classify_digits``: digits per second, against a
  baseline measured in the same run (the same 1,000 digits one call at a time), and the
  1,000 canvases through ``canvas_to_mnist``;
* one occlusion saliency map, and ``recognise`` (what the page runs on every stroke: the
  prediction, the saliency map and the no-preprocessing comparison in one batch).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.digits import canvas_to_mnist, classify_digits, model_key, occlusion_saliency, recognise
from core.loaders import load
from harness.stats import percentile
from ui.digits_examples import example_image


def pct(samples: list[float], q: float) -> float:
    """Percentile ``q`` (0-100) of ``samples`` in seconds, in milliseconds."""
    return percentile([x * 1000 for x in samples], q)


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: core.device's choice)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    bundle = load(model_key())
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    load1 = os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} logical CPUs, load average {load1:.1f} at start"
        + ("  (busy: other processes share the CPU, figures are pessimistic)" if load1 > (os.cpu_count() or 1) else "")
    )
    print(
        f"model load + warm-up: {(time.perf_counter() - t0) * 1000:.0f} ms on {bundle.device} "
        f"({torch.get_num_threads()} torch threads)"
    )

    drawing = example_image(7)
    img = canvas_to_mnist(drawing)
    for _ in range(10):  # warm caches and allocator
        classify_digits(canvas_to_mnist(drawing)[None])

    pre = timed(lambda: canvas_to_mnist(drawing), args.repeats)
    print(f"\none 280x280 drawing, {args.repeats} runs (ms)      p50     p95")
    print(f"  canvas_to_mnist                      {pct(pre, 50):6.2f}  {pct(pre, 95):6.2f}")
    default_threads = torch.get_num_threads()
    settings = [default_threads] + ([1] if default_threads > 1 and not args.threads else [])
    for n in settings:
        torch.set_num_threads(n)
        for _ in range(5):
            classify_digits(img[None])
        model = timed(lambda: classify_digits(img[None]), args.repeats)
        both = timed(lambda: classify_digits(canvas_to_mnist(drawing)[None]), args.repeats)
        tag = f"{n} torch thread{'s' if n > 1 else ''}" + (", the device default" if n == default_threads else "")
        print(f"  [{tag}]")
        print(f"  classify_digits (1 digit)            {pct(model, 50):6.2f}  {pct(model, 95):6.2f}")
        print(
            f"  canvas_to_mnist + classify_digits    {pct(both, 50):6.2f}  {pct(both, 95):6.2f}"
            f"   target < 20 ms: {'OK' if pct(both, 50) < 20 else 'MISSED'}"
        )
    torch.set_num_threads(default_threads)

    sal = timed(lambda: occlusion_saliency(img, 7), max(10, args.repeats // 10))
    print(f"  occlusion saliency alone             {pct(sal, 50):6.2f}  {pct(sal, 95):6.2f}")
    page = timed(lambda: recognise(drawing), max(10, args.repeats // 10))
    print(
        f"  recognise (the page: prediction, saliency and comparison in one batch)"
        f"\n                                       {pct(page, 50):6.2f}  {pct(page, 95):6.2f}"
    )

    rng = np.random.default_rng(0)
    canvases = [example_image(int(d), int(w)) for d, w in zip(rng.integers(0, 10, 1000), rng.integers(12, 34, 1000))]
    t0 = time.perf_counter()
    batch = np.stack([canvas_to_mnist(c) for c in canvases])
    prep_s = time.perf_counter() - t0
    classify_digits(batch)  # warm the batch shape
    batched = min(timed(lambda: classify_digits(batch), 3))
    one_by_one = min(timed(lambda: [classify_digits(b[None]) for b in batch], 1))
    print("\nbatch of 1,000 digits")
    print(f"  canvas_to_mnist x 1000               {prep_s:6.2f} s   ({1000 / prep_s:,.0f} canvases/s)")
    print(f"  classify_digits, one batch           {batched:6.3f} s   ({1000 / batched:,.0f} digits/s)")
    print(f"  baseline: 1,000 calls of one digit   {one_by_one:6.3f} s   ({1000 / one_by_one:,.0f} digits/s)")
    print(f"  batching speed-up                    {one_by_one / batched:6.1f} x")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
