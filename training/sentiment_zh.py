"""Train the bundled Chinese sentiment model: a small character-level BERT, from scratch.

Data: ``../shared/data/chn-sentiment`` (``pos.txt.gz`` / ``neg.txt.gz``, one review a line,
UTF-8). A fixed-seed random split of the lines: 10 % test (held out, reported only),
5 % validation (picks the best epoch), the rest trains. The corpus repeats many reviews
(about half of the lines are copies), so a random split puts copies of some training
reviews into the test split, as in the published reference points; the accuracy on the
test reviews that never occur in the training split ("unseen") is reported too, and
``--dedupe`` trains and tests on one copy of each review instead.

The model is ``core.classify.models.CharBigramBertForSequenceClassification``: a
transformers BERT (3 layers x 4 heads, hidden 128, 128 positions) over characters (a
vocabulary of the most frequent characters of the training split), whose input embedding
of each character adds an embedding of the character bigram starting there (the most
frequent ``--bigrams`` bigrams of the training split). It is saved with
``save_pretrained`` (safetensors) together with a ``BertTokenizerFast``; the registry
builder ``core.classify.models:build_chinese`` loads it.

A character 1-3-gram TF-IDF + logistic-regression baseline is trained and evaluated on
the same split, and both accuracies are written to ``metrics.json`` beside the model.

    python -m training.sentiment_zh [--data ../shared/data/chn-sentiment] [--out models/sentiment-zh]
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch

from core.registry import REPO_ROOT

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LABELS = {0: "negative", 1: "positive"}


def load_data(folder: Path, dedupe: bool = False) -> tuple[list[str], list[int]]:
    """(text, label) pairs, label 1 = positive, 0 = negative, in file order.

    The corpus repeats many reviews; ``dedupe`` keeps one copy of each (and drops reviews
    that occur with both labels)."""
    pairs: list[tuple[str, int]] = []
    for name, label in (("neg.txt.gz", 0), ("pos.txt.gz", 1)):
        with gzip.open(folder / name, "rt", encoding="utf-8", errors="replace") as f:
            pairs += [(line.strip(), label) for line in f if line.strip()]
    if dedupe:
        by_text: dict[str, set[int]] = collections.defaultdict(set)
        for t, y in pairs:
            by_text[t].add(y)
        pairs = sorted((t, next(iter(ls))) for t, ls in by_text.items() if len(ls) == 1)
    return [t for t, _ in pairs], [y for _, y in pairs]


def split(n: int, seed: int) -> tuple[list[int], list[int], list[int]]:
    """Fixed-seed split of ``range(n)`` into train / validation (5 %) / test (10 %)."""
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    n_test, n_val = n // 10, n // 20
    return idx[n_test + n_val :], idx[n_test : n_test + n_val], idx[:n_test]


def build_vocab(texts: list[str], size: int) -> list[str]:
    """Specials + the most frequent characters (lower-cased) + '##' forms of ASCII letters/digits."""
    counts = collections.Counter(ch for t in texts for ch in t.lower() if not ch.isspace())
    chars = [c for c, k in counts.most_common() if k >= 2][:size]
    ascii_cont = ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    seen = set(SPECIALS)
    vocab = list(SPECIALS)
    for c in chars + ascii_cont:
        if c not in seen:
            seen.add(c)
            vocab.append(c)
    return vocab


def make_tokenizer(vocab: list[str], folder: Path, max_len: int):
    from transformers import BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(
        vocab=str(folder / "vocab.txt"),
        do_lower_case=True,
        tokenize_chinese_chars=True,
        model_max_length=max_len,
    )
    return tok


def baseline_tfidf(train_x, train_y, test_x, test_y):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True, max_features=200_000)
    xtr = vec.fit_transform(train_x)
    clf = LogisticRegression(C=4.0, max_iter=2000)
    clf.fit(xtr, train_y)
    return clf.predict(vec.transform(test_x)) == np.array(test_y)  # per test item: correct?


def bigram_keys(enc: list[list[int]], order: list[int], vocab_size: int, top: int) -> torch.Tensor:
    """Keys ``a * vocab_size + b`` of the ``top`` most frequent character bigrams (seen at
    least twice) in the training reviews ``order`` ([CLS]/[SEP] excluded) -> [n_bigrams]."""
    counts: collections.Counter = collections.Counter()
    for i in order:
        ids = enc[i][1:-1]
        counts.update(zip(ids[:-1], ids[1:]))
    keys = [a * vocab_size + b for (a, b), k in counts.most_common(top) if k >= 2]
    return torch.tensor(keys, dtype=torch.long)


def polarity_init(model, tok, train_x, train_y, dims: int, scale: float = 0.5) -> None:
    """Start the character embeddings off with what a linear model learns from the same
    training split: the logistic-regression weight of each character (present / absent)
    is written into the first ``dims`` embedding dimensions (scaled to std ``scale``)."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vocab = tok.get_vocab()
    vec = CountVectorizer(analyzer="char", lowercase=True, binary=True, vocabulary=[c for c in vocab if len(c) == 1])
    clf = LogisticRegression(C=1.0, max_iter=1000).fit(vec.transform(train_x), train_y)
    coef = torch.tensor(clf.coef_[0], dtype=torch.float32)
    coef = coef / coef.std().clamp(min=1e-6) * scale
    emb = model.bert.embeddings.word_embeddings.weight
    with torch.no_grad():
        for ch, j in vec.vocabulary_.items():
            emb[vocab[ch], :dims] = coef[j]


