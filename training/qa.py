"""Fine-tune multilingual-e5-small for extractive QA (start/end logits), English and Chinese,
over several runs of a few hours each.

The encoder is the bundled e5-small (``core.e5``); its word embeddings stay frozen (the
shared 4-bit table) and so do the lowest ``--freeze-layers`` layers; every other weight and
the ``qa_outputs`` head train. Data and splits: :mod:`training.qa_data` (SQuAD 1.1 train,
CMRC 2018 train and the earlier sets; SQuAD 1.1 dev and XQuAD 24-47 are never read here
except by ``--report``). Windows: :mod:`training.qa_features`, the same 256/128 windows the
app answers with.

A run lives in ``--run`` (outside git): ``features.npz`` (the windows, built once),
``checkpoint.pt`` (trained weights, their moving average, optimiser, schedule, step, torch and
Python random states, the arguments and a fingerprint of the windows), written atomically
every ``--ckpt-minutes`` and when the run stops (``--max-minutes``, Ctrl-C or SIGTERM).
``--resume`` continues from it with the same arguments and data order; an argument that
differs from the run's is refused, and so is a run whose windows changed. Progress with an
ETA goes to stdout (run it with ``nohup ... > runs/NAME.log &``).

``--recover`` continues a run whose checkpoint was lost (a new machine) from the weights it
shipped to ``--out``: their ``metrics.json`` names the run, its arguments and the step they were
taken at, so the run goes on at that step with the same data order and learning-rate schedule;
only the optimiser's moments restart (re-warmed over ``RECOVER_WARM`` steps) and the loss
before that step comes from the shipped ``training_log.json``.

``--ship`` scores the run's weights and their moving average on the validation sample
(:mod:`training.qa_eval`) against the shipped model and exports the best of them to
``--out`` only if it beats the shipped one; ``--report`` scores the shipped model on the
held-out XQuAD test and all of SQuAD 1.1 dev (once per shipped model, never for a choice).

    python -m training.qa --run runs/qa-squad --max-minutes 100      # start (from models/qa-e5)
    python -m training.qa --run runs/qa-squad --resume --max-minutes 150  # next session
    python -m training.qa --run runs/qa-squad --recover --max-minutes 100  # checkpoint lost
    python -m training.qa --run runs/qa-squad --ship                 # validation; export if better
    python -m training.qa --report                                   # held-out + SQuAD dev figures
    python -m training.qa --report --served --report-sets squad_dev  # SQuAD dev as the app serves it
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.registry import REPO_ROOT
from training import qa_data, qa_eval
from training.qa_features import Features, batches, collate, featurize

# Arguments that decide what a run trains on and how: a resumed run must keep them.
PLAN_ARGS = (
    "max_length",
    "stride",
    "neg_keep",
    "freeze_layers",
    "covid_max_chars",
    "drcd_train",
    "xquad_repeat",
    "batch",
    "lr",
    "warmup",
    "epochs",
    "seed",
    "init_from",
    "ema",
    "data_hash",
)
CKPT_VERSION = 2
RECOVER_WARM = 20  # steps over which a recovered run's fresh optimiser ramps back to the schedule


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=qa_data.DATA)
    p.add_argument("--out", type=Path, default=REPO_ROOT / "models" / "qa-e5")
    p.add_argument("--run", type=Path, default=REPO_ROOT / "runs" / "qa-squad")
    p.add_argument("--resume", action="store_true", help="continue the run in --run (its arguments are kept)")
    p.add_argument(
        "--recover",
        action="store_true",
        help="the run's checkpoint is lost but --out holds its shipped weights: continue from them at their step",
    )
    p.add_argument("--max-length", type=int, default=qa_eval.INFER_WINDOW["max_length"])
    p.add_argument("--stride", type=int, default=qa_eval.INFER_WINDOW["stride"])
    p.add_argument("--neg-keep", type=float, default=0.2)
    p.add_argument("--freeze-layers", type=int, default=2, help="lowest encoder layers kept frozen")
    p.add_argument("--covid-max-chars", type=int, default=80, help="keep COVID-QA answers up to this length")
    p.add_argument("--drcd-train", type=int, default=3000, help="DRCD training questions used")
    p.add_argument("--xquad-repeat", type=int, default=2, help="passes over XQuAD 0-19 per epoch")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--warmup", type=float, default=0.02)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--ema", type=float, default=0.998, help="decay of the weights' moving average")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument(
        "--init-from",
        type=str,
        default="models/qa-e5",
        help="exported model folder to start from (relative to the repository), or 'base' for the bare encoder",
    )
    p.add_argument("--ckpt-minutes", type=float, default=10.0)
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop (with a checkpoint) after this long")
    p.add_argument("--max-steps", type=int, default=0, help="stop (with a checkpoint) at this step (tests)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ship", action="store_true", help="score the run on validation; export it if better")
    p.add_argument("--report", action="store_true", help="held-out XQuAD and SQuAD 1.1 dev of the shipped model")
    p.add_argument("--squad-dev-limit", type=int, default=0, help="--report on the first N SQuAD dev questions")
    p.add_argument(
        "--served",
        action="store_true",
        help="--report the app's models/qa-e5 as served (its OpenVINO build where current), not PyTorch fp32",
    )
    p.add_argument(
        "--report-sets",
        nargs="+",
        choices=qa_eval.REPORT_SETS,
        default=list(qa_eval.REPORT_SETS),
        help="the sets --report scores (several processes can share the work)",
    )
    return p


def data_hash(data: Path) -> str:
    """sha256 over the QA files (name and content): a run's data must not change under it."""
    h = hashlib.sha256()
    for f in sorted(data.glob("*.json.gz")):
        h.update(f.name.encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def plan_of(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k) for k in PLAN_ARGS}


