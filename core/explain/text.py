"""Attributions for a text classifier over words (:mod:`core.explain.units`), with Captum.

The explained quantity is the log-odds of the predicted label, ``log p - log(1 - p)`` (it does
not saturate near 100 %, so a word that moves 99.0 % to 99.9 % still shows), where ``p`` sums
the probabilities of the classes named like the label (:func:`TextTarget.prob`).

- ``occlusion``: Captum ``FeatureAblation`` over a 0/1 mask of the units (1 + U forwards of
  the text with one unit deleted, batched);
- ``shapley``: Captum ``ShapleyValueSampling`` over the same mask: ``n_samples`` random
  permutations within :data:`EVAL_BUDGET` forwards (at least 2 permutations; at most
  :data:`MAX_PERMUTATIONS`);
- ``integrated-gradients``: Captum ``LayerIntegratedGradients`` on the word-embedding layer,
  from a baseline where every token of the text is the padding token (special tokens and a
  model's prefix such as e5's ``query:`` kept), :data:`IG_STEPS` Gauss-Legendre steps; token
  attributions summed per unit (a token spanning two words split by characters), the
  relative completeness error reported.

Every forward pass runs through :mod:`core.inference` (batched under the model's lock; the
gradients of integrated gradients under :func:`core.inference.locked` with gradients on). The
perturbed texts of occlusion, Shapley and the faithfulness check go to the model that serves
the prediction (``TextTarget.bundle``: OpenVINO int8 where it is built, 3-4x faster than
PyTorch on this CPU, and the model whose answer the visitor sees); integrated gradients run on
its PyTorch copy (``TextTarget.torch_bundle``: gradients need it), loaded only when used.
Work is bounded: at most :data:`MAX_UNITS` units (the rest weigh 0, note ``capped``), the text
as far as the model reads it, and an explanation estimated to take more than
:data:`MAX_SECONDS` (:func:`estimate_seconds`) is refused (``ExplainError("too-slow")``)
before anything runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.explain import METHODS, TOP_FRACTION, Attribution, ExplainError, faithfulness, units

TEXT_METHODS = ("occlusion", "shapley", "integrated-gradients")
MAX_UNITS = 120  # words explained; a longer text's later words weigh 0 (note "capped")
EVAL_BUDGET = 320  # forwards a Shapley explanation may use
MAX_PERMUTATIONS = 12
IG_STEPS = 32
IG_BATCH = 16  # interpolation steps per forward of integrated gradients
MAX_SECONDS = 6.0  # an explanation estimated (estimate_seconds) to take longer is refused
# estimate_cost units per second by (runtime, method) on this 2-core CPU, quiet (2026-12-07, the
# 60-word reviews of bench/explain.py and the page's examples, p50 of 3): PyTorch occlusion
# 32-34k, Shapley 34-56k, integrated gradients 53-57k; OpenVINO int8 occlusion 87-122k, Shapley
# 107-179k (Shapley's batches are fuller). Taken near the low end, except Shapley on a short text
# (underestimated by up to 30 %, well inside the budget there).
COST_PER_SECOND = {
    ("pytorch", "occlusion"): 32_000.0,
    ("pytorch", "shapley"): 50_000.0,
    ("pytorch", "integrated-gradients"): 50_000.0,
    ("openvino", "occlusion"): 110_000.0,
    ("openvino", "shapley"): 150_000.0,
}
BATCH = 32


def _log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


@dataclass
class TextTarget:
    """One text, its units and the label explained, on a classifier ``bundle``
    (``core.loaders.ModelBundle`` of a sequence classifier: ``model``, ``preprocessor``; any
    runtime), which scores the perturbed texts. ``torch_bundle``: a function giving the same
    model in PyTorch, for gradients (``None``: ``bundle`` is PyTorch)."""

    bundle: Any
    text: str
    spans: list[units.Span]
    classes: list[int]  # output columns summed into the label's probability
    notes: tuple[str, ...] = ()
    tokens: int = 0  # tokens the model reads of the text
    torch_bundle: Callable[[], Any] | None = None

    def gradient_bundle(self) -> Any:
        """The PyTorch bundle integrated gradients run on."""
        return self.bundle if self.torch_bundle is None else self.torch_bundle()

    def probs(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities of ``texts`` -> ``(N, classes)`` (batched, :mod:`core.inference`)."""
        from core.classify.sentiment import forward

        return forward(self.bundle, list(texts), batch_size=BATCH)

    def prob(self, masks: np.ndarray) -> np.ndarray:
        """The label's probability for the text with only the units where ``masks (N, U)`` is
        1 kept -> ``(N,)``."""
        texts = [units.delete(self.text, self.spans, [bool(v > 0.5) for v in row]) for row in masks]
        return self.probs(texts)[:, self.classes].sum(axis=1)


