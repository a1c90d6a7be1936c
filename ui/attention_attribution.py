"""The attention page's "What decided the output": next to attention rollout, the attribution
of the same input for a model with an output to attribute.

- A sentiment classifier (a classification head): the predicted label attributed to the
  first text's words by the classification page's default method
  (:func:`core.classify.sentiment_details`, ``method="auto"``), drawn as the words tinted on
  a diverging scale centred on zero (:func:`ui.classify_explain.attribution_html`).
- A span QA model (an answer head) with a question (first text) and a passage (second text):
  its top answer (:func:`core.qa.answer_details`) attributed by Integrated Gradients
  (:func:`core.qa.explain.explain_answer`), drawn as on the Q&A page
  (:func:`ui.qa_explain_view.show_explanation`).
- Any other model (a base encoder, a language model): one line saying there is no output
  to attribute here.

The attribution runs only when the visitor turns the toggle on (``?attr=true``, off by
default), through :func:`ui.run.run_once` (once per input). Below it, one line says that
attention weights and attributions are different things, and a small table sets the top
words of rollout (mapped onto the attribution's words: :func:`rollout_by_word`) beside the
top words of the attribution. Strings: ``ui/strings/attention_attribution.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from core import registry
from core.attention import AttentionResult
from core.attention.views import rollout
from core.classify import sentiment_details
from core.explain import Attribution
from core.explain.units import token_to_units
from core.qa import answer_details, is_llm, is_sentence_model
from core.qa.explain import explain_answer, explain_code
from ui.attention_view import rollout_row
from ui.classify_explain import attribution_html, percent, trust_text
from ui.classify_view import label_names
from ui.i18n import t
from ui.qa_explain_view import show_explanation as show_qa_explanation
from ui.run import run_once

TOP = 5  # words in each column of the side-by-side


def kind_of(key: str) -> str:
    """What can be attributed for model ``key``: ``"classify"`` (a sentiment head), ``"qa"`` (a
    span model's answer), ``"llm"`` (a language model: not here), ``"none"`` (no head)."""
    entry = registry.get(key)
    if "sentiment" in entry.tasks:
        return "classify"
    if "qa" in entry.tasks:
        if is_llm(key):
            return "llm"
        return "none" if is_sentence_model(key) else "qa"
    return "none"


def _md(text: str) -> str:
    """``text`` as literal Markdown (its own ``*``, ``_``, ``[``... are not formatting)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", text).replace("\n", " ")


def _spans(pieces: Sequence[str]) -> list[tuple[int, int]]:
    """Character spans of consecutive ``pieces``."""
    out, pos = [], 0
    for p in pieces:
        out.append((pos, pos + len(p)))
        pos += len(p)
    return out


def rollout_by_word(res: AttentionResult, parts: Sequence[tuple[int, Sequence[str]]]) -> list[np.ndarray]:
    """Rollout (the row the rollout view shows) summed onto the words of each attribution:
    ``parts`` are ``(segment, pieces)`` (segment 0: the first text, 1: the second); returns one
    ``(len(pieces),)`` array per part, all together summing to 1 over the words (special tokens
    left out), or zeros when no token covers a word."""
    vec = rollout(res.attentions)[rollout_row(res, res.view())]
    out = []
    for segment, pieces in parts:
        spans = _spans(pieces)
        idx = [i for i, (seg, a, b) in enumerate(res.spans) if seg == segment and b > a]
        offsets = [(int(res.spans[i][1]), int(res.spans[i][2])) for i in idx]
        words = np.zeros(len(pieces), dtype=np.float64)
        for shares, i in zip(token_to_units(offsets, spans), idx):
            for unit, share in shares:
                words[unit] += share * float(vec[i])
        out.append(words)
    total = sum(float(w.sum()) for w in out)
    return [w / total for w in out] if total > 0 else out


def top_words(pieces: Sequence[str], values: Sequence[float], n: int = TOP) -> list[tuple[str, float]]:
    """The ``n`` words (not whitespace) of largest ``|value|``, largest first."""
    ranked = sorted(
        ((p.strip(), float(v)) for p, v in zip(pieces, values) if p.strip() and v != 0.0),
        key=lambda pv: -abs(pv[1]),
    )
    return ranked[:n]


def compare_table(
    by_rollout: list[tuple[str, float]], by_attribution: list[tuple[str, float]]
) -> tuple[pd.DataFrame, int]:
    """The side-by-side (index: the rank): rollout's top words (share) and the attribution's (signed
    weight); and how many words are in both columns."""
    rows = max(len(by_rollout), len(by_attribution))

    def cell(items: list[tuple[str, float]], i: int, fmt: str) -> str:
        return f"{items[i][0]}  ({format(items[i][1], fmt)})" if i < len(items) else ""

    data = pd.DataFrame(
        {
            t("attention.attr.col_rollout"): [cell(by_rollout, i, ".0%") for i in range(rows)],
            t("attention.attr.col_attribution"): [cell(by_attribution, i, "+.2f") for i in range(rows)],
        },
        index=pd.RangeIndex(1, rows + 1, name="#"),
    )
    same = len({w for w, _ in by_rollout} & {w for w, _ in by_attribution})
    return data, same


def _show_compare(res: AttentionResult, parts: Sequence[tuple[int, Attribution]]) -> None:
    """Rollout's top words beside the attribution's, over the same words."""
    shares = rollout_by_word(res, [(seg, a.pieces) for seg, a in parts])
    pieces = [p for _, a in parts for p in a.pieces]
    by_rollout = top_words(pieces, np.concatenate(shares).tolist())
    by_attribution = top_words(pieces, [w for _, a in parts for w in a.weights])
    data, same = compare_table(by_rollout, by_attribution)
    st.markdown(f"**{t('attention.attr.compare_title', n=TOP)}**")
    st.dataframe(data, width="stretch")
    st.caption(t("attention.attr.compare_caption", same=same, n=min(TOP, len(by_rollout), len(by_attribution))))


def _classify(res: AttentionResult, key: str, text: str, pair: str | None) -> None:
    result = run_once(sentiment_details, text, model=key, slot="attention-attr", spinner=t("attention.attr.working"))
    if result is None:
        return
    pred = result.prediction
    name = label_names().get(pred.label, pred.label)
    st.markdown(t("attention.attr.label", label=_md(name), p=percent(pred.score)))
    attr = result.explanation
    if attr is None:
        st.info(t(f"classify.why_error.{result.explain_error or 'none'}"), icon="🤷")
        return
    st.html(
        attribution_html(
            attr.pieces,
            attr.weights,
            pred.label,
            legend_for=t("classify.why_for", label=name),
            legend_against=t("classify.why_against"),
        )
    )
    facts = [t("classify.why_by", method=t(f"classify.why_method.{attr.method}"), s=f"{attr.seconds:.1f}")]
    if attr.completeness_error is not None:
        facts.append(t("classify.why_completeness", e=f"{100 * attr.completeness_error:.1f} %"))
    trust = trust_text(attr, name, pred.score)
    st.caption(" · ".join(facts) + (f" · {trust}" if trust else ""))
    if pair:
        st.caption(t("attention.attr.first_text_only"))
    _show_compare(res, [(0, attr)])


def _qa(res: AttentionResult, key: str, question: str, context: str) -> None:
    working = t("attention.attr.working")
    result = run_once(
        answer_details, question, context, model=key, top_k=1, slot="attention-attr-answer", spinner=working
    )
    if result is None:
        return
    code = explain_code(result)
    if code is not None:
        why = "attention.attr.no_answer" if code == "no-answer" else "attention.attr.no_head"
        st.info(t(why, model=registry.get(key).name), icon="ℹ️")
        return
    answer = result.answers[0]
    st.markdown(t("attention.attr.answer", answer=_md(answer.text), p=percent(answer.score)))
    e = run_once(explain_answer, question, context, result, slot="attention-attr", spinner=working)
    if e is None:
        return
    show_qa_explanation(e)
    _show_compare(res, [(0, e.question), (1, e.passage)])


def show_attribution(res: AttentionResult, key: str, text: str, pair: str | None) -> None:
    """The "What decided the output" section under the attention of ``res`` (model ``key``,
    input ``text`` and ``pair``): the toggle and, when on, the attribution; or one line saying
    why there is none for this model."""
    st.divider()
    kind = kind_of(key)
    name = registry.get(key).name
    if kind in ("none", "llm"):
        st.caption(t(f"attention.attr.no_head{'_llm' if kind == 'llm' else ''}", model=name))
        return
    if kind == "qa" and not pair:
        st.caption(t("attention.attr.need_pair", model=name))
        return
    on = st.toggle(t("attention.attr.toggle"), key="attr", bind="query-params", help=t("attention.attr.toggle_help"))
    st.caption(t("attention.attr.note"))
    if not on:
        return
    if kind == "classify":
        _classify(res, key, text, pair)
    else:
        _qa(res, key, text, pair or "")