def check_resume(stored: dict[str, Any], args: argparse.Namespace, given: set[str]) -> None:
    """Refuse a resume whose plan differs from the run's: an argument given now that the run
    was started with another value, or data that changed."""
    wrong = [
        f"--{k.replace('_', '-')} {getattr(args, k)} (the run has {stored[k]})"
        for k in PLAN_ARGS
        if k in given and k in stored and getattr(args, k) != stored[k]
    ]
    if stored.get("data_hash") != args.data_hash:
        wrong.append(f"the data in {args.data} changed (hash {args.data_hash}, the run has {stored.get('data_hash')})")
    if wrong:
        raise SystemExit(f"{args.run} cannot resume with: {'; '.join(wrong)}. Resume it as it was or use a new --run.")


def training_examples(args: argparse.Namespace) -> tuple[list[qa_data.Example], list[qa_data.Example]]:
    """(training questions, in a fixed order; validation questions) for the run's arguments."""
    rng = random.Random(args.seed)
    sp = qa_data.splits(args.data)
    drcd = [e for e in sp["train"] if e.source.startswith("drcd")]
    rng.shuffle(drcd)
    train = []
    for ex in sp["train"]:
        if ex.source == "covid_qa" and len(ex.answers[0][0]) > args.covid_max_chars:
            continue
        if ex.source.startswith("drcd"):
            continue
        train += [ex] * (args.xquad_repeat if ex.source.startswith("xquad") else 1)
    train += drcd[: args.drcd_train]
    return train, sp["validation"]


def recovered_state(args: argparse.Namespace, given: set[str]) -> dict[str, Any]:
    """What a lost run's shipped export says about it: its plan, step, minutes and loss log
    (each logged value stands for the 20 steps before it)."""
    metrics_path = args.out / "metrics.json"
    if not metrics_path.exists():
        raise SystemExit(f"nothing to recover: {metrics_path} is missing")
    trained = json.loads(metrics_path.read_text()).get("trained_from") or {}
    if Path(trained.get("run", "")).name != args.run.name or "plan" not in trained:
        raise SystemExit(f"{args.out} was not shipped by {args.run} ({trained.get('run')}): start a new --run")
    check_resume(trained["plan"], args, given)
    log_path = args.out / "training_log.json"
    entries = json.loads(log_path.read_text())["entries"] if log_path.exists() else []
    losses: list[float] = []
    for e in entries:
        losses += [float(e["loss"])] * (int(e["step"]) - len(losses))
    step = int(trained["step"])
    losses = (losses + [losses[-1] if losses else float("nan")] * step)[:step]
    return {
        "plan": trained["plan"],
        "step": step,
        "wall": float(trained.get("train_minutes", 0.0)) * 60,
        "losses": losses,
    }


