"""Question answering: the answer highlighted inside the passage, English and Chinese.

Reads ``?question=`` and ``?context=`` (prefill, e.g. from a shared link). Online or with
a cached span model the answer is an exact span; offline it is the best sentence(s),
and the page says so.
"""

from __future__ import annotations

import streamlit as st

from core import registry
from core.qa import LEXICAL, QAResult, answer_details, pick_model
from core.text import detect_language, split_sentences
from ui.common import (ensure_model, friendly_errors, keep_in_url, model_picker, page_header, page_link_to,
                       record_prediction)
from ui.i18n import lang, t
from ui.qa_view import alternatives_html, answer_card_html, passage_html, percent

MAX_CHARS = 20_000
MIN_ALTERNATIVE_SCORE = 0.005  # runner-ups below 0.5% are noise: not shown
ATTENTION_PAIR_CHARS = 300  # the attention page shows at most 128 tokens
_RESULT = "_qa_result"

EXAMPLES: dict[str, tuple[str, str]] = {
    "ai_zh": (
        "人工智能（Artificial Intelligence，简称 AI）是计算机科学的一个分支，研究如何让机器模拟、延伸和扩展人的智能。"
        "1956 年，在美国达特茅斯学院举行的一次会议上，“人工智能”这一术语被正式提出。"
        "机器学习是实现人工智能的重要方法，它让计算机从数据中自动学习规律，而不是依靠人手写规则。"
        "深度学习使用多层神经网络，在图像识别和语音识别等任务上取得了突破。"
        "如今，人工智能被广泛应用于医疗诊断、自动驾驶、机器翻译和金融风控等领域。",
        "什么是人工智能？",
    ),
    "greatwall_zh": (
        "长城是中国古代的军事防御工程，也是世界上最著名的建筑之一。它始建于春秋战国时期，秦始皇统一六国后把各段城墙连接起来。"
        "现存的长城大多修建于明朝。根据 2012 年的测量，历代长城总长度为 21196.18 千米。"
        "1987 年，长城被联合国教科文组织列入《世界遗产名录》。",
        "长城是哪一年被列入世界遗产名录的？",
    ),
    "panda_zh": (
        "大熊猫是中国特有的哺乳动物，被誉为“活化石”和“中国国宝”。它们主要生活在四川、陕西和甘肃的山区竹林中。"
        "大熊猫最喜欢吃竹子，一只成年大熊猫每天要花十多个小时进食。"
        "野生大熊猫的寿命一般为 18 到 20 岁，圈养状态下可以超过 30 岁。",
        "大熊猫主要生活在哪里？",
    ),
    "eiffel_en": (
        "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. "
        "It is named after the engineer Gustave Eiffel, whose company designed and built the tower. "
        "It was constructed from 1887 to 1889 as the centerpiece of the 1889 World's Fair. "
        "The tower is 330 metres tall, about the same height as an 81-storey building. "
        "It was the tallest man-made structure in the world until the Chrysler Building in New York was finished in 1930.",
        "Who designed the tower?",
    ),
    "curie_en": (
        "Marie Curie was a Polish and naturalised-French physicist and chemist. "
        "She conducted pioneering research on radioactivity, a term she coined. "
        "She was the first woman to win a Nobel Prize, and the only person to win Nobel Prizes in two different sciences. "
        "Together with her husband Pierre Curie she discovered the elements polonium and radium.",
        "Which elements did she discover?",
    ),
    "internet_en": (
        "The Internet is a global network of interconnected computers. "
        "It grew out of ARPANET, a project funded by the United States Department of Defense in the late 1960s. "
        "Tim Berners-Lee invented the World Wide Web in 1989 while working at CERN. "
        "Today more than five billion people use the Internet. Data travels across it in small units called packets.",
        "Who invented the World Wide Web?",
    ),
}
OPTIONS = ["custom", *EXAMPLES]


def _use_example() -> None:
    choice = st.session_state.get("qa_example")
    if choice in EXAMPLES:
        st.session_state["qa_context"], st.session_state["qa_question"] = EXAMPLES[choice]


def _to_custom() -> None:
    """Editing the passage or question makes it the visitor's own text."""
    choice = st.session_state.get("qa_example")
    if choice in EXAMPLES and (st.session_state.get("qa_context"), st.session_state.get("qa_question")) != EXAMPLES[choice]:
        st.session_state["qa_example"] = "custom"


def _prefill() -> None:
    """First run of the session: URL prefill, else an example in the interface language."""
    if "qa_context" in st.session_state:
        return
    q, c = st.query_params.get("question"), st.query_params.get("context")
    if q or c:
        st.session_state["qa_example"] = "custom"
        st.session_state["qa_question"] = q or ""
        st.session_state["qa_context"] = c or ""
    else:
        st.session_state["qa_example"] = "ai_zh" if lang() == "zh" else "eiffel_en"
        _use_example()


def _model_label(key: str) -> str:
    return t("qa.lexical_name") if key == LEXICAL else registry.get(key).name


def _compute(question: str, context: str, model: str, top_k: int) -> QAResult:
    """The answer for this input, computed once per input (reruns reuse it)."""
    ck = (question, context, model, top_k)
    cached = st.session_state.get(_RESULT)
    if cached and cached[0] == ck:
        return cached[1]
    result = answer_details(question, context, model=model, top_k=top_k)
    record_prediction(result.model if result.model != LEXICAL else t("qa.lexical_name"), result.latency_ms)
    st.session_state[_RESULT] = (ck, result)
    return result


