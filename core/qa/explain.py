"""Why this answer: Integrated Gradients of the span model's answer over the question's and the
passage's words.

The explained quantity is the answer's **start logit + end logit** in the window that produced
it (the score the decoder ranks spans by, :func:`core.qa.span.decode_spans`). Captum's
``LayerIntegratedGradients`` integrates its gradient along the straight line from a
baseline to the input at the output of the word-embedding layer
(``model.get_input_embeddings()``; for ``qa-e5`` the 4-bit ``Q4Embedding``, whose output the
hook replaces, so no ``inputs_embeds`` path is needed). The baseline is the same window with
every question and passage token replaced by the padding id (``<s>``/``</s>`` and the
attention mask kept), so the attributions add up to ``f(window) - f(padded window)``;
``completeness_error`` is how far they do not (relative). Token attributions are summed into
words (:mod:`core.explain.units`: English words and numbers, jieba words for Chinese; a
SentencePiece token across two jieba words gives each its share of characters, so a word is
never split; a token that covers no character, e.g. a lone ``▁``, goes to the next token's
word).

Bounded work: one window is explained: of :data:`EXPLAIN_SIZES` tokens (128, else 192) around
the answer (the answer farthest from its edges), the first where the model's top answer is in
the same place (overlaps it; one forward pass each to check, whose logits also locate the
answer's tokens); else the window of the reading that holds the answer, when
:func:`estimate_seconds` says it fits :data:`core.explain.text.MAX_SECONDS`, and otherwise
:class:`ExplainError` ``too-slow`` before any gradient is taken. Then ``steps`` forward +
backward passes of that window for IG (``internal_batch_size`` :data:`BATCH`) and one batched
forward of 5 copies for the faithfulness figures. A 128-token window takes about 3 s on this
2-core CPU, 192 tokens about 5 s, a whole 256-token reading window 7 s (over the budget). Passage
text outside the window is one piece of weight 0 on each side (note ``outside-window``).

Faithfulness for this answer (``drop`` / ``random_drop``, probabilities): the answer's
probability ``p(start) * p(end)``, each a softmax over the passage tokens of the explained
window (the decoder's passage-wide softmax restricted to this window: the same figure for a
one-window passage), before and after deleting the top :data:`core.explain.TOP_FRACTION` of
the window's passage words outside the answer by weight (their tokens removed), against the
mean over 3 fixed random draws of as many such words.

Served on OpenVINO int8, ``qa-e5`` is explained on its PyTorch copy
(``loaders.load(key, attention=True)``), which finds the same answer in the same
window (the window and token pair are chosen from its own logits). Answers of the language
model reader or of sentence retrieval cannot be explained this way (:class:`ExplainError`
``not-available``), nor a missing answer (``no-answer``).

Shapes: a window's ``input_ids`` / ``attention_mask`` are ``(1, T)`` (``T`` <= 256);
attributions ``(1, T, hidden)`` summed to ``(T,)``; start/end logits ``(batch, T)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.explain import TOP_FRACTION, Attribution, ExplainError
from core.explain.text import MAX_SECONDS
from core.qa import READ_WINDOWS, Answer, QAResult

STEPS = 48  # IG steps (Gauss-Legendre): completeness error <= 1 % on the examples for run 4, 5.4 % on one for run 5
MAX_STEPS = 128
# A completeness error above this: integrated gradients again with twice the steps, where that
# second pass alone fits MAX_SECONDS (so at most about 1.5x the budget in all; qa-e5 run 5 needed
# it on the Chinese example: 5.4 % at 48 steps, 0.9 % at 96)
MAX_COMPLETENESS_ERROR = 0.03
BATCH = 16  # IG steps per forward + backward pass
# the windows tried around the answer (question + passage tokens), smallest first: the first
# where the model points to the same answer is explained
EXPLAIN_SIZES = (128, 192)
# Integrated gradients' seconds per token and step, a + b * tokens, on this 2-core CPU, quiet
# (PyTorch copy, 48 steps, 2026-12-07): a 128-token window 2.9 s, a 256-token one 7.2 s.
SECONDS_PER_TOKEN_STEP = (3.5e-4, 9.1e-7)
RANDOM_DRAWS = 3
SEED = 0


@dataclass(frozen=True)
class QAExplanation:
    """Why ``answer`` (the top answer of the span model ``span_model``; not named ``model``, so
    the page's "last prediction" stays the answer's, not this slower explanation's): attributions of its start + end score over
    the ``question``'s words and the ``passage``'s words (both :class:`core.explain.Attribution`,
    ``"".join(pieces)`` is the question / the passage). ``window``: the passage characters the
    explained window read (outside it, weights are 0). ``score``: the explained start + end logit
    ``f(x)``, ``baseline_score``: ``f(baseline)``. ``seconds``: the whole explanation; ``tokens``:
    the explained window's length."""

    question: Attribution
    passage: Attribution
    answer: Answer
    span_model: str
    window: tuple[int, int]
    score: float
    baseline_score: float
    seconds: float
    steps: int = STEPS
    tokens: int = 0  # the explained window's tokens (question, passage and special ones)


def explain_code(result: QAResult) -> str | None:
    """Why ``result`` cannot be explained (``not-available``: not a span model's answer;
    ``no-answer``), ``None`` when it can."""
    if result.mode != "span":
        return "not-available"
    if result.no_answer or not result.answers:
        return "no-answer"
    return None


def _torch_bundle(key: str) -> Any:
    """The PyTorch model of ``key``: its served bundle, unless that is OpenVINO; then its
    PyTorch copy (the attention viewer's, as ``core.classify.explain.explaining_bundle``)."""
    from core import loaders

    bundle = loaders.load(key)
    return bundle if bundle.meta.get("runtime") != "openvino" else loaders.load(key, attention=True)


def _question_positions(ids: np.ndarray, is_context: np.ndarray, special: set[int]) -> np.ndarray:
    """Positions ``(q,)`` of the question's tokens: not special, before the first passage token."""
    first = int(np.flatnonzero(is_context)[0]) if is_context.any() else len(ids)
    return np.array([i for i in range(first) if int(ids[i]) not in special], dtype=np.int64)


def _passage_positions(ids: np.ndarray, is_context: np.ndarray, special: set[int]) -> np.ndarray:
    """Positions ``(p,)`` of the passage's tokens (those covering no character included)."""
    ctx = np.flatnonzero(is_context)
    if not len(ctx):
        return ctx
    last = int(ctx[-1])
    return np.array([i for i in range(int(ctx[0]), last + 1) if int(ids[i]) not in special], dtype=np.int64)


def _filled(offsets: np.ndarray) -> list[tuple[int, int]]:
    """``(n, 2)`` offsets with each empty one (a lone ``▁``) taken from the next token that
    covers characters (else the previous one)."""
    out = [(int(a), int(b)) for a, b in offsets]
    nxt: tuple[int, int] | None = None
    for k in range(len(out) - 1, -1, -1):
        if out[k][1] > out[k][0]:
            nxt = out[k]
        elif nxt is not None:
            out[k] = nxt
    prev: tuple[int, int] | None = None
    for k, span in enumerate(out):
        if span[1] > span[0]:
            prev = span
        elif prev is not None:
            out[k] = prev
    return out


def _to_words(
    text: str, spans: list[tuple[int, int]], offsets: list[tuple[int, int]], token_weights: np.ndarray
) -> np.ndarray:
    """Token weights ``(n,)`` with character ``offsets`` summed into the words ``spans``: ``(words,)``."""
    from core.explain.units import token_to_units

    out = np.zeros(len(spans), dtype=np.float64)
    for shares, w in zip(token_to_units(offsets, spans), token_weights):
        for unit, share in shares:
            out[unit] += share * float(w)
    return out


def _trimmed(windows: Any) -> Any:
    """A one-window :class:`core.qa.span.Windows` without its right padding: ``(1, T)`` with
    ``T`` the window's real tokens (integrated gradients pay for every position)."""
    from core.qa.span import Windows

    mask = windows.inputs.get("attention_mask")
    real = int(mask[0].sum()) if mask is not None else windows.is_context.shape[1]
    inputs = {k: v[:, :real] for k, v in windows.inputs.items()}
    return Windows(inputs, windows.offsets[:, :real], windows.is_context[:, :real], windows.cls_index, windows.question)


def _window_size(bundle: Any) -> tuple[int, int]:
    """The bundle's reading window and stride in tokens (``meta`` or the span decoder's defaults)."""
    from core.qa import span as qa_span

    meta = getattr(bundle, "meta", None) or {}
    return int(meta.get("window_tokens", qa_span.MAX_LENGTH)), int(meta.get("window_stride", qa_span.STRIDE))


def _logits(bundle: Any, one: Any) -> np.ndarray:
    """The start and end logits ``(2, T)`` of the one window ``one`` (``(1, T)``)."""
    from core.qa import span as qa_span

    starts, ends = qa_span.run_windows(bundle, one)
    return np.stack([starts[0], ends[0]])


def _around_answer(
    bundle: Any, question: str, context: str, answer: Answer, size: int
) -> tuple[Any, np.ndarray] | None:
    """The ``size``-token window (question + passage) with ``answer`` farthest from its edges,
    when the model's top answer there overlaps ``answer`` (one forward pass of that window;
    the served model may be int8 and this one PyTorch, and a shorter window can move an edge of
    the span, e.g. drop a clause or the 《》 around a title): the one-window ``Windows`` without
    padding and its ``(2, T)`` logits, else ``None``."""
    from core.qa import select as qa_select
    from core.qa import span as qa_span

    every = qa_span.encode_windows(bundle.preprocessor, question, context, max_length=size, stride=size // 2)
    found = _candidates(every, answer, whole=True)
    if not found:
        return None
    one = _trimmed(qa_select.take(every, [found[0]]))
    logits = _logits(bundle, one)
    spans = qa_span.decode_spans(logits[:1], logits[1:], one, context, top_k=1).spans
    top = spans[0] if spans else None  # the same place: the int8 model and a shorter window may move an edge
    return (one, logits) if top is not None and top.start < answer.end and answer.start < top.end else None


def estimate_seconds(tokens: int, steps: int = STEPS) -> float:
    """Seconds integrated gradients of one ``tokens``-token window take with ``steps`` steps on
    this 2-core CPU, quiet (:data:`SECONDS_PER_TOKEN_STEP`)."""
    a, b = SECONDS_PER_TOKEN_STEP
    return float(steps * tokens * (a + b * tokens))


def explained_window(
    bundle: Any, question: str, context: str, answer: Answer, read_windows: int | None, steps: int = STEPS
) -> tuple[Any, np.ndarray]:
    """The one window (``(1, T)`` ``Windows``, no padding) whose answer is explained, with its
    ``(2, T)`` start/end logits: the first
    window of :data:`EXPLAIN_SIZES` tokens around the answer (shorter than the model's reading
    window) where the model's top answer overlaps it (:func:`_around_answer`),
    else the window the answer came from among those :func:`core.qa.answer_with_bundle` reads
    (``read_windows``) when it fits :data:`MAX_SECONDS` (:func:`estimate_seconds`); else
    :class:`ExplainError` ``too-slow``, before integrated gradients run."""
    from core.qa import select as qa_select
    from core.qa import span as qa_span

    max_length, stride = _window_size(bundle)
    for size in EXPLAIN_SIZES:
        if size < max_length:
            short = _around_answer(bundle, question, context, answer, size)
            if short is not None:
                return short
    every = qa_span.encode_windows(bundle.preprocessor, question, context, max_length=max_length, stride=stride)
    chosen = qa_select.choose_windows(question, context, every, read_windows)
    windows = qa_select.take(every, chosen.chosen) if chosen.part else every
    found = _candidates(windows, answer)
    if not found:
        raise ExplainError("no-answer", "no window holds the answer")
    one = _trimmed(qa_select.take(windows, found[:1]))
    tokens = int(one.inputs["input_ids"].shape[1])
    if estimate_seconds(tokens, steps) > MAX_SECONDS:
        raise ExplainError("too-slow", f"{tokens} tokens, about {estimate_seconds(tokens, steps):.0f} s")
    return one, _logits(bundle, one)


def _candidates(windows: Any, answer: Answer, *, whole: bool = False) -> list[int]:
    """The windows whose passage tokens overlap ``answer``'s characters (``whole``: hold all
    of them), the answer farthest from the window's edges first."""
    a, b = answer.start, answer.end
    found: list[tuple[int, int]] = []
    for w in range(windows.count):
        ctx = np.flatnonzero(windows.is_context[w])
        if not len(ctx) or windows.offsets[w, ctx[0], 0] >= b or windows.offsets[w, ctx[-1], 1] <= a:
            continue
        if whole and (windows.offsets[w, ctx[0], 0] > a or windows.offsets[w, ctx[-1], 1] < b):
            continue
        inside = [int(k) for k in ctx if windows.offsets[w, k, 1] > a and windows.offsets[w, k, 0] < b]
        if inside:
            found.append((min(inside[0] - int(ctx[0]), int(ctx[-1]) - inside[-1]), w))
    return [w for _, w in sorted(found, key=lambda mw: (-mw[0], mw[1]))]


def _locate(windows: Any, logits: np.ndarray, context: str, answer: Answer) -> tuple[int, int]:
    """The token pair of the one window ``windows`` (``(1, T)``, start/end ``logits`` ``(2, T)``)
    that gives ``answer``: ``(i, j)``, the start/end token of the best-scoring pair that decodes
    to the answer's characters."""
    from core.qa import span as qa_span

    a, b = answer.start, answer.end
    ctx = np.flatnonzero(windows.is_context[0])
    near = [int(k) for k in ctx if windows.offsets[0, k, 1] > a - 8 and windows.offsets[0, k, 0] < b + 8]
    best: tuple[float, int, int] | None = None
    for i in near:
        for j in near:
            if j < i or j - i + 1 > qa_span.MAX_ANSWER_TOKENS:
                continue
            s, e = qa_span._trim(context, int(windows.offsets[0, i, 0]), int(windows.offsets[0, j, 1]))
            if qa_span.align_to_words(context, s, e) != (a, b):
                continue
            score = float(logits[0, i] + logits[1, j])
            if best is None or score > best[0]:
                best = (score, i, j)
    if best is None:  # the decoder's pair is not found (another tokenizer's offsets): the covering tokens
        cover = [int(k) for k in ctx if windows.offsets[0, k, 1] > a and windows.offsets[0, k, 0] < b]
        if not cover:
            raise ExplainError("no-answer", "the answer's tokens are not in the window")
        best = (0.0, cover[0], cover[-1])
    return best[1], best[2]


def _answer_probability(
    bundle: Any, rows: list[dict[str, np.ndarray]], ctx_masks: list[np.ndarray], pairs: list[tuple[int, int]]
) -> np.ndarray:
    """``p(start) * p(end)`` of the token pair ``pairs[k]`` in each of the inputs ``rows[k]``
    (``(T_k,)`` per name; one right-padded batched forward pass), each a softmax over that
    row's passage tokens ``ctx_masks[k]``: ``(rows,)``."""
    import torch

    from core.inference import model_inputs

    n = max(len(r["input_ids"]) for r in rows)
    pad = int(getattr(bundle.preprocessor, "pad_token_id", 0) or 0)
    feed: dict[str, Any] = {}
    for name in rows[0]:
        arr = np.full((len(rows), n), pad if name == "input_ids" else 0, dtype=np.int64)
        for k, r in enumerate(rows):
            arr[k, : len(r[name])] = r[name]
        feed[name] = torch.from_numpy(arr)
    with bundle.lock, torch.inference_mode():
        out = bundle.model(**model_inputs(bundle.model, feed, bundle.device))
        s_logits = out.start_logits.double().cpu().numpy()
        e_logits = out.end_logits.double().cpu().numpy()
    probs = np.zeros(len(rows))
    for k, (cm, (i, j)) in enumerate(zip(ctx_masks, pairs)):
        sl = np.where(cm, s_logits[k, : len(cm)], -np.inf)
        el = np.where(cm, e_logits[k, : len(cm)], -np.inf)
        ls = sl[i] - (sl.max() + np.log(np.exp(sl - sl.max()).sum()))
        le = el[j] - (el.max() + np.log(np.exp(el - el.max()).sum()))
        probs[k] = float(np.exp(ls + le))
    return probs


def _faithfulness(
    bundle: Any,
    inputs: dict[str, np.ndarray],
    is_context: np.ndarray,
    i: int,
    j: int,
    token_units: list[list[tuple[int, float]]],
    positions: np.ndarray,
    weights: np.ndarray,
    answer_units: set[int],
) -> tuple[float | None, float | None]:
    """``(drop, random_drop)``: the answer's probability in the window (:func:`_answer_probability`)
    minus the same with the top :data:`TOP_FRACTION` of the passage words outside the answer (by
    weight) deleted / as many random ones (mean of :data:`RANDOM_DRAWS` draws, seeded).
    ``inputs`` / ``is_context`` are the window's ``(T,)`` rows (padding cut off); ``positions[k]``
    is the token of ``token_units[k]``. A token goes when every word it touches goes.
    ``(None, None)`` when the window has no passage word outside the answer."""
    pool = [u for u in range(len(weights)) if u not in answer_units]
    k = max(1, int(round(TOP_FRACTION * len(pool)))) if pool else 0
    if k == 0:
        return None, None
    top = sorted(pool, key=lambda u: -weights[u])[:k]
    rng = np.random.default_rng(SEED)
    draws = [[int(u) for u in rng.choice(pool, size=k, replace=False)] for _ in range(RANDOM_DRAWS)]
    rows, masks, pairs = [inputs], [is_context], [(i, j)]
    for gone in [top, *draws]:
        gone_set = set(gone)
        drop_pos = {
            int(p) for p, shares in zip(positions, token_units) if shares and all(u in gone_set for u, _ in shares)
        }
        keep = np.array([p not in drop_pos for p in range(len(is_context))])
        new_index = np.cumsum(keep) - 1
        rows.append({name: v[keep] for name, v in inputs.items()})
        masks.append(is_context[keep])
        pairs.append((int(new_index[i]), int(new_index[j])))
    p = _answer_probability(bundle, rows, masks, pairs)
    return float(p[0] - p[1]), float(np.mean(p[0] - p[2:]))


def explain_answer(
    question: str,
    context: str,
    result: QAResult | None = None,
    *,
    model: str | None = None,
    steps: int = STEPS,
) -> QAExplanation:
    """Integrated Gradients of the top answer of ``result`` (``None``: answer first with
    :func:`core.qa.answer_details`, ``model`` as there) over the question's and the passage's
    words, in one window around the answer (:func:`explained_window`); see the module's
    docstring. Raises :class:`ExplainError` ``not-available`` (the answer is not a span
    model's), ``no-answer``, ``empty``, ``too-slow`` (estimated over the budget, before any
    gradient)."""
    t0 = time.perf_counter()
    if not isinstance(question, str) or not isinstance(context, str):
        raise TypeError("question and context must be str")
    if not question.strip() or not context.strip():
        raise ExplainError("empty")
    if result is None:
        from core.qa import answer_details

        result = answer_details(question, context, model=model, top_k=1)
    code = explain_code(result)
    if code:
        raise ExplainError(code)
    answer = result.answers[0]
    if not (0 <= answer.start < answer.end <= len(context)) or context[answer.start : answer.end] != answer.text:
        raise ValueError("the answer is not a span of this passage")
    steps = max(2, min(int(steps), MAX_STEPS))
    bundle = _torch_bundle(result.model)
    read = READ_WINDOWS if result.windows_total > result.windows else None  # a long passage: its best windows
    windows, logits = explained_window(bundle, question, context, answer, read, steps)
    w = 0  # the one window
    i, j = _locate(windows, logits, context, answer)
    tok = bundle.preprocessor
    special = set(int(x) for x in tok.all_special_ids)
    ids = windows.inputs["input_ids"][w]  # (T,)
    is_context = windows.is_context[w]
    q_pos = _question_positions(ids, is_context, special)
    p_pos = _passage_positions(ids, is_context, special)
    positions = np.concatenate([q_pos, p_pos])
    token_attr, fx, fb, delta = _integrated_gradients(bundle, windows, w, i, j, positions, steps)
    error = abs(delta) / max(abs(fx - fb), 1e-6)
    tokens = int(windows.inputs["input_ids"].shape[1])
    if error > MAX_COMPLETENESS_ERROR and 2 * steps <= MAX_STEPS and estimate_seconds(tokens, 2 * steps) <= MAX_SECONDS:
        # the path integral is not converged yet (a sharper model): twice the steps, if the budget allows
        steps *= 2
        token_attr, fx, fb, delta = _integrated_gradients(bundle, windows, w, i, j, positions, steps)
        error = abs(delta) / max(abs(fx - fb), 1e-6)

    from core.explain import units

    q_text = windows.question
    q_spans, q_fallback = units.words(q_text)
    q_offsets = _filled(windows.offsets[w][q_pos])
    q_weights = _to_words(q_text, q_spans, q_offsets, token_attr[q_pos])
    q_full_pieces, q_full_weights = units.pieces(q_text, q_spans, q_weights.tolist())
    if len(q_text) < len(question):
        q_full_pieces.append(question[len(q_text) :])
        q_full_weights.append(0.0)

    p_offsets = _filled(windows.offsets[w][p_pos])
    ws = min(a for a, b in p_offsets if b > a)
    we = max(b for a, b in p_offsets if b > a)
    lo, hi = max(0, ws - 24), min(len(context), we + 24)  # some text around: words at the edges are whole
    p_spans_all, p_fallback = units.words(context[lo:hi])
    p_spans = [(lo + a, lo + b) for a, b in p_spans_all if lo + b > ws and lo + a < we]
    if p_spans:
        ws, we = min(ws, p_spans[0][0]), max(we, p_spans[-1][1])
    p_weights = _to_words(context, p_spans, p_offsets, token_attr[p_pos])
    inner_pieces, inner_weights = units.pieces(
        context[ws:we], [(a - ws, b - ws) for a, b in p_spans], p_weights.tolist()
    )
    p_pieces = ([context[:ws]] if ws > 0 else []) + inner_pieces + ([context[we:]] if we < len(context) else [])
    p_piece_weights = ([0.0] if ws > 0 else []) + inner_weights + ([0.0] if we < len(context) else [])

    from core.explain.units import token_to_units

    answer_units = {k for k, (a, b) in enumerate(p_spans) if a < answer.end and answer.start < b}
    row = {name: v[w] for name, v in windows.inputs.items()}  # (T,) each: the window has no padding
    drop, random_drop = _faithfulness(
        bundle, row, is_context, i, j, token_to_units(p_offsets, p_spans), p_pos, p_weights, answer_units
    )
    seconds = time.perf_counter() - t0
    q_notes = (("question-cut",) if len(q_text) < len(question) else ()) + (("char-fallback",) if q_fallback else ())
    p_notes = (("outside-window",) if ws > 0 or we < len(context) else ()) + (("char-fallback",) if p_fallback else ())

    def attribution(
        pieces: list[str], weights: list[float], notes: tuple[str, ...], faith: tuple[float | None, float | None]
    ) -> Attribution:
        return Attribution(
            tuple(pieces),
            tuple(weights),
            method="integrated-gradients",
            target="answer",
            scale="logit",
            completeness_error=error,
            notes=notes,
            drop=faith[0],
            random_drop=faith[1],
            seconds=seconds,
        )

    return QAExplanation(
        question=attribution(q_full_pieces, q_full_weights, q_notes, (None, None)),
        passage=attribution(p_pieces, p_piece_weights, p_notes, (drop, random_drop)),
        answer=answer,
        span_model=result.model,
        window=(ws, we),
        score=fx,
        baseline_score=fb,
        seconds=seconds,
        steps=steps,
        tokens=int(windows.inputs["input_ids"].shape[1]),
    )


def _integrated_gradients(
    bundle: Any, windows: Any, w: int, i: int, j: int, explained: np.ndarray, steps: int
) -> tuple[np.ndarray, float, float, float]:
    """Token attributions ``(T,)`` of ``start_logits[i] + end_logits[j]`` of window ``w``, with
    ``f(x)``, ``f(baseline)`` and the convergence delta (sum of attributions - (f(x) - f(b))).
    The baseline: the window with the ``explained`` positions set to the padding id."""
    import torch
    from captum.attr import LayerIntegratedGradients

    from core.inference import model_inputs

    model = bundle.model
    feed = model_inputs(model, {k: torch.from_numpy(v[w : w + 1]) for k, v in windows.inputs.items()}, bundle.device)
    ids = feed.pop("input_ids")  # (1, T)
    base = ids.clone()
    base[0, torch.from_numpy(explained)] = int(getattr(bundle.preprocessor, "pad_token_id", 0) or 0)
    names = list(feed)
    extra = tuple(feed[k] for k in names)

    def target(input_ids: Any, *rest: Any) -> Any:  # (batch, T) -> (batch,)
        n = input_ids.shape[0]
        kw = {k: v.expand(n, -1) for k, v in zip(names, rest)}
        out = model(input_ids=input_ids, **kw)
        return out.start_logits[:, i] + out.end_logits[:, j]

    lig = LayerIntegratedGradients(target, model.get_input_embeddings())
    with bundle.lock, torch.enable_grad():
        attr, delta = lig.attribute(
            ids,
            baselines=base,
            additional_forward_args=extra,
            n_steps=steps,
            internal_batch_size=BATCH,
            return_convergence_delta=True,
        )
        with torch.no_grad():
            both = target(torch.cat([ids, base]), *extra)
    token_attr = attr.sum(dim=-1)[0].detach().double().cpu().numpy()  # (T,)
    return token_attr, float(both[0]), float(both[1]), float(delta.reshape(-1)[0])


__all__ = [
    "BATCH",
    "EXPLAIN_SIZES",
    "MAX_COMPLETENESS_ERROR",
    "MAX_STEPS",
    "STEPS",
    "QAExplanation",
    "estimate_seconds",
    "explain_answer",
    "explain_code",
    "explained_window",
]
