"""Question answering over a passage: the task API used by the page, tests and benchmark.

``answer(question, context)`` returns the best answers as :class:`Answer` objects whose
``start``/``end`` are character offsets into ``context`` (``context[start:end] ==
text`` always). Two modes:

- ``"span"``: a Hub extractive QA model (registry builder ``hf-qa``) gives start/end
  logits that :mod:`core.qa.span` decodes into exact spans, across overlapping windows,
  with "no answer" for SQuAD 2.0 models.
- ``"llm"``: a language model of the registry (``qwen-0.5b-reader``, opt-in pack, or a
  Qwen2.5 instruct model from the Hub) reads the passage (its most relevant parts when
  long) and answers with a span of it: decoding is constrained to the passage
  (:mod:`core.llm`), so the answer has exact offsets too; ``on_token`` streams it.
- ``"sentence"``: the fallback when no span model can be loaded: :mod:`core.qa.retrieval`
  returns the sentences most likely to hold the answer (a sentence encoder of the registry
  that reads the passage's language, MiniLM for English; else lexical, e.g. for Chinese),
  and ``QAResult.fallback`` says why (an error code).

Offline, the default span model is ``qa-e5`` (ours: multilingual-e5-small fine-tuned on
real QA data, English and Chinese). Its answers under its calibrated threshold are
marked ``weak``: the passage may not contain the answer.

A passage may have up to :data:`MAX_CONTEXT_CHARS` characters (more raises
:class:`PassageTooLong`, code ``"passage-too-long"``); the span model reads a long one's
best-ranked windows only (:mod:`core.qa.select`), and the result says which parts it read.

``answer_details`` returns the same answers with what the page shows (model, which model
was asked for and why another answered, mode, windows, latency, device, whether the model
said "no answer", notes as codes the interface translates). Model rules live here (and in
the registry), not in pages: routing (:func:`route`) is computed once, in
``answer_details``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from core import registry
from core.availability import default_model
from core.qa.select import MAX_CONTEXT_CHARS as MAX_CONTEXT_CHARS  # re-exported: the page and the API cap here
from core.qa.select import READ_WINDOWS, check_length
from core.qa.select import PassageTooLong as PassageTooLong
from core.text import detect_language

Kind = Literal["span", "sentence", "llm"]
LEXICAL = "lexical"  # pseudo model key: lexical sentence retrieval, no weights


@dataclass(frozen=True)
class Answer:
    """One answer: ``context[start:end] == text``; ``score`` in [0, 1]."""

    text: str
    start: int
    end: int
    score: float
    kind: Kind


@dataclass(frozen=True)
class QAResult:
    """Answers best first, plus how they were found.

    ``requested`` is the model asked for (or the default for the passage's language) and
    ``why`` says why ``model`` answered: ``"chosen"`` (the caller named it), ``"default"``,
    ``"model-language"`` (the requested sentence encoder does not read the passage's
    language: lexical retrieval answered) or ``"fallback"`` (the bundled span model could
    not be loaded: sentence retrieval answered; ``fallback`` holds the error code).
    ``notes`` are codes for the reader: ``"question-cut"`` (only the first
    ``question_tokens`` tokens of the question were read), ``"model-language"``.
    """

    answers: tuple[Answer, ...]
    model: str  # registry key, or "lexical"
    mode: Kind
    language: str  # "en" | "zh": language of the passage
    windows: int = 0  # span mode: windows run; sentence mode: sentences scored
    no_answer: bool = False  # a SQuAD 2.0 model judged the passage has no answer
    null_score: float = 0.0  # its probability of "no answer"
    latency_ms: float = 0.0
    device: str = "cpu"
    notes: tuple[str, ...] = field(default_factory=tuple)  # codes: "question-cut", "model-language"
    weak: bool = False  # the best answer is under the model's "may not be there" threshold
    fallback: str = ""  # why sentence retrieval answered instead of the span model (error code)
    fallback_from: str = ""  # the span model that could not be loaded
    requested: str = ""  # the model asked for, or the default for the passage's language
    why: str = ""  # "chosen" | "default" | "model-language" | "fallback"
    window_tokens: int = 0  # span mode: tokens per window
    question_tokens: int = 0  # span mode: the most tokens of the question that are read
    # the parts of the passage read (offsets), when not all of it was: llm mode, and span mode
    # on a long passage (its best windows); empty when the whole passage was read
    segments: tuple[tuple[int, int], ...] = ()
    first_token_ms: float = 0.0  # llm mode: time to the first answer token
    tokens: int = 0  # llm mode: tokens generated
    windows_total: int = 0  # span mode: the passage's windows (``windows`` of them were read)

    @property
    def attention_model(self) -> str | None:
        """The model whose attention explains this answer (a bundled span model or a language
        model), else ``None``."""
        if self.mode == "llm":
            return self.model
        if self.mode != "span":
            return None
        try:
            return self.model if registry.get(self.model).is_bundled else None
        except KeyError:
            return None


@dataclass(frozen=True)
class Route:
    """Which model answers a passage: ``model``, the ``requested`` one and ``why`` (codes of
    :class:`QAResult`)."""

    model: str
    requested: str
    why: str


@functools.lru_cache(maxsize=64)
def passage_language(context: str) -> str:
    """``detect_language`` of a passage, remembered for the last passages (reruns, benchmarks)."""
    return detect_language(context)


def is_sentence_model(key: str) -> bool:
    """Does ``key`` answer by sentence retrieval (lexical, or a sentence encoder of the
    registry) rather than by span extraction?"""
    if key == LEXICAL:
        return True
    try:
        return "embedding" in registry.get(key).tasks
    except KeyError:
        return False  # unknown keys go to the loader, which says so


def route(context: str, model: str | None = None) -> Route:
    """The model that answers for ``context``: ``model`` if given, else the default for the
    passage's language. A sentence encoder that does not read the passage's language
    (MiniLM on Chinese) gives way to lexical retrieval (``why="model-language"``)."""
    lang = passage_language(context)
    requested, why = (model, "chosen") if model else (default_model("qa", lang) or LEXICAL, "default")
    if requested != LEXICAL and is_sentence_model(requested) and not registry.get(requested).reads(lang):
        return Route(LEXICAL, requested, "model-language")
    return Route(requested, requested, why)


def pick_model(context: str, model: str | None = None) -> str:
    """The model key that answers for ``context`` (see :func:`route`)."""
    return route(context, model).model


def sentence_fallback(lang: str) -> str:
    """What answers when the bundled span model cannot: the best installed sentence encoder
    of the registry for ``lang`` (MiniLM for English), else lexical retrieval."""
    for entry in registry.entries("qa", lang):
        if "embedding" in entry.tasks and registry.bundled_path(entry) is not None:
            return entry.key
    return LEXICAL


def is_llm(key: str) -> bool:
    """Does ``key`` answer by constrained generation (a language model of the registry)?"""
    try:
        return registry.get(key).is_llm
    except KeyError:
        return False


def _mode(model: str) -> Kind:
    if is_llm(model):
        return "llm"
    return "sentence" if is_sentence_model(model) else "span"


def _can_abstain(model: str) -> bool:
    return "squad2" in registry.get(model).location.lower()


def answer_details(
    question: str,
    context: str,
    *,
    model: str | None = None,
    top_k: int = 3,
    on_token: Callable[[str], None] | None = None,
) -> QAResult:
    """Answer ``question`` from ``context`` and say how (see :class:`QAResult`).

    ``latency_ms`` counts answering only, not the one-time model load. ``on_token`` is told
    the answer so far as a language model generates it (other models answer at once).

    Empty question or context: no answers and no model call. Raises
    ``core.loaders.ModelLoadError`` when the model cannot be loaded, and
    :class:`PassageTooLong` (a ``ValueError``, ``code="passage-too-long"``) for a passage of
    more than :data:`MAX_CONTEXT_CHARS` characters. A span model reads a long passage's best
    windows only (``segments``, ``windows`` of ``windows_total``; :mod:`core.qa.select`).
    """
    if not isinstance(question, str) or not isinstance(context, str):
        raise TypeError("question and context must be str")
    check_length(context)  # before any work on it: the work per request is bounded
    lang = passage_language(context)
    top_k = max(1, int(top_k))
    if not question.strip() or not context.strip():
        key = model or LEXICAL
        return QAResult((), key, _mode(key), lang)
    chosen = route(context, model)

    def told(result: QAResult) -> QAResult:  # which model answered and why
        notes = (*result.notes, "model-language") if chosen.why == "model-language" else result.notes
        return replace(result, requested=chosen.requested, why=chosen.why, notes=notes)

    if _mode(chosen.model) == "sentence":
        return told(_answer_sentences(question, context, chosen.model, top_k, lang))
    if _mode(chosen.model) == "llm":  # chosen by the visitor: when it cannot load, the page says why
        return told(_answer_llm(question, context, chosen.model, lang, on_token))
    from core.loaders import ModelLoadError

    try:
        return told(_answer_spans(question, context, chosen.model, top_k, lang))
    except ModelLoadError as err:
        if err.code == "unknown-model" or not registry.get(chosen.model).is_bundled:
            raise  # a Hub model the visitor chose: the page says why it cannot load
        # our offline span model is missing or broken: answer with sentences, say why
        result = _answer_sentences(question, context, sentence_fallback(lang), top_k, lang)
        code = err.code or "span-model-unavailable"
        return replace(result, fallback=code, fallback_from=chosen.model, requested=chosen.model, why="fallback")


@dataclass(frozen=True)
class Readers:
    """The two readers "compare readers" runs: the ``span`` model (or sentence retrieval when
    none can run), and the language model ``llm`` (``None`` when none can run here; ``code``
    then says why, e.g. ``llm-not-installed``)."""

    span: str
    llm: str | None
    code: str = ""


def readers_to_compare(context: str, model: str | None = None) -> Readers:
    """The span model and the language model to put side by side for ``context``: the chosen
    ``model`` on its side, and for the other side the default span model of the passage's
    language, or the best language model that can run now (installed first, then one to
    download)."""
    from core.availability import availability

    if model and is_llm(model):
        return Readers(route(context).model, model)
    lang = passage_language(context)
    span = model or route(context).model
    usable = []
    code = ""
    for entry in registry.entries("qa", lang):
        if entry.is_llm:
            av = availability(entry)
            if av.usable:
                usable.append((av.status == "available", entry.quality, entry.key))
            elif entry.is_bundled:
                code = av.code
    if not usable:
        return Readers(span, None, code or "llm-not-installed")
    return Readers(span, max(usable)[2])


def _answer_llm(question: str, context: str, key: str, lang: str, on_token: Callable[[str], None] | None) -> QAResult:
    """One answer from a language model, a span of ``context`` (see :mod:`core.llm.reader`)."""
    from core import loaders
    from core.llm import reader

    bundle = loaders.load(key)
    r = reader.read(question, context, bundle=bundle, on_token=on_token)
    answers = (Answer(r.text, r.start, r.end, r.score, "llm"),) if r.start >= 0 else ()
    return QAResult(
        answers,
        key,
        "llm",
        lang,
        windows=len(r.segments),
        latency_ms=r.seconds * 1000,
        device=_device_label(bundle),
        segments=r.segments,
        first_token_ms=r.first_token_s * 1000,
        tokens=r.tokens,
    )


def answer(question: str, context: str, *, model: str | None = None, top_k: int = 3) -> list[Answer]:
    """The ``top_k`` best answers to ``question`` in ``context``, best first.

    ``model=None`` picks the default available QA model for the passage's language
    (offline: sentence retrieval). Empty when the question or passage is empty or a
    SQuAD 2.0 model says the passage holds no answer. Raises :class:`PassageTooLong` for a
    passage of more than :data:`MAX_CONTEXT_CHARS` characters.
    """
    return list(answer_details(question, context, model=model, top_k=top_k).answers)


def _device_label(bundle: object | None) -> str:
    return str(getattr(bundle, "device", "cpu")) if bundle is not None else "cpu"


def _answer_sentences(question: str, context: str, key: str, top_k: int, lang: str) -> QAResult:
    from core.qa import retrieval as qa_retrieval

    bundle = None
    if key != LEXICAL:
        from core import loaders

        bundle = loaders.load(key)
    t0 = time.perf_counter()  # latency of answering, not of loading the model once
    found, n = qa_retrieval.retrieve(question, context, bundle=bundle, top_k=top_k)
    answers = tuple(Answer(context[s.start : s.end], s.start, s.end, s.score, "sentence") for s in found)
    ms = (time.perf_counter() - t0) * 1000
    return QAResult(answers, key, "sentence", lang, windows=n, latency_ms=ms, device=_device_label(bundle))


def _answer_spans(question: str, context: str, key: str, top_k: int, lang: str) -> QAResult:
    from core import loaders

    bundle = loaders.load(key)
    can_abstain = _can_abstain(key)
    return answer_with_bundle(
        bundle, question, context, top_k=top_k, can_abstain=can_abstain, lang=lang, read_windows=READ_WINDOWS
    )


def answer_with_bundle(
    bundle: object,
    question: str,
    context: str,
    *,
    top_k: int = 3,
    can_abstain: bool = False,
    lang: str | None = None,
    read_windows: int | None = None,
) -> QAResult:
    """Span answers from an already loaded span-model bundle (``model`` with start/end
    logits, fast tokenizer as ``preprocessor``, ``lock``, ``device``).

    A passage of more than ``read_windows`` windows is read in part: its best-ranked
    ``read_windows`` windows, their answers weighed by the ranking (:mod:`core.qa.select`);
    ``segments`` then holds the characters read, ``windows`` the windows read and
    ``windows_total`` all of them. ``None`` (the default for direct callers: training's
    evaluation, benchmarks) reads every window, as before; ``answer_details`` passes
    :data:`READ_WINDOWS`. A shorter passage is read whole, exactly as before, ``segments`` empty."""
    from core.qa import select as qa_select
    from core.qa import span as qa_span

    t0 = time.perf_counter()
    meta = getattr(bundle, "meta", None) or {}
    max_length = int(meta.get("window_tokens", qa_span.MAX_LENGTH))  # a model may read best at its own size
    stride = int(meta.get("window_stride", qa_span.STRIDE))
    tok = getattr(bundle, "preprocessor")  # noqa: B009 - any bundle-like object (training uses its own)
    every = qa_span.encode_windows(tok, question, context, max_length=max_length, stride=stride)
    chosen = qa_select.choose_windows(question, context, every, read_windows)
    windows = qa_select.take(every, chosen.chosen) if chosen.part else every
    start_logits, end_logits = qa_select.with_prior(*qa_span.run_windows(bundle, windows), windows, chosen)
    decoded = qa_span.decode_spans(start_logits, end_logits, windows, context, top_k=top_k, can_abstain=can_abstain)
    no_answer = can_abstain and decoded.min_null_logit > decoded.best_span_logit
    answers = (
        ()
        if no_answer
        else tuple(Answer(context[s.start : s.end], s.start, s.end, s.score, "span") for s in decoded.spans)
    )
    notes = ("question-cut",) if windows.question != question else ()
    threshold = float(meta.get("no_answer_threshold", 0.0))
    weak = bool(answers) and answers[0].score < threshold
    return QAResult(
        answers,
        str(getattr(bundle, "key", "?")),
        "span",
        lang or passage_language(context),
        windows.count,
        no_answer,
        decoded.null_score,
        (time.perf_counter() - t0) * 1000,
        _device_label(bundle),
        notes,
        weak,
        window_tokens=max_length,
        question_tokens=qa_span.MAX_QUESTION_TOKENS,
        segments=qa_select.segments(every, chosen.chosen) if chosen.part else (),
        windows_total=every.count,
    )
