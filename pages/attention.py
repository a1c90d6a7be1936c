"""Attention viewer: every layer and head of a real transformer, English and Chinese.

Reads ``?text=``, ``?pair=``, ``?model=`` (links from the QA and classify pages) and keeps
its whole view in the URL (text, pair, model, view, layer, head, options), so a shared
link reproduces what is on screen. ``?model=`` may name any model whose attention can be
shown (``core.attention.can_show``), e.g. the QA or sentiment model that just answered,
even one that is not in the attention model picker; the page then shows that model with a
button back to the picker.
"""

from __future__ import annotations

import io
import logging
import time

import numpy as np
import pandas as pd
import streamlit as st

from core import registry
from core.attention import (
    MAX_TOKENS,
    AttentionResult,
    apply_view,
    apply_view_vector,
    attention_maps,
    can_show,
    head_average,
    head_stats,
    make_view,
    rollout,
)
from core.availability import availability
from core.text import detect_language
from ui.attention_figures import grid_figure, heatmap_figure, rollout_figure, thumb_size
from ui.common import ensure_model, friendly_errors, model_picker, page_header, record_prediction
from ui.i18n import lang, t

EXAMPLES = {
    "en": ("The animal didn't cross the street because it was too tired.", ""),
    "zh": ("这家餐厅的菜很好吃，服务也很热情，下次还会再来。", ""),
    "pair": ("Where do penguins live?",
             "Penguins live almost exclusively in the Southern Hemisphere, especially in Antarctica."),
}
VIEWS = ("head", "grid", "average", "rollout", "summary")
_CACHE = "_attn_results"
log = logging.getLogger(__name__)


def _set_example(which: str) -> None:
    text, pair = EXAMPLES[which]
    st.session_state["text"] = text
    st.session_state["pair"] = pair


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
        points = (event.get("selection") or {}).get("points") or []
        for p in points:
            found = _point_head(p)
            if found is not None:
                st.session_state["layer"], st.session_state["head"] = found
                st.session_state["view"] = "head"
                return
    except Exception:  # noqa: BLE001 - a strange event must not break the page
        log.exception("could not read the grid click")


def _explicit_model() -> str | None:
    """The URL's ``?model=`` when it is a model the picker does not list but whose attention
    can be shown (the QA / sentiment model a link came from); else ``None``."""
    wanted = st.query_params.get("model")
    if not wanted or wanted in {e.key for e in registry.entries("attention")}:
        return None
    return wanted if can_show(wanted) else None


def _back_to_picker() -> None:
    st.session_state.pop("attn_model", None)
    if "model" in st.query_params:
        del st.query_params["model"]


def _explicit_model_box(key: str) -> str | None:
    """Says which model is shown (named by the link) with a way back to the picker; the key
    when it can be used here, else ``None`` after saying why."""
    entry = registry.get(key)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption(t("attention.explicit_model", model=entry.name), width="content")
        st.button(t("attention.other_models"), key="attn_back", on_click=_back_to_picker, type="tertiary", icon="↩️")
    av = availability(entry)
    if not av.usable:
        st.warning(t("picker.unusable", model=entry.name, reason=av.reason), icon="⛔")
        return None
    return key


def _compute(text: str, pair: str | None, key: str) -> AttentionResult:
    cache: dict = st.session_state.setdefault(_CACHE, {})
    ck = (key, text, pair)
    if ck not in cache:
        t0 = time.perf_counter()
        res = attention_maps(text, model=key, text_pair=pair)
        record_prediction(key, (time.perf_counter() - t0) * 1000)
        cache.clear()  # keep one result per session: memory stays small
        cache[ck] = res
    return cache[ck]


def _csv(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf)
    return buf.getvalue().encode("utf-8-sig")  # BOM: Excel opens Chinese labels correctly


def _chart(fig, name: str, **kw) -> object:
    config = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"],
              "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}}
    width = int(fig.layout.width) if fig.layout.width else "stretch"
    height = int(fig.layout.height) if fig.layout.height else "content"
    return st.plotly_chart(fig, theme=None, config=config, width=width, height=height, **kw)


def _pair_split(res: AttentionResult, view) -> int | None:
    """Index (in the view) of the first group of the second sentence, or None."""
    if res.text_pair is None:
        return None
    seg = np.asarray(res.segment)[view.keep]
    second = np.flatnonzero(seg == 1)
    return int(view.groups[second[0]]) if len(second) else None


