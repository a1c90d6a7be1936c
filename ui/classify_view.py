"""Drawing classification results: the label badge, Plotly bar charts, the coloured word
explanation, the batch table and the zero-shot result. Pure views: they take results of
:mod:`core.classify` and draw them; no model is called here.

Every piece of user text that goes into HTML is escaped here.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import registry
from core.attention import can_show
from core.classify import Prediction, SentimentResult, ZeroShotResult
from ui.classify_explain import percent, show_explanation
from ui.classify_io import to_csv_bytes
from ui.i18n import t
from ui.layout import page_link_to

COLOURS = {"positive": "#16a34a", "negative": "#dc2626", "neutral": "#64748b"}
OTHER = ["#2563eb", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4d7c0f", "#7c3aed"]
EMOJI = {"positive": "😊", "negative": "😞", "neutral": "😐"}


ATTENTION_CHARS = 300  # the attention page shows at most 128 tokens
_CHART = {"displayModeBar": False}


def colour(label: str, i: int = 0) -> str:
    return COLOURS.get(label, OTHER[i % len(OTHER)])


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def scores_figure(scores: Mapping[str, float], names: Mapping[str, str], *, height: int | None = None) -> go.Figure:
    """Horizontal bars of every label's probability, best on top. ``names``: label -> shown name."""
    order = list(scores)  # colours follow the labels' own order, as in the badge
    items = sorted(scores.items(), key=lambda kv: kv[1])
    labels = [names.get(k, k) for k, _ in items]
    fig = go.Figure(
        go.Bar(
            x=[v for _, v in items],
            y=labels,
            orientation="h",
            marker_color=[colour(k, order.index(k)) for k, _ in items],
            text=[f"{v:.1%}" for _, v in items],
            textposition="auto",
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        height=height or 70 + 42 * len(items),
        margin=dict(l=8, r=8, t=8, b=8),
        xaxis=dict(range=[0, 1], tickformat=".0%", showgrid=True),
        yaxis=dict(automargin=True),
        showlegend=False,
        bargap=0.35,
    )
    return fig


def distribution_figure(counts: Mapping[str, int], names: Mapping[str, str]) -> go.Figure:
    """Bars of how many texts got each label."""
    keys = list(counts)
    fig = go.Figure(
        go.Bar(
            x=[names.get(k, k) for k in keys],
            y=[counts[k] for k in keys],
            marker_color=[colour(k, i) for i, k in enumerate(keys)],
            text=[str(counts[k]) for k in keys],
            textposition="auto",
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        height=300,
        margin=dict(l=8, r=8, t=8, b=8),
        showlegend=False,
        bargap=0.4,
        yaxis=dict(tickformat=",d", rangemode="tozero", dtick=max(1, -(-max(counts.values(), default=1) // 5))),
    )
    return fig


def explanation_html(
    pieces: Sequence[str], weights: Sequence[float], label: str, *, legend_for: str, legend_against: str
) -> str:
    """The text with each word tinted by its weight: the predicted label's colour where it
    pushed towards that label, blue where it pushed against it. Escaped."""
    support = _rgb(colour(label))
    against = (37, 99, 235) if label != "positive" else (220, 38, 38)
    if label == "negative":
        against = (22, 163, 74)
    top = max((abs(w) for w in weights), default=0.0) or 1.0
    out = []
    for piece, w in zip(pieces, weights):
        text = html.escape(piece).replace("\n", "<br>")
        if abs(w) < 1e-4 or not piece.strip():
            out.append(text)
            continue
        r, g, b = support if w > 0 else against
        alpha = 0.12 + 0.68 * min(abs(w) / top, 1.0)
        tip = html.escape(f"{w:+.3f}")
        out.append(f'<span class="cls-w" style="background: rgba({r},{g},{b},{alpha:.2f})" title="{tip}">{text}</span>')
    sr, sg, sb = support
    ar, ag, ab = against
    legend = (
        f'<div class="cls-legend"><span class="cls-w" style="background: rgba({sr},{sg},{sb},0.6)">&nbsp;&nbsp;&nbsp;</span> '
        f"{html.escape(legend_for)} &nbsp; "
        f'<span class="cls-w" style="background: rgba({ar},{ag},{ab},0.6)">&nbsp;&nbsp;&nbsp;</span> '
        f"{html.escape(legend_against)}</div>"
    )
    style = (
        "<style>.cls-explain{font-size:1.1rem;line-height:2.1;padding:0.8rem 1rem;border-radius:0.5rem;"
        "border:1px solid rgba(128,128,128,0.3);word-break:break-word}"
        ".cls-w{border-radius:0.3rem;padding:0.1rem 0.15rem}"
        ".cls-legend{font-size:0.85rem;opacity:0.8;margin-top:0.4rem}</style>"
    )
    return f'{style}<div class="cls-explain">{"".join(out)}</div>{legend}'


def label_badge_html(label_name: str, label: str, confidence_text: str, colour_index: int = 0) -> str:
    """A large coloured badge with the predicted label and its confidence. Escaped."""
    c = colour(label, colour_index)
    emoji = EMOJI.get(label, "🏷️")
    return (
        f'<div style="display:flex;align-items:center;gap:0.8rem;padding:0.7rem 1rem;border-radius:0.6rem;'
        f'border-left:6px solid {c};background:rgba(128,128,128,0.08)">'
        f'<span style="font-size:2.2rem">{emoji}</span><div>'
        f'<div style="font-size:1.6rem;font-weight:700;color:{c}">{html.escape(label_name)}</div>'
        f'<div style="opacity:0.8">{html.escape(confidence_text)}</div></div></div>'
    )


# ---- the page's views ----------------------------------------------------------------


def label_names() -> dict[str, str]:
    """Sentiment labels in the interface language."""
    return {k: t(f"classify.label.{k}") for k in ("positive", "negative", "neutral")}


def lang_name(code: str) -> str:
    return t(f"lang.{code}") if code in ("en", "zh") else code


def show_sentiment(text: str, result: SentimentResult, *, chart_key: str = "cls_single_chart") -> None:
    """One text: which model and why, the label, every label's probability, the words that
    pushed the prediction and a link to the classifier's attention."""
    pred, name = result.prediction, registry.get(result.model).name
    if result.why == "default":
        st.caption(t("classify.auto_model", model=name, lang=lang_name(result.language)))
    if "model-language" in result.notes:
        model_lang = lang_name(registry.get(result.model).languages[0])
        st.warning(t("classify.wrong_language", model_lang=model_lang, text_lang=lang_name(result.language)), icon="🌐")
    names = label_names()
    label = names.get(pred.label, pred.label)
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.html(label_badge_html(label, pred.label, t("classify.confidence", p=percent(pred.score))))
        st.caption(t("classify.latency", model=name, ms=f"{result.latency_ms:.0f}"))
    with right:
        st.markdown(f"**{t('classify.all_labels')}**")
        st.plotly_chart(scores_figure(pred.scores, names), config=_CHART, key=chart_key)
    if "truncated" in result.notes:
        st.info(t("classify.truncated", tokens=result.max_tokens), icon="✂️")
    show_explanation(result.explanation, result.explain_error, pred.label, label, pred.score, result.language)
    params = {"text": text[:ATTENTION_CHARS]}
    if can_show(result.model):
        params["model"] = result.model  # the attention of the classifier that gave this result
    page_link_to("attention", t("classify.attention_link"), params, icon="🔍")


def show_batch(rows: pd.DataFrame, col: str, preds: list[Prediction], seconds: float) -> None:
    """Many texts: how long it took, the label distribution, the table and a CSV download
    (the input's other columns kept)."""
    names = label_names()
    st.success(t("classify.batch_done", n=len(preds), s=seconds, rate=len(preds) / max(seconds, 1e-6)), icon="✅")
    out = pd.DataFrame(
        {
            t("classify.col_text"): rows[col].astype(str),
            t("classify.col_label"): [names.get(p.label, p.label) for p in preds],
            t("classify.col_confidence"): [round(p.score, 4) for p in preds],
            t("classify.col_language"): [lang_name(p.language) for p in preds],
            t("classify.col_model"): [registry.get(p.model).name for p in preds],
        }
    )
    n_cut = sum(p.truncated for p in preds)
    if n_cut:
        out[t("classify.col_truncated")] = [p.truncated for p in preds]
        st.info(t("classify.n_truncated", n=n_cut), icon="✂️")
    others = [c for c in rows.columns if c != col and c not in out.columns]
    full = pd.concat([rows[others].reset_index(drop=True), out], axis=1) if others else out
    counts: dict[str, int] = {}
    for p in preds:
        counts[p.label] = counts.get(p.label, 0) + 1
    left, right = st.columns([1, 2], gap="large")
    with left:
        st.markdown(f"**{t('classify.distribution')}**")
        st.plotly_chart(distribution_figure(counts, names), config=_CHART, key="cls_dist")
    with right:
        st.markdown(f"**{t('classify.results')}**")
        st.dataframe(
            out,
            hide_index=True,
            height=300,
            column_config={
                t("classify.col_confidence"): st.column_config.ProgressColumn(
                    min_value=0.0, max_value=1.0, format="percent"
                ),
            },
        )
    st.download_button(
        t("classify.download"),
        to_csv_bytes(full),
        file_name="classified.csv",
        mime="text/csv",
        key="cls_download",
        type="primary",
    )


def show_zero_shot(result: ZeroShotResult) -> None:
    """Your own labels: the best label, the encoder and template used, every label's probability."""
    pred = result.prediction
    if pred is None:
        return
    name = registry.get(result.model).name
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.html(
            label_badge_html(
                pred.label,
                pred.label,
                t("classify.confidence", p=percent(pred.score)),
                colour_index=list(pred.scores).index(pred.label),
            )
        )
        st.caption(t("classify.zs_model", model=name, template=result.template.format(label="…")))
        st.caption(t("classify.latency", model=name, ms=f"{result.latency_ms:.0f}"))
    with right:
        st.markdown(f"**{t('classify.all_labels')}**")
        st.plotly_chart(scores_figure(pred.scores, {}), config=_CHART, key="cls_zs_chart")


def show_zero_shot_missing(result: ZeroShotResult) -> None:
    """No encoder reads this text and these labels here: which bundled and which Hub model would."""
    entries = [registry.get(k) for k in result.would_do]
    bundled = next((e for e in entries if e.is_bundled), None)
    hub = next((e for e in entries if not e.is_bundled), None)
    st.warning(
        t(
            "classify.zs_zh_unavailable",
            bundled=bundled.name if bundled else "–",
            hub=hub.name if hub else "–",
            repo=hub.location if hub else "–",
        ),
        icon="🌐",
    )