def target_for(
    bundle: Any, text: str, label_classes: list[int], torch_bundle: Callable[[], Any] | None = None
) -> TextTarget:
    """The units of ``text`` as far as ``bundle`` reads it (at most :data:`MAX_UNITS`);
    ``torch_bundle``: see :class:`TextTarget`."""
    from core.classify.sentiment import max_length

    spans, fallback = units.words(text)
    notes = ["char-fallback"] if fallback else []
    enc = _encode(bundle, text, max_length(bundle))
    ends = [b for _, b in enc["offsets"] if b > 0]
    read_chars = len(text) if not enc["truncated"] else (max(ends) if ends else 0)
    if read_chars < len(text):
        spans = [s for s in spans if s[1] <= read_chars]
        notes.append("truncated")
    if len(spans) > MAX_UNITS:
        spans = spans[:MAX_UNITS]
        notes.append("capped")
    return TextTarget(bundle, text, spans, label_classes, tuple(notes), int(enc["input_ids"].shape[1]), torch_bundle)


def _encode(bundle: Any, text: str, limit: int) -> dict[str, Any]:
    """Token ids ``(1, T)``, attention mask ``(1, T)``, offsets in ``text`` (``(0, 0)`` for
    special and prefix tokens) and whether the text was cut."""
    tok = bundle.preprocessor
    shift = len(getattr(tok, "prefix", "") or "")
    enc = tok(
        text,
        truncation=True,
        max_length=limit,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
        return_overflowing_tokens=False,
        return_tensors="pt",
    )
    offsets = []
    for (a, b), special in zip(enc["offset_mapping"][0].tolist(), enc["special_tokens_mask"][0].tolist()):
        a, b = a - shift, b - shift
        offsets.append((max(a, 0), b) if (not special and b > 0) else (0, 0))
    full = len(tok(text, truncation=False)["input_ids"])
    return {
        "input_ids": enc["input_ids"],
        "attention_mask": enc["attention_mask"],
        "offsets": offsets,
        "truncated": full > enc["input_ids"].shape[1],
    }


def estimate_evals(method: str, n_units: int) -> int:
    """Forwards one explanation over ``n_units`` units costs (before the faithfulness check)."""
    if method == "occlusion":
        return n_units + 1
    if method == "shapley":
        return shapley_samples(n_units) * n_units + 1
    return 3 * IG_STEPS + 2  # integrated gradients: each step a forward and a backward (about 2 forwards)


def estimate_cost(method: str, target: TextTarget) -> float:
    """Forward-equivalents x tokens x layers of one explanation of ``target``: comparable
    across methods and models (e5-small has 12 layers, MiniLM 6)."""
    layers = int(getattr(getattr(target.bundle.model, "config", None), "num_hidden_layers", 12) or 12)
    return float(estimate_evals(method, len(target.spans)) * max(target.tokens, 8) * layers)


def method_runtime(method: str, target: TextTarget) -> str:
    """The runtime ``method``'s forwards run on: the served one, except for integrated
    gradients (PyTorch)."""
    if method == "integrated-gradients":
        return "pytorch"
    return str(getattr(target.bundle, "meta", {}).get("runtime", "pytorch"))


def estimate_seconds(method: str, target: TextTarget) -> float:
    """Seconds one explanation of ``target`` by ``method`` takes on this 2-core CPU, quiet:
    :func:`estimate_cost` over the runtime's :data:`COST_PER_SECOND`."""
    rate = COST_PER_SECOND.get((method_runtime(method, target), method), COST_PER_SECOND[("pytorch", method)])
    return estimate_cost(method, target) / rate


