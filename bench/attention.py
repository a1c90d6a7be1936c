"""Benchmark of the attention viewer: prints figures, asserts nothing.

    python -m bench.attention [--model KEY] [--repeats 15]

For 16, 64 and 128 tokens it prints the warm latency (median, p90) of
``attention_maps`` and, as a baseline measured in the same run, a plain forward pass of
the default (non-eager, no attention output) copy of the same model; then the time to
build each view's figure (view transform + Plotly figure + JSON, which is what
``st.plotly_chart`` sends) and that JSON's size in bytes. The last lines give the
click-to-figures time of the default view (one head) for 64 tokens against the 300 ms
target, and what the grid would weigh if it sent every full matrix instead of thumbnails.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from harness.stats import percentile


def _timeit(fn, repeats: int) -> tuple[float, float]:
    """Median and 90th percentile of ``fn()`` in ms, after one warm call."""
    fn()  # warm
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return percentile(times, 50), percentile(times, 90)


def _text_of(tok, n_tokens: int) -> str:
    """A sentence of exactly ``n_tokens`` tokens (special tokens included) for ``tok``."""
    if len(tok("注意力")["input_ids"]) == 5:  # a character tokenizer: one token per Chinese character
        chars = "模型在阅读每一个字时都会决定哪些其他的字对它的意思最重要"
        return (chars * (n_tokens // len(chars) + 1))[: n_tokens - 2]
    words = (
        "the model reads every word and decides which other words matter for its meaning "
        "in this sentence about attention heads and layers"
    ).split()
    out: list[str] = []
    i = 0
    while len(tok(" ".join(out))["input_ids"]) < n_tokens:
        out.append(words[i % len(words)])
        i += 1
    while len(tok(" ".join(out))["input_ids"]) > n_tokens:
        out.pop()
    return " ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="registry key (default: the English attention default)")
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()

    import torch

    from core import loaders
    from core.attention import (
        apply_view,
        apply_view_vector,
        attention_maps,
        head_average,
        head_stats,
        make_view,
        rollout,
    )
    from core.availability import default_model
    from core.device import choose_device
    from core.inference import locked
    from ui.attention_figures import grid_figure, heatmap_figure, rollout_figure

    args.model = args.model or default_model("attention", "en", online=False)
    dev = choose_device()
    eager = loaders.load(args.model, attention=True)
    plain = loaders.load(args.model)
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"model {args.model} · device {dev.label} · torch threads {torch.get_num_threads()} · "
        f"load average {load1:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'tokens':>6} | {'attention_maps ms (p50/p90)':>28} | {'plain forward ms':>16} | ratio")
    results = {}
    for n in (16, 64, 128):
        text = _text_of(eager.preprocessor, n)
        res = attention_maps(text, model=args.model)
        assert n - 3 <= len(res.tokens) <= n, (n, len(res.tokens))  # a word may take 2-3 tokens
        results[n] = (text, res)
        a50, a90 = _timeit(lambda text=text: attention_maps(text, model=args.model), args.repeats)
        enc = plain.preprocessor(text, return_tensors="pt")
        enc = {k: v.to(plain.device) for k, v in enc.items()}

        def forward(enc=enc) -> None:
            with locked(plain):
                plain.model(**enc)

        p50, _ = _timeit(forward, args.repeats)
        print(f"{n:>6} | {a50:>14.1f} / {a90:<11.1f} | {p50:>16.1f} | {a50 / p50:.2f}x")

    print()
    print(f"{'tokens':>6} | {'view':<8} | {'build+json ms':>13} | {'bytes to browser':>16}")
    for n, (_text, res) in results.items():
        view = make_view(res.tokens, res.special, groups=res.word, labels=res.word_labels())
        labels = list(view.labels)
        att = res.attentions
        builders = {
            "head": lambda att=att, view=view, labels=labels: heatmap_figure(
                apply_view(att[0, 0], view), labels, title="L1 H1"
            ),
            "grid": lambda att=att, view=view: grid_figure(apply_view(att, view), selected=(0, 0)),
            "average": lambda att=att, view=view, labels=labels: heatmap_figure(
                apply_view(head_average(att[:1])[0], view), labels
            ),
            "rollout": lambda att=att, view=view, labels=labels: rollout_figure(
                apply_view_vector(rollout(att)[0], view), labels
            ),
        }
        for name, build in builders.items():
            ms, _ = _timeit(lambda build=build: build().to_json(), max(5, args.repeats // 3))
            print(f"{n:>6} | {name:<8} | {ms:>13.1f} | {len(build().to_json().encode()):>16,}")
        ms, _ = _timeit(lambda res=res: head_stats(res.attentions, res.special), 5)
        rows = f"(table, {res.layers * res.heads} rows)"
        print(f"{n:>6} | {'summary':<8} | {ms:>13.1f} | {rows:>16}")

    text64, _ = results[64]

    def click_to_figures() -> None:
        r = attention_maps(text64 + " ", model=args.model)  # a new text: nothing cached
        v = make_view(r.tokens, r.special)
        heatmap_figure(apply_view(r.attentions[0, 0], v), list(v.labels), title="L1 H1").to_json()

    print()
    default_threads = torch.get_num_threads()
    for threads in dict.fromkeys((default_threads, 1)):
        torch.set_num_threads(threads)
        c50, c90 = _timeit(click_to_figures, args.repeats)
        verdict = "meets" if c50 < 300 else "MISSES"
        print(
            f"64 tokens, click to figures (attention_maps + one-head figure JSON), {threads} torch thread(s): "
            f"p50 {c50:.1f} ms, p90 {c90:.1f} ms -> {verdict} the 300 ms target"
        )
    torch.set_num_threads(default_threads)
    _, res128 = results[128]
    full = len(json.dumps(np.round(res128.attentions, 4).tolist()).encode())
    thumbs = len(grid_figure(res128.attentions).to_json().encode())
    print(
        f"128 tokens, all heads: thumbnails {thumbs:,} bytes vs every full matrix {full:,} bytes "
        f"({full / thumbs:.0f}x more)"
    )


if __name__ == "__main__":
    main()
