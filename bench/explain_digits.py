"""Pixel-deletion faithfulness and speed of the digit explanations (prints figures; asserts nothing).

    python bench/explain_digits.py [--n 500] [--threads N]

Digits: the first ``--n`` of the 1,000 **validation** digits that ``training/digits.py`` held
out of ``../shared/data/mnist-train-10k`` (seed 0 permutation, first 1,000): the model never
trained on them. The MNIST test set is never read here (it must not choose anything).

For each method of :data:`core.digits.explain.DIGIT_METHODS` (and, for reference, the
hand-written occlusion map the page used before, :mod:`core.digits.saliency`, whose weights
are clipped at 0), every digit is explained for its predicted digit, then its ink pixels
(> 0) are deleted (set to 0) in the order of the weights, highest first, and in random orders
(5 fixed-seed draws):

* **AOPC** (area over the perturbation curve): the fall of the digit's probability averaged
  over deleting 10, 20, 30, 40 and 50 % of the ink, for the method's order and for random;
* **comprehensiveness** at 10 / 20 / 50 %: the fall at that fraction (ERASER);
* p50 / p95 time of one ``explain_digit`` call (attribution + its per-image drop figures);
* integrated gradients: p50 / p95 / max of the completeness error.

The last line names the default this rule picks: the highest AOPC (faithful first); among
methods within 0.01 of it, the fastest p50.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.digits import classify_digits, load_mnist, occlusion_saliency
from core.digits.explain import (
    DIGIT_METHODS,
    deletion_drops,
    explain_digit,
    ink_order,
    random_orders,
    weights_map,
)
from harness.stats import percentile

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist-train-10k"
FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5)
LEGACY = "occlusion (hand-written, before)"
TIE = 0.01  # AOPC within this of the best counts as equally faithful


def validation_digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` validation digits of ``training/digits.py`` (its defaults: seed 0,
    ``--val-size 1000``): ``(n, 28, 28)`` float32 [0, 1] and ``(n,)`` labels."""
    x, y = load_mnist(DATA / "train-images-idx3-ubyte.gz", DATA / "train-labels-idx1-ubyte.gz")
    order = np.random.default_rng(0).permutation(len(x))
    val = order[:1000][:n]
    return x[val], y[val]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500, help="validation digits (at most 1,000)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: core.device's choice)")
    args = ap.parse_args()

    import torch

    from core.digits import model_key
    from core.loaders import load

    bundle = load(model_key())
    if args.threads:
        torch.set_num_threads(args.threads)
    x, y = validation_digits(args.n)
    preds = np.argmax(classify_digits(x), axis=1)
    load1 = os.getloadavg()[0]
    print(
        f"{dt.date.today().isoformat()}  {cpu_name()}, {os.cpu_count()} logical CPUs, {bundle.device}, "
        f"{torch.get_num_threads()} torch threads, load average {load1:.1f} at start"
        + ("  (busy: times are pessimistic)" if load1 > (os.cpu_count() or 1) else "")
    )
    print(
        f"{len(x)} validation digits (held out of mnist-train-10k by training/digits.py), "
        f"accuracy {np.mean(preds == y):.2%}; each explained for its predicted digit"
    )
    for m in DIGIT_METHODS:  # warm-up: imports, the first graph
        explain_digit(x[0], target=int(preds[0]), method=m)

    rows: dict[str, dict[str, list[float]]] = {}
    for m in (*DIGIT_METHODS, LEGACY):
        acc: dict[str, list[float]] = {"aopc": [], "aopc_rand": [], "time": [], "err": []}
        acc.update({f"c{int(f * 100)}": [] for f in FRACTIONS})
        acc.update({f"r{int(f * 100)}": [] for f in FRACTIONS})
        for img, tgt in zip(x, preds):
            t0 = time.perf_counter()
            if m == LEGACY:
                weights = occlusion_saliency(img, int(tgt))
            else:
                att = explain_digit(img, target=int(tgt), method=m)
                weights = weights_map(att)
                if att.completeness_error is not None:
                    acc["err"].append(att.completeness_error)
            acc["time"].append(time.perf_counter() - t0)
            _, drops = deletion_drops(img, int(tgt), [ink_order(img, weights), *random_orders(img)], FRACTIONS)
            rand = drops[1:].mean(axis=0)
            acc["aopc"].append(float(drops[0].mean()))
            acc["aopc_rand"].append(float(rand.mean()))
            for i, f in enumerate(FRACTIONS):
                acc[f"c{int(f * 100)}"].append(float(drops[0, i]))
                acc[f"r{int(f * 100)}"].append(float(rand[i]))
        rows[m] = acc
        print(f"  {m}: done", flush=True)

    print()
    head = "| method | AOPC (10–50 %) | random order | comp. 10 % | comp. 20 % | comp. 50 % | p50 ms | p95 ms |"
    print(head)
    print("|---|---|---|---|---|---|---|---|")
    for m, a in rows.items():
        print(
            f"| {m} | {np.mean(a['aopc']):.3f} | {np.mean(a['aopc_rand']):.3f} | {np.mean(a['c10']):.3f} "
            f"| {np.mean(a['c20']):.3f} | {np.mean(a['c50']):.3f} "
            f"| {percentile([t * 1000 for t in a['time']], 50):.0f} | {percentile([t * 1000 for t in a['time']], 95):.0f} |"
        )
    r = rows[DIGIT_METHODS[0]]
    print(
        f"| random pixels (same digits) | {np.mean(r['aopc_rand']):.3f} | | {np.mean(r['r10']):.3f} "
        f"| {np.mean(r['r20']):.3f} | {np.mean(r['r50']):.3f} | | |"
    )
    errs = rows["integrated-gradients"]["err"]
    if errs:
        print(
            f"\nintegrated gradients completeness error: p50 {percentile(errs, 50):.2%}, "
            f"p95 {percentile(errs, 95):.2%}, max {max(errs):.2%}"
        )
    wins = {m: float(np.mean(rows[m]["aopc"]) > np.mean(rows[m]["aopc_rand"])) for m in DIGIT_METHODS}
    per_digit = {m: np.mean(np.array(rows[m]["aopc"]) > np.array(rows[m]["aopc_rand"])) for m in DIGIT_METHODS}
    print(
        "share of digits where the method's order beats random: "
        + ", ".join(f"{m} {v:.1%}" for m, v in per_digit.items())
    )
    best = max(np.mean(rows[m]["aopc"]) for m in DIGIT_METHODS)
    close = [m for m in DIGIT_METHODS if np.mean(rows[m]["aopc"]) >= best - TIE and wins[m]]
    chosen = min(close, key=lambda m: percentile(rows[m]["time"], 50))
    print(
        f"default: {chosen} (highest deletion AOPC, or within {TIE} of it, then the fastest p50; "
        f"core.digits.explain.DEFAULT_METHOD)"
    )


if __name__ == "__main__":
    main()
