"""Offline question answering by sentence retrieval (no span model needed).

The passage is split into sentences (:func:`core.text.split_sentences`); each sentence
gets a score for how likely it holds the answer:

- English: cosine similarity of the bundled MiniLM sentence embeddings (mean pooling
  over tokens, L2-normalised: the all-MiniLM-L6-v2 recipe) of question and sentence,
  with a small lexical BM25 term as a tie-breaker.
- Chinese (and any text when MiniLM is missing): BM25 over character unigrams and
  bigrams, with the question words (什么, 哪里, 谁, ...) removed and a bonus for
  sentences that define the asked-about term ("X是...", "X指...").

Scores become probabilities with a softmax over the sentences of the passage.
Long passages are first narrowed to the lexically best sentences, which MiniLM then
re-ranks, so latency stays bounded. Sentence embeddings are kept in a small in-process
cache, so a second question about the same passage embeds only the question.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.text import split_sentences

LEXICAL_TIEBREAK = 0.15  # weight of the normalised lexical score next to the cosine
TEMPERATURE_COSINE = 0.05
TEMPERATURE_LEXICAL = 0.25
MAX_SENTENCE_TOKENS = 128
MAX_EMBEDDED_SENTENCES = 48  # long passages: only the lexically best sentences are embedded
_BATCH = 32
_CACHE_SIZE = 4096  # sentence embeddings kept (about 1.5 kB each)

_EN_STOP = frozenset(
    """a an the is are was were be been being of in on at to for from by with and or not no
    what which who whom whose when where why how does do did has have had it its this that
    these those as into about than then there their they he she his her i you we our your
    can could would should will may might much many""".split()
)
_ZH_QUESTION_WORDS = sorted(
    """什么时候 为什么 什么样 是什么 什么是 是指什么 指什么 怎么样 怎么 怎样 如何 哪里 哪儿 哪些 哪个 哪一 哪 谁 多少 几 什么
    吗 呢 吧 啊 的 了 是 在 有 和 与 及 或 请问 请 一下""".split(),
    key=len,
    reverse=True,
)
_ZH_QW_RE = re.compile("|".join(map(re.escape, _ZH_QUESTION_WORDS)))
_ZH_DEFINE_RE = (
    re.compile(r"^\s*(?:什么是|何谓|何为)(.+?)[？?。！!]*\s*$"),
    re.compile(r"^\s*(.+?)(?:是什么|指什么|是指什么|是什么意思|的定义是什么)[？?。！!]*\s*$"),
)
_EN_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:'[a-z]+)?")
# runs of the characters core.text.is_cjk accepts
_CJK_RUN_RE = re.compile("[\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U0002fa1f\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]+")
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_NUMBER_WORDS = "one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|dozen"
# (question pattern, pattern of sentences holding that kind of answer)
_ANSWER_TYPES = (
    (
        re.compile(r"\b(?:when|what year|which year|what date|what century)\b", re.I),
        re.compile(rf"\b(?:1\d{{3}}|20\d{{2}}|\d{{1,2}}(?:st|nd|rd|th) century|{_MONTHS})\b", re.I),
    ),
    (
        re.compile(r"\bhow (?:many|much|tall|long|old|far|big|high|large|heavy|deep|fast)\b", re.I),
        re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I),
    ),
    (
        re.compile(r"哪一?年|什么时候|何时|哪个世纪|哪一天|几月|哪个朝代"),
        re.compile(r"\d+\s*年|[一二三四五六七八九十〇零百千]+年|世纪|\d+\s*月|朝"),
    ),
    (
        re.compile(r"多少|几[个种位名次岁]|多[高长大重远深久快]"),
        re.compile(r"\d|[一二三四五六七八九十两百千万亿]+[个种位名次岁米公千万亿%％]"),
    ),
)
ANSWER_TYPE_BONUS = 0.5  # in units of the best lexical score / of 0.1 cosine


@dataclass(frozen=True)
class Scored:
    start: int
    end: int
    score: float


# ---- lexical scoring -------------------------------------------------------------


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def lexical_terms(text: str, *, question: bool = False) -> list[str]:
    """Terms for BM25: English words (lower-cased, stop words removed, crude stem) and
    CJK character unigrams and bigrams (question words removed from questions)."""
    terms = [_stem(w) for w in (m.group().lower() for m in _EN_WORD_RE.finditer(text)) if w not in _EN_STOP]
    if question:
        text = _ZH_QW_RE.sub(" ", text)
    for m in _CJK_RUN_RE.finditer(text):
        run = m.group()
        terms.extend(run)
        terms.extend([run[i : i + 2] for i in range(len(run) - 1)])
    return terms


@dataclass(frozen=True)
class PassageIndex:
    """A passage split into sentences with their BM25 statistics (built once per passage)."""

    spans: list[tuple[int, int]]
    sentences: list[str]
    tfs: list[Counter[str]]
    lengths: np.ndarray  # (sentences,) number of terms
    df: Counter[str]
    postings: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # term -> (rows, tf), lazily


def _posting(index: PassageIndex, term: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Rows holding ``term`` and its counts there, built on first use and remembered."""
    hit = index.postings.get(term)
    if hit is None and term in index.df:
        rows = [i for i, tf in enumerate(index.tfs) if term in tf]
        hit = (np.array(rows), np.array([index.tfs[i][term] for i in rows], dtype=np.float64))
        index.postings[term] = hit
    return hit