def load_features(args: argparse.Namespace, tok: Any, train: list[qa_data.Example]) -> Features:
    """The run's windows: built once and kept in ``features.npz`` (keyed by the plan)."""
    key = hashlib.sha256(json.dumps(plan_of(args), sort_keys=True).encode()).hexdigest()[:16]
    path = args.run / f"features-{key}.npz"
    if path.exists():
        return Features.load(path)
    t0 = time.time()
    feats = featurize(train, tok, args.max_length, args.stride, args.neg_keep, random.Random(args.seed))
    feats.save(path)
    print(
        f"{len(train)} training questions -> {feats.count} windows "
        f"({int((feats.starts == 0).sum())} without answer), {time.time() - t0:.0f} s",
        flush=True,
    )
    return feats


def build(args: argparse.Namespace, weights_dir: Path | None = None) -> Any:
    """The model to train: the plan's ``--init-from`` weights, or those in ``weights_dir``."""
    from transformers import BertForQuestionAnswering

    from core import e5

    if weights_dir is not None:
        weights = weights_dir / "layers.safetensors"
    else:
        weights = None if args.init_from == "base" else REPO_ROOT / args.init_from / "layers.safetensors"
    model = e5.build_model(BertForQuestionAnswering, weights=weights, config_overrides={"num_labels": 2})
    for layer in model.bert.encoder.layer[: args.freeze_layers]:
        layer.requires_grad_(False)
    model.bert.embeddings.requires_grad_(False)
    return model


