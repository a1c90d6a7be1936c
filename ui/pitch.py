"""Pitch mode (``?pitch=1``): a clean presentation layout and a guided tour of curated
examples across the four pages, in the chosen language, with a one-line message each."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from ui.i18n import lang, t
from ui.layout import PAGE_FILES

AI_PASSAGE_EN = (
    "Artificial intelligence (AI) is the capability of computer systems to perform tasks that are "
    "normally associated with human intelligence, such as learning, reasoning, problem-solving, "
    "perception and decision-making. It is a field of research in computer science that develops "
    "methods and software that enable machines to perceive their environment and use learning and "
    "intelligence to take actions that maximize their chances of achieving defined goals."
)
AI_PASSAGE_ZH = (
    "人工智能（AI）是指由计算机系统所表现出的智能，即让机器能够完成通常需要人类智能才能完成的任务，"
    "例如学习、推理、解决问题、感知和决策。人工智能是计算机科学的一个研究领域，研究如何开发能够感知环境、"
    "通过学习和智能采取行动以最大化实现既定目标的方法和软件。1956年的达特茅斯会议通常被视为人工智能学科的诞生。"
)


@dataclass(frozen=True)
class Step:
    page: str  # key of PAGE_FILES
    message: str  # string key of the one-line message for the audience
    params: dict[str, dict[str, str]] = field(default_factory=dict)  # lang -> prefill query params


STEPS: tuple[Step, ...] = (
    Step("home", "pitch.step.home"),
    Step(
        "qa",
        "pitch.step.qa",
        {
            "en": {"question": "What is artificial intelligence?", "context": AI_PASSAGE_EN},
            "zh": {"question": "什么是人工智能？", "context": AI_PASSAGE_ZH},
        },
    ),
    Step(
        "classify",
        "pitch.step.classify",
        {
            "en": {"text": "A gripping, beautifully acted film that stays with you long after the credits."},
            "zh": {"text": "这家店的菜很好吃，服务也很周到，下次还会再来！"},
        },
    ),
    Step("digits", "pitch.step.digits", {"en": {"example": "7"}, "zh": {"example": "7"}}),
    Step(
        "attention",
        "pitch.step.attention",
        {
            "en": {"text": "The cat sat on the mat because it was tired."},
            "zh": {"text": "今天天气很好，我们去公园散步吧。"},
        },
    ),
    Step("status", "pitch.step.status"),
)

PITCH_CSS = """
<style>
/* Presentation layout: larger type, no developer chrome. */
html, body, [data-testid="stMain"] { font-size: 1.12rem; }
[data-testid="stMain"] h1 { font-size: 2.6rem; }
[data-testid="stMain"] p, [data-testid="stMain"] li { font-size: 1.15rem; }
[data-testid="stToolbar"], [data-testid="stStatusWidget"], [data-testid="stDecoration"] { display: none; }
.pitch-dev, [data-testid="stExpander"] { display: none; }  /* developer details */
</style>
"""


def is_pitch() -> bool:
    return st.query_params.get("pitch") == "1"


def step_index() -> int:
    try:
        return max(0, min(int(st.query_params.get("step", "0")), len(STEPS) - 1))
    except ValueError:
        return 0


def step_params(i: int) -> dict[str, str]:
    step = STEPS[i]
    return {**step.params.get(lang(), {}), "pitch": "1", "step": str(i), "lang": lang()}


def pitch_bar() -> None:
    """The presenter's bar on top of every page: step, message, previous / next."""
    st.markdown(PITCH_CSS, unsafe_allow_html=True)
    i = step_index()
    with st.container(border=True):
        left, mid, right = st.columns([1.4, 5, 1.4], vertical_alignment="center")
        if i > 0:
            left.page_link(
                PAGE_FILES[STEPS[i - 1].page], label=t("pitch.prev"), icon="◀️", query_params=step_params(i - 1)
            )
        mid.markdown(f"**{t('pitch.step', n=i + 1, total=len(STEPS))}** · {t(STEPS[i].message)}")
        if i + 1 < len(STEPS):
            right.page_link(
                PAGE_FILES[STEPS[i + 1].page], label=t("pitch.next"), icon="▶️", query_params=step_params(i + 1)
            )
        else:
            right.page_link(PAGE_FILES["home"], label=t("pitch.end"), icon="🏁", query_params={"lang": lang()})
