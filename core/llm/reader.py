"""The LLM reader: Qwen2.5-0.5B answers from the passage, decoding constrained to it.

A few-shot ChatML prompt per language asks for the shortest span of the passage that
answers; :func:`core.llm.constrained.generate_span` makes sure the answer is one (exact
character offsets, nothing invented, whatever the passage says to the model). Long passages
are cut to the most relevant parts first (:func:`select_segments`: sentence groups ranked by
the e5 encoder, lexically when it is missing), so the prompt stays short; the result says
which parts were read.

Shapes: the prompt is ``(1, P)`` token ids, ``P`` about 250 + the passage's tokens.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.llm.constrained import generate_span, token_bytes
from core.text import detect_language, split_sentences

MAX_PASSAGE_CHARS = 1_500
# Chinese text takes about 1.4 characters per token, English about 4.5: the same token budget
# (a prompt that stays fast to read) is fewer Chinese characters.
PASSAGE_CHARS = {"zh": 1_000}
CHUNK_CHARS = 400
MAX_NEW_TOKENS = 48

SYSTEM = {
    "en": "You answer questions about a passage. Reply with the shortest exact words copied from the passage "
    "that answer the question, and nothing else.",
    "zh": "你根据给定的段落回答问题。只回复从段落中原样摘录、能回答问题的最短片段，不要添加任何其他内容。",
}
EXAMPLE = {
    "en": (
        "The Amazon River flows through Brazil, Peru and Colombia. It is about 6,400 km long and carries more "
        "water than any other river.",
        "How long is the Amazon River?",
        "about 6,400 km",
    ),
    "zh": (
        "长江是中国最长的河流，全长约6300公里，发源于青藏高原，流经十一个省级行政区，最后注入东海。",
        "长江最后注入哪里？",
        "东海",
    ),
}


@dataclass(frozen=True)
class Reading:
    start: int  # character offsets into the context (-1: no answer)
    end: int
    text: str
    score: float  # mean probability of the chosen tokens under the constraint
    language: str
    segments: tuple[tuple[int, int], ...]  # the parts of the context that were read
    tokens: int
    first_token_s: float
    seconds: float


def messages(question: str, passage: str, lang: str) -> list[dict[str, str]]:
    """The chat: a system message, one worked example in the passage's language, the question."""
    lang = lang if lang in SYSTEM else "en"
    ex_passage, ex_question, ex_answer = EXAMPLE[lang]
    label_p, label_q = ("段落", "问题") if lang == "zh" else ("Passage", "Question")
    return [
        {"role": "system", "content": SYSTEM[lang]},
        {"role": "user", "content": f"{label_p}:\n{ex_passage}\n\n{label_q}: {ex_question}"},
        {"role": "assistant", "content": ex_answer},
        {"role": "user", "content": f"{label_p}:\n{passage}\n\n{label_q}: {question}"},
    ]


def _chunks(context: str) -> list[tuple[int, int]]:
    """Consecutive sentences grouped into pieces of about :data:`CHUNK_CHARS` characters."""
    out: list[tuple[int, int]] = []
    for s, e in split_sentences(context) or [(0, len(context))]:
        if out and e - out[-1][0] <= CHUNK_CHARS:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def select_segments(question: str, context: str, max_chars: int = MAX_PASSAGE_CHARS) -> list[tuple[int, int]]:
    """The parts of ``context`` to read: all of it when short, else the most relevant
    sentence groups up to ``max_chars`` characters, in their order in the passage."""
    if len(context) <= max_chars:
        return [(0, len(context))]
    chunks = _chunks(context)
    scores = _rank(question, [context[s:e] for s, e in chunks])
    chosen: list[tuple[int, int]] = []
    used = 0
    for i in sorted(range(len(chunks)), key=lambda i: -scores[i]):
        s, e = chunks[i]
        if used + (e - s) > max_chars and chosen:
            continue
        chosen.append((s, min(e, s + max_chars)))
        used += e - s
        if used >= max_chars:
            break
    return sorted(chosen)


def _rank(question: str, pieces: list[str]) -> list[float]:
    try:
        from core.classify.zero_shot import embed
        from core.loaders import ModelLoadError, load

        try:
            bundle = load("e5-small")
        except ModelLoadError:
            bundle = None
        if bundle is not None:
            vecs = embed(bundle, ["query: " + question, *("passage: " + p for p in pieces)])
            return [float(x) for x in vecs[1:] @ vecs[0]]
    except Exception:  # ranking is a help, never a failure: fall back to words in common
        pass
    from core.qa.retrieval import bm25, lexical_terms

    return [float(x) for x in bm25(lexical_terms(question, question=True), [lexical_terms(p) for p in pieces])]


@dataclass
class ReaderBundle:
    model: Any
    tokenizer: Any
    vocab: list[bytes | None]
    end_ids: frozenset[int]
    lock: Any  # the loaded model's lock (core.loaders.QueuedLock) or a threading.Lock
    prefixes: dict[str, tuple[list[int], Any]] = field(default_factory=dict)  # lang -> (ids, KV cache)


