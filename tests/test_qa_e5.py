"""Our offline span-QA model ``qa-e5`` (multilingual-e5-small fine-tuned on real QA data):
exact answers in English and Chinese through ``core.qa``, bad input, the calibrated
"may not contain the answer" flag, and the sentence fallback when e5 cannot be loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import registry
from core.qa import answer, answer_details, pick_model

ROOT = Path(__file__).resolve().parent.parent

EIFFEL = (
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. "
    "It is named after the engineer Gustave Eiffel, whose company designed and built the tower. "
    "It was constructed from 1887 to 1889 as the centerpiece of the 1889 World's Fair. "
    "The tower is 330 metres tall, about the same height as an 81-storey building. "
    "It was the tallest man-made structure in the world until the Chrysler Building in New York was finished in 1930."
)
CURIE = (
    "Marie Curie was a Polish and naturalised-French physicist and chemist. "
    "She conducted pioneering research on radioactivity, a term she coined. "
    "She was the first woman to win a Nobel Prize, and the only person to win Nobel Prizes in two different sciences. "
    "Together with her husband Pierre Curie she discovered the elements polonium and radium."
)
INTERNET = (
    "The Internet is a global network of interconnected computers. "
    "It grew out of ARPANET, a project funded by the United States Department of Defense in the late 1960s. "
    "Tim Berners-Lee invented the World Wide Web in 1989 while working at CERN. "
    "Today more than five billion people use the Internet. Data travels across it in small units called packets."
)
GREATWALL = (
    "长城是中国古代的军事防御工程，也是世界上最著名的建筑之一。它始建于春秋战国时期，秦始皇统一六国后把各段城墙连接起来。"
    "现存的长城大多修建于明朝。根据 2012 年的测量，历代长城总长度为 21196.18 千米。"
    "1987 年，长城被联合国教科文组织列入《世界遗产名录》。"
)
PANDA = (
    "大熊猫是中国特有的哺乳动物，被誉为“活化石”和“中国国宝”。它们主要生活在四川、陕西和甘肃的山区竹林中。"
    "大熊猫最喜欢吃竹子，一只成年大熊猫每天要花十多个小时进食。"
    "野生大熊猫的寿命一般为 18 到 20 岁，圈养状态下可以超过 30 岁。"
)
AI_ZH = (
    "人工智能（Artificial Intelligence，简称 AI）是计算机科学的一个分支，研究如何让机器模拟、延伸和扩展人的智能。"
    "1956 年，在美国达特茅斯学院举行的一次会议上，“人工智能”这一术语被正式提出。"
    "机器学习是实现人工智能的重要方法，它让计算机从数据中自动学习规律，而不是依靠人手写规则。"
)

# Factoid questions on encyclopedic passages of the kind a visitor pastes: (question, passage, accepted answers)
FACTOIDS_EN = [
    ("Who designed the tower?", EIFFEL, {"Gustave Eiffel", "the engineer Gustave Eiffel"}),
    (
        "Where is the Eiffel Tower?",
        EIFFEL,
        {
            "on the Champ de Mars in Paris, France",
            "the Champ de Mars in Paris, France",
            "Champ de Mars in Paris, France",
            "Paris, France",
            "Champ de Mars",
        },
    ),
    ("How tall is the tower?", EIFFEL, {"330 metres", "330 metres tall"}),
    ("When was the Chrysler Building finished?", EIFFEL, {"1930"}),
    ("Which elements did she discover?", CURIE, {"polonium and radium"}),
    ("Who was Marie Curie's husband?", CURIE, {"Pierre Curie"}),
    ("What term did Marie Curie coin?", CURIE, {"radioactivity"}),
    ("Who invented the World Wide Web?", INTERNET, {"Tim Berners-Lee"}),
    ("When was the World Wide Web invented?", INTERNET, {"1989", "in 1989"}),
    ("What are the small units of data called?", INTERNET, {"packets"}),
]
FACTOIDS_ZH = [
    ("长城是哪一年被列入世界遗产名录的？", GREATWALL, {"1987 年", "1987年", "1987"}),
    ("现存的长城大多修建于哪个朝代？", GREATWALL, {"明朝"}),
    ("谁把各段城墙连接起来？", GREATWALL, {"秦始皇"}),
    ("历代长城总长度是多少？", GREATWALL, {"21196.18 千米", "21196.18千米"}),
    ("大熊猫最喜欢吃什么？", PANDA, {"竹子"}),
    (
        "大熊猫主要生活在哪里？",
        PANDA,
        {"四川、陕西和甘肃的山区竹林中", "四川、陕西和甘肃的山区竹林", "四川、陕西和甘肃"},
    ),
    ("野生大熊猫的寿命一般是多少岁？", PANDA, {"18 到 20 岁", "18 到 20"}),
    ("“人工智能”这一术语是哪一年提出的？", AI_ZH, {"1956 年", "1956"}),
    ("“人工智能”一词是在哪里的会议上提出的？", AI_ZH, {"美国达特茅斯学院", "达特茅斯学院"}),
    ("实现人工智能的重要方法是什么？", AI_ZH, {"机器学习"}),
]

needs_model = pytest.mark.skipif(
    registry.bundled_path(registry.get("qa-e5")) is None,
    reason="models/qa-e5 is not trained yet (python -m training.qa)",
)


@needs_model
def test_qa_e5_is_the_offline_default_in_both_languages(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert pick_model(EIFFEL) == "qa-e5"
    assert pick_model(GREATWALL) == "qa-e5"


@needs_model
def test_who_designed_the_tower_is_an_exact_span():
    result = answer_details("Who designed the tower?", EIFFEL, model="qa-e5")
    best = result.answers[0]
    assert result.mode == "span" and result.model == "qa-e5"
    assert best.text == "Gustave Eiffel" and EIFFEL[best.start : best.end] == best.text


@needs_model
@pytest.mark.parametrize("lang, cases", [("en", FACTOIDS_EN), ("zh", FACTOIDS_ZH)])
def test_factoid_answers_are_exact(lang, cases):
    exact = []
    for question, passage, accepted in cases:
        best = answer(question, passage, model="qa-e5", top_k=1)[0]
        assert passage[best.start : best.end] == best.text
        exact.append(best.text in accepted)
    wrong = [c[0] for c, ok in zip(cases, exact) if not ok]
    assert sum(exact) >= 0.8 * len(cases), f"{lang}: not exact for {wrong}"


@needs_model
def test_definition_answer_does_not_end_with_clause_punctuation():
    """The page's Chinese example: the definition is the answer, without the sentence's "。"."""
    passage = (
        "人工智能（Artificial Intelligence，简称 AI）是计算机科学的一个分支，研究如何让机器模拟、延伸和扩展人的智能。"
        "1956 年，在美国达特茅斯学院举行的一次会议上，“人工智能”这一术语被正式提出。"
    )
    for best in answer("什么是人工智能？", passage, model="qa-e5", top_k=3):
        assert best.text and best.text[-1] not in "。，、；：！？" and best.text[0] not in "。，、；：！？"
        assert passage[best.start : best.end] == best.text


@needs_model
def test_cross_lingual_question_still_answers():
    best = answer("When was the Great Wall listed as a World Heritage Site?", GREATWALL, model="qa-e5")[0]
    assert "1987" in best.text
    best = answer("谁发明了万维网？", INTERNET, model="qa-e5")[0]
    assert best.text == "Tim Berners-Lee"


@needs_model
@pytest.mark.parametrize(
    "question, passage",
    [
        ("What is this?", "<script>alert('x')</script> The answer is <b>forty-two</b>."),
        ("Who?", "😀🎉 " * 50 + "Alice met Bob. 👍🏽"),
        ("What?", "\x00\x01\x02binary\xff\xfe garbage \u202e"),
        ("什么？", "。" * 300),
    ],
)
def test_odd_passages_never_break(question, passage):
    result = answer_details(question, passage, model="qa-e5")
    for a in result.answers:
        assert passage[a.start : a.end] == a.text


@needs_model
def test_long_passage_is_answered_across_windows():
    filler = "The weather was mild and nothing else happened that day. " * 60  # ~3,500 characters
    passage = filler + "The treasure was buried under the old oak tree by Captain Flint. " + filler
    result = answer_details("Who buried the treasure?", passage, model="qa-e5")
    assert result.windows_total > 4 and result.windows <= result.windows_total  # read: its best windows
    assert "Flint" in result.answers[0].text


@needs_model
def test_unanswerable_question_is_flagged_weak():
    threshold = json.loads((ROOT / "models/qa-e5/metrics.json").read_text())["no_answer"]["threshold"]
    assert 0 < threshold < 1
    result = answer_details("What is the boiling point of mercury?", PANDA, model="qa-e5")
    assert result.answers and result.weak
    assert not answer_details("Who designed the tower?", EIFFEL, model="qa-e5").weak


def _run_isolated(code: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.slow
@needs_model
@pytest.mark.parametrize("make_file, code", [(False, "e5-not-installed"), (True, "e5-corrupt")])
def test_broken_encoder_falls_back_to_sentences(tmp_path, make_file, code):
    bad = tmp_path / "e5-small-q4.bin"
    if make_file:
        bad.write_bytes(b"E5S1" + os.urandom(2000))
    out = _run_isolated(
        "from core.qa import answer_details\n"
        "r = answer_details('Who designed the tower?', " + repr(EIFFEL) + ")\n"
        "print(r.mode, r.model, r.fallback, r.fallback_from, r.why, 'Gustave Eiffel' in r.answers[0].text)",
        {
            "DEMO_E5_FILE": str(bad),
            "DEMO_MODEL_CACHE": str(tmp_path / "cache"),
            "HF_HUB_OFFLINE": "1",
            "DEMO_WARMUP": "0",
        },
    )
    assert out == f"sentence minilm {code} qa-e5 fallback True"
