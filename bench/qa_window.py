"""Window size and stride of the span model, re-checked on VALIDATION now that the runtime is
faster (issue 22): ``qa-e5`` as served (OpenVINO, the build ``make setup`` made) read with
several (window tokens, stride) pairs, each scored on

- the training's fixed validation sample (``training.qa_eval.validation_sample``: held-out
  SQuAD-train articles, CMRC-train articles, DRCD/CMRC validation parts; never SQuAD dev nor
  XQuAD 24-47), ``--n`` questions per language;
- the long validation passages of :mod:`harness.qa_long` (``--long-n`` per set), read as the
  app reads them (the best :data:`core.qa.select.READ_WINDOWS` windows);

with the windows read and the time per question. ``stride`` is the overlap in tokens between
neighbouring windows (the tokenizer's meaning). The served pair is the model's
``inference_window`` (metrics.json); a change is worth it only where F1 does not fall.

    python bench/qa_window.py [--n 300] [--long-n 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PAIRS = ((256, 128), (256, 64), (384, 128), (384, 64), (512, 128))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300, help="validation questions per language")
    ap.add_argument("--long-n", type=int, default=30, help="questions per long validation set")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    os.environ["DEMO_TORCH_THREADS"] = str(args.threads)

    from core import loaders
    from core.qa import answer_with_bundle
    from core.qa.select import READ_WINDOWS
    from harness import qa_long
    from training import qa_data, qa_eval

    bundle = loaders.load("qa-e5")
    served = (int(bundle.meta.get("window_tokens", 256)), int(bundle.meta.get("window_stride", 128)))
    print(
        f"qa-e5: runtime {bundle.meta.get('runtime', 'pytorch')} {bundle.meta.get('precision', 'fp32')}, served window {served}"
    )
    val = qa_eval.validation_sample(qa_data.splits()["validation"])
    by_lang = {lang: [e for e in val if qa_data.LANGUAGE[e.source] == lang][: args.n] for lang in ("en", "zh")}
    long_sets = {name: qa_long.load(name, args.long_n) for name in qa_long.SETS} if qa_long.available() else {}

    print(
        f"\n{'window':>7} {'stride':>6} | {'val en F1':>9} {'val zh F1':>9} {'windows':>7} {'ms/q':>6} | "
        + " ".join(f"{'long ' + s:>11}" for s in long_sets)
        + f" {'windows':>7} {'ms/q':>6}"
    )
    for tokens, stride in PAIRS:
        b = dataclasses.replace(bundle, meta={**bundle.meta, "window_tokens": tokens, "window_stride": stride})
        answer_with_bundle(b, "warm?", "A warm-up passage. " * 40)  # a new shape compiles once
        f1s, windows, t0, n = {}, 0, time.perf_counter(), 0
        for lang, exs in by_lang.items():
            pairs = []
            for ex in exs:
                r = answer_with_bundle(b, ex.question, ex.context, top_k=1, lang=lang)
                pred = r.answers[0].text if r.answers else ""
                pairs.append(qa_data.score(pred, [t for t, _ in ex.answers], lang))
                windows += r.windows
                n += 1
            f1s[lang] = qa_eval.summary(pairs)["f1"]
        ms = 1000 * (time.perf_counter() - t0) / max(n, 1)
        longs = {s: qa_long.evaluate(b, exs, READ_WINDOWS) for s, exs in long_sets.items()}
        lw = sum(x.windows * x.n for x in longs.values()) / max(1, sum(x.n for x in longs.values()))
        lms = 1000 * sum(x.seconds for x in longs.values()) / max(1, sum(x.n for x in longs.values()))
        mark = "  <- served" if (tokens, stride) == served else ""
        print(
            f"{tokens:>7} {stride:>6} | {f1s['en']:9.1f} {f1s['zh']:9.1f} {windows / max(n, 1):7.2f} {ms:6.0f} | "
            + " ".join(f"{x.f1:11.1f}" for x in longs.values())
            + f" {lw:7.2f} {lms:6.0f}{mark}",
            flush=True,
        )
    print(
        f"\n{len(val)} validation questions sampled, {args.n} per language used; long sets {args.long_n} each; "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} (times compare within this run only)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