def _attention_pair(context: str, result: QAResult) -> str:
    """The passage for the attention page: all of it when short, else the best answer's sentence."""
    if len(context) <= ATTENTION_PAIR_CHARS or not result.answers:
        return context[:ATTENTION_PAIR_CHARS]
    best = result.answers[0]
    for a, b in split_sentences(context):
        if a <= best.start < b:
            return context[a : max(b, best.end)][:ATTENTION_PAIR_CHARS]
    return context[best.start : best.end][:ATTENTION_PAIR_CHARS]


def _details(result: QAResult) -> None:
    with st.expander(t("qa.details")):
        rows = [
            (t("qa.d_model"), _model_label(result.model)),
            (t("qa.d_mode"), t("qa.d_mode_span") if result.mode == "span" else t("qa.d_mode_sentence")),
            (t("qa.d_device"), result.device.upper() if result.device == "cpu" else result.device),
            (t("qa.d_windows") if result.mode == "span" else t("qa.d_sentences"), str(result.windows)),
            (t("qa.d_latency"), f"{result.latency_ms:.0f} ms"),
            (t("qa.d_language"), t(f"qa.lang_{result.language}")),
        ]
        if "question-cut" in result.notes:
            rows.append((t("qa.d_note"), t("qa.note_question_cut")))
        st.markdown("\n".join(f"- **{name}:** {value}" for name, value in rows))


def _show(question: str, context: str, result: QAResult) -> None:
    if result.mode == "sentence":
        how = t("qa.how_minilm") if result.model == "minilm" else t("qa.how_lexical")
        if result.fallback:
            st.warning(t("qa.fallback", model=_model_label(result.fallback_from), how=how,
                         why=t(f"qa.why.{result.fallback}")), icon="📴")
        else:
            st.info(t("qa.sentence_mode", how=how), icon="📴")
    if result.weak and result.answers:
        st.warning(t("qa.weak", p=percent(result.answers[0].score)), icon="🤔")
    if result.no_answer:
        st.warning(t("qa.no_answer", p=percent(result.null_score)), icon="🤷")
    elif not result.answers:
        st.warning(t("qa.nothing_found"), icon="🤷")
    else:
        best = result.answers[0]
        label = t("qa.answer") if result.mode == "span" else t("qa.sentence_label")
        st.html(answer_card_html(label, best, t("qa.confidence", p=percent(best.score))))
        shown = [best, *(a for a in result.answers[1:] if a.score >= MIN_ALTERNATIVE_SCORE)]
        if len(shown) > 1:
            st.markdown(f"**{t('qa.alternatives')}**")
            st.html(alternatives_html(shown[1:]))
        if len(shown) < len(result.answers):
            st.caption(t("qa.hidden_alternatives", n=len(result.answers) - len(shown)))
    st.markdown(f"**{t('qa.in_passage')}**")
    box, scrolls = passage_html(context, [] if result.no_answer or not result.answers else shown)
    st.html(box, unsafe_allow_javascript=scrolls)
    link = {"text": question, "pair": _attention_pair(context, result)}
    if result.mode == "span" and registry.get(result.model).is_bundled:
        link["model"] = result.model  # the QA model's own attention
    page_link_to("attention", t("qa.attention_link"), link, icon="🔍")
    st.caption(t("qa.answered_by", model=_model_label(result.model)))
    _details(result)


page_header(t("qa.title"), t("qa.subtitle"))
_prefill()

st.selectbox(t("qa.example"), OPTIONS, key="qa_example", on_change=_use_example, help=t("qa.example_help"),
             format_func=lambda k: t(f"qa.example.{k}"))
left, right = st.columns([3, 2], gap="large")
with left:
    raw_context = st.text_area(t("qa.context"), key="qa_context", height=220, help=t("qa.context_help", max=MAX_CHARS),
                               placeholder=t("qa.context_placeholder"), on_change=_to_custom)
    st.caption(t("qa.chars", n=len(raw_context), max=MAX_CHARS))
with right:
    question = st.text_input(t("qa.question"), key="qa_question", placeholder=t("qa.question_placeholder"),
                             on_change=_to_custom)
    keep_in_url(question=question, context=raw_context)
    context_lang = detect_language(raw_context) if raw_context.strip() else lang()
    chosen = model_picker("qa", context_lang, key="qa_model")
    if chosen == "minilm" and context_lang != "en":
        st.caption(t("qa.minilm_en_only"))
    top_k = st.slider(t("qa.top_k"), 1, 5, 3, key="qa_top_k", help=t("qa.top_k_help"))

context = raw_context
if len(raw_context) > MAX_CHARS:
    st.warning(t("qa.too_long", n=len(raw_context), max=MAX_CHARS), icon="✂️")
    context = raw_context[:MAX_CHARS]

if not question.strip() and not context.strip():
    st.info(t("qa.empty_both"), icon="👋")
elif not context.strip():
    st.info(t("qa.empty_context"), icon="📄")
elif not question.strip():
    st.info(t("qa.empty_question"), icon="💬")
elif chosen is not None:
    key = pick_model(context, chosen)
    bundled = key == LEXICAL or registry.get(key).is_bundled
    # Hub models: download bar or clear error; bundled ones fall back to sentences in core
    if bundled or ensure_model(key):
        result: QAResult | None = None
        with friendly_errors(), st.spinner(t("common.loading", model=_model_label(key))):
            result = _compute(question.strip(), context, key, top_k)
        if result is not None:
            with friendly_errors():
                _show(question.strip(), context, result)
