"""Text classification: sentiment of one text (with why), of many texts / a CSV file, and
labels of your own (zero-shot), in English and Chinese.

Reads ``?text=`` (prefill of the single text) and ``?model=`` (a sentiment model).
"""

from __future__ import annotations

import hashlib
import time

import pandas as pd
import streamlit as st

from core import registry
from core.attention import can_show
from core.classify import (Explanation, Prediction, classify, classify_zero_shot, explain,
                           multilingual_zero_shot_models, parse_labels, route, zero_shot_model,
                           zero_shot_template)
from core.text import detect_language
from ui.classify_io import MAX_ROWS, UnreadableFile, read_table, text_column, to_csv_bytes
from ui.classify_view import distribution_figure, explanation_html, label_badge_html, percent, scores_figure
from ui.common import (ensure_model, friendly_errors, keep_in_url, model_picker, page_header, page_link_to,
                       record_prediction)
from ui.i18n import lang, t

MAX_CHARS = 5_000
ZS_EN_TEXT = "The new phone has a faster chip, a brighter screen and a battery that lasts two days."
ZS_EN_LABELS = "sports, politics, technology, cooking"
ATTENTION_CHARS = 300

EXAMPLES: dict[str, str] = {
    "movie_pos_en": "A gorgeous, witty and deeply moving film. The cast is wonderful and I loved every minute of it.",
    "movie_neg_en": "A dull, lifeless mess: the plot is predictable, the jokes fall flat and it drags on far too long.",
    "mixed_en": "The acting is superb, but the story is thin and the ending is a letdown.",
    "hotel_pos_zh": "房间干净整洁，服务员态度非常好，早餐也很丰富，下次还会再来！",
    "phone_neg_zh": "手机用了三天就死机，电池也不耐用，客服态度很差，非常失望。",
    "book_pos_zh": "书的内容很好，印刷也很清晰，物流很快，非常满意。",
}
def _names() -> dict[str, str]:
    return {k: t(f"classify.label.{k}") for k in ("positive", "negative", "neutral")}


def _lang_name(code: str) -> str:
    return t(f"classify.lang.{code}") if code in ("en", "zh") else code


def _use_example(choice: str) -> None:
    st.session_state["cls_text"] = EXAMPLES[choice]


def _prefill() -> None:
    """First run of the session: ``?text=`` prefill, else an example in the interface language."""
    if "cls_text" in st.session_state:
        return
    text = st.query_params.get("text")
    if text:
        st.session_state["cls_text"] = text[:MAX_CHARS]
    else:
        _use_example("hotel_pos_zh" if lang() == "zh" else "movie_pos_en")
    wanted = st.query_params.get("model")
    if wanted and wanted in {e.key for e in registry.entries("sentiment")}:
        st.session_state["cls_manual"] = True
    st.session_state.setdefault("cls_zs_text", t("classify.zs_text_default"))
    st.session_state.setdefault("cls_zs_labels", t("classify.zs_labels_default"))


def _model_controls(text_lang: str) -> tuple[bool, str | None]:
    """The model choice shared by the single and batch tabs: (ok, key or None for automatic)."""
    left, right = st.columns([1, 2], vertical_alignment="center")
    manual = left.toggle(t("classify.choose_model"), key="cls_manual", help=t("classify.choose_model_help"))
    if not manual:
        return True, None
    with right:
        chosen = model_picker("sentiment", text_lang, key="cls_model")
    return chosen is not None, chosen


# ---- one text ------------------------------------------------------------------------


def _single_result(text: str, model: str | None) -> tuple[Prediction, Explanation, float]:
    ck = (text, model)
    cached = st.session_state.get("_cls_single")
    if cached and cached[0] == ck:
        return cached[1]
    t0 = time.perf_counter()
    pred = classify([text], model=model)[0]
    latency = (time.perf_counter() - t0) * 1000
    record_prediction(pred.model, latency)
    expl = explain(text, model=pred.model)
    st.session_state["_cls_single"] = (ck, (pred, expl, latency))
    return pred, expl, latency


