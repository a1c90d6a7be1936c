"""Long passages (issue 21): the span model reads a long passage's best windows only, says
which parts it read, and a passage over core's limit is refused with a code (core, API,
page). Real bundled ``qa-e5``, offline."""

from __future__ import annotations

import pickle

import pytest

from core import loaders, registry
from core.qa import MAX_CONTEXT_CHARS, PassageTooLong, answer, answer_details, answer_with_bundle
from core.qa import select as qa_select
from core.qa import span as qa_span

pytestmark = pytest.mark.skipif(
    registry.bundled_path(registry.get("qa-e5")) is None,
    reason="models/qa-e5 is not trained yet (python -m training.qa)",
)

EIFFEL = (
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. "
    "It is named after the engineer Gustave Eiffel, whose company designed and built the tower. "
    "It was constructed from 1887 to 1889 as the centerpiece of the 1889 World's Fair. "
    "The tower is 330 metres tall, about the same height as an 81-storey building. "
)
FILLER_EN = (
    "Bread is made from flour, water, salt and yeast, kneaded and left to rise before baking. "
    "Sourdough uses a starter of wild yeast and bacteria instead of packaged yeast. "
    "Rivers carry sediment from the mountains to the sea and shape wide valleys over millions of years. "
    "The Nile and the Amazon are among the longest rivers on Earth. "
    "Chess is played on a board of sixty-four squares by two players who move sixteen pieces each. "
    "Volcanoes form where molten rock rises through cracks in the crust of the planet. "
    "Honeybees communicate the direction of flowers to their hive mates with a waggle dance. "
    "Tea was first drunk in China and reached Europe in the seventeenth century. "
)
GREATWALL = (
    "长城是中国古代的军事防御工程，也是世界上最著名的建筑之一。它始建于春秋战国时期，秦始皇统一六国后把各段城墙连接起来。"
    "现存的长城大多修建于明朝。根据 2012 年的测量，历代长城总长度为 21196.18 千米。"
    "1987 年，长城被联合国教科文组织列入《世界遗产名录》。"
)
FILLER_ZH = (
    "面包是用面粉、水、盐和酵母揉成面团，发酵以后烘烤而成的食物。"
    "河流把山上的泥沙带到大海，经过漫长的岁月冲出宽阔的河谷。"
    "国际象棋的棋盘有六十四个方格，双方各有十六枚棋子。"
    "蜜蜂用摇摆舞告诉同伴花朵的方向和距离。"
    "茶最早在中国饮用，十七世纪传到欧洲。"
    "火山是地下熔岩沿着地壳裂缝上升喷出地面而形成的。"
)


def _padded(paragraph: str, filler: str, before: int, after: int) -> str:
    """``paragraph`` with ``before`` and ``after`` copies of unrelated ``filler`` around it."""
    return filler * before + paragraph + filler * after


def _bundle():
    return loaders.load("qa-e5")


def _windows(question: str, context: str) -> qa_span.Windows:
    meta = _bundle().meta
    return qa_span.encode_windows(
        _bundle().preprocessor, question, context, max_length=meta["window_tokens"], stride=meta["window_stride"]
    )


