"""How this model was trained: a shipped model's training curves and its card's figures.

``show_training(key)`` draws, in a closed expander at the end of a page, what
:func:`core.model_history.history` read from the model's committed files: the training loss
and the validation accuracy as two small plotly charts side by side, the card's headline
scores as a table (which set, what it was used for), the data it was trained on, the
held-out rule and the time trained. A model without a log shows the figures only; a model
we did not train (or whose files cannot be read) shows nothing.

``key`` is a registry key, ``"digits"``, or a task for the page's answering model:
``"sentiment"`` (the model that classified the one text in this session, else the
interface language's default) and ``"qa"`` (the model that answered, if it is ours, else
``qa-e5``). Strings: ``ui/strings/model_history.toml``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core import registry
from core.model_history import ModelHistory, Series, history
from ui.i18n import TABLE, lang, t

_COLOURS = {
    "train_loss": "#d62728",
    "val_accuracy": "#1f77b4",
    "val_accuracy_ema": "#2ca02c",
    "val_accuracy_unseen": "#9467bd",
}
_DEFAULTS = {"sentiment": {"en": "sentiment-en-minilm", "zh": "sentiment-zh-e5"}, "qa": {"en": "qa-e5", "zh": "qa-e5"}}


def _answered(task: str) -> str | None:
    """The registry key of the model that gave this session's last result for ``task`` on
    its page (``ui.run.run_once``'s memo), or ``None``."""
    if task == "sentiment":
        from core.classify import sentiment_details as fn
    elif task == "qa":
        from core.qa import answer_details as fn
    else:
        return None
    from ui.run import _MEMO

    hit = st.session_state.get(_MEMO, {}).get(f"{fn.__module__}.{fn.__qualname__}")
    model = getattr(hit[1], "model", None) if hit else None
    return model if isinstance(model, str) else None


def resolve(key: str) -> str:
    """The model to show for ``key`` (see the module docstring)."""
    if key not in _DEFAULTS:
        return key
    answered = _answered(key)
    if answered and history(answered) is not None:
        return answered
    if key == "sentiment":
        from core.availability import default_model

        chosen = default_model("sentiment", lang(), online=False)
        if chosen and history(chosen) is not None:
            return chosen
    return _DEFAULTS[key].get(lang(), _DEFAULTS[key]["en"])


def _optional(key: str, **fmt: Any) -> str:
    """``t(key, **fmt)`` when the string exists and every figure it names is known, else ``""``."""
    if key not in TABLE:
        return ""
    try:
        return t(key, **fmt)
    except (KeyError, ValueError, IndexError):
        return ""


def curves_figure(h: ModelHistory) -> go.Figure | None:
    """Loss (left) and validation accuracy (right) against epochs or steps; one panel when the
    log has only one kind; ``None`` without curves."""
    panels = [(kind, h.curves(kind)) for kind in ("loss", "accuracy")]
    panels = [(k, s) for k, s in panels if s]
    if not panels:
        return None
    titles = [t("history.chart_loss" if k == "loss" else "history.chart_accuracy") for k, _ in panels]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=titles, horizontal_spacing=0.12)
    for col, (kind, series) in enumerate(panels, start=1):
        for s in series:
            fig.add_trace(_trace(s), row=1, col=col)
        fig.update_xaxes(title_text=t(f"history.axis.{h.x_axis}"), row=1, col=col)
        if kind == "accuracy":  # zoom on where the model ends up, not on an early low point
            late = [y for s in series for y in list(s.y)[len(s.y) // 3 :]]
            if late:
                fig.update_yaxes(range=[max(0.0, min(late) - 1.0), min(100.0, max(late) + 0.5)], row=1, col=col)
    fig.update_layout(
        height=300,
        margin=dict(l=8, r=8, t=36, b=8),
        legend=dict(orientation="h", yanchor="top", y=-0.25, x=0),
        hovermode="x unified",
    )
    fig.update_annotations(font_size=13)
    return fig


def _trace(s: Series) -> go.Scatter:
    few = len(s.x) <= 12
    return go.Scatter(
        x=list(s.x),
        y=list(s.y),
        name=t(f"history.series.{s.name}"),
        mode="lines+markers" if few else "lines",
        line=dict(color=_COLOURS.get(s.name), width=2),
        hovertemplate="%{y:.3f}" if s.kind == "loss" else "%{y:.2f} %",
    )


def figures_table(h: ModelHistory) -> pd.DataFrame:
    """The headline figures, one row each, in the interface language."""
    rows = [
        {
            t("history.col.set"): t(f"history.set.{f.name}"),
            t("history.col.metric"): t(f"history.metric.{f.metric}"),
            t("history.col.score"): f"{f.value:.2f} %" if f.metric == "accuracy" else f"{f.value:.1f}",
            t("history.col.n"): f"{f.n:,}" if f.n is not None else "",
            t("history.col.role"): t(f"history.role.{f.role}"),
        }
        for f in h.figures
    ]
    return pd.DataFrame(rows)


def show_training(key: str) -> None:
    """The "How this model was trained" expander for model ``key`` (nothing when there is
    nothing to show)."""
    shown = resolve(key)
    h = history(shown)
    if h is None:
        return
    try:
        name = registry.get(h.key).name
    except KeyError:
        name = h.key
    facts = dict(h.facts)
    with st.expander("📈 " + t("history.title")):
        st.markdown(t("history.intro", name=name))
        fig = curves_figure(h)
        if fig is not None:
            st.plotly_chart(fig, config={"displayModeBar": False}, key=f"history_chart_{h.key}")
            note = _optional(f"history.curve.{h.key}")
            if note:
                st.caption(note)
        else:
            st.caption(t("history.no_log"))
        if h.figures:
            st.markdown(f"**{t('history.figures')}**")
            st.dataframe(figures_table(h), hide_index=True, width="stretch")
        for line in (_optional(f"history.data.{h.key}", **facts), _optional(f"history.rule.{h.key}", **facts)):
            if line:
                st.markdown(line)
        minutes = facts.get("train_minutes")
        if isinstance(minutes, (int, float)):
            st.markdown(t("history.time", minutes=f"{minutes:.0f}" if minutes >= 10 else f"{minutes:.1f}"))
        files = ", ".join(f"`{s}`" for s in h.sources)
        st.caption(t("history.sources", files=files, card=f"`{h.folder}/MODEL_CARD.md`"))
