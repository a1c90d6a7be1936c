"""Train the bundled English sentiment model: MiniLM with its top layers fine-tuned.

Data: ``../shared/data/rt-polarity`` (``rt-polarity.pos`` / ``.neg``, Latin-1, one
snippet a line). A fixed-seed random split: 10 % test (held out, reported only), 5 %
validation (picks the best epoch), the rest trains.

Default (``--mode full``): the top ``n_top`` MiniLM layers are fine-tuned end to end,
with only the biases and LayerNorms of the layers below (BitFit); mean pooling and a
linear classifier sit on top. ``--stages`` (default ``shipped``) runs one-epoch stages,
each continuing the previous one with lower learning rates: the exact recipe of the
shipped model, in one command. ``--mode cached`` is an older, cheaper variant (frozen
bottom layers computed once). The result is saved as ``models/sentiment-en/head.safetensors``
(see ``core/classify/models.py``), and the test accuracy is measured once, at the end,
after reloading that file through the app's builder.

    python -m training.sentiment_en [--data ../shared/data/rt-polarity] [--out models/sentiment-en]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from core.classify.models import MiniLMSentiment, english_from_files, load_encoder, mean_pool, save_english
from core.registry import REPO_ROOT


def length_buckets(indices: list[int], lengths: list[int], batch: int, seed: int) -> list[list[int]]:
    """Batches of similar length (little padding), in a shuffled order fixed by ``seed``."""
    rng = random.Random(seed)
    pool = sorted(indices, key=lambda i: (lengths[i], rng.random()))
    batches = [pool[k : k + batch] for k in range(0, len(pool), batch)]
    rng.shuffle(batches)
    return batches


def load_data(folder: Path) -> tuple[list[str], list[int]]:
    texts: list[str] = []
    labels: list[int] = []
    for name, label in (("rt-polarity.neg", 0), ("rt-polarity.pos", 1)):
        for line in (folder / name).read_bytes().decode("latin-1").splitlines():
            if line.strip():
                texts.append(line.strip())
                labels.append(label)
    return texts, labels


def split(n: int, seed: int) -> tuple[list[int], list[int], list[int]]:
    """Fixed-seed split of ``range(n)`` into train / validation (5 %) / test (10 %)."""
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    n_test, n_val = n // 10, n // 20
    return idx[n_test + n_val :], idx[n_test : n_test + n_val], idx[:n_test]


def length_batches(lengths: list[int], order: list[int], size: int) -> list[list[int]]:
    chunk = sorted(order, key=lambda i: lengths[i])
    return [chunk[k : k + size] for k in range(0, len(chunk), size)]


def pad(cache: list[torch.Tensor], idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Cached hidden states of ``idx`` padded -> hidden [B, T, H], mask [B, T]."""
    m = max(cache[i].shape[0] for i in idx)
    h = torch.zeros(len(idx), m, cache[idx[0]].shape[1])
    a = torch.zeros(len(idx), m, dtype=torch.long)
    for r, i in enumerate(idx):
        h[r, : cache[i].shape[0]] = cache[i]
        a[r, : cache[i].shape[0]] = 1
    return h, a


def write_log(folder: Path, entries: list[dict], note: str = "") -> None:
    """``training_log.json`` next to the outputs: one entry per epoch (``core.model_history`` draws it)."""
    log = {"x": "epoch", "note": note, "entries": entries}
    (folder / "training_log.json").write_text(json.dumps(log, indent=1), encoding="utf-8")