def batches(ids: list[list[int]], labels: list[int], order: list[int], batch_tokens: int):
    """Length-bucketed batches of about ``batch_tokens`` padded tokens each."""
    chunk = sorted(order, key=lambda i: len(ids[i]))
    out, cur, cur_max = [], [], 0
    for i in chunk:
        m = max(cur_max, len(ids[i]))
        if cur and m * (len(cur) + 1) > batch_tokens:
            out.append(cur)
            cur, m = [], len(ids[i])
        cur.append(i)
        cur_max = m
    if cur:
        out.append(cur)
    return out


def collate(ids, labels, idx):
    m = max(len(ids[i]) for i in idx)
    x = torch.zeros(len(idx), m, dtype=torch.long)
    a = torch.zeros(len(idx), m, dtype=torch.long)
    for r, i in enumerate(idx):
        x[r, : len(ids[i])] = torch.tensor(ids[i])
        a[r, : len(ids[i])] = 1
    return x, a, torch.tensor([labels[i] for i in idx])


@torch.inference_mode()
def evaluate(model, ids, labels, order, batch_tokens=8192) -> np.ndarray:
    """Per item of ``order`` (in that order): was the prediction correct?"""
    model.eval()
    ok: dict[int, bool] = {}
    for b in batches(ids, labels, order, batch_tokens):
        x, a, y = collate(ids, labels, b)
        pred = model(input_ids=x, attention_mask=a).logits.argmax(-1)
        ok.update(zip(b, (pred == y).tolist()))
    return np.array([ok[i] for i in order])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "chn-sentiment")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "models" / "sentiment-zh")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument(
        "--max-len", type=int, default=128, help="positions of the model (tokens it reads, [CLS]/[SEP] included)"
    )
    p.add_argument("--train-len", type=int, default=128, help="tokens kept per review while training")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--ffn", type=int, default=256)
    p.add_argument("--vocab", type=int, default=5000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-tokens", type=int, default=4096)
    p.add_argument("--max-steps", type=int, default=0, help="stop early (timing runs)")
    p.add_argument("--dedupe", action="store_true", help="one copy of each review before splitting")
    p.add_argument("--keep-train-copies", action="store_true", help="train on repeated reviews as often as they occur")
    p.add_argument("--bigrams", type=int, default=20000, help="bigram embeddings (most frequent training bigrams)")
    p.add_argument("--polarity-scale", type=float, default=0.1)
    p.add_argument("--skip-test", action="store_true", help="do not measure the test split (exploration)")
    p.add_argument(
        "--polarity-init",
        type=int,
        default=8,
        metavar="DIMS",
        help="write per-character logistic-regression weights into DIMS embedding dimensions",
    )
    p.add_argument("--init-from", type=Path, default=None, help="continue from a saved model (folder)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    from transformers import BertConfig

    from core.classify.models import CharBigramBertForSequenceClassification as Model

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    t_start = time.time()

    texts, labels = load_data(args.data, args.dedupe)
    tr, va, te = split(len(texts), args.seed)
    print(f"{len(texts)} reviews: train {len(tr)}, val {len(va)}, test {len(te)}", flush=True)

    if not args.keep_train_copies:
        # Repeated reviews inside the training split only weight the same example several
        # times: keep one copy of each (the first), which halves the work per epoch.
        first: dict[str, int] = {}
        for i in tr:
            first.setdefault(texts[i], i)
        n_lines = len(tr)
        tr = sorted(first.values())
        print(f"training on {len(tr)} distinct reviews of the {n_lines} training lines", flush=True)
    train_texts = {texts[i] for i in tr}
    unseen = [k for k, i in enumerate(te) if texts[i] not in train_texts]
    t0 = time.time()
    both = baseline_tfidf(
        [texts[i] for i in tr], [labels[i] for i in tr], [texts[i] for i in va + te], [labels[i] for i in va + te]
    )
    base_val, base_ok = float(both[: len(va)].mean()), both[len(va) :]
    base_acc, base_unseen = float(base_ok.mean()), float(base_ok[unseen].mean())
    base_s = time.time() - t0
    print(
        f"baseline char 1-3-gram TF-IDF + LR: val acc {base_val:.4f} "
        f"({len(unseen)} of {len(te)} test reviews not in train) ({base_s:.0f}s)",
        flush=True,
    )

    vocab = build_vocab([texts[i] for i in tr], args.vocab)
    out = args.out
    tok = make_tokenizer(vocab, out, args.max_len)
    # Training sees the first train_len tokens; evaluation, like the app, the first max_len.
    enc_train = tok(texts, truncation=True, max_length=min(args.train_len, args.max_len))["input_ids"]
    enc_full = tok(texts, truncation=True, max_length=args.max_len)["input_ids"]
    unk = sum(x == tok.unk_token_id for i in tr for x in enc_train[i]) / sum(len(enc_train[i]) for i in tr)
    print(f"vocab {len(vocab)}, unknown-token rate on train {unk:.4f}", flush=True)

    keys = bigram_keys(enc_train, tr, len(vocab), args.bigrams) if args.bigrams else torch.zeros(0, dtype=torch.long)
    print(f"bigrams {len(keys)}", flush=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        intermediate_size=args.ffn,
        max_position_embeddings=args.max_len,
        type_vocab_size=2,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        id2label=dict(LABELS),
        label2id={v: k for k, v in LABELS.items()},
        pad_token_id=0,
        bigram_vocab_size=len(keys),
        architectures=["CharBigramBertForSequenceClassification"],
    )
    model = Model(config)
    model.set_bigrams(keys)
    if args.init_from:  # continue training a saved model (same split, same vocabulary)
        model = Model.from_pretrained(str(args.init_from))
        assert model.config.vocab_size == len(vocab), "the saved model has another vocabulary"
        print(f"continuing from {args.init_from}", flush=True)
    elif args.polarity_init:
        polarity_init(
            model, tok, [texts[i] for i in tr], [labels[i] for i in tr], args.polarity_init, args.polarity_scale
        )
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model parameters: {n_params / 1e6:.2f} M", flush=True)

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps_per_epoch = len(batches(enc_train, labels, tr, args.batch_tokens))
    total = steps_per_epoch * args.epochs
    warm = max(1, int(0.06 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm)))))
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    best = (-1.0, -1)
    step = 0
    best_state = None
    for epoch in range(args.epochs):
        model.train()
        bl = batches(enc_train, labels, tr, args.batch_tokens)
        random.shuffle(bl)
        t_ep = time.time()
        run_loss = 0.0
        for k, b in enumerate(bl):
            x, a, y = collate(enc_train, labels, b)
            loss = loss_fn(model(input_ids=x, attention_mask=a).logits, y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            run_loss += float(loss.detach())
            if k % 100 == 0:
                print(
                    f"epoch {epoch} step {k}/{len(bl)} loss {run_loss / (k + 1):.4f} {time.time() - t_ep:.0f}s",
                    flush=True,
                )
            if args.max_steps and step >= args.max_steps:
                break
        val = float(evaluate(model, enc_full, labels, va).mean())
        print(f"epoch {epoch}: val acc {val:.4f} ({time.time() - t_ep:.0f}s)", flush=True)
        if val > best[0]:
            best = (val, epoch)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            model.save_pretrained(out, safe_serialization=True)  # usable even if stopped later
            tok.save_pretrained(out)
        if args.max_steps and step >= args.max_steps:
            break
    model.load_state_dict(best_state)
    train_s = time.time() - t_start
    if args.skip_test:
        print(
            f"best epoch {best[1]} (val {best[0]:.4f}, baseline val {base_val:.4f}); total {train_s:.0f}s", flush=True
        )
        return
    test_ok = evaluate(model, enc_full, labels, te)
    test_acc, test_unseen = float(test_ok.mean()), float(test_ok[unseen].mean())
    print(
        f"best epoch {best[1]} (val {best[0]:.4f}); TEST acc {test_acc:.4f}, unseen {test_unseen:.4f}; "
        f"baseline TEST acc {base_acc:.4f}, unseen {base_unseen:.4f}; total {train_s:.0f}s",
        flush=True,
    )

    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    metrics = {
        "test_accuracy": round(test_acc, 4),
        "test_accuracy_unseen": round(test_unseen, 4),
        "val_accuracy": round(best[0], 4),
        "best_epoch": best[1],
        "baseline_tfidf_lr_test_accuracy": round(base_acc, 4),
        "baseline_tfidf_lr_val_accuracy": round(base_val, 4),
        "baseline_tfidf_lr_test_accuracy_unseen": round(base_unseen, 4),
        "n_test_unseen": len(unseen),
        "n_train_distinct": len(tr),
        "n_val": len(va),
        "n_test": len(te),
        "seed": args.seed,
        "parameters": n_params,
        "bigrams": len(keys),
        "vocab": len(vocab),
        "train_seconds_total": round(train_s),
        "threads": args.threads,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    print(json.dumps(metrics), flush=True)


if __name__ == "__main__":
    main()
