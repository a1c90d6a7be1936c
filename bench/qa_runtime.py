"""``qa-e5`` on PyTorch fp32 against OpenVINO (the build ``make setup`` made), same run.

End to end through ``core.qa.answer_details`` (tokenising, windows, forward, decoding) on the
passages of ``bench/qa.py``: an English passage of 384 tokens, a Chinese passage of 1,000
characters and an English passage of 4,000 characters. The two runtimes alternate run by
run (load from other processes hits both alike); p50 / p95 in ms and the ratio. Then EM /
F1 of both on the guard's validation sample (``core.openvino.data``: held-out SQuAD-train
and CMRC-train questions, 150 per language).

    python bench/qa_runtime.py [--runs 20] [--threads N] [--guard-n 150] [--no-guard]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.qa import EN_QUESTION, EN_SENTENCES, ZH_QUESTION, chinese_passage, english_passage
from harness.stats import p50_p95

KEY = "qa-e5"


def _bundles():
    """(PyTorch bundle, OpenVINO bundle) of ``qa-e5``, both loaded by the app's loader."""
    from core import loaders
    from core.openvino.runtime import RUNTIME_ENV

    os.environ[RUNTIME_ENV] = "torch"
    torch_bundle = loaders.load(KEY)
    loaders.clear_cache()
    del os.environ[RUNTIME_ENV]
    ov_bundle = loaders.load(KEY)
    if ov_bundle.meta.get("runtime") != "openvino":
        sys.exit(f"{KEY} is not served by OpenVINO here ({ov_bundle.meta.get('runtime_note')}): run `make setup`")
    return torch_bundle, ov_bundle


def _serve(bundle) -> None:
    """Make ``bundle`` the one ``core.loaders.load(KEY)`` returns (the bench switches runtimes
    run by run, so both go through the same ``answer_details`` path)."""
    from core import loaders

    loaders._memo._bundles[(KEY, False)] = bundle


def bench_timing(cases, bundles, runs: int) -> None:
    from core.qa import answer_details

    print(
        f"\n  {'passage':38s} {'windows':>7s} {'PyTorch p50/p95 ms':>19s} {'OpenVINO p50/p95 ms':>20s} {'speed-up':>8s}"
    )
    for label, question, context in cases:
        times: dict[str, list[float]] = {"pytorch": [], "openvino": []}
        answers = {}
        for i in range(runs + 1):  # the first run of each is a warm-up
            for name, b in bundles.items():
                _serve(b)
                t0 = time.perf_counter()
                res = answer_details(question, context, model=KEY)
                if i:
                    times[name].append((time.perf_counter() - t0) * 1000)
                answers[name] = (res.answers[0].text if res.answers else "", res.windows)
        tp, tp95 = p50_p95(times["pytorch"])
        to, to95 = p50_p95(times["openvino"])
        print(
            f"  {label:38s} {answers['pytorch'][1]!s:>7s} {tp:9.1f} / {tp95:7.1f} {to:10.1f} / {to95:7.1f} {tp / to:7.2f}x"
        )
        same = "same" if answers["pytorch"][0] == answers["openvino"][0] else "DIFFERENT"
        print(f"  {'':38s} top answer {same}: {answers['pytorch'][0]!r} / {answers['openvino'][0]!r}")


def bench_guard(bundles, n: int) -> None:
    from core.openvino import data, guard

    questions = data.load_guard(KEY)
    questions = [q for lang in ("en", "zh") for q in [x for x in questions if x.lang == lang][:n]]
    print(f"\n  validation (guard sample, {n} per language): EM / F1")
    for name, b in bundles.items():
        t0 = time.perf_counter()
        s = guard.qa_scores(b.model, b.preprocessor, b.meta, questions)
        line = "   ".join(f"{lang} {v['em']:.1f} / {v['f1']:.1f}" for lang, v in s.items())
        print(f"  {name:9s} {line}   ({time.perf_counter() - t0:.1f} s)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="torch and OpenVINO threads (default: physical cores)")
    ap.add_argument("--guard-n", type=int, default=150)
    ap.add_argument("--no-guard", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        os.environ["DEMO_TORCH_THREADS"] = str(args.threads)
    import torch

    from core.device import choose_device, cpu_threads

    torch.set_num_threads(cpu_threads())
    torch_bundle, ov_bundle = _bundles()
    bundles = {"pytorch": torch_bundle, "openvino": ov_bundle}
    print(
        f"device: {choose_device().label}; threads {cpu_threads()} (torch and OpenVINO); "
        f"OpenVINO {ov_bundle.meta['precision']}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    tok = ov_bundle.preprocessor
    en = english_passage(tok)
    en4k = " ".join(EN_SENTENCES * 4)[:4000]
    zh = chinese_passage()
    cases = [
        ("English, 384 tokens", EN_QUESTION, en),
        (f"Chinese, {len(zh)} characters", ZH_QUESTION, zh),
        (f"English, {len(en4k)} characters", EN_QUESTION, en4k),
    ]
    bench_timing(cases, bundles, args.runs)
    if not args.no_guard:
        bench_guard(bundles, args.guard_n)
    print(f"\n  load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
