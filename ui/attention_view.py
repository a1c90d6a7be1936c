"""What the attention viewer shows of a :class:`core.attention.AttentionResult`.

:func:`show_attention` draws one result: its notes, the view picker (one head, all heads,
head average, rollout, head summary) with the layer and head, one chart or table, its CSV
and a line of figures, then the "Use via API" expander for what is shown. It is a fragment:
changing the view, layer or head reruns only it (the model is never called here; the page
computed ``res`` once), the API call included. The view, layer and
head are bound to the URL (``?view=``, ``?layer=``, ``?head=``).

A causal language model's result (``res.causal``) is drawn the same way; its notes say why
the upper triangle is empty and how its query heads share key/value heads, and its rollout
follows the last token (the one that has read the whole text) instead of the first.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import registry
from core.attention import MAX_TOKENS, AttentionResult
from core.attention.views import View, apply_view, apply_view_vector, head_average, head_stats, rollout
from ui.api_view import attention_body, show_api
from ui.attention_figures import grid_figure, heatmap_figure, rollout_figure, thumb_size
from ui.i18n import t

log = logging.getLogger(__name__)

# The example buttons: (text, second sentence).
EXAMPLES = {
    "en": ("The animal didn't cross the street because it was too tired.", ""),
    "zh": ("这家餐厅的菜很好吃，服务也很热情，下次还会再来。", ""),
    "pair": (
        "Where do penguins live?",
        "Penguins live almost exclusively in the Southern Hemisphere, especially in Antarctica.",
    ),
}
VIEWS = ("head", "grid", "average", "rollout", "summary")
PER_LAYER = ("head", "grid", "average")  # views that show one layer
PER_HEAD = ("head", "grid")  # views that show one head
MODEL_NOTES = ("causal", "grouped-kv")  # notes about the model itself, not this text


def _point_head(p: dict) -> tuple[int, int] | None:
    """(layer, head) of a clicked grid marker; customdata may come as a list or an index map."""
    data = p.get("customdata")
    if isinstance(data, dict):
        data = [data.get(k, data.get(str(k))) for k in (0, 1)]
    if isinstance(data, (list, tuple)) and len(data) >= 2 and None not in data[:2]:
        return int(data[0]), int(data[1])
    if p.get("x") is not None and p.get("y") is not None:  # marker centres sit at (head, layer)
        return int(round(float(p["y"]))), int(round(float(p["x"])))
    return None


def _open_clicked_head() -> None:
    """Grid click -> open that head in the one-head view (never raises: it runs as a callback)."""
    try:
        event = st.session_state.get("attn_grid") or {}
        for p in (event.get("selection") or {}).get("points") or []:
            found = _point_head(p)
            if found is not None:
                st.session_state["layer"], st.session_state["head"] = found
                st.session_state["view"] = "head"
                return
    except Exception:
        log.exception("could not read the grid click")


def _csv(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf)
    return buf.getvalue().encode("utf-8-sig")  # BOM: Excel opens Chinese labels correctly


def _chart(fig: Any, name: str, **kw: Any) -> None:
    config = {
        "displaylogo": False,
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
        "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2},
    }
    width = int(fig.layout.width) if fig.layout.width else "stretch"
    height = int(fig.layout.height) if fig.layout.height else "content"
    st.plotly_chart(fig, theme=None, config=config, width=width, height=height, **kw)


def _pair_split(res: AttentionResult, view: View) -> int | None:
    """Index (in the view) of the first group of the second sentence, or None."""
    if res.text_pair is None:
        return None
    second = np.flatnonzero(np.asarray(res.segment)[view.keep] == 1)
    return int(view.groups[second[0]]) if len(second) else None


def _hover() -> tuple[str, str, str]:
    return t("attention.hover_from"), t("attention.hover_to"), t("attention.hover_weight")


def _one_head(res: AttentionResult, view: View, layer: int, head: int) -> tuple[pd.DataFrame, str]:
    labels = list(view.labels)
    mat = apply_view(res.attentions[layer - 1, head - 1], view)
    _chart(
        heatmap_figure(
            mat,
            labels,
            title=t("attention.head_title", layer=layer, head=head),
            hover=_hover(),
            split=_pair_split(res, view),
        ),
        f"attention-L{layer}-H{head}",
        key="attn_head_chart",
    )
    s = head_stats(res.attentions[layer - 1 : layer, head - 1 : head], res.special)
    st.caption(
        t(
            "attention.head_caption",
            entropy=float(s.entropy[0, 0]),
            prev=float(s.to_prev[0, 0]),
            next=float(s.to_next[0, 0]),
            self=float(s.to_self[0, 0]),
            special=float(s.to_special[0, 0]),
        )
    )
    return pd.DataFrame(mat, index=labels, columns=labels), f"attention-L{layer}-H{head}.csv"


def _all_heads(res: AttentionResult, view: View, layer: int, head: int) -> tuple[pd.DataFrame, str]:
    labels = list(view.labels)
    fig = grid_figure(
        apply_view(res.attentions, view),
        selected=(layer - 1, head - 1),
        layer_word=t("attention.layer"),
        head_word=t("attention.head"),
    )
    _chart(fig, "attention-all-heads", key="attn_grid", on_select=_open_clicked_head, selection_mode="points")
    st.caption(
        t("attention.grid_caption", model=registry.get(res.model).name, thumb=thumb_size(res.layers, res.heads))
        + " "
        + t("attention.grid_selected", layer=layer, head=head)
    )
    mat = apply_view(res.attentions[layer - 1, head - 1], view)
    return pd.DataFrame(mat, index=labels, columns=labels), f"attention-L{layer}-H{head}.csv"


def _average(res: AttentionResult, view: View, layer: int, _head: int) -> tuple[pd.DataFrame, str]:
    labels = list(view.labels)
    mat = apply_view(head_average(res.attentions[layer - 1 : layer])[0], view)
    _chart(
        heatmap_figure(
            mat,
            labels,
            title=t("attention.average_title", layer=layer, heads=res.heads),
            hover=_hover(),
            split=_pair_split(res, view),
        ),
        f"attention-L{layer}-average",
        key="attn_avg_chart",
    )
    st.caption(t("attention.average_caption"))
    return pd.DataFrame(mat, index=labels, columns=labels), f"attention-L{layer}-average.csv"


def rollout_row(res: AttentionResult, view: View) -> int:
    """Which token's rollout to show: the first one ([CLS], <s>) of an encoder; the last
    shown one of a causal model, the only token that has read the whole text (its first
    token attends only to itself, so its row would say nothing)."""
    if not res.causal:
        return 0
    kept = np.flatnonzero(view.keep)
    return int(kept[-1]) if len(kept) else len(res) - 1


def _rollout(res: AttentionResult, view: View, _layer: int, _head: int) -> tuple[pd.DataFrame, str]:
    labels = list(view.labels)
    row = rollout_row(res, view)
    vec = apply_view_vector(rollout(res.attentions)[row], view)
    kept_special = np.asarray(res.special)[view.keep]
    group_special = [bool(kept_special[view.groups == g].all()) for g in range(view.size)]
    _chart(
        rollout_figure(
            vec,
            labels,
            title=t("attention.rollout_title", token=res.token_labels()[row]),
            hover_word=t("attention.hover_share"),
            special=group_special,
        ),
        "attention-rollout",
        key="attn_rollout_chart",
    )
    st.caption(t("attention.rollout_caption_causal" if res.causal else "attention.rollout_caption"))
    return pd.DataFrame({t("attention.hover_share"): vec}, index=labels), "attention-rollout.csv"


def _summary(res: AttentionResult, _view: View, _layer: int, _head: int) -> tuple[pd.DataFrame, str]:
    s = head_stats(res.attentions, res.special)
    n_layers, n_heads = s.entropy.shape
    layer, head = np.meshgrid(np.arange(1, n_layers + 1), np.arange(1, n_heads + 1), indexing="ij")
    data = pd.DataFrame(
        {
            t("attention.col.layer"): layer.ravel(),
            t("attention.col.head"): head.ravel(),
            t("attention.col.entropy"): s.entropy.ravel().round(2),
            t("attention.col.special"): s.to_special.ravel(),
            t("attention.col.self"): s.to_self.ravel(),
            t("attention.col.prev"): s.to_prev.ravel(),
            t("attention.col.next"): s.to_next.ravel(),
        }
    )
    pct = {
        c: st.column_config.ProgressColumn(c, min_value=0.0, max_value=1.0, format="percent") for c in data.columns[3:]
    }
    st.dataframe(data, hide_index=True, column_config=pct, height=min(38 * len(data) + 38, 560))
    st.caption(t("attention.summary_caption"))
    return data, "attention-head-summary.csv"


_DRAW = {"head": _one_head, "grid": _all_heads, "average": _average, "rollout": _rollout, "summary": _summary}


def _number_picker(name: str, count: int, *, enabled: bool) -> int:
    """The layer or head (``name``, 1..``count``), bound to ``?layer=`` / ``?head=``; greyed
    out when the view does not use it."""
    choice = st.selectbox(
        t(f"attention.{name}"),
        list(range(1, count + 1)),
        key=name,
        bind="query-params",
        disabled=not enabled,
        width=150,
    )
    return int(choice or 1)


def note_text(res: AttentionResult, code: str) -> str:
    """One of core's note codes (``res.notes``) in the interface language."""
    if code == "truncated":
        return t("attention.note.truncated", n=res.n_input_tokens, shown=len(res), limit=MAX_TOKENS)
    if code == "grouped-kv":
        return t("attention.note.grouped-kv", heads=res.heads, kv=res.kv_heads, group=res.kv_group)
    return t(f"attention.note.{code}")