def top_forward(model: MiniLMSentiment, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Logits [B, 2] from cached layer outputs ``hidden`` [B, T, 384] through the top layers."""
    from transformers.masking_utils import create_bidirectional_mask

    ext = create_bidirectional_mask(config=model.bert.config, inputs_embeds=hidden, attention_mask=mask)
    n = model.bert.config.num_hidden_layers
    for layer in model.bert.encoder.layer[n - model.n_top :]:
        hidden = layer(hidden, ext)
    return model.classifier(model.dropout(mean_pool(hidden, mask)))


@torch.inference_mode()
def accuracy(model, cache, lengths, labels, order) -> float:
    model.eval()
    ok = 0
    for b in length_batches(lengths, order, 128):
        h, a = pad(cache, b)
        ok += int((top_forward(model, h, a).argmax(-1) == torch.tensor([labels[i] for i in b])).sum())
    return ok / len(order)


@torch.inference_mode()
def accuracy_full(model, tok, texts, labels, order) -> float:
    """Accuracy of the full model (tokens in, logits out), as the app runs it."""
    model.eval()
    ok = 0
    lengths = [len(t) for t in texts]
    for b in length_batches(lengths, order, 128):
        enc = tok([texts[i] for i in b], padding=True, truncation=True, max_length=256, return_tensors="pt")
        pred = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits.argmax(-1)
        ok += int((pred == torch.tensor([labels[i] for i in b])).sum())
    return ok / len(order)


def train_full(args, texts, labels, tr, va, te, t_start) -> None:
    """End-to-end fine-tuning: tokens in, every layer in the graph. Trains the top
    ``n_top`` layers fully and, below them, only biases and LayerNorms (BitFit); the word,
    position and type embeddings stay frozen, so the shipped file stays small."""
    bert, tok = load_encoder()
    model = MiniLMSentiment(bert, args.n_top)
    if args.init_from:
        start, _ = english_from_files(args.init_from)
        model.load_state_dict(start.trainable_state(), strict=False)
        print(f"continuing from {args.init_from}", flush=True)
    for prm in model.parameters():
        prm.requires_grad = False
    shipped = set(model.trainable_state())
    named = dict(model.named_parameters())
    top = [named[k] for k in shipped if k in named and k.startswith(model.top_layer_prefixes())]
    small = [
        named[k]
        for k in shipped
        if k in named and not k.startswith(model.top_layer_prefixes()) and not k.startswith("classifier.")
    ]
    head = list(model.classifier.parameters())
    for prm in top + small + head:
        prm.requires_grad = True
    print(
        f"trainable: top layers {sum(p.numel() for p in top) / 1e6:.2f} M, biases/LayerNorms "
        f"{sum(p.numel() for p in small) / 1e3:.1f} k, head {sum(p.numel() for p in head)}",
        flush=True,
    )
    opt = torch.optim.AdamW(
        [{"params": top + small, "lr": args.lr}, {"params": head, "lr": args.head_lr}], weight_decay=0.01
    )
    enc = tok(texts, truncation=True, max_length=128)["input_ids"]
    lengths = [len(x) for x in enc]
    steps_per_epoch = math.ceil(len(tr) / args.batch)
    total = steps_per_epoch * args.epochs
    warm = max(1, int(0.1 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / (total - warm)))
    )
    loss_fn = torch.nn.CrossEntropyLoss()

    def tensors(b):
        m = max(lengths[i] for i in b)
        ids = torch.zeros(len(b), m, dtype=torch.long)
        att = torch.zeros(len(b), m, dtype=torch.long)
        for r, i in enumerate(b):
            ids[r, : lengths[i]] = torch.tensor(enc[i])
            att[r, : lengths[i]] = 1
        return ids, att

    best = -1.0
    log: list[dict] = []
    for epoch in range(args.epochs):
        model.train()
        bl = length_buckets(tr, lengths, args.batch, args.seed + epoch)
        t_ep = time.time()
        run = 0.0
        for k, b in enumerate(bl):
            ids, att = tensors(b)
            loss = loss_fn(model(input_ids=ids, attention_mask=att).logits, torch.tensor([labels[i] for i in b]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(top + small, 1.0)
            opt.step()
            sched.step()
            run += float(loss.detach())
            if k % 25 == 0:
                print(
                    f"epoch {epoch} step {k}/{len(bl)} loss {run / (k + 1):.4f} {time.time() - t_ep:.0f}s", flush=True
                )
        val = accuracy_full(model, tok, texts, labels, va)
        print(f"epoch {epoch}: val acc {val:.4f} ({time.time() - t_ep:.0f}s)", flush=True)
        log.append(
            {
                "epoch": epoch + 1,
                "train_loss": round(run / max(1, len(bl)), 4),
                "val_accuracy": round(val, 4),
                "seconds": round(time.time() - t_ep),
            }
        )
        args.out.mkdir(parents=True, exist_ok=True)
        write_log(args.out, log)
        if val > best:
            best = val
            save_english(model, args.out, {"seed": args.seed, "epoch": epoch, "mode": "full"})
            (args.out / "metrics.json").write_text(
                json.dumps(
                    {
                        "val_accuracy": round(val, 4),
                        "epoch": epoch,
                        "train_seconds_so_far": round(time.time() - t_start),
                    }
                )
            )
    train_s = time.time() - t_start
    test_acc = None
    if not args.skip_test:
        reloaded, tok2 = english_from_files(args.out)
        test_acc = round(accuracy_full(reloaded, tok2, texts, labels, te), 4)
    path = args.out / "head.safetensors"
    print(
        f"best val {best:.4f}; TEST acc (reloaded) {test_acc}; train {train_s:.0f}s; "
        f"{path.stat().st_size / 1e6:.1f} MB",
        flush=True,
    )
    metrics = {
        "test_accuracy": test_acc,
        "val_accuracy": round(best, 4),
        "n_train": len(tr),
        "n_val": len(va),
        "n_test": len(te),
        "seed": args.seed,
        "n_top": args.n_top,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "train_seconds_total": round(train_s),
        "threads": args.threads,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    print(json.dumps(metrics), flush=True)


SHIPPED_STAGES = "5e-5:1e-3,2e-5:2e-4,1e-5:1e-4"


def run_stages(args, argv: list[str]) -> None:
    """Run one-epoch stages, each a fresh ``main`` (same seed) continuing from the one
    before with its own learning rates; the last writes ``args.out``. This is exactly the
    sequence of commands in the model card, in one process."""
    import tempfile

    stages = [tuple(s.split(":")) for s in (SHIPPED_STAGES if args.stages == "shipped" else args.stages).split(",")]
    common = _without(argv, ("--stages", "--out", "--init-from", "--epochs", "--lr", "--head-lr"))
    t0 = time.time()
    record = []
    log: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        prev = args.init_from
        for k, (lr, head_lr) in enumerate(stages):
            last = k == len(stages) - 1
            out = args.out if last else Path(tmp) / f"stage{k + 1}"
            stage_argv = ["--out", str(out), "--epochs", "1", "--lr", lr, "--head-lr", head_lr]
            if prev:
                stage_argv += ["--init-from", str(prev)]
            print(f"== stage {k + 1}/{len(stages)}: {' '.join(stage_argv)}", flush=True)
            ts = time.time()
            main(common + stage_argv + ["--stages", ""] + ([] if last else ["--skip-test"]))
            val = json.loads((out / "metrics.json").read_text())["val_accuracy"]
            record.append(
                {"lr": float(lr), "head_lr": float(head_lr), "val_accuracy": val, "seconds": round(time.time() - ts)}
            )
            stage_log = json.loads((out / "training_log.json").read_text())["entries"]
            for e in stage_log:
                log.append(e | {"epoch": len(log) + 1, "stage": k + 1, "lr": float(lr), "head_lr": float(head_lr)})
            prev = out
    metrics = json.loads((args.out / "metrics.json").read_text())
    metrics.update(
        {
            "stages": record,
            "train_seconds_total": round(time.time() - t0),
            "command": "python -m training.sentiment_en " + " ".join(argv),
        }
    )
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    write_log(args.out, log, "one-epoch stages, each continuing the previous one with its own learning rates")
    print(f"all stages: {time.time() - t0:.0f}s", flush=True)


def _without(argv: list[str], options: tuple[str, ...]) -> list[str]:
    """``argv`` minus the given options and their values (``--opt v`` or ``--opt=v``)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in options:
            skip = True
        elif not a.startswith(tuple(o + "=" for o in options)):
            out.append(a)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "rt-polarity")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "models" / "sentiment-en")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument(
        "--mode",
        choices=["full", "cached"],
        default="full",
        help="full: end-to-end (top layers + BitFit below); cached: frozen bottom, cached outputs",
    )
    p.add_argument("--n-top", type=int, default=4, help="top MiniLM layers to fine-tune")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--head-lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--init-from", type=Path, default=None, help="continue from a saved head (folder)")
    p.add_argument("--eval-only", action="store_true", help="only measure the saved model on the test split")
    p.add_argument("--skip-test", action="store_true", help="do not measure the test split (intermediate stages)")
    p.add_argument(
        "--stages",
        default="shipped",
        help="one-epoch stages LR:HEAD_LR,... each continuing the previous one; "
        f"'shipped' = {SHIPPED_STAGES} (the recipe of models/sentiment-en)",
    )
    argv = sys.argv[1:] if argv is None else argv
    args = p.parse_args(argv)
    if args.stages:
        return run_stages(args, argv)

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    t_start = time.time()

    texts, labels = load_data(args.data)
    tr, va, te = split(len(texts), args.seed)
    print(f"{len(texts)} snippets: train {len(tr)}, val {len(va)}, test {len(te)}", flush=True)

    if args.eval_only:
        reloaded, tok2 = english_from_files(args.out)
        print(f"TEST acc (saved model) {accuracy_full(reloaded, tok2, texts, labels, te):.4f}", flush=True)
        return

    if args.mode == "full":
        return train_full(args, texts, labels, tr, va, te, t_start)

    bert, tok = load_encoder()
    model = MiniLMSentiment(bert, args.n_top)
    n_layers = bert.config.num_hidden_layers
    first = n_layers - args.n_top

    # Cache the output of the frozen bottom layers once: one tensor [T_i, 384] per snippet.
    t0 = time.time()
    enc = tok(texts, truncation=True, max_length=128)["input_ids"]
    lengths = [len(x) for x in enc]
    cache: list[torch.Tensor] = [None] * len(texts)  # type: ignore[list-item]
    full_layers = bert.encoder.layer
    bert.encoder.layer = full_layers[:first]
    bert.eval()
    with torch.inference_mode():
        for b in length_batches(lengths, list(range(len(texts))), 128):
            m = max(lengths[i] for i in b)
            ids = torch.zeros(len(b), m, dtype=torch.long)
            att = torch.zeros(len(b), m, dtype=torch.long)
            for r, i in enumerate(b):
                ids[r, : lengths[i]] = torch.tensor(enc[i])
                att[r, : lengths[i]] = 1
            hidden = bert(input_ids=ids, attention_mask=att).last_hidden_state
            for r, i in enumerate(b):
                cache[i] = hidden[r, : lengths[i]].clone()
    bert.encoder.layer = full_layers
    print(f"cached layer-{first} outputs of {len(texts)} snippets in {time.time() - t0:.0f}s", flush=True)

    for prm in model.parameters():
        prm.requires_grad = False
    top_params = [prm for layer in bert.encoder.layer[first:] for prm in layer.parameters()]
    for prm in top_params + list(model.classifier.parameters()):
        prm.requires_grad = True
    opt = torch.optim.AdamW(
        [
            {"params": top_params, "lr": args.lr},
            {"params": list(model.classifier.parameters()), "lr": args.head_lr},
        ],
        weight_decay=0.01,
    )
    steps_per_epoch = math.ceil(len(tr) / args.batch)
    total = steps_per_epoch * args.epochs
    warm = max(1, int(0.1 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / (total - warm)))
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    best = (-1.0, -1)
    best_state = None
    log: list[dict] = []
    for epoch in range(args.epochs):
        model.train()
        bl = length_buckets(tr, lengths, args.batch, args.seed + epoch)
        t_ep = time.time()
        run = 0.0
        for k, b in enumerate(bl):
            h, a = pad(cache, b)
            loss = loss_fn(top_forward(model, h, a), torch.tensor([labels[i] for i in b]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(top_params, 1.0)
            opt.step()
            sched.step()
            run += float(loss.detach())
            if k % 50 == 0:
                print(
                    f"epoch {epoch} step {k}/{len(bl)} loss {run / (k + 1):.4f} {time.time() - t_ep:.0f}s", flush=True
                )
        val = accuracy(model, cache, lengths, labels, va)
        print(f"epoch {epoch}: val acc {val:.4f} ({time.time() - t_ep:.0f}s)", flush=True)
        log.append(
            {
                "epoch": epoch + 1,
                "train_loss": round(run / max(1, len(bl)), 4),
                "val_accuracy": round(val, 4),
                "seconds": round(time.time() - t_ep),
            }
        )
        args.out.mkdir(parents=True, exist_ok=True)
        write_log(args.out, log)
        if val > best[0]:
            best = (val, epoch)
            best_state = {k: v.detach().clone() for k, v in model.trainable_state().items()}
            save_english(model, args.out, {"seed": args.seed, "epoch": epoch})  # usable even if stopped later
    model.load_state_dict(best_state, strict=False)
    train_s = time.time() - t_start
    path = save_english(model, args.out, {"seed": args.seed})

    # Reload through the app's code path (fp16-stored top layers) and measure on the test split.
    reloaded, tok2 = english_from_files(args.out)
    test_acc = accuracy_full(reloaded, tok2, texts, labels, te)
    print(
        f"best epoch {best[1]} (val {best[0]:.4f}); TEST acc (reloaded) {test_acc:.4f}; "
        f"train {train_s:.0f}s; {path.stat().st_size / 1e6:.1f} MB",
        flush=True,
    )
    metrics = {
        "test_accuracy": round(test_acc, 4),
        "val_accuracy": round(best[0], 4),
        "best_epoch": best[1],
        "n_train": len(tr),
        "n_val": len(va),
        "n_test": len(te),
        "seed": args.seed,
        "n_top": args.n_top,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "train_seconds_total": round(train_s),
        "eval_seconds": round(time.time() - t_start - train_s),
        "threads": args.threads,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    print(json.dumps(metrics), flush=True)


if __name__ == "__main__":
    main()
