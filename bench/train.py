"""Live training's speed targets (issue 24), one torch thread, on this machine:

- the MLP preset: seconds per epoch over the 9,000 training digits (target <= 1.5 s) and the
  official MNIST test accuracy after 30 s of training (target >= 95.5 %);
- the CNN preset: the MNIST test accuracy within 90 s (target >= 98.5 %);
- the TextCNN preset on the Chinese reviews: test-split accuracy within 90 s (target >= 85 %;
  jieba's tokenising of the corpus is timed apart: the server does it once);
- the runner's own overhead: the MLP preset through ``core.train.jobs`` (a child process,
  curve points, mistakes, the queue) against the bare loop measured in the same run, and the
  child's start-up (the fork server's first start, then a warm one).

    python -m bench.train [--skip-text] [--skip-cnn] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from core.train import PRESET_DEFAULTS, TrainSpec
from core.train.jobs import Runner, data_dir
from core.train.loop import NullReporter


def preset(task: str, name: str, **kw: Any) -> TrainSpec:
    d = PRESET_DEFAULTS[name]
    spec = TrainSpec(task=task, preset=name, **{k: v for k, v in d.items()})  # type: ignore[arg-type]
    return replace(spec, **kw)


def bare(spec: TrainSpec, seconds: float, corpus: Any = None) -> tuple[Any, NullReporter]:
    """The bare training loop (no process, no messages), stopped after ``seconds`` of training."""
    rep = NullReporter(time.monotonic() + seconds)
    if spec.task == "digits":
        from core.train import digits

        out, _, _ = digits.train(spec, rep, data_dir())
    else:
        from core.train import text

        out, _, _ = text.train(spec, rep, data_dir(), corpus)
    return out, rep


def through_runner(spec: TrainSpec, owner: str) -> dict[str, Any]:
    r = Runner()
    t0 = time.monotonic()
    job = r.submit(spec, owner)
    try:
        while True:
            st = r.status(job)
            if st.state not in ("queued", "running") and not st.extra.get("finishing"):
                break
            time.sleep(0.2)
    finally:
        r.shutdown()
    return {
        "state": st.state,
        "wall_s": round(time.monotonic() - t0, 2),
        "startup_s": round(st.extra.get("startup_s", float("nan")), 3),
        "train_seconds": st.extra.get("train_seconds"),
        "epochs_run": st.extra.get("epochs_run"),
        "test_accuracy": st.test_accuracy,
        "points": len(st.history),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-text", action="store_true")
    ap.add_argument("--skip-cnn", action="store_true")
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    res: dict[str, Any] = {"threads": 1, "data": str(data_dir())}

    mlp = preset("digits", "mlp")
    one, _ = bare(replace(mlp, epochs=1), 1e9)
    res["mlp_epoch_s"] = round(one.train_seconds, 3)
    print(
        f"MLP {mlp.width}x{mlp.depth}, batch {mlp.batch_size}: one epoch over 9,000 digits {one.train_seconds:.2f} s (cold) "
        "(target <= 1.5 s)",
        flush=True,
    )
    out, _ = bare(mlp, 30.0)
    res["mlp_30s"] = {
        "test_accuracy": out.test_accuracy,
        "epochs": round(out.epochs_run, 2),
        "train_s": round(out.train_seconds, 1),
    }
    print(
        f"MLP preset ({mlp.epochs} epochs, capped at 30 s): {out.test_accuracy:.2%} on the MNIST test set after "
        f"{out.train_seconds:.1f} s, {out.epochs_run:.1f} epochs (target >= 95.5 %); "
        f"{out.train_seconds / max(out.epochs_run, 1e-9):.2f} s per epoch on average",
        flush=True,
    )
    res["mlp_epoch_mean_s"] = round(out.train_seconds / max(out.epochs_run, 1e-9), 3)
    bare_s = out.train_seconds

    runs = [through_runner(mlp, "bench-1"), through_runner(mlp, "bench-2")]
    res["runner"] = runs
    for i, run in enumerate(runs):
        print(
            f"MLP preset through the runner ({'first: fork server starts' if i == 0 else 'warm'}): child start-up "
            f"{run['startup_s']:.2f} s, training {run['train_seconds']} s vs bare {bare_s:.1f} s "
            f"(overhead {(run['train_seconds'] or 0) / bare_s - 1:+.1%}), {run['points']} curve points, "
            f"submit to done {run['wall_s']} s, test {run['test_accuracy']:.2%}",
            flush=True,
        )

    if not args.skip_cnn:
        cnn = preset("digits", "cnn")
        out, rep = bare(cnn, 90.0)
        res["cnn_90s"] = {
            "test_accuracy": out.test_accuracy,
            "epochs": round(out.epochs_run, 2),
            "train_s": round(out.train_seconds, 1),
        }
        print(
            f"CNN preset ({cnn.width}/{cnn.width * 2} filters, {cnn.epochs} epochs, capped at 90 s): "
            f"{out.test_accuracy:.2%} after {out.train_seconds:.1f} s, {out.epochs_run:.1f} epochs (target >= 98.5 %)",
            flush=True,
        )

    if not args.skip_text:
        from core.train import text

        t0 = time.monotonic()
        _, _, corpus, _ = text.corpus_for(data_dir(), "zh", None)
        tok_s = time.monotonic() - t0
        tc = preset("sentiment", "textcnn", lang="zh", n_train=30_000)
        out, rep = bare(tc, 90.0, corpus)
        res["textcnn_zh_90s"] = {
            "test_accuracy": out.test_accuracy,
            "epochs": round(out.epochs_run, 2),
            "train_s": round(out.train_seconds, 1),
            "tokenise_s": round(tok_s, 1),
            "shipped": text.shipped_accuracy("zh"),
        }
        print(
            f"TextCNN zh ({tc.width} filters x 3 widths, {tc.epochs} epochs, capped at 90 s): {out.test_accuracy:.2%} "
            f"on the test split after {out.train_seconds:.1f} s, {out.epochs_run:.2f} epochs (target >= 85 %; "
            f"shipped model {text.shipped_accuracy('zh')}); jieba over the corpus first: {tok_s:.1f} s",
            flush=True,
        )

    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