def _single_tab(manual_model: str | None, ok: bool) -> None:
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption(t("classify.examples"), width="content")
        for k in EXAMPLES:
            st.button(t(f"classify.example.{k}"), key=f"cls_ex_{k}", on_click=_use_example, args=(k,), type="tertiary")
    raw = st.text_area(t("classify.text"), key="cls_text", height=130, placeholder=t("classify.text_placeholder"))
    keep_in_url(text=raw)
    text_lang = detect_language(raw) if raw.strip() else lang()
    st.caption(t("classify.chars", n=len(raw), lang=_lang_name(text_lang)))
    if not raw.strip():
        st.info(t("classify.empty"), icon="👋")
        return
    text = raw.strip()
    if len(text) > MAX_CHARS:
        st.warning(t("classify.too_long_input", max=MAX_CHARS), icon="✂️")
        text = text[:MAX_CHARS]
    if not ok:
        return
    with friendly_errors():
        key = manual_model or next(iter(route([text])))
        if not ensure_model(key):
            return
        entry = registry.get(key)
        if manual_model is None:
            st.caption(t("classify.auto_model", model=entry.name, lang=_lang_name(text_lang)))
        elif "*" not in entry.languages and text_lang not in entry.languages:
            st.warning(t("classify.wrong_language", model_lang=_lang_name(entry.languages[0]),
                         text_lang=_lang_name(text_lang)), icon="🌐")
        pred, expl, latency = _single_result(text, key)
        names = _names()
        left, right = st.columns([2, 3], gap="large")
        with left:
            st.html(label_badge_html(names.get(pred.label, pred.label), pred.label,
                                     t("classify.confidence", p=percent(pred.score))))
            st.caption(t("classify.latency", model=entry.name, ms=f"{latency:.0f}"))
        with right:
            st.markdown(f"**{t('classify.all_labels')}**")
            st.plotly_chart(scores_figure(pred.scores, names), config={"displayModeBar": False},
                            key="cls_single_chart")
        if pred.truncated:
            from core import loaders
            from core.classify import max_length

            st.info(t("classify.truncated", tokens=max_length(loaders.load(key))), icon="✂️")
        st.markdown(f"**{t('classify.why')}**", help=t("classify.why_help"))
        label_name = names.get(pred.label, pred.label)
        st.html(explanation_html(expl.pieces, expl.weights, pred.label,
                                 legend_for=t("classify.why_for", label=label_name),
                                 legend_against=t("classify.why_against")))
        params = {"text": text[:ATTENTION_CHARS]}
        if can_show(key):
            params["model"] = key  # the attention of the classifier that gave this result
        page_link_to("attention", t("classify.attention_link"), params, icon="🔍")


# ---- many texts ----------------------------------------------------------------------


def _batch_input() -> tuple[pd.DataFrame | None, str | None]:
    """(frame of the input rows, name of the text column) or (None, None) after a message."""
    source = st.segmented_control(
        t("classify.source"), ["paste", "upload"], key="cls_source", default="paste",
        format_func=lambda s: t("classify.source_paste") if s == "paste" else t("classify.source_upload"))
    if source == "upload":
        up = st.file_uploader(t("classify.upload"), type=["csv", "tsv", "txt"], key="cls_file",
                              help=t("classify.upload_help", max=MAX_ROWS))
        if up is None:
            st.info(t("classify.batch_empty"), icon="📄")
            return None, None
        try:
            table = read_table(up.getvalue())
        except UnreadableFile as err:
            st.error(t(f"classify.err_{err.reason}", detail=err.detail), icon="🚫")
            return None, None
        st.caption(t("classify.file_info", rows=table.total_rows, cols=len(table.frame.columns), enc=table.encoding))
        if table.cut:
            st.warning(t("classify.too_many", n=table.total_rows, max=MAX_ROWS), icon="✂️")
        cols = list(table.frame.columns)
        guess = text_column(table.frame)
        col = st.selectbox(t("classify.column"), cols, index=cols.index(guess), key="cls_column")
        return table.frame, col
    raw = st.text_area(t("classify.lines"), key="cls_lines", height=160, placeholder=t("classify.lines_placeholder"))
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    if not lines:
        st.info(t("classify.batch_empty"), icon="📄")
        return None, None
    if len(lines) > MAX_ROWS:
        st.warning(t("classify.too_many", n=len(lines), max=MAX_ROWS), icon="✂️")
        lines = lines[:MAX_ROWS]
    return pd.DataFrame({"text": lines}), "text"


def _batch_tab(manual_model: str | None, ok: bool) -> None:
    frame, col = _batch_input()
    if frame is None or col is None:
        return
    texts_all = frame[col].astype(str).str.strip()
    keep = texts_all != ""
    if (~keep).sum():
        st.caption(t("classify.skipped_blank", n=int((~keep).sum())))
    rows = frame[keep].reset_index(drop=True)
    texts = texts_all[keep].tolist()
    if not texts:
        st.info(t("classify.batch_empty"), icon="📄")
        return
    if not ok:
        return
    digest = hashlib.sha1(("\x00".join(texts) + f"|{manual_model}|{col}").encode("utf-8")).hexdigest()
    if st.button(t("classify.run_batch", n=len(texts)), type="primary", key="cls_run", icon="🚀"):
        with friendly_errors():
            bar = st.progress(0.0, text=t("classify.progress", done=0, total=len(texts)))
            t0 = time.perf_counter()
            preds = classify(texts, model=manual_model,
                             progress=lambda d, n: bar.progress(d / n, text=t("classify.progress", done=d, total=n)))
            seconds = time.perf_counter() - t0
            bar.empty()
            record_prediction(preds[0].model, seconds * 1000 / len(preds))
            st.session_state["_cls_batch"] = (digest, preds, seconds)
    stored = st.session_state.get("_cls_batch")
    if not stored or stored[0] != digest:
        return
    _, preds, seconds = stored
    _show_batch(rows, col, preds, seconds)


