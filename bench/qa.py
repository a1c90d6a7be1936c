"""QA latency benchmark: ``core.qa.answer`` against a naive baseline, measured in the same run.

Two inputs: an English passage of 384 tokens and a Chinese passage of 1,000 characters,
each answered by the default available QA model for its language (offline here: our e5
span model; ``--model KEY`` forces one, e.g. ``minilm`` sentence retrieval or a cached Hub
span model).

The baseline does the same job the plain way: for sentence retrieval it embeds the
question and every sentence with one forward pass each, padded to 256 tokens, without
any cache; for lexical retrieval it recounts n-gram overlaps per sentence with str.count;
for span models it tokenises into 384-token windows padded to full length and runs one
forward per window. Runs of ``answer`` and of the baseline alternate, so load from other
processes hits both alike.

Prints p50 / p95 in ms for: ``answer`` warm (the passage seen before: its sentence
embeddings cached, as when a visitor asks a second question), ``answer`` cold passage
(cache cleared before each run), and the baseline; and the ratios to the baseline.
For span models a third input, an English passage of 4,000 characters, is timed too. The
model runs on its served runtime (OpenVINO on the CPU where its build passed the guard;
``DEMO_RUNTIME=torch`` for PyTorch fp32); at the end, for ``qa-e5``, ``bench/qa_runtime.py``
compares the two side by side in the same run (speed end to end, and EM / F1 on the guard's
validation questions; ``--no-runtimes`` skips it).
Targets on a 2-core CPU (span model): warm p50 <= 120 ms (384 tokens, 1,000 Chinese
characters), < 400 ms for 4,000 characters.

Long passages (span models; :mod:`core.qa.select`): a long passage is read in part (its
best-ranked windows). Printed in the same run, all windows against the windows selected:
the time p50 of ``core.qa.answer_details`` for 4,000 and 20,000 characters of real
validation text (English: one SQuAD train validation article; Chinese: CMRC 2018 train
validation articles joined), and EM / F1 on the long validation sets of
:mod:`harness.qa_long` (COVID-QA and SQuAD articles, CMRC and DRCD joined; ``--long-n``
questions each, validation articles only). Targets: 4,000 characters <= 400 ms, 20,000
<= 1 s, F1 within 1 point of reading every window.

    python bench/qa.py [--runs 30] [--model KEY] [--threads N] [--only en|zh]
                       [--long-n 40] [--long-runs 5] [--no-long] [--no-runtimes]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from harness.stats import p50_p95

EN_SENTENCES = [
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France.",
    "It is named after the engineer Gustave Eiffel, whose company designed and built the tower.",
    "Locally nicknamed the Iron Lady, it was constructed from 1887 to 1889 as the centerpiece of the 1889 World's Fair.",
    "Although initially criticised by some of France's leading artists and intellectuals for its design, it has since "
    "become a global cultural icon of France and one of the most recognisable structures in the world.",
    "The tower received 5,889,000 visitors in 2022.",
    "It is the most visited monument with an entrance fee in the world.",
    "The tower is 330 metres tall, about the same height as an 81-storey building, and the tallest structure in Paris.",
    "Its base is square, measuring 125 metres on each side.",
    "During its construction, the Eiffel Tower surpassed the Washington Monument to become the tallest man-made "
    "structure in the world, a title it held for 41 years until the Chrysler Building in New York City was finished in 1930.",
    "It was the first structure in the world to surpass both the 200-metre and 300-metre mark in height.",
    "Due to the addition of a broadcasting aerial at the top of the tower in 1957, it is now taller than the "
    "Chrysler Building by 5.2 metres.",
    "Excluding transmitters, the Eiffel Tower is the second tallest free-standing structure in France after the Millau Viaduct.",
    "The tower has three levels for visitors, with restaurants on the first and second levels.",
    "The top level's upper platform is 276 metres above the ground, the highest observation deck accessible to the "
    "public in the European Union.",
    "Tickets can be purchased to ascend by stairs or lift to the first and second levels.",
    "The climb from ground level to the first level is over 300 steps, as is the climb from the first level to the second.",
    "Although there is a staircase to the top level, it is usually accessible only by lift.",
    "The design of the tower was the product of Maurice Koechlin and Emile Nouguier, two senior engineers working "
    "for the Compagnie des Etablissements Eiffel.",
    "Eiffel openly acknowledged that the inspiration for a tower came from the Latting Observatory built in New York City in 1853.",
    "The tower is painted every seven years to protect it from rust, using about 60 tonnes of paint.",
    "At night the tower sparkles with 20,000 light bulbs for five minutes every hour.",
    "More than 300 million people have visited the tower since it opened.",
    "Radio signals sent from the tower were used during the First World War to intercept enemy messages.",
]
EN_QUESTION = "How many steps lead from the ground to the first level?"

ZH_SENTENCES = [
    "人工智能（Artificial Intelligence，简称 AI）是计算机科学的一个分支，研究如何让机器模拟、延伸和扩展人的智能。",
    "1956 年，在美国达特茅斯学院举行的一次会议上，“人工智能”这一术语被正式提出。",
    "早期的研究者希望用符号和逻辑规则来描述人类的推理过程，并开发了能够证明数学定理和下跳棋的程序。",
    "二十世纪七十年代，由于计算能力有限、期望过高，人工智能经历了第一次低谷，研究经费大幅减少。",
    "八十年代，专家系统在医疗诊断和化工等领域得到应用，人工智能迎来了新的发展。",
    "机器学习是实现人工智能的重要方法，它让计算机从数据中自动学习规律，而不是依靠人手写规则。",
    "深度学习使用多层神经网络，在图像识别、语音识别和自然语言处理等任务上取得了突破。",
    "2012 年，一个深度卷积神经网络在 ImageNet 图像识别比赛中大幅领先，引发了深度学习的热潮。",
    "2016 年，围棋程序 AlphaGo 战胜了世界冠军李世石，引起了全世界的关注。",
    "近年来，大规模预训练语言模型能够回答问题、撰写文章、翻译语言，甚至编写程序。",
    "如今，人工智能被广泛应用于医疗诊断、自动驾驶、机器翻译、智能客服和金融风控等领域。",
    "在医疗领域，人工智能可以帮助医生阅读医学影像，更早地发现疾病。",
    "在交通领域，自动驾驶汽车依靠摄像头、雷达和算法感知周围环境。",
    "与此同时，人工智能也带来了隐私保护、算法偏见和就业变化等社会问题。",
    "许多国家和组织正在制定法律和伦理准则，以确保人工智能安全、可靠、可控。",
    "专家认为，人工智能的未来发展需要技术进步与社会治理共同推进。",
    "教育领域也在积极探索人工智能的应用，例如个性化学习和智能批改作业。",
    "一些学校开设了人工智能课程，让学生从小了解机器学习的基本原理。",
    "人工智能芯片的发展也很迅速，专用芯片可以让神经网络运行得更快、更省电。",
    "中国在人工智能论文数量和专利申请数量上都位居世界前列。",
    "研究人员还在探索让人工智能更加节能，以减少训练大型模型所消耗的电力。",
    "开源社区发布了大量模型和数据集，降低了人们学习和使用人工智能的门槛。",
    "不少企业设立了专门的人工智能实验室，把研究成果转化为实际产品。",
    "人们普遍希望人工智能能够成为帮助人类解决难题的工具，而不是替代人类的威胁。",
]
ZH_QUESTION = "“人工智能”这一术语是在哪一年被正式提出的？"


def english_passage(tok, n_tokens: int = 384) -> str:
    """Sentences joined until the passage has ``n_tokens`` tokens (cut at a token boundary)."""
    text = " ".join(EN_SENTENCES * 3)
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    return text[: enc["offset_mapping"][n_tokens - 1][1]]


def chinese_passage(n_chars: int = 1000) -> str:
    text = "".join(ZH_SENTENCES * 3)
    return text[:n_chars]


# ---- naive baselines -------------------------------------------------------------------


def naive_sentences(bundle, question: str, context: str) -> int:
    import torch

    from core.text import split_sentences

    tok, model = bundle.preprocessor, bundle.model
    spans = split_sentences(context)

    def one(text: str) -> np.ndarray:
        enc = tok(text, padding="max_length", truncation=True, max_length=256, return_tensors="pt")
        with torch.inference_mode():
            hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        v = ((hidden * mask).sum(1) / mask.sum(1))[0].numpy()
        return v / np.linalg.norm(v)

    q = one(question)
    scores = [float(one(context[a:b]) @ q) for a, b in spans]
    return int(np.argmax(scores))


def naive_lexical(question: str, context: str) -> int:
    from core.text import split_sentences

    grams = {question[i : i + n] for n in (1, 2) for i in range(len(question) - n + 1)}
    scores = [sum(context[a:b].count(g) for g in grams) for a, b in split_sentences(context)]
    return int(np.argmax(scores))


def naive_spans(bundle, question: str, context: str) -> int:
    import torch

    tok, model = bundle.preprocessor, bundle.model
    enc = tok(
        question,
        context,
        truncation="only_second",
        max_length=384,
        stride=128,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
        return_tensors="pt",
    )
    names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    import inspect

    accepted = set(inspect.signature(model.forward).parameters)
    best = -1e9
    with torch.inference_mode():
        for w in range(enc["input_ids"].shape[0]):
            out = model(**{k: enc[k][w : w + 1] for k in names if k in accepted})
            best = max(best, float(out.start_logits.max() + out.end_logits.max()))
    return int(best)


# ---- the run -------------------------------------------------------------------------------


def bench_one(label: str, question: str, context: str, model: str | None, runs: int) -> None:
    from core import loaders
    from core.qa import LEXICAL, answer, answer_details, is_sentence_model, pick_model
    from core.qa import retrieval as qa_retrieval

    key = pick_model(context, model)
    bundle = None if key == LEXICAL else loaders.load(key)
    if key == LEXICAL:
        baseline = lambda: naive_lexical(question, context)  # noqa: E731
    elif is_sentence_model(key):
        baseline = lambda: naive_sentences(bundle, question, context)  # noqa: E731
    else:
        baseline = lambda: naive_spans(bundle, question, context)  # noqa: E731

    first = answer_details(question, context, model=key)
    for _ in range(3):  # warm-up of both paths
        answer(question, context, model=key)
        baseline()
    warm, cold, base = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        answer(question, context, model=key)
        warm.append((time.perf_counter() - t0) * 1000)
        qa_retrieval.clear_cache()
        t0 = time.perf_counter()
        answer(question, context, model=key)
        cold.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        baseline()
        base.append((time.perf_counter() - t0) * 1000)
    (w50, w95), (c50, c95), (b50, b95) = p50_p95(warm), p50_p95(cold), p50_p95(base)
    units = f"{first.windows} {'windows' if first.mode == 'span' else 'sentences'}"
    print(f"\n{label}: model={key} mode={first.mode} ({units}), answer: {first.answers[0].text[:60]!r}")
    print(f"  {'':28s} {'p50 ms':>9s} {'p95 ms':>9s} {'p50 / baseline':>15s}")
    print(f"  {'answer (warm, same passage)':28s} {w50:9.1f} {w95:9.1f} {w50 / b50:14.2f}x")
    print(f"  {'answer (cold passage)':28s} {c50:9.1f} {c95:9.1f} {c50 / b50:14.2f}x")
    print(f"  {'naive baseline':28s} {b50:9.1f} {b95:9.1f} {1.0:14.2f}x")


def bench_long_timing(key: str, runs: int, only: str | None) -> None:
    """p50 of answering 4,000 and 20,000 characters: every window vs the selected ones, alternating."""
    from core import loaders
    from core.qa import answer_details, answer_with_bundle, passage_language
    from harness import qa_long

    bundle = loaders.load(key)
    texts = {"en": qa_long.squad(cap=20_000), "zh": qa_long.cmrc(cap=20_000)}
    runtime = " ".join(loaders.loaded_runtimes().get(key, ("?", "?", ""))[:2])  # DEMO_RUNTIME=torch: PyTorch fp32
    print(f"\nlong passages ({key}, {runtime}): all windows vs the selected ones, p50 of {runs} alternating runs")
    print(f"  {'passage':34s} {'windows':>9s} {'all ms':>9s} {'selected ms':>12s} {'ratio':>7s}")
    for lang, examples in texts.items():
        if only and lang != only:
            continue
        long_one = next(e for e in examples if len(e.context) >= 20_000)
        for n in (4_000, 20_000):
            context = long_one.context[:n]
            question = long_one.question
            passage_language(context)
            sel = answer_details(question, context, model=key)
            every = answer_with_bundle(bundle, question, context, read_windows=None)
            t_all, t_sel = [], []
            for _ in range(runs):
                t0 = time.perf_counter()
                answer_with_bundle(bundle, question, context, read_windows=None)
                t_all.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                answer_details(question, context, model=key)
                t_sel.append((time.perf_counter() - t0) * 1000)
            a50, s50 = p50_p95(t_all)[0], p50_p95(t_sel)[0]
            label = f"{'English' if lang == 'en' else 'Chinese'} {len(context):,} characters"
            read = f"{sel.windows}/{every.windows}"
            print(f"  {label:34s} {read:>9s} {a50:9.0f} {s50:12.0f} {s50 / a50:6.2f}x")


def bench_long_accuracy(key: str, n: int, only: str | None) -> None:
    """EM / F1 on the long validation sets: every window vs the selected ones."""
    from core import loaders
    from core.qa.select import READ_WINDOWS
    from harness import qa_long

    bundle = loaders.load(key)
    print(f"\nlong validation passages ({key}), EM / F1: all windows vs the best {READ_WINDOWS} (validation only)")
    print(
        f"  {'set':8s} {'n':>4s} {'windows':>8s} {'all EM/F1':>12s} {'selected EM/F1':>15s} {'F1 diff':>8s} {'time':>12s}"
    )
    for name in qa_long.SETS:
        if only and qa_long.LANG[name] != only:
            continue
        examples = qa_long.load(name, n)
        every = qa_long.evaluate(bundle, examples, None)
        sel = qa_long.evaluate(bundle, examples, READ_WINDOWS)
        print(
            f"  {name:8s} {every.n:4d} {every.windows:8.1f} {every.em:5.1f}/{every.f1:5.1f} "
            f"{sel.em:8.1f}/{sel.f1:5.1f} {sel.f1 - every.f1:+8.1f} {every.seconds:5.0f}s/{sel.seconds:4.0f}s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--model", default=None, help="registry key (default: the default available QA model)")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (default: core.device's choice)")
    parser.add_argument("--only", choices=("en", "zh"), default=None, help="run one language only")
    parser.add_argument("--long-n", type=int, default=40, help="questions per long validation set")
    parser.add_argument("--long-runs", type=int, default=5, help="timed runs per long passage")
    parser.add_argument("--no-long", action="store_true", help="skip the long passages (span models)")
    parser.add_argument("--no-runtimes", action="store_true", help="skip PyTorch vs OpenVINO (bench/qa_runtime.py)")
    args = parser.parse_args()

    import torch

    from core import loaders
    from core.device import choose_device

    info = choose_device()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"device: {info.label}; torch threads {torch.get_num_threads()}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; runs {args.runs}"
    )
    from core.qa import LEXICAL, is_sentence_model, pick_model, sentence_fallback

    key = pick_model(EN_SENTENCES[0], args.model)
    span = not is_sentence_model(key)
    tok = loaders.load(key if key != LEXICAL else sentence_fallback("en")).preprocessor
    en = english_passage(tok)
    n_tokens = len(tok(en, add_special_tokens=False)["input_ids"])
    en4k = " ".join(EN_SENTENCES * 4)[:4000]
    zh = chinese_passage()
    cases = []
    if args.only != "zh":
        cases.append((f"English passage ({n_tokens} tokens, {len(en)} chars)", EN_QUESTION, en))
        if span:
            cases.append((f"English passage ({len(en4k)} chars)", EN_QUESTION, en4k))
    if args.only != "en":
        cases.append((f"Chinese passage ({len(zh)} chars)", ZH_QUESTION, zh))
    for label, question, context in cases:
        bench_one(label, question, context, args.model, args.runs)
    if span and not args.no_long:
        from harness import qa_long

        if qa_long.available():
            bench_long_timing(key, args.long_runs, args.only)
            bench_long_accuracy(key, args.long_n, args.only)
        else:
            print("\nlong passages: skipped (no QA data in ../shared/data/qa)")
    if key == "qa-e5" and not args.no_runtimes:
        from bench import qa_runtime

        print("\nPyTorch fp32 vs OpenVINO as served (bench/qa_runtime.py), same run:", flush=True)
        qa_runtime.main(
            ["--runs", str(min(args.runs, 20))] + (["--threads", str(args.threads)] if args.threads else [])
        )


if __name__ == "__main__":
    main()