def _summary_table(res: AttentionResult) -> pd.DataFrame:
    s = head_stats(res.attentions, res.special)
    n_layers, n_heads = s.entropy.shape
    layer, head = np.meshgrid(np.arange(1, n_layers + 1), np.arange(1, n_heads + 1), indexing="ij")
    return pd.DataFrame({
        t("attention.col.layer"): layer.ravel(),
        t("attention.col.head"): head.ravel(),
        t("attention.col.entropy"): s.entropy.ravel().round(2),
        t("attention.col.special"): s.to_special.ravel(),
        t("attention.col.self"): s.to_self.ravel(),
        t("attention.col.prev"): s.to_prev.ravel(),
        t("attention.col.next"): s.to_next.ravel(),
    })


def main() -> None:
    page_header(t("attention.title"), t("attention.subtitle"))
    ui_lang = lang()
    if "text" not in st.session_state and "text" not in st.query_params:
        _set_example("zh" if ui_lang == "zh" else "en")

    st.text_area(t("attention.text"), key="text", bind="query-params", height=90, max_chars=5000,
                 placeholder=t("attention.text_placeholder"), help=t("attention.text_help", n=MAX_TOKENS))
    st.text_input(t("attention.pair"), key="pair", bind="query-params", max_chars=5000,
                  help=t("attention.pair_help"))
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption(t("attention.examples"), width="content")
        st.button(t("attention.example_en"), on_click=_set_example, args=("en",), type="tertiary", icon="🇬🇧")
        st.button(t("attention.example_zh"), on_click=_set_example, args=("zh",), type="tertiary", icon="🇨🇳")
        st.button(t("attention.example_pair"), on_click=_set_example, args=("pair",), type="tertiary", icon="❔")

    text = st.session_state.get("text") or ""
    pair = (st.session_state.get("pair") or "").strip() or None
    text_lang = detect_language(text + " " + (pair or "")) if text.strip() else ui_lang

    # A link naming a model (from the QA / classify pages) re-selects it; a new language of
    # the text re-picks the best model for that language.
    url_model = st.query_params.get("model")
    if url_model and url_model != st.session_state.get("_attn_model_url"):
        st.session_state.pop("attn_model", None)
    prev_lang = st.session_state.get("_attn_lang")
    if prev_lang is not None and prev_lang != text_lang and url_model == st.session_state.get("_attn_model_url"):
        st.session_state.pop("attn_model", None)
        if "model" in st.query_params:
            del st.query_params["model"]
    st.session_state["_attn_lang"] = text_lang

    explicit = _explicit_model()
    key = _explicit_model_box(explicit) if explicit else model_picker("attention", text_lang, key="attn_model")
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        st.toggle(t("attention.hide_special"), key="hide", bind="query-params", help=t("attention.hide_special_help"))
        st.toggle(t("attention.merge"), key="merge", bind="query-params", help=t("attention.merge_help"))
    if explicit:
        st.session_state["_attn_model_url"] = explicit
    else:
        chosen = st.session_state.get("attn_model")
        if chosen and st.query_params.get("model") != chosen:
            st.query_params["model"] = chosen
        st.session_state["_attn_model_url"] = chosen
    if key is None:
        return
    if not text.strip():
        st.info(t("attention.empty"), icon="✍️")
        return

    with friendly_errors():
        if not ensure_model(key, attention=True):
            return
        t0 = time.perf_counter()
        try:
            res = _compute(text, pair, key)
        except ValueError:  # only invisible / control characters: nothing to read
            st.info(t("attention.empty"), icon="✍️")
            return
        _draw(res, t0)


