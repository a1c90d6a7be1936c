"""Faithfulness of the classification page's explanations, per method and language (ERASER).

On held-out reviews the models were not trained on: the first ``--n`` reviews of the 10 %
TEST split of each training script (``training/sentiment_en.py``: MR / rt-polarity;
``training/sentiment_zh.py``: the Chinese hotel/product reviews, only reviews whose text is
not also in the training split), at most ``--max-chars`` characters. For each review the
default model of its language (``sentiment-en-minilm``, ``sentiment-zh-e5``, as served: OpenVINO
int8 where it is built, integrated gradients on the PyTorch copy, as the page explains) and each method of :mod:`core.explain.text` give word weights
for the predicted label; then (:mod:`core.explain.faithfulness`):

- comprehensiveness at 10/20/50 % (probability fall, in points, when the top words go;
  higher is better), sufficiency at 10/20/50 % (fall when only they stay; lower is better);
- deletion AOPC (comprehensiveness averaged over 10-50 %) against random orders, and the
  share of reviews where the method beats random;
- the time per explanation (p50 / p95), and on a fixed 60-word review per language.

A ``random`` row (weights drawn at random) is the floor. Faithful first, then fast: the
default method per language is the highest AOPC whose 60-word p50 is under 1 s.

    python bench/explain.py [--n 200] [--methods occlusion shapley integrated-gradients] [--json out.json]
    python bench/explain.py --timing-only      # the 60-word reviews only (for a quiet machine)
    python bench/explain.py --langs --methods --qa-n 40 --qa-runs 0   # the Q&A figures only

The Q&A page's explanation (integrated gradients of the answer's start + end score) is scored
the same way on ``--qa-n`` questions per language of the QA training's validation split: the
answer's probability lost when the top 20 % of the window's passage words go, against random
words (:func:`qa_faithfulness`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data"
MODELS = {"en": "sentiment-en-minilm", "zh": "sentiment-zh-e5"}
SEED = 13  # the training scripts' split seed
# 60 words each (jieba words for Chinese), for the time budget of the issue: p50 under 1 s
SIXTY = {
    "en": (
        "I went in expecting very little, and for the first half hour the film gave me exactly that: a slow, "
        "muddled setup with characters I could not care about. Then something changed. The performances "
        "sharpened, the jokes started landing, and the final act is genuinely moving. It is uneven and too "
        "long, but I left the cinema smiling."
    ),
    "zh": (
        "这家酒店位置很好，离地铁站只有五分钟，周围吃饭也方便。房间比图片上小一些，但是干净整洁，床也舒服。"
        "前台服务员态度非常热情，帮我们换了安静的房间。美中不足的是早餐品种太少，而且隔音一般，晚上能听到走廊的声音。"
        "总体来说性价比还可以，下次出差可能还会再住。"
    ),
}


def reviews(lang: str, n: int, max_chars: int) -> list[str]:
    if lang == "en":
        from training.sentiment_en import load_data, split

        texts, _ = load_data(DATA / "rt-polarity")
    else:
        from training.sentiment_zh import load_data, split  # type: ignore[assignment]

        texts, _ = load_data(DATA / "chn-sentiment")
    tr, _, te = split(len(texts), SEED)
    seen = {texts[i] for i in tr}
    out = [texts[i] for i in te if texts[i] not in seen and 0 < len(texts[i].strip()) <= max_chars]
    return out[:n]


def qa_timing(runs: int) -> None:
    """Time of the Q&A page's "why this answer" (integrated gradients through the span model,
    :mod:`core.qa.explain`) on the page's English and Chinese first examples, and its
    completeness error."""
    from core.qa import answer_details
    from core.qa.explain import explain_answer
    from ui.qa_examples import EXAMPLES

    print("\nQ&A, why this answer (integrated gradients of the answer's start + end score, one window):")
    en = [c for k, (c, _) in EXAMPLES.items() if k.endswith("_en") and k != "eiffel_en"]
    long_en = ("\n\n".join([*en, EXAMPLES["eiffel_en"][0], *en]), EXAMPLES["eiffel_en"][1])
    for name, (context, question) in (*((k, EXAMPLES[k]) for k in ("eiffel_en", "ai_zh")), ("long_en", long_en)):
        result = answer_details(question, context)
        explain_answer(question, context, result)  # loads the PyTorch copy once
        times, errors = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            ex = explain_answer(question, context, result)
            times.append(time.perf_counter() - t0)
            errors.append(ex.passage.completeness_error or 0.0)
        print(
            f"  {name}: {len(context)} characters, answer {result.answers[0].text!r}: p50 {statistics.median(times):.2f} s "
            f"({runs} runs), completeness error {100 * max(errors):.2f} %, explained characters "
            f"{ex.window[1] - ex.window[0]}",
            flush=True,
        )


def qa_faithfulness(n: int) -> dict[str, dict[str, Any]]:
    """The Q&A explanation's faithfulness on ``n`` validation questions per language (the QA
    training's own validation split: held-out SQuAD-train and CMRC-train articles; never SQuAD
    dev or XQuAD 24-47): the answer's probability lost when the top 20 % of the window's
    passage words (outside the answer) are deleted, against as many random words."""
    from core.explain import ExplainError
    from core.qa import answer_details
    from core.qa.explain import explain_answer
    from training import qa_data

    print(f"\nQ&A, why this answer: faithfulness on {n} validation questions per language", flush=True)
    val = qa_data.splits()["validation"]
    out: dict[str, dict[str, Any]] = {}
    for lang, source in (("en", "squad_train_v1.1"), ("zh", "cmrc2018_train")):
        exs = sorted((e for e in val if e.source == source), key=lambda e: e.id)[:n]
        drops, rnd, secs, tokens = [], [], [], []
        refused: dict[str, int] = {}
        for ex in exs:
            result = answer_details(ex.question, ex.context)
            try:
                got = explain_answer(ex.question, ex.context, result)
            except ExplainError as err:  # no answer, or too slow: counted, never hidden
                refused[err.code] = refused.get(err.code, 0) + 1
                continue
            drops.append(got.passage.drop or 0.0)
            rnd.append(got.passage.random_drop or 0.0)
            secs.append(got.seconds)
            tokens.append(got.tokens)
        k = len(drops)
        wins = sum(d > r for d, r in zip(drops, rnd))
        out[lang] = {
            "n": k,
            "drop": 100 * float(np.mean(drops)) if k else 0.0,
            "random_drop": 100 * float(np.mean(rnd)) if k else 0.0,
            "beats_random": 100 * wins / max(k, 1),
            "p50_s": statistics.median(secs) if secs else 0.0,
            "max_s": max(secs) if secs else 0.0,
            "refused": refused,
            "windows": {
                "<=128": sum(t <= 128 for t in tokens),
                "<=192": sum(128 < t <= 192 for t in tokens),
                "longer": sum(t > 192 for t in tokens),
            },
        }
        r = out[lang]
        print(
            f"  {lang} ({source} validation): integrated gradients, top 20 % of passage words deleted: answer "
            f"probability -{r['drop']:.1f} points vs random words -{r['random_drop']:.1f}; beats random on "
            f"{r['beats_random']:.0f} % of {k}; p50 {r['p50_s']:.2f} s, max {r['max_s']:.2f} s; "
            f"not explained: {refused or 'none'}; windows explained (tokens): {r['windows']}",
            flush=True,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200, help="reviews per language")
    ap.add_argument("--langs", nargs="*", default=["en", "zh"])
    ap.add_argument("--methods", nargs="*", default=["occlusion", "shapley", "integrated-gradients"])
    ap.add_argument("--max-chars", type=int, default=400)
    ap.add_argument("--timing-runs", type=int, default=5, help="runs on the fixed 60-word review")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--timing-only", action="store_true", help="only the fixed 60-word review's times")
    ap.add_argument("--qa-n", type=int, default=40, help="Q&A validation questions per language (0: skip)")
    ap.add_argument(
        "--qa-runs", type=int, default=3, help="Q&A 'why this answer' timed runs per page example (0: skip)"
    )
    args = ap.parse_args(argv)

    from core import loaders
    from core.classify.explain import explaining_bundle
    from core.classify.labels import label_names
    from core.explain import faithfulness
    from core.explain import text as et

    run = {
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "load": os.getloadavg(),
        "n": args.n,
        "results": {},
    }
    for lang in args.langs:
        bundle = loaders.load(MODELS[lang])
        torch_copy = explaining_bundle(bundle)  # loaded now: not inside the first IG's time
        names = label_names(dict(bundle.model.config.id2label))
        texts = [] if args.timing_only else reviews(lang, args.n, args.max_chars)
        runtime = bundle.meta.get("runtime", "pytorch")
        print(
            f"\n[{lang}] {MODELS[lang]} ({runtime} as served; integrated gradients on PyTorch): "
            f"{len(texts)} held-out test reviews",
            flush=True,
        )
        rows: dict[str, dict] = {}
        for method in args.methods if args.timing_only else ["random", *args.methods]:
            comp, suff, aopc, aopc_r, wins, secs = (
                {f: [] for f in faithfulness.REPORT},
                {f: [] for f in faithfulness.REPORT},
                [],
                [],
                0,
                [],
            )
            rng = np.random.default_rng(0)
            t_all = time.perf_counter()
            for text in texts:
                probs = et.TextTarget(bundle, text, [], [0]).probs([text])[0]
                label = int(np.argmax(probs))
                target = et.target_for(bundle, text, [label], torch_bundle=lambda b=torch_copy: b)
                if not target.spans:
                    continue
                t0 = time.perf_counter()
                if method == "random":
                    w = rng.standard_normal(len(target.spans))
                elif method == "occlusion":
                    w = et.occlusion(target)
                elif method == "shapley":
                    w = et.shapley(target)
                else:
                    w, _ = et.integrated_gradients(target)
                secs.append(time.perf_counter() - t0)
                s = faithfulness.score(target.prob, w, float(probs[label]))
                for f in faithfulness.REPORT:
                    comp[f].append(s.comprehensiveness[f])
                    suff[f].append(s.sufficiency[f])
                aopc.append(s.aopc)
                aopc_r.append(s.aopc_random)
                wins += s.aopc > s.aopc_random
            timing = []
            if method != "random":
                target = et.target_for(
                    bundle,
                    SIXTY[lang],
                    [int(np.argmax(et.TextTarget(bundle, SIXTY[lang], [], [0]).probs([SIXTY[lang]])[0]))],
                    torch_bundle=lambda b=torch_copy: b,
                )
                for _ in range(args.timing_runs):
                    t0 = time.perf_counter()
                    {
                        "occlusion": et.occlusion,
                        "shapley": et.shapley,
                        "integrated-gradients": lambda x: et.integrated_gradients(x)[0],
                    }[method](target)
                    timing.append(time.perf_counter() - t0)
            k = len(aopc)
            rows[method] = {
                "comprehensiveness": {str(f): 100 * float(np.mean(v)) for f, v in comp.items()},
                "sufficiency": {str(f): 100 * float(np.mean(v)) for f, v in suff.items()},
                "aopc": 100 * float(np.mean(aopc)),
                "aopc_random": 100 * float(np.mean(aopc_r)),
                "beats_random": 100 * wins / max(k, 1),
                "p50_s": statistics.median(secs) if secs else 0.0,
                "p95_s": float(np.percentile(secs, 95)) if secs else 0.0,
                "sixty_words_p50_s": statistics.median(timing) if timing else None,
                "sixty_words_units": len(target.spans) if timing else None,
                "n": k,
                "wall_s": time.perf_counter() - t_all,
            }
            r = rows[method]
            print(
                f"  {method:21} comp@10/20/50 {r['comprehensiveness']['0.1']:5.1f} {r['comprehensiveness']['0.2']:5.1f} "
                f"{r['comprehensiveness']['0.5']:5.1f} | suff@10/20/50 {r['sufficiency']['0.1']:5.1f} "
                f"{r['sufficiency']['0.2']:5.1f} {r['sufficiency']['0.5']:5.1f} | AOPC {r['aopc']:5.1f} vs random "
                f"{r['aopc_random']:5.1f}, beats random on {r['beats_random']:5.1f} % | p50 {r['p50_s']:.2f} s "
                f"p95 {r['p95_s']:.2f} s"
                + (
                    f" | 60 words ({r['sixty_words_units']} units) p50 {r['sixty_words_p50_s']:.2f} s" if timing else ""
                ),
                flush=True,
            )
        fast = [m for m in args.methods if (rows[m]["sixty_words_p50_s"] or 9e9) < 1.0]
        best = max(fast or args.methods, key=lambda m: rows[m]["aopc"])
        if args.timing_only:
            best = ""
            print("  (timing only: the default needs the faithfulness figures)")
        else:
            print(
                f"  default for a 60-word {lang} review: {best} (highest AOPC"
                f"{' within the 1 s budget' if fast else '; none within 1 s'}; times from this run: on a busy "
                "machine rerun with --timing-only on a quiet one)"
            )
        run["results"][lang] = {
            "model": MODELS[lang],
            "runtime": runtime,
            "names": names,
            "rows": rows,
            "default": best,
        }
    if args.qa_runs:
        qa_timing(args.qa_runs)
    if args.qa_n and not args.timing_only:
        run["qa"] = qa_faithfulness(args.qa_n)
    print(f"\nload average at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())} (times compare within this run)")
    if args.json:
        args.json.write_text(json.dumps(run, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
