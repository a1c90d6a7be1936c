"""LLM reader benchmark (the opt-in pack, ``make setup-llm``): load time, memory, time to first
token and total time per answer, 1 vs 2 threads, with and without a second busy process; and
accuracy (EM, F1) of the reader next to the span model ``qa-e5`` on our validation QA set and on
a fixed sample of the held-out XQuAD articles 24-47 (only scored here, never tuned on).

    python bench/llm.py                 # everything, 100 questions per language and set
    python bench/llm.py --n 30 --no-busy

Targets on this 2-core CPU: warm short answer p50 <= 1.5 s, time to first token <= 1 s, F1 of
the reader at least that of the span model on the held-out sample. Prints "not installed" and
exits 0 where the pack is missing.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.stats import p50_p95, percentile


def _burn(stop: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    x = 0
    while not stop.is_set():
        x = (x * 31 + 7) % 1_000_003


def passages() -> dict[str, list[tuple[str, str, str]]]:
    """(label, question, context) per language: short (about 250 tokens), 1,500 and 3,300
    characters, from our validation set (not the held-out test)."""
    from training import qa_data

    val = qa_data.splits()["validation"]
    out: dict[str, list[tuple[str, str, str]]] = {}
    for lang in ("en", "zh"):
        exs = [e for e in val if e.lang == lang]
        short_len = 1000 if lang == "en" else 350
        short = min(exs, key=lambda e: abs(len(e.context) - short_len))
        mid = min(exs, key=lambda e: abs(len(e.context) - 1500))
        contexts, long_ctx = [], ""
        for e in exs:
            if e.context not in contexts:
                contexts.append(e.context)
                long_ctx += e.context + "\n\n"
            if len(long_ctx) >= 3300:
                break
        out[lang] = [
            ("short", short.question, short.context),
            ("1,500 chars", mid.question, mid.context),
            ("3,300 chars", exs[0].question, long_ctx[:3300]),
        ]
    return out


def timing(bundle, threads: str, busy: bool, runs: int) -> dict[tuple[str, str], float]:
    """p50 seconds per (language, passage) with ``LLM_THREADS=threads`` ("auto": the reader's
    own choice, :func:`core.llm.reader.generation_threads`), idle or next to a busy process."""
    from core.llm.reader import read

    os.environ["LLM_THREADS"] = "" if threads == "auto" else threads
    stop = mp.Event()
    burner = mp.Process(target=_burn, args=(stop,), daemon=True) if busy else None
    if burner:
        burner.start()
        time.sleep(1)
    out: dict[tuple[str, str], float] = {}
    try:
        for lang, items in passages().items():
            for label, q, c in items:
                read(q, c, bundle=bundle)  # warm: e5 for long ones
                totals, firsts = [], []
                for _ in range(runs):
                    r = read(q, c, bundle=bundle)
                    totals.append(r.seconds)
                    firsts.append(r.first_token_s)
                p50, p95 = p50_p95(totals)
                out[(lang, label)] = p50
                print(
                    f"{lang} {label:<12} threads {threads:<4} {'busy' if busy else 'idle'}: total p50 {p50:.2f} s "
                    f"p95 {p95:.2f} s, first token p50 {percentile(firsts, 50):.2f} s  ({len(c)} chars)",
                    flush=True,
                )
    finally:
        os.environ.pop("LLM_THREADS", None)
        if burner:
            stop.set()
            burner.join()
    return out


def accuracy(bundle, n: int) -> None:
    from core import qa
    from core.llm.reader import read
    from training import qa_data

    sets = {"validation": qa_data.splits()["validation"]}
    for lang in ("en", "zh"):
        sets[f"held-out {lang}"] = qa_data.heldout(lang)
    for name, exs in sets.items():
        for lang in ("en", "zh"):
            pool = [e for e in exs if e.lang == lang]
            if not pool:
                continue
            sample = random.Random(0).sample(pool, min(n, len(pool)))
            llm, span, secs = [], [], []
            for e in sample:
                refs = [a for a, _ in e.answers]
                r = read(e.question, e.context, bundle=bundle)
                secs.append(r.seconds)
                llm.append(qa_data.score(r.text, refs, lang))
                s = qa.answer_details(e.question, e.context, model="qa-e5", top_k=1)
                span.append(qa_data.score(s.answers[0].text if s.answers else "", refs, lang))

            def mean(pairs: list[tuple[float, float]], i: int) -> float:
                return 100 * sum(p[i] for p in pairs) / len(pairs)

            print(
                f"{name:<12} {lang} n={len(sample)}: LLM reader EM {mean(llm, 0):.1f} F1 {mean(llm, 1):.1f} "
                f"(p50 {percentile(secs, 50):.2f} s) | span model qa-e5 EM {mean(span, 0):.1f} F1 {mean(span, 1):.1f}",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="questions per language and set")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-busy", action="store_true")
    parser.add_argument("--no-accuracy", action="store_true")
    opts = parser.parse_args(argv)
    from core.llm import pack

    try:
        pack.part_files()
        if pack.converted() is None:
            raise pack.PackUnavailable("llm-not-installed", "not converted")
    except pack.PackUnavailable as exc:
        print(f"LLM pack not installed ({exc.code}): run make setup-llm; skipped")
        return 0
    import psutil

    from core.llm.reader import load_reader

    rss0 = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    bundle = load_reader()
    print(
        f"load from the cache {time.perf_counter() - t0:.1f} s, RSS +{(psutil.Process().memory_info().rss - rss0) / 2**20:.0f} MB",
        flush=True,
    )
    results = {}
    for busy in (False, True) if not opts.no_busy else (False,):
        for threads in ("1", "2", "auto"):
            results[(threads, busy)] = timing(bundle, threads, busy, opts.runs)
    print("\nsummary (p50 s over the six passages; ratio: busy / idle, lower is steadier)")
    for threads in ("1", "2", "auto"):
        idle = results[(threads, False)]
        line = f"  threads {threads:<4} idle mean {sum(idle.values()) / len(idle):.2f} s"
        if (threads, True) in results:
            busy_r = results[(threads, True)]
            ratio = sum(busy_r[k] / idle[k] for k in idle) / len(idle)
            line += f", busy mean {sum(busy_r.values()) / len(busy_r):.2f} s, busy/idle x{ratio:.2f}"
        print(line, flush=True)
    if not opts.no_accuracy:
        accuracy(bundle, opts.n)
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
