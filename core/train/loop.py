"""The training loop every live-training preset shares (runs inside the job's child process).

:func:`fit` trains ``model`` on tensors, writes points on the curves a few times per epoch,
refreshes the validation mistakes every epoch, stops within one batch when asked (Stop, the
wall-time cap) and raises :class:`Diverged` when the loss stops being a number. What it
reports goes through a :class:`Reporter` (in the child: messages to the parent over a queue).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from core.train import EpochPoint, TrainSpec

POINTS_PER_EPOCH = 4
MAX_MISTAKES = 16
EVAL_BATCH = 1000


BLOW_UP = 100.0  # a training loss this many times the first batch's: diverged


class Diverged(RuntimeError):
    """The training loss became NaN or infinite, or blew up past :data:`BLOW_UP` times the first."""


class Reporter(Protocol):
    def point(self, p: EpochPoint) -> None: ...
    def progress(self, done: float, eta_s: float | None) -> None: ...
    def mistakes(self, items: list[dict[str, Any]]) -> None: ...
    def should_stop(self) -> str | None: ...  # "stopped" / "timeout" / None


class NullReporter:
    """Reports nothing (the bare loop, for ``bench/train.py``); stops at ``deadline``."""

    def __init__(self, deadline: float | None = None) -> None:
        self.deadline = deadline
        self.points: list[EpochPoint] = []

    def point(self, p: EpochPoint) -> None:
        self.points.append(p)

    def progress(self, done: float, eta_s: float | None) -> None:
        pass

    def mistakes(self, items: list[dict[str, Any]]) -> None:
        pass

    def should_stop(self) -> str | None:
        return "timeout" if self.deadline is not None and time.monotonic() > self.deadline else None


@dataclass
class Data:
    """Training, validation and test tensors (``x`` any shape; ``y`` int64 class ids)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    labels: tuple[str, ...]
    # one validation example as the page shows it (digits: the image; text: the review)
    show: Callable[[int], dict[str, Any]] = field(default=lambda i: {})
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None


@dataclass
class Outcome:
    state: str  # done / stopped / timeout
    epochs_run: float
    train_seconds: float
    confusion: list[list[int]] | None = None
    test_accuracy: float | None = None
    val_accuracy: float | None = None


@torch.no_grad()
def predict_logits(model: torch.nn.Module, x: torch.Tensor, batch: int = EVAL_BATCH) -> torch.Tensor:
    model.eval()
    out = [model(x[i : i + batch]) for i in range(0, len(x), batch)]
    return torch.cat(out) if out else torch.zeros(0)


def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float, torch.Tensor]:
    """(loss, accuracy, logits) on a whole set."""
    logits = predict_logits(model, x)
    loss = float(F.cross_entropy(logits, y)) if len(y) else float("nan")
    acc = float((logits.argmax(1) == y).float().mean()) if len(y) else float("nan")
    return loss, acc, logits


def make_optimiser(spec: TrainSpec, params: Any) -> torch.optim.Optimizer:
    if spec.optimiser == "sgd":
        return torch.optim.SGD(params, lr=spec.lr, momentum=0.9)
    return torch.optim.Adam(params, lr=spec.lr)