def load_trained(model: Any, state: dict[str, torch.Tensor]) -> None:
    """Load a checkpoint's weights: everything but the shared word embeddings must be there."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if "word_embeddings" not in k]
    if missing or unexpected:
        raise SystemExit(f"checkpoint does not fit the model: missing {missing[:4]}, unexpected {unexpected[:4]}")


def _save_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(args: argparse.Namespace, given: set[str]) -> None:
    from core import e5

    ckpt = args.run / "checkpoint.pt"
    state = None
    if ckpt.exists():
        if not args.resume:
            raise SystemExit(f"{args.run} already holds a run: pass --resume to continue it, or choose a new --run")
        state = torch.load(ckpt, weights_only=False)
        if state.get("version") != CKPT_VERSION:
            raise SystemExit(f"{ckpt} is from an older training script: start a new --run")
        check_resume(state["plan"], args, given)
        for k in PLAN_ARGS:  # the run's own arguments, whatever the defaults are now
            setattr(args, k, state["plan"][k])
    recovered = None
    if state is None and args.recover:
        recovered = recovered_state(args, given)
        for k in PLAN_ARGS:
            setattr(args, k, recovered["plan"][k])
    args.run.mkdir(parents=True, exist_ok=True)
    tok = e5.tokenizer()
    train_exs, _ = training_examples(args)
    feats = load_features(args, tok, train_exs)
    fingerprint = feats.fingerprint()
    if state is not None and state["features"] != fingerprint:
        raise SystemExit(f"the windows of {args.run} changed since it started: start a new --run")

    torch.manual_seed(args.seed)
    model = build(args, args.out if recovered else None)
    model.train()
    params = [p_ for p_ in model.parameters() if p_.requires_grad]
    names = [n for n, p_ in model.named_parameters() if p_.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    per_epoch = math.ceil(feats.count / args.batch)
    total = int(per_epoch * args.epochs)
    warm = max(1, int(args.warmup * total))
    rewarm_at = (state or {}).get("recovered_at", recovered["step"] if recovered else -1)

    def lr_factor(s: int) -> float:
        f = min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
        return f * min(1.0, (s - rewarm_at + 1) / RECOVER_WARM) if rewarm_at >= 0 else f

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    ema = [p_.detach().clone() for p_ in params]
    step, wall_before, losses = 0, 0.0, []
    if state is not None:
        load_trained(model, state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        ema = [state["ema"][n] for n in names]
        step, wall_before, losses = state["step"], state["wall"], state["losses"]
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed {args.run} at step {step}/{total} ({wall_before / 60:.0f} min trained)", flush=True)
    elif recovered is not None:  # build() loaded the weights the run shipped to --out
        step, wall_before, losses = recovered["step"], recovered["wall"], recovered["losses"]
        sched.last_epoch = step - 1
        with warnings.catch_warnings():  # no optimiser step yet: that is the point
            warnings.simplefilter("ignore", UserWarning)
            sched.step()  # the schedule's learning rate at this step
        print(
            f"recovered {args.run} at step {step}/{total} from {args.out} ({wall_before / 60:.0f} min trained; "
            f"fresh optimiser moments, re-warmed over {RECOVER_WARM} steps)",
            flush=True,
        )
    plan: list[list[int]] = []
    for ep in range(math.ceil(args.epochs)):
        plan += batches(feats, args.batch, random.Random(args.seed * 1000 + ep))
    plan = plan[:total]

    t_start = time.time()
    last_ckpt = t_start
    recent = (t_start, step)  # rate over the last 20 steps (threads and load change)
    stop = {"signal": 0}

    def on_signal(signum: int, _frame: Any) -> None:
        stop["signal"] = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def checkpoint() -> None:
        trainable = {k: v for k, v in model.state_dict().items() if "word_embeddings" not in k}
        _save_atomic(
            {
                "version": CKPT_VERSION,
                "model": trainable,
                "ema": dict(zip(names, ema)),
                "opt": opt.state_dict(),
                "sched": sched.state_dict(),
                "step": step,
                "total": total,
                "wall": wall_before + time.time() - t_start,
                "losses": losses,
                "torch_rng": torch.get_rng_state(),
                "plan": plan_of(args),
                "features": fingerprint,
                "windows": feats.count,
                "recovered_at": rewarm_at,
            },
            ckpt,
        )

    pad = tok.pad_token_id
    while step < total:
        ids, mask, s, e = collate(feats, plan[step], pad)
        out = model(input_ids=ids, attention_mask=mask, start_positions=s, end_positions=e)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            torch._foreach_mul_(ema, args.ema)
            torch._foreach_add_(ema, [p_.detach() for p_ in params], alpha=1 - args.ema)
        losses.append(float(out.loss.detach()))
        step += 1
        now = time.time()
        if step % 20 == 0 or step == total:
            _follow_threads(args.run)
            sps = (now - recent[0]) / max(1, step - recent[1])  # seconds per step lately
            recent = (now, step)
            print(
                f"step {step}/{total} loss {np.nanmean(losses[-100:]):.3f} lr {sched.get_last_lr()[0]:.2e} "
                f"{args.batch / sps:.2f} windows/s ETA {(total - step) * sps / 60:.0f} min "
                f"({(wall_before + now - t_start) / 60:.0f} min trained)",
                flush=True,
            )
        ran_out = args.max_minutes and now - t_start >= args.max_minutes * 60
        at_max = args.max_steps and step >= args.max_steps
        if now - last_ckpt >= args.ckpt_minutes * 60 or step == total or ran_out or at_max or stop["signal"]:
            checkpoint()
            last_ckpt = now
            print(f"checkpoint at step {step}/{total}", flush=True)
        if ran_out or at_max or stop["signal"]:
            print(f"stopped at step {step}/{total}: continue with --run {args.run} --resume", flush=True)
            return
    print(f"finished: {total} steps; next: --run {args.run} --ship", flush=True)


def _follow_threads(run: Path) -> None:
    """Use the thread count written in ``run/threads``, if any (``echo 1 > runs/NAME/threads``
    while other work needs a core: two threads on one free core spin and run 2-4x slower)."""
    try:
        n = int((run / "threads").read_text())
    except (OSError, ValueError):
        return
    if n >= 1 and n != torch.get_num_threads():
        torch.set_num_threads(n)
        print(f"threads: {n}", flush=True)


def loss_log(losses: list[float], every: int = 20, window: int = 100) -> list[dict]:
    """The training loss as the run prints it: every ``every`` steps, the mean of the last ``window``."""
    out = []
    for s in range(every, len(losses) + 1, every):
        part = np.asarray(losses[max(0, s - window) : s], dtype=float)
        if np.isfinite(part).any():  # a recovered run may not know its earliest losses
            out.append({"step": s, "loss": round(float(np.nanmean(part)), 4)})
    return out


def write_loss_log(out: Path, losses: list[float], step: int, total: int) -> None:
    """``training_log.json`` beside the shipped weights (``core.model_history`` draws it)."""
    note = f"the run's training loss every 20 steps (mean of the last 100), up to step {step} of {total}"
    log = {"x": "step", "note": note, "entries": loss_log(losses)}
    (out / "training_log.json").write_text(json.dumps(log, indent=1), encoding="utf-8")


def ship(args: argparse.Namespace) -> None:
    """Score the run's weights and their moving average on validation; export the better one
    to ``--out`` if it beats the shipped model (:func:`training.qa_eval.better`)."""
    from core import e5

    ckpt = args.run / "checkpoint.pt"
    if not ckpt.exists():
        raise SystemExit(f"no checkpoint in {args.run}")
    state = torch.load(ckpt, weights_only=False)
    for k in PLAN_ARGS:
        setattr(args, k, state["plan"][k])
    tok = e5.tokenizer()
    _, validation = training_examples(args)
    val = qa_eval.validation_sample(validation)
    old = qa_eval.shipped_validation(args.out, tok, val) if (args.out / "layers.safetensors").exists() else None
    model = build(args)
    names = [n for n, p_ in model.named_parameters() if p_.requires_grad]
    load_trained(model, state["model"])
    candidates = {}
    for variant in ("weights", "ema"):
        if variant == "ema":
            with torch.no_grad():
                for n, p_ in model.named_parameters():
                    if n in state["ema"]:
                        p_.copy_(state["ema"][n])
        t0 = time.time()
        ev = qa_eval.evaluate(model, tok, val)
        candidates[variant] = ev
        print(
            f"{variant} at step {state['step']}: {qa_eval._brief(ev['scores'])} ({time.time() - t0:.0f} s)", flush=True
        )
    best = max(candidates, key=lambda v: candidates[v]["scores"]["en"]["f1"] + candidates[v]["scores"]["zh"]["f1"])
    ev = candidates[best]
    if old is not None and not qa_eval.better(ev["scores"], old):
        print(f"not shipped: {best} {qa_eval._brief(ev['scores'])} vs shipped {qa_eval._brief(old)}", flush=True)
        return
    if best == "weights":
        load_trained(model, state["model"])
    previous = json.loads((args.out / "metrics.json").read_text()) if (args.out / "metrics.json").exists() else {}
    history = previous.get("history", [])
    if previous:
        history.append({k: previous.get(k) for k in ("trained_from", "validation", "report") if k in previous})
    metrics = {
        "validation": ev["scores"],
        "validation_sample": qa_eval.sample_id(val),
        "validation_pred_chars": {
            lang: float(np.mean([r["len"] for r in ev["rows"] if r["lang"] == lang])) for lang in ("en", "zh")
        },
        "no_answer": qa_eval.calibrate_threshold(ev["rows"]),
        "inference_window": qa_eval.INFER_WINDOW,
        "trained_from": {
            "run": str(args.run),
            "variant": best,
            "step": state["step"],
            "total_steps": state["total"],
            "windows_seen": state["step"] * args.batch,
            "run_windows": state["windows"],
            "train_minutes": round(state["wall"] / 60, 1),
            "final_loss": float(np.nanmean(state["losses"][-200:])),
            "plan": state["plan"],
        },
        "trained": names,
        "history": history,
    }
    qa_eval.write_export(args.out, model, metrics)
    write_loss_log(args.out, state["losses"], state["step"], state["total"])
    print(f"shipped {best} to {args.out}: {qa_eval._brief(ev['scores'])} (was {old and qa_eval._brief(old)})")


def main(argv: list[str] | None = None) -> None:
    p = parser()
    args = p.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    given = {  # the arguments given on this command line (a resume must not change the run's)
        a.dest for a in p._actions for o in a.option_strings for tok in argv if tok == o or tok.startswith(o + "=")
    }
    torch.set_num_threads(args.threads)
    args.data_hash = data_hash(args.data)
    if args.report:
        from core import e5

        served = REPO_ROOT / "models" / "qa-e5" if args.served else None
        qa_eval.report(args.out, e5.tokenizer(), args.data, args.squad_dev_limit, tuple(args.report_sets), served)
    elif args.ship:
        ship(args)
    else:
        train(args, given)


if __name__ == "__main__":
    main()