def shapley_samples(n_units: int) -> int:
    return int(max(2, min(MAX_PERMUTATIONS, EVAL_BUDGET // max(n_units, 1))))


def _mask_forward(target: TextTarget) -> Any:
    import torch

    def fn(mask: torch.Tensor) -> torch.Tensor:  # (N, U) -> (N,) log-odds
        return torch.from_numpy(_log_odds(target.prob(mask.detach().cpu().numpy())))

    return fn


def occlusion(target: TextTarget) -> np.ndarray:
    """Weights ``(U,)``: the log-odds fall when each unit alone is deleted."""
    import torch
    from captum.attr import FeatureAblation

    n = len(target.spans)
    x = torch.ones(1, n)
    attr = FeatureAblation(_mask_forward(target)).attribute(x, baselines=0.0, perturbations_per_eval=BATCH)
    return attr[0].numpy().astype(np.float64)


def shapley(target: TextTarget, seed: int = 0) -> np.ndarray:
    """Weights ``(U,)``: sampled Shapley values of the units (the text without any unit is
    the reference)."""
    import torch
    from captum.attr import ShapleyValueSampling

    n = len(target.spans)
    x = torch.ones(1, n)
    with torch.random.fork_rng():  # captum draws permutations from torch's generator: seeded, repeatable
        torch.manual_seed(seed)
        attr = ShapleyValueSampling(_mask_forward(target)).attribute(
            x, baselines=0.0, n_samples=shapley_samples(n), perturbations_per_eval=BATCH
        )
    return attr[0].numpy().astype(np.float64)


def _embedding_layer(model: Any) -> Any:
    inner = getattr(model, "bert", None)
    src = inner if inner is not None and hasattr(inner, "get_input_embeddings") else model
    return src.get_input_embeddings()


def integrated_gradients(target: TextTarget, steps: int = IG_STEPS) -> tuple[np.ndarray, float]:
    """Weights ``(U,)`` from Captum ``LayerIntegratedGradients`` on the word embeddings, and
    the relative completeness error ``|sum(attr) - (f(x) - f(baseline))| / |f(x) - f(baseline)|``."""
    import torch
    from captum.attr import LayerIntegratedGradients

    from core.classify.sentiment import max_length
    from core.inference import locked

    bundle = target.gradient_bundle()
    model = bundle.model
    enc = _encode(bundle, target.text, max_length(bundle))
    ids = enc["input_ids"].to(bundle.device)  # (1, T)
    mask = enc["attention_mask"].to(bundle.device)  # (1, T)
    pad = getattr(bundle.preprocessor, "pad_token_id", None)
    pad = 0 if pad is None else int(pad)
    text_tokens = torch.tensor([b > 0 for _, b in enc["offsets"]], device=ids.device)[None]  # (1, T)
    baseline = torch.where(text_tokens, torch.full_like(ids, pad), ids)
    classes = torch.tensor(target.classes, device=ids.device)

    def fn(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B,)
        logits = model(input_ids=input_ids, attention_mask=attention_mask.expand(input_ids.shape[0], -1)).logits
        logp = torch.log_softmax(logits.float(), dim=-1)
        lp = torch.logsumexp(logp[:, classes], dim=-1)
        return lp - torch.log1p(-lp.exp().clamp(max=1 - 1e-6))

    lig = LayerIntegratedGradients(fn, _embedding_layer(model))
    with locked(bundle, gradients=True):
        attr, delta = lig.attribute(
            ids,
            baselines=baseline,
            additional_forward_args=(mask,),
            n_steps=steps,
            internal_batch_size=IG_BATCH,
            return_convergence_delta=True,
        )
    per_token = attr.sum(dim=-1)[0].detach().float().cpu().numpy()  # (T,)
    total = float(per_token.sum())
    d = float(delta.reshape(-1)[0])
    rel = abs(d) / max(abs(total - d), 1e-6)
    weights = np.zeros(len(target.spans))
    for t, hits in enumerate(units.token_to_units(enc["offsets"], target.spans)):
        for u, share in hits:
            weights[u] += share * per_token[t]
    return weights, rel


def explain_text(target: TextTarget, method: str, base_prob: float, label: str) -> Attribution:
    """One :class:`Attribution` of ``target`` by ``method``, with the faithfulness figures
    for this text (the top :data:`TOP_FRACTION` of units deleted vs as many random ones)."""
    if method not in METHODS or method not in TEXT_METHODS:
        raise ExplainError("unknown-method", method)
    n = len(target.spans)
    if n == 0:
        raise ExplainError("no-units")
    if estimate_seconds(method, target) > MAX_SECONDS:
        raise ExplainError("too-slow", f"{method} on {n} words")
    t0 = time.perf_counter()
    completeness = None
    if method == "occlusion":
        w = occlusion(target)
    elif method == "shapley":
        w = shapley(target)
    else:
        w, completeness = integrated_gradients(target)
    seconds = time.perf_counter() - t0
    drop, rnd = faithfulness.drop_for_input(target.prob, w, base_prob, TOP_FRACTION)
    pieces, weights = units.pieces(target.text, target.spans, [0.0 if math.isnan(v) else v for v in w])
    return Attribution(
        tuple(pieces),
        tuple(weights),
        method,
        label,
        "log-odds",
        completeness,
        drop,
        rnd,
        target.notes,
        seconds,
    )