def fit(
    model: torch.nn.Module,
    data: Data,
    spec: TrainSpec,
    rep: Reporter,
    *,
    weight_decay: float = 0.0,
    schedule: bool = False,
) -> Outcome:
    """Train ``model`` for ``spec.epochs`` epochs (or until stopped) and score it at the end."""
    if not math.isfinite(spec.lr):
        raise Diverged(f"learning rate {spec.lr}")
    g = torch.Generator().manual_seed(spec.seed)
    torch.manual_seed(spec.seed)
    opt = make_optimiser(spec, model.parameters())
    if weight_decay:
        for group in opt.param_groups:
            group["weight_decay"] = weight_decay
    n = len(data.x_train)
    bs = max(1, min(spec.batch_size, n))
    steps = math.ceil(n / bs)
    total = steps * spec.epochs
    sched = (
        torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec.lr, total_steps=total, pct_start=0.15)
        if schedule and total > 1
        else None
    )
    every = max(1, steps // POINTS_PER_EPOCH)
    t0 = time.monotonic()
    done = 0
    first_loss: float | None = None
    state = "done"
    run_loss = run_correct = run_seen = 0.0
    last_val: tuple[float, float] | None = None
    val_cost = 0.0  # seconds the last validation pass took
    last_point_t = t0
    for epoch in range(spec.epochs):
        order = torch.randperm(n, generator=g)
        for k in range(steps):
            why = rep.should_stop()
            if why:
                state = why
                break
            model.train()
            idx = order[k * bs : (k + 1) * bs]
            xb, yb = data.x_train[idx], data.y_train[idx]
            if data.augment is not None:
                xb = data.augment(xb, g)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            value = float(loss.detach())
            if first_loss is None:
                first_loss = value
            if not math.isfinite(value) or value > BLOW_UP * max(first_loss, 0.1):
                raise Diverged(f"loss {value:.4g} at epoch {epoch + k / steps:.2f}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            done += 1
            run_loss += value * len(yb)
            run_correct += float((logits.argmax(1) == yb).sum())
            run_seen += len(yb)
            end_of_epoch = k == steps - 1
            if (k + 1) % every == 0 or end_of_epoch:
                now = time.monotonic()
                # validation at every point when it is cheap (under 10 % of the time between
                # points), else at the end of each epoch only
                val: tuple[float, float] | None = None
                if end_of_epoch or val_cost < 0.1 * (now - last_point_t):
                    tv = time.monotonic()
                    vl, va, vlogits = evaluate(model, data.x_val, data.y_val)
                    val_cost = time.monotonic() - tv
                    if not math.isfinite(vl):
                        raise Diverged(f"validation loss {vl}")
                    val = last_val = (vl, va)
                    if end_of_epoch:
                        rep.mistakes(_mistakes(vlogits, data))
                last_point_t = time.monotonic()
                rep.point(
                    EpochPoint(
                        epoch=round(epoch + (k + 1) / steps, 4),
                        train_loss=run_loss / max(run_seen, 1),
                        train_acc=run_correct / max(run_seen, 1),
                        val_loss=None if val is None else val[0],
                        val_acc=None if val is None else val[1],
                        seconds=last_point_t - t0,
                    )
                )
                run_loss = run_correct = run_seen = 0.0
                elapsed = last_point_t - t0
                rep.progress(done / total, elapsed / done * (total - done))
        if state != "done":
            break
    seconds = time.monotonic() - t0
    if done == 0:
        return Outcome(state=state, epochs_run=0.0, train_seconds=seconds)
    _, test_acc, tlogits = evaluate(model, data.x_test, data.y_test)
    k_cls = len(data.labels)
    conf = np.zeros((k_cls, k_cls), dtype=np.int64)
    np.add.at(conf, (data.y_test.numpy(), tlogits.argmax(1).numpy()), 1)
    if last_val is None:
        last_val = evaluate(model, data.x_val, data.y_val)[:2]
    return Outcome(
        state=state,
        epochs_run=done / steps,
        train_seconds=seconds,
        confusion=conf.tolist(),
        test_accuracy=test_acc,
        val_accuracy=last_val[1],
    )


def _mistakes(logits: torch.Tensor, data: Data) -> list[dict[str, Any]]:
    """Up to :data:`MAX_MISTAKES` validation examples the model gets wrong, most confident first."""
    p = torch.softmax(logits, 1)
    conf, pred = p.max(1)
    wrong = torch.nonzero(pred != data.y_val).flatten()
    wrong = wrong[torch.argsort(conf[wrong], descending=True)][:MAX_MISTAKES]
    return [
        {
            "true": data.labels[int(data.y_val[i])],
            "predicted": data.labels[int(pred[i])],
            "p": round(float(conf[i]), 4),
            **data.show(int(i)),
        }
        for i in wrong
    ]