def _show_batch(rows: pd.DataFrame, col: str, preds: list[Prediction], seconds: float) -> None:
    names = _names()
    st.success(t("classify.batch_done", n=len(preds), s=seconds, rate=len(preds) / max(seconds, 1e-6)), icon="✅")
    out = pd.DataFrame({
        t("classify.col_text"): rows[col].astype(str),
        t("classify.col_label"): [names.get(p.label, p.label) for p in preds],
        t("classify.col_confidence"): [round(p.score, 4) for p in preds],
        t("classify.col_language"): [_lang_name(p.language) for p in preds],
        t("classify.col_model"): [registry.get(p.model).name for p in preds],
    })
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
        st.plotly_chart(distribution_figure(counts, names), config={"displayModeBar": False}, key="cls_dist")
    with right:
        st.markdown(f"**{t('classify.results')}**")
        st.dataframe(out, hide_index=True, height=300, column_config={
            t("classify.col_confidence"): st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
        })
    st.download_button(t("classify.download"), to_csv_bytes(full), file_name="classified.csv", mime="text/csv",
                       key="cls_download", type="primary")


# ---- your own labels -----------------------------------------------------------------


def _zs_english_example() -> None:
    st.session_state["cls_zs_text"] = ZS_EN_TEXT
    st.session_state["cls_zs_labels"] = ZS_EN_LABELS


def _zero_shot_tab() -> None:
    st.caption(t("classify.zs_intro"))
    text = st.text_area(t("classify.zs_text"), key="cls_zs_text", height=100)
    labels = parse_labels(st.text_input(t("classify.zs_labels"), key="cls_zs_labels"))
    if not text.strip():
        st.info(t("classify.zs_empty"), icon="👋")
        return
    if len(labels) < 2:
        st.info(t("classify.zs_need_two"), icon="🏷️")
        return
    text = text.strip()[:MAX_CHARS]
    text_lang = detect_language(text)
    key = zero_shot_model(text_lang, labels)
    if key is None:
        bundled, hub = multilingual_zero_shot_models()
        st.warning(t("classify.zs_zh_unavailable", bundled=bundled.name if bundled else "–",
                     hub=hub.name if hub else "–", repo=hub.location if hub else "–"), icon="🌐")
        st.button(t("classify.zs_try_en"), key="cls_zs_try_en", on_click=_zs_english_example, icon="🇬🇧")
        return
    if not ensure_model(key):
        return
    with friendly_errors():
        ck = (text, tuple(labels), key)
        cached = st.session_state.get("_cls_zs")
        if cached and cached[0] == ck:
            pred, latency = cached[1]
        else:
            t0 = time.perf_counter()
            pred = classify_zero_shot([text], labels, model=key)[0]
            latency = (time.perf_counter() - t0) * 1000
            record_prediction(key, latency)
            st.session_state["_cls_zs"] = (ck, (pred, latency))
        left, right = st.columns([2, 3], gap="large")
        with left:
            st.html(label_badge_html(pred.label, pred.label, t("classify.confidence", p=percent(pred.score)),
                                     colour_index=list(pred.scores).index(pred.label)))
            st.caption(t("classify.zs_model", model=registry.get(key).name,
                         template=zero_shot_template(labels, text_lang).format(label="…")))
            st.caption(t("classify.latency", model=registry.get(key).name, ms=f"{latency:.0f}"))
        with right:
            st.markdown(f"**{t('classify.all_labels')}**")
            st.plotly_chart(scores_figure(pred.scores, {}), config={"displayModeBar": False}, key="cls_zs_chart")


# ---- page ----------------------------------------------------------------------------

page_header(t("classify.title"), t("classify.subtitle"))
_prefill()
_text_now = st.session_state.get("cls_text", "")
ok, manual = _model_controls(detect_language(_text_now) if _text_now.strip() else lang())
single, batch, zero = st.tabs([t("classify.tab_single"), t("classify.tab_batch"), t("classify.tab_zeroshot")])
# Filled last-to-first so that the footer's "last prediction" is the one-text result.
with zero:
    _zero_shot_tab()
with batch:
    _batch_tab(manual, ok)
with single:
    _single_tab(manual, ok)