def _draw(res: AttentionResult, t0: float) -> None:
    hide = bool(st.session_state.get("hide"))
    merge = bool(st.session_state.get("merge"))
    if res.truncated:
        st.warning(t("attention.truncated", n=res.n_input_tokens, shown=len(res), limit=MAX_TOKENS), icon="✂️")
    if not any(not s for s in res.special):
        st.info(t("attention.no_text_tokens"), icon="ℹ️")
    view = make_view(res.tokens, res.special, hide_special=hide,
                     groups=res.word if merge else None, labels=res.word_labels() if merge else None)
    notes = ([t("attention.hidden_note")] if hide else []) + ([t("attention.merged_note")] if merge else [])
    if notes:
        st.info(" ".join(notes), icon="🧮")

    name = registry.get(res.model).name
    # The view is kept in ?view= by hand: a bound segmented control would store its translated label.
    wanted = st.query_params.get("view")
    if wanted in VIEWS and wanted != st.session_state.get("_attn_view_url"):
        st.session_state["view"] = wanted
    if st.session_state.get("view") not in VIEWS:
        st.session_state["view"] = "head"
    mode = st.segmented_control(t("attention.view"), VIEWS, key="view", required=True, width="stretch",
                                format_func=lambda v: t(f"attention.view.{v}")) or "head"
    st.session_state["_attn_view_url"] = mode
    if st.query_params.get("view") != mode:
        st.query_params["view"] = mode
    per_head = mode in ("head", "grid", "average")
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        layer = st.selectbox(t("attention.layer"), list(range(1, res.layers + 1)), key="layer",
                             bind="query-params", disabled=not per_head, width=150)
        head = st.selectbox(t("attention.head"), list(range(1, res.heads + 1)), key="head", bind="query-params",
                            disabled=mode not in ("head", "grid"), width=150)
    layer = int(layer or 1)
    head = int(head or 1)
    hover = (t("attention.hover_from"), t("attention.hover_to"), t("attention.hover_weight"))
    labels = list(view.labels)
    split = _pair_split(res, view)

    if mode == "head":
        mat = apply_view(res.attentions[layer - 1, head - 1], view)
        fig = heatmap_figure(mat, labels, title=t("attention.head_title", layer=layer, head=head), hover=hover,
                             split=split)
        _chart(fig, f"attention-L{layer}-H{head}", key="attn_head_chart")
        s = head_stats(res.attentions[layer - 1: layer, head - 1: head], res.special)
        st.caption(t("attention.head_caption", entropy=float(s.entropy[0, 0]), prev=float(s.to_prev[0, 0]),
                     next=float(s.to_next[0, 0]), self=float(s.to_self[0, 0]), special=float(s.to_special[0, 0])))
        data = pd.DataFrame(mat, index=labels, columns=labels)
        fname = f"attention-L{layer}-H{head}.csv"
    elif mode == "grid":
        mats = apply_view(res.attentions, view)
        fig = grid_figure(mats, selected=(layer - 1, head - 1), layer_word=t("attention.layer"),
                          head_word=t("attention.head"))
        _chart(fig, "attention-all-heads", key="attn_grid", on_select=_open_clicked_head, selection_mode="points")
        st.caption(t("attention.grid_caption", model=name, thumb=thumb_size(res.layers, res.heads)) + " "
                   + t("attention.grid_selected", layer=layer, head=head))
        data = pd.DataFrame(apply_view(res.attentions[layer - 1, head - 1], view), index=labels, columns=labels)
        fname = f"attention-L{layer}-H{head}.csv"
    elif mode == "average":
        mat = apply_view(head_average(res.attentions[layer - 1: layer])[0], view)
        fig = heatmap_figure(mat, labels, title=t("attention.average_title", layer=layer, heads=res.heads),
                             hover=hover, split=split)
        _chart(fig, f"attention-L{layer}-average", key="attn_avg_chart")
        st.caption(t("attention.average_caption"))
        data = pd.DataFrame(mat, index=labels, columns=labels)
        fname = f"attention-L{layer}-average.csv"
    elif mode == "rollout":
        r = rollout(res.attentions)
        vec = apply_view_vector(r[0], view)
        kept_special = np.asarray(res.special)[view.keep]
        group_special = [bool(kept_special[view.groups == g].all()) for g in range(view.size)]
        fig = rollout_figure(vec, labels, title=t("attention.rollout_title", token=res.tokens[0]),
                             hover_word=t("attention.hover_share"), special=group_special)
        _chart(fig, "attention-rollout", key="attn_rollout_chart")
        st.caption(t("attention.rollout_caption"))
        data = pd.DataFrame({t("attention.hover_share"): vec}, index=labels)
        fname = "attention-rollout.csv"
    else:
        data = _summary_table(res)
        pct = {c: st.column_config.ProgressColumn(c, min_value=0.0, max_value=1.0, format="percent")
               for c in data.columns[3:]}
        st.dataframe(data, hide_index=True, column_config=pct, height=min(38 * len(data) + 38, 560))
        st.caption(t("attention.summary_caption"))
        fname = "attention-head-summary.csv"

    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        st.download_button(t("attention.csv"), _csv(data), file_name=fname, mime="text/csv", icon="⬇️",
                           help=t("attention.csv_help"), on_click="ignore")
        st.caption(t("attention.stats", model=name, layers=res.layers, heads=res.heads, tokens=len(res),
                     ms=res.seconds * 1000))

main()