def show_notes(res: AttentionResult, *, hide: bool, merge: bool) -> None:
    """What the reader should know about this result (core's note codes) and the options."""
    model_notes = [note_text(res, c) for c in res.notes if c in MODEL_NOTES]
    if model_notes:  # what kind of model this is, right under the model picker: one box
        st.info("\n\n".join(model_notes), icon="ℹ️")
    for code in res.notes:
        if code == "truncated":
            st.warning(note_text(res, code), icon="✂️")
        elif code not in MODEL_NOTES:
            st.info(note_text(res, code), icon="ℹ️")
    notes = ([t("attention.hidden_note")] if hide else []) + ([t("attention.merged_note")] if merge else [])
    if notes:
        st.info(" ".join(notes), icon="🧮")


@st.fragment
def show_attention(res: AttentionResult, *, hide: bool, merge: bool) -> None:
    """Draw ``res`` (see the module's docstring); ``hide`` and ``merge`` are the options."""
    show_notes(res, hide=hide, merge=merge)
    view = res.view(hide_special=hide, merge=merge)
    mode = st.segmented_control(
        t("attention.view"),
        VIEWS,
        default="head",
        key="view",
        bind="query-params",
        required=True,
        width="stretch",
        format_func=lambda v: t(f"attention.view.{v}"),
    )
    mode = mode if mode in VIEWS else "head"
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        layer = _number_picker("layer", res.layers, enabled=mode in PER_LAYER)
        head = _number_picker("head", res.heads, enabled=mode in PER_HEAD)
    data, fname = _DRAW[mode](res, view, layer, head)
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        st.download_button(
            t("attention.csv"),
            _csv(data),
            file_name=fname,
            mime="text/csv",
            icon="⬇️",
            help=t("attention.csv_help"),
            on_click="ignore",
        )
        st.caption(
            t(
                "attention.stats",
                model=registry.get(res.model).name,
                layers=res.layers,
                heads=res.heads,
                tokens=len(res),
                ms=res.seconds * 1000,
            )
        )
    show_api(
        "/api/attention", attention_body(res.text, res.text_pair, res.model, layer, head if mode == "head" else None)
    )