@pytest.mark.parametrize(
    "question, context, answer_text",
    [
        ("Who designed the tower?", _padded(EIFFEL, FILLER_EN, 6, 6), "Gustave Eiffel"),
        ("How tall is the Eiffel Tower?", _padded(EIFFEL, FILLER_EN, 10, 2), "330 metres"),
        ("历代长城总长度是多少？", _padded(GREATWALL, FILLER_ZH, 8, 8), "21196.18 千米"),
        ("长城是哪一年被列入世界遗产名录的？", _padded(GREATWALL, FILLER_ZH, 3, 12), "1987"),
    ],
)
def test_selection_picks_the_window_holding_the_answer(question, context, answer_text):
    windows = _windows(question, context)
    assert windows.count > qa_select.READ_WINDOWS, "the passage must be longer than the windows read"
    selection = qa_select.choose_windows(question, context, windows)
    chosen = selection.chosen
    assert selection.part and selection.total == windows.count
    assert len(chosen) == qa_select.READ_WINDOWS and chosen == sorted(chosen)
    a = context.index(answer_text)
    spans = qa_select.window_spans(windows)
    assert any(spans[i][0] <= a and a + len(answer_text) <= spans[i][1] for i in chosen)
    # the best-ranked window holds it (not just one of the k)
    best = max(range(windows.count), key=lambda i: qa_select.rank_windows(question, context, spans)[i])
    assert spans[best][0] <= a < spans[best][1]

    result = answer_details(question, context, model="qa-e5")
    assert result.mode == "span" and result.windows == qa_select.READ_WINDOWS
    assert result.windows_total == windows.count
    best_answer = result.answers[0]
    assert answer_text in best_answer.text
    assert context[best_answer.start : best_answer.end] == best_answer.text
    for x in result.answers:
        assert context[x.start : x.end] == x.text
        assert any(s <= x.start and x.end <= e for s, e in result.segments), "answers come from the parts read"
    # segments: the chosen windows' characters, in order, not overlapping, short of the whole
    assert list(result.segments) == sorted(result.segments)
    assert all(s < e <= t for (s, e), (t, _) in zip(result.segments, result.segments[1:]))
    assert 0 < sum(e - s for s, e in result.segments) < len(context)


def test_reading_the_best_windows_against_reading_every_window():
    """The same passage read whole and in part: the part is the 3 best windows and still
    holds the answer (read whole, the many unrelated windows share the probability mass:
    here "Sourdough" and "Gustave Eiffel" come out nearly tied)."""
    context = _padded(EIFFEL, FILLER_EN, 6, 6)
    question = "Who designed the tower?"
    part = answer_with_bundle(_bundle(), question, context, top_k=3, read_windows=qa_select.READ_WINDOWS)
    whole = answer_with_bundle(_bundle(), question, context, top_k=3)  # the default for direct callers: every window
    assert whole.windows == whole.windows_total > part.windows == qa_select.READ_WINDOWS
    assert part.windows_total == whole.windows_total
    assert whole.segments == () and part.segments
    assert part.answers[0].text == "Gustave Eiffel"
    assert "Gustave Eiffel" in [a.text for a in whole.answers]


@pytest.mark.parametrize(
    "question, context",
    [
        ("Who designed the tower?", EIFFEL),
        ("历代长城总长度是多少？", GREATWALL),
    ],
)
def test_short_passages_are_read_whole_as_before(question, context):
    """Up to READ_WINDOWS windows: every window is read, ``segments`` stays empty (= the
    whole passage), and the answers are exactly those of reading every window."""
    result = answer_details(question, context, model="qa-e5")
    assert result.windows == result.windows_total <= qa_select.READ_WINDOWS
    assert result.segments == ()
    whole = answer_with_bundle(_bundle(), question, context, read_windows=None)
    assert [(a.start, a.end, round(a.score, 6)) for a in result.answers] == [
        (a.start, a.end, round(a.score, 6)) for a in whole.answers
    ]