def _prefix(b: ReaderBundle, lang: str) -> tuple[list[int], Any]:
    """The token ids of the fixed start of every prompt in ``lang`` (system message and worked
    example) and their KV cache, computed once: each question then prefills only its passage
    and question. Call under ``b.lock``."""
    import torch

    if lang not in b.prefixes:
        fixed = messages("", "", lang)[:3]
        ids = _ids(b.tokenizer.apply_chat_template(fixed, add_generation_prompt=False))
        with torch.inference_mode():
            prompt = torch.tensor([ids], dtype=torch.long, device=_device(b.model))
            cache = b.model(input_ids=prompt, use_cache=True).past_key_values
        b.prefixes[lang] = (ids, cache)
    return b.prefixes[lang]


def generation_threads() -> int:
    """Torch threads for one answer on the CPU: ``LLM_THREADS`` when set; else all of the app's
    threads when the machine is otherwise idle (fastest: 3.5 s mean over the benchmark's six
    passages with two threads, 4.7 s with one), one when other processes keep at least
    ``BUSY_CORES`` of them busy: there two threads were no faster than one (4.7 s both) and
    they would slow the other work down (bench/llm.py)."""
    from core.device import cpu_threads

    fixed = _env_threads()
    if fixed:
        return fixed
    full = cpu_threads()
    return 1 if full > 1 and other_cores_busy() >= BUSY_CORES * full else full


def _env_threads() -> int:
    import os

    env = os.environ.get("LLM_THREADS", "").strip()
    return int(env) if env.isdigit() and int(env) > 0 else 0


BUSY_CORES = 0.35  # share of the app's threads other processes must keep busy to count as busy
_LAST_CPU: tuple[float, float, float] | None = None
_LAST_BUSY = 0.0


def _cpu_snapshot() -> tuple[float, float, float]:
    import psutil

    total = psutil.cpu_times()
    busy = total.user + total.system + getattr(total, "nice", 0.0) + getattr(total, "irq", 0.0)
    busy += getattr(total, "softirq", 0.0) + getattr(total, "steal", 0.0)
    mine = psutil.Process().cpu_times()
    return time.monotonic(), busy, mine.user + mine.system


def other_cores_busy() -> float:
    """Cores used by other processes, averaged since the last call (a fresh 50 ms sample
    when that was more than two seconds ago)."""
    global _LAST_CPU, _LAST_BUSY
    try:
        prev = _LAST_CPU
        if prev is not None and time.monotonic() - prev[0] < 0.05:
            return _LAST_BUSY  # asked again at once: the last figure
        if prev is None or time.monotonic() - prev[0] > 2.0:
            prev = _cpu_snapshot()
            time.sleep(0.05)
        now = _LAST_CPU = _cpu_snapshot()
    except Exception:  # no psutil figures: assume idle
        return 0.0
    wall = now[0] - prev[0]
    _LAST_BUSY = max(0.0, (now[1] - prev[1]) - (now[2] - prev[2])) / wall if wall > 0 else 0.0
    return _LAST_BUSY


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    """Torch's intra-op threads set to ``n`` for the block (CPU), then put back."""
    import torch

    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n != before:
            torch.set_num_threads(before)


def _device(model: Any) -> Any:
    return next(model.parameters()).device


def _ids(encoded: Any) -> list[int]:
    return list(encoded if isinstance(encoded, list) else encoded["input_ids"])


def quantize(model: Any) -> Any:
    """The decoder's linear layers in int8, per output channel, with dynamic activation scales
    (CPU). The embedding and the output head stay float32: the head picks every token, and
    quantising it per tensor cost accuracy. On this 2-core CPU: prefill about 1.7x and
    decoding about 2x faster than float32; validation F1 about the same (bench/llm.py and the
    model card)."""
    import warnings

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    body = getattr(model, "model", model)  # Qwen2ForCausalLM.model: the decoder layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's deprecation notice: it still works in 2.13
        quantize_dynamic(body, {torch.nn.Linear: per_channel_dynamic_qconfig}, inplace=True)
    return model


