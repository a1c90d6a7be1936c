"""Long-passage VALIDATION sets for the span model's window selection (``bench/qa.py``).

Built from :mod:`training.qa_data` validation articles only (never ``squad_dev_v1.1`` nor
XQuAD articles 24-47, the held-out test sets):

- ``covid``: COVID-QA articles 90-95 (one long paper each), cut at the passage limit;
- ``squad``: all paragraphs of one SQuAD 1.1 train validation article (426-441) joined
  into one passage, cut at the passage limit;
- ``cmrc``: consecutive CMRC 2018 train validation articles (2103-2402, about 400 Chinese
  characters each, unrelated topics) joined into passages of up to ``ZH_CHARS`` characters;
- ``drcd``: the validation paragraphs of one DRCD test article joined (same topic
  throughout: a harder ranking than ``cmrc``; 1,000-3,500 characters).

Each question keeps its answers, their offsets shifted into the joined passage; a question
whose answers all fall past the cut is dropped. ``n`` questions are taken evenly spread over
the set (fixed, no randomness), so a run is repeatable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.qa.select import MAX_CONTEXT_CHARS

ZH_CHARS = 10_000  # Chinese: about 50 windows, as many as 20,000 English characters (41)
SETS = ("covid", "squad", "cmrc", "drcd")
LANG = {"covid": "en", "squad": "en", "cmrc": "zh", "drcd": "zh"}


@dataclass(frozen=True)
class LongExample:
    question: str
    context: str
    answers: tuple[tuple[str, int], ...]  # (text, char start in context)
    lang: str
    set: str


def _join(
    paragraphs: list[str], questions: list[tuple[int, str, tuple[tuple[str, int], ...]]], sep: str, cap: int, name: str
) -> list[LongExample]:
    """Paragraphs joined with ``sep`` (cut at ``cap`` characters) and the questions
    ``(paragraph index, question, answers)`` with their offsets shifted."""
    starts, pos = [], 0
    for p in paragraphs:
        starts.append(pos)
        pos += len(p) + len(sep)
    context = sep.join(paragraphs)[:cap]
    lang = LANG[name]
    out = []
    for pi, q, answers in questions:
        moved = tuple((t, s + starts[pi]) for t, s in answers if s >= 0 and s + starts[pi] + len(t) <= len(context))
        if moved:
            assert all(context[s : s + len(t)] == t for t, s in moved)
            out.append(LongExample(q, context, moved, lang, name))
    return out


def _spread(items: list[LongExample], n: int) -> list[LongExample]:
    """``n`` items evenly spread over ``items`` (all when there are fewer)."""
    if n <= 0 or len(items) <= n:
        return items
    return [items[round(i * (len(items) - 1) / (n - 1))] if n > 1 else items[0] for i in range(n)]


def _articles(name: str, keep: Callable[[int], bool]) -> list[tuple[int, list]]:
    from training import qa_data

    return [(ai, exs) for ai, exs in qa_data.load(name) if keep(ai)]


def _by_paragraph(exs: list) -> tuple[list[str], list[tuple[int, str, tuple[tuple[str, int], ...]]]]:
    paragraphs: list[str] = []
    questions = []
    for ex in exs:
        if not paragraphs or paragraphs[-1] != ex.context:
            paragraphs.append(ex.context)
        questions.append((len(paragraphs) - 1, ex.question, ex.answers))
    return paragraphs, questions


def covid(cap: int = MAX_CONTEXT_CHARS) -> list[LongExample]:
    out = []
    for _, exs in _articles("covid_qa", lambda a: a >= 90):
        paragraphs, questions = _by_paragraph(exs)
        out += _join(paragraphs, questions, "\n\n", cap, "covid")
    return out


def squad(cap: int = MAX_CONTEXT_CHARS) -> list[LongExample]:
    from training import qa_data

    out = []
    for _, exs in _articles("squad_train_v1.1", lambda a: a >= qa_data.SQUAD_VAL_FROM):
        paragraphs, questions = _by_paragraph(exs)
        out += _join(paragraphs, questions, "\n\n", cap, "squad")
    return out


def cmrc(cap: int = ZH_CHARS) -> list[LongExample]:
    from training import qa_data

    out: list[LongExample] = []
    group: list = []
    size = 0
    arts = _articles("cmrc2018_train", lambda a: a >= qa_data.CMRC_TRAIN_VAL_FROM)
    for i, (_, exs) in enumerate(arts):
        if exs:
            group += exs
            size += len(exs[0].context) + 1
        if group and (size >= cap or i == len(arts) - 1):
            paragraphs, questions = _by_paragraph(group)
            out += _join(paragraphs, questions, "\n", cap, "cmrc")
            group, size = [], 0
    return out


def drcd(cap: int = MAX_CONTEXT_CHARS) -> list[LongExample]:
    """DRCD test's validation questions (the last 250, whole paragraphs: the cut of
    :func:`training.qa_data.splits`), one passage per article."""
    from training import qa_data

    exs = [e for _, a in qa_data.load("drcd_test") for e in a]
    cut = len(exs) - 250
    while cut > 0 and exs[cut - 1].context == exs[cut].context:
        cut -= 1
    by_article: dict[str, list] = {}
    for e in exs[cut:]:
        by_article.setdefault(e.id.split("/")[1], []).append(e)
    out = []
    for group in by_article.values():
        paragraphs, questions = _by_paragraph(group)
        out += _join(paragraphs, questions, "\n", cap, "drcd")
    return out


def load(name: str, n: int = 60) -> list[LongExample]:
    """``n`` questions of the long validation set ``name`` (one of :data:`SETS`)."""
    build = {"covid": covid, "squad": squad, "cmrc": cmrc, "drcd": drcd}[name]
    return _spread(build(), n)


@dataclass(frozen=True)
class Scores:
    n: int
    em: float  # percent
    f1: float  # percent
    windows: float  # mean windows read per question
    seconds: float  # total time answering


def evaluate(bundle: object, examples: list[LongExample], read_windows: int | None) -> Scores:
    """EM / F1 (:func:`training.qa_data.score`) of the span model's best answer on
    ``examples``, reading ``read_windows`` windows of each passage (``None``: all of them)."""
    import time

    from core.qa import answer_with_bundle
    from training import qa_data

    em = f1 = windows = 0.0
    t0 = time.perf_counter()
    for ex in examples:
        r = answer_with_bundle(bundle, ex.question, ex.context, top_k=1, read_windows=read_windows, lang=ex.lang)
        pred = r.answers[0].text if r.answers else ""
        e, f = qa_data.score(pred, [t for t, _ in ex.answers], ex.lang)
        em, f1, windows = em + e, f1 + f, windows + r.windows
    n = max(1, len(examples))
    return Scores(len(examples), 100 * em / n, 100 * f1 / n, windows / n, time.perf_counter() - t0)


def available() -> bool:
    """Is the QA data (``../shared/data/qa``) here?"""
    from training import qa_data

    return all(
        (qa_data.DATA / f"{name}.json.gz").exists()
        for name in ("covid_qa", "squad_train_v1.1", "cmrc2018_train", "drcd_test")
    )