def test_a_passage_over_the_limit_is_refused_with_a_code():
    assert MAX_CONTEXT_CHARS == 20_000
    too_long = "x " * (MAX_CONTEXT_CHARS // 2) + "y"
    assert len(too_long) == MAX_CONTEXT_CHARS + 1
    for call in (answer_details, answer):
        with pytest.raises(PassageTooLong) as err:
            call("What?", too_long)
        assert isinstance(err.value, ValueError) and err.value.code == "passage-too-long"
        assert err.value.length == MAX_CONTEXT_CHARS + 1 and err.value.limit == MAX_CONTEXT_CHARS
        assert "20,000" in str(err.value)
    with pytest.raises(PassageTooLong):
        answer_details("", too_long)  # refused before anything else, even without a question
    # it crosses processes whole (Ray Serve replicas pickle it)
    again = pickle.loads(pickle.dumps(PassageTooLong(25_000)))
    assert (again.code, again.length, again.limit) == ("passage-too-long", 25_000, MAX_CONTEXT_CHARS)


def test_a_passage_at_the_limit_is_read_in_part():
    context = _padded(EIFFEL, FILLER_EN, 20, 0)
    context = (context + FILLER_EN * 40)[:MAX_CONTEXT_CHARS]
    result = answer_details("Who designed the tower?", context, model="qa-e5")
    assert len(context) == MAX_CONTEXT_CHARS
    assert result.windows == qa_select.READ_WINDOWS < result.windows_total
    a = context.index("Gustave Eiffel")
    assert any(s <= a and a + len("Gustave Eiffel") <= e for s, e in result.segments)
    # without the ranking's prior (with_prior) "Honeybees" and "Gustave Eiffel" came out neck and neck here
    assert result.answers[0].text == "Gustave Eiffel" and result.answers[0].score > 5 * result.answers[1].score


@pytest.mark.parametrize(
    "question, context",
    [
        ("What is this?", ("<script>alert('x')</script> The answer is <b>forty-two</b>. " + FILLER_EN) * 8),
        ("Who met Bob?", "😀🎉 " * 800 + "Alice met Bob. 👍🏽 " + "🍞🌋 " * 800),
        ("What?", "\x00\x01\x02binary\xff\xfe garbage \u202e " * 150),
        ("什么？", "。" * 3000),
        ("Кто построил башню?", "Эйфелеву башню спроектировал инженер Гюстав Эйфель. " * 60),
        ("塔は誰が設計しましたか？", "エッフェル塔はギュスターヴ・エッフェルが設計した。" * 120),
        ("", FILLER_EN * 10),
        ("Who?", " \n\t " * 2000),
    ],
    ids=["script", "emoji", "binary", "punctuation", "russian", "japanese", "empty-question", "blank-passage"],
)
def test_odd_long_passages_keep_the_contract(question, context):
    result = answer_details(question, context, model="qa-e5")
    if not question.strip() or not context.strip():
        assert result.answers == () and result.windows == 0
        return
    assert result.windows <= qa_select.READ_WINDOWS and result.windows <= result.windows_total
    for a in result.answers:
        assert context[a.start : a.end] == a.text
    for s, e in result.segments:
        assert 0 <= s < e <= len(context)


def test_segments_merge_overlapping_windows():
    context = _padded(EIFFEL, FILLER_EN, 6, 6)
    windows = _windows("Who designed the tower?", context)
    spans = qa_select.window_spans(windows)
    assert spans[0][1] > spans[1][0], "neighbouring windows overlap (stride)"
    assert qa_select.segments(windows, [0, 1]) == ((spans[0][0], spans[1][1]),)
    assert qa_select.segments(windows, [0, 3]) == (spans[0], spans[3])
    taken = qa_select.take(windows, [1, 3])
    assert taken.count == 2 and (taken.offsets[1] == windows.offsets[3]).all()
    every = qa_select.choose_windows("q", context, windows, None)
    assert every.chosen == list(range(windows.count)) and not every.part


def test_the_ranking_prior_weighs_answers_by_their_window():
    """Read in part, each window's logits get WINDOW_PRIOR x (its score - the best score) on
    its context tokens only: 0 for the best window, less for the others; read whole, none."""
    import numpy as np

    question = "Who designed the tower?"
    context = _padded(EIFFEL, FILLER_EN, 6, 6)
    windows = _windows(question, context)
    selection = qa_select.choose_windows(question, context, windows)
    read = qa_select.take(windows, selection.chosen)
    start = np.zeros(read.is_context.shape, dtype=np.float32)
    s2, e2 = qa_select.with_prior(start, start.copy(), read, selection)
    best = int(np.argmax(selection.scores))
    for w in range(read.count):
        expected = qa_select.WINDOW_PRIOR * (selection.scores[w] - selection.scores[best])
        assert np.allclose(s2[w][read.is_context[w]], expected) and np.allclose(e2[w][read.is_context[w]], expected)
        assert (s2[w][~read.is_context[w]] == 0).all()  # question, specials, padding: untouched
    assert (s2[best] == 0).all()
    assert min(selection.scores) < max(selection.scores), "the filler windows rank below the answer's"
    whole = qa_select.choose_windows(question, EIFFEL, _windows(question, EIFFEL))
    same = np.ones((whole.total, 4), dtype=np.float32)
    assert qa_select.with_prior(same, same, _windows(question, EIFFEL), whole)[0] is same