def _end_ids(tok: Any) -> frozenset[int]:
    ends = {tok.eos_token_id, *(tok.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>"))}
    return frozenset(i for i in ends if isinstance(i, int) and i >= 0)


def _give_back_freed_memory() -> None:
    """The float32 weights that quantising freed go back to the system (glibc keeps freed
    memory otherwise, and the process would look 1.5 GB bigger than it is)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def build(entry: Any, path: Path, device: Any, *, attention: bool = True) -> Any:
    """Registry builder of the LLM readers (``core.loaders``): the causal LM with eager
    attention (so the attention viewer can read it; one copy serves both), on the CPU in
    float32 with int8 linear layers (:func:`quantize`), on a GPU in the app's dtype; its
    tokenizer; in ``meta`` the byte string of every token (``vocab``), the end-of-answer ids
    and the per-language prompt-start caches, which the warm-up fills for en and zh."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.device import torch_dtype

    tok = AutoTokenizer.from_pretrained(path)
    on_cpu = torch.device(device).type == "cpu"
    dtype = torch.float32 if on_cpu else torch_dtype()
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation="eager").eval()
    if on_cpu:
        model = quantize(model)
        _give_back_freed_memory()
    prefixes: dict[str, tuple[list[int], Any]] = {}
    vocab, ends = token_bytes(tok), _end_ids(tok)
    meta = {"vocab": vocab, "end_ids": ends, "prefixes": prefixes, "int8": on_cpu}

    def warmup(model: Any, tok: Any) -> None:
        """Once: the prompt starts of both languages; every call: one token's forward."""
        bundle = ReaderBundle(model, tok, vocab, ends, threading.Lock(), prefixes)
        for lang in SYSTEM:
            _prefix(bundle, lang)
        model(input_ids=torch.tensor([_ids(tok("Hi"))], device=_device(model)), logits_to_keep=1)

    from core.loaders import Built

    return Built(model, tok, meta, warmup)


def as_reader(bundle: Any) -> ReaderBundle:
    """A :class:`ReaderBundle` view of a loaded registry bundle (``core.loaders.ModelBundle``
    built by :func:`build`): same model, tokenizer, lock and prompt-start caches."""
    if isinstance(bundle, ReaderBundle):
        return bundle
    meta = bundle.meta
    return ReaderBundle(
        bundle.model, bundle.preprocessor, meta["vocab"], meta["end_ids"], bundle.lock, meta["prefixes"]
    )


def load_reader(key: str = "qwen-0.5b-reader") -> ReaderBundle:
    """The reader ``key`` through the app's loaders (once per process, built by :func:`build`)."""
    from core.loaders import load

    return as_reader(load(key))


def read(
    question: str,
    context: str,
    *,
    bundle: Any = None,
    on_token: Callable[[str], None] | None = None,
    max_new_tokens: int = MAX_NEW_TOKENS,
) -> Reading:
    """The LLM's answer to ``question`` as a span of ``context`` (see the module)."""
    import torch

    t0 = time.perf_counter()
    lang = detect_language(context)
    segments = select_segments(question, context, PASSAGE_CHARS.get(lang, MAX_PASSAGE_CHARS))
    if not context.strip() or not question.strip():
        return Reading(-1, -1, "", 0.0, lang, tuple(segments), 0, 0.0, 0.0)
    passage = "\n\n".join(context[s:e] for s, e in segments)
    b = as_reader(bundle) if bundle is not None else load_reader()
    ids = _ids(b.tokenizer.apply_chat_template(messages(question, passage, lang), add_generation_prompt=True))
    first: list[float] = []

    def tick(text: str) -> None:
        if not first:
            first.append(time.perf_counter() - t0)
        if on_token is not None:
            on_token(text)

    on_cpu = _device(b.model).type == "cpu"
    with b.lock, _threads(generation_threads()) if on_cpu else contextlib.nullcontext():
        fixed, cache = _prefix(b, lang)
        past = None
        if len(ids) > len(fixed) and ids[: len(fixed)] == fixed:  # reuse the fixed start's cache
            past, ids = copy.deepcopy(cache), ids[len(fixed) :]
        prompt = torch.tensor([ids], dtype=torch.long, device=_device(b.model))
        gen = generate_span(
            b.model,
            prompt,
            passage,
            b.vocab,
            b.end_ids,
            max_new_tokens=max_new_tokens,
            on_token=tick,
            past_key_values=past,
        )
    seconds = time.perf_counter() - t0
    if gen.start < 0:
        return Reading(-1, -1, "", 0.0, lang, tuple(segments), gen.tokens, first[0] if first else seconds, seconds)
    # offsets in the joined passage -> offsets in the context (clipped to one part)
    pos = 0
    for s, e in segments:
        if gen.start < pos + (e - s):
            start = s + gen.start - pos
            end = min(e, s + gen.end - pos)
            text = context[start:end].strip()
            start += len(context[start:end]) - len(context[start:end].lstrip())
            return Reading(
                start,
                start + len(text),
                text,
                gen.score,
                lang,
                tuple(segments),
                gen.tokens,
                first[0] if first else seconds,
                seconds,
            )
        pos += (e - s) + 2
    return Reading(-1, -1, "", 0.0, lang, tuple(segments), gen.tokens, seconds, seconds)


def attention_prompt(question: str, excerpt: str, answer: str, lang: str) -> str:
    """The last turn of the reader's chat as the model reads it, in ChatML: the passage (here
    an ``excerpt``, the answer's sentence, so that it fits the attention viewer) and the
    question, then the generated ``answer``. The attention viewer opens a language model's
    answer on this text."""
    turn = messages(question, excerpt, lang)[-1]["content"]
    return f"<|im_start|>user\n{turn}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>"