def index_passage(context: str) -> PassageIndex:
    spans = split_sentences(context)
    sentences = [context[a:b] for a, b in spans]
    tfs = [Counter(lexical_terms(x)) for x in sentences]
    df: Counter[str] = Counter()
    for tf in tfs:
        df.update(tf.keys())
    lengths = np.array([sum(tf.values()) for tf in tfs], dtype=np.float64)
    return PassageIndex(spans, sentences, tfs, lengths, df)


_index_cache: OrderedDict[str, PassageIndex] = OrderedDict()


def cached_index(context: str) -> PassageIndex:
    """:func:`index_passage`, remembered for the last few passages (keyed by the text)."""
    with _cache_lock:
        hit = _index_cache.get(context)
        if hit is not None:
            _index_cache.move_to_end(context)
            return hit
    index = index_passage(context)
    with _cache_lock:
        _index_cache[context] = index
        while len(_index_cache) > 16:
            _index_cache.popitem(last=False)
    return index


def bm25_index(query: list[str], index: PassageIndex, *, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """BM25 score of each sentence of ``index`` for the query terms; ``(sentences,)``."""
    n = len(index.tfs)
    out = np.zeros(n)
    if not n:
        return out
    avg = float(index.lengths.mean()) or 1.0
    norm = k1 * (1 - b + b * index.lengths / avg)
    for term, qn in Counter(query).items():
        posting = _posting(index, term)
        if posting is None:
            continue
        rows, f = posting
        idf = math.log(1 + (n - len(rows) + 0.5) / (len(rows) + 0.5))
        out[rows] += qn * idf * f * (k1 + 1) / (f + norm[rows])
    return out


def bm25(query: list[str], docs: list[list[str]], *, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """BM25 score of each doc (a list of terms) for the query terms; ``(len(docs),)``."""
    tfs = [Counter(d) for d in docs]
    df: Counter[str] = Counter()
    for tf in tfs:
        df.update(tf.keys())
    index = PassageIndex([], [], tfs, np.array([len(d) for d in docs], dtype=np.float64), df)
    return bm25_index(query, index, k1=k1, b=b)


def _defined_term(question: str) -> str | None:
    for pattern in _ZH_DEFINE_RE:
        m = pattern.match(question)
        if m and m.group(1).strip():
            return m.group(1).strip()
    return None


def lexical_scores(question: str, index: PassageIndex) -> np.ndarray:
    """BM25 scores (char n-grams for CJK, words otherwise), plus a bonus for sentences
    defining the term of a "什么是X" / "X是什么" question; ``(sentences,)``."""
    sentences = index.sentences
    scores = bm25_index(lexical_terms(question, question=True), index)
    term = _defined_term(question)
    if term:
        top = float(scores.max()) if len(scores) else 0.0
        for i, s in enumerate(sentences):
            if re.search(re.escape(term) + r"\s*(?:是|指|即|，?是指|，?又称|（)", s):
                scores[i] += max(top, 1.0) * 0.5
    return scores


_WHO_RE = re.compile(r"^\s*(?:who|whom|whose)\b", re.I)
_NAME_RE = re.compile(r"(?<=\s)[A-Z][a-z]+")


def _names_beyond(question: str, sentence: str) -> bool:
    """Does ``sentence`` hold a capitalised word (not its first) that the question lacks?"""
    asked = {w.lower() for w in _EN_WORD_RE.findall(question)}
    return any(m.group().lower() not in asked for m in _NAME_RE.finditer(sentence))


def answer_type_match(question: str, sentences: list[str]) -> np.ndarray:
    """1.0 for sentences holding the kind of answer the question asks for (a year for
    "when"/"哪一年", a number for "how many"/"多少", a name not in the question for
    "who"), else 0.0; ``(len(sentences),)``."""
    out = np.zeros(len(sentences))
    for asks, holds in _ANSWER_TYPES:
        if asks.search(question):
            out = np.maximum(out, [1.0 if holds.search(s) else 0.0 for s in sentences])
    if _WHO_RE.search(question):
        out = np.maximum(out, [1.0 if _names_beyond(question, s) else 0.0 for s in sentences])
    return out


def _softmax(x: np.ndarray, temperature: float) -> np.ndarray:
    z = (x - x.max()) / temperature
    e = np.exp(z)
    return e / e.sum()


def _normalise(x: np.ndarray) -> np.ndarray:
    top = float(x.max()) if len(x) else 0.0
    return x / top if top > 0 else np.zeros_like(x)


# ---- sentence embeddings (MiniLM) ------------------------------------------------------

_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()


def embed(bundle: Any, texts: list[str]) -> np.ndarray:
    """L2-normalised mean-pooled sentence embeddings, ``(len(texts), hidden)`` float32, each
    sentence read up to :data:`MAX_SENTENCE_TOKENS` tokens (:func:`core.classify.embed`)."""
    from core.classify import embed as sentence_embeddings

    return sentence_embeddings(bundle, texts, _BATCH, max_tokens=MAX_SENTENCE_TOKENS)


def _sentence_embeddings(bundle: Any, sentences: list[str]) -> np.ndarray:
    """Embeddings of ``sentences``, computing only those not in the in-process cache."""
    keys = [
        bundle.key + ":" + hashlib.blake2b(x.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        for x in sentences
    ]
    with _cache_lock:
        found = {k: _cache[k] for k in keys if k in _cache}
        for k in found:
            _cache.move_to_end(k)
    missing = [i for i, k in enumerate(keys) if k not in found]
    if missing:
        vecs = embed(bundle, [sentences[i] for i in missing])
        with _cache_lock:
            for i, v in zip(missing, vecs):
                _cache[keys[i]] = found[keys[i]] = v
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return np.stack([found[k] for k in keys])


def clear_cache() -> None:
    """Forget cached sentence embeddings and passage indexes."""
    with _cache_lock:
        _cache.clear()
        _index_cache.clear()


# ---- the retrieval ---------------------------------------------------------------------


def retrieve(question: str, context: str, *, bundle: Any | None = None, top_k: int = 3) -> tuple[list[Scored], int]:
    """The ``top_k`` sentences most likely to hold the answer, and how many there were.

    With ``bundle`` (the MiniLM encoder) sentences are ranked by embedding cosine plus
    a lexical tie-breaker; without it, by the lexical score alone.
    """
    index = cached_index(context)
    spans, sentences = index.spans, index.sentences
    if not spans:
        return [], 0
    lex = lexical_scores(question, index)
    typed = answer_type_match(question, sentences)
    if bundle is not None:
        lexical = _normalise(lex) + ANSWER_TYPE_BONUS * typed
        # long passages: BM25 (+ answer type) picks the candidates MiniLM re-ranks
        candidates = np.argsort(-lexical, kind="stable")[:MAX_EMBEDDED_SENTENCES]
        vecs = _sentence_embeddings(bundle, [sentences[i] for i in candidates])
        q = embed(bundle, [question])[0]
        combined = np.full(len(spans), -np.inf)
        combined[candidates] = vecs @ q + LEXICAL_TIEBREAK * lexical[candidates]
        probs = _softmax(combined, TEMPERATURE_COSINE)
    else:
        # position prior: among equal lexical scores the earlier sentence wins
        combined = _normalise(lex) + ANSWER_TYPE_BONUS * typed - 1e-6 * np.arange(len(spans))
        probs = _softmax(combined, TEMPERATURE_LEXICAL)
    order = np.argsort(-combined, kind="stable")[:top_k]
    return [Scored(spans[i][0], spans[i][1], float(probs[i])) for i in order], len(spans)
