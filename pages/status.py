"""System check: every registry model with its availability, device, load time and a live
latency measurement; "ready for offline" is green only when every page's default model
works without network."""

import pandas as pd
import streamlit as st

from core.availability import is_online
from core.device import describe_device
from core.health import measure_latency, model_states, offline_readiness
from ui.common import device_label, friendly_errors, page_header
from ui.i18n import t

page_header(t("status.title"), t("status.subtitle"))

ready = offline_readiness()
if ready.ready:
    st.success(t("status.ready"), icon="✅")
else:
    missing = ", ".join(k for k, v in ready.defaults.items() if v is None)
    st.error(t("status.not_ready", missing=missing), icon="⛔")

dev = describe_device()
states = model_states()
c1, c2, c3 = st.columns(3)
c1.metric(t("status.device"), dev.kind.upper())
c1.caption(device_label(dev))
c2.metric(t("status.network"), t("status.online") if is_online() else t("status.offline"))
n_ok = sum(s.status == "available" for s in states)
c3.metric(t("status.models"), f"{n_ok} / {len(states)}")

latencies: dict[str, float] = st.session_state.get("_status_latency", {})
if st.button(t("status.measure"), type="primary"):
    for s in states:
        if s.status != "available":
            continue
        with st.spinner(t("status.measuring", model=s.name)), friendly_errors():
            latencies[s.key] = measure_latency(s.key)
    st.session_state["_status_latency"] = latencies
    states = model_states()  # load times are known now

icons = {"available": "🟢", "downloadable": "🟡", "unavailable": "🔴"}
df = pd.DataFrame([{
    t("status.col.model"): s.name,
    t("status.col.key"): s.key,
    t("status.col.tasks"): ", ".join(s.tasks),
    t("status.col.languages"): ", ".join(s.languages).replace("*", "multi"),
    t("status.col.source"): s.source,
    t("status.col.status"): f"{icons[s.status]} {t('status.' + s.status)}",
    t("status.col.reason"): s.reason,
    t("status.col.size"): round(s.size_mb),
    t("status.col.load"): None if s.load_seconds is None else round(s.load_seconds, 2),
    t("status.col.latency"): None if s.key not in latencies else round(latencies[s.key], 1),
} for s in states])
st.dataframe(df, hide_index=True, width="stretch")

st.markdown(f"**{t('status.defaults')}**")
st.dataframe(pd.DataFrame([{t("status.col.task_lang"): k, t("status.col.key"): v or "—"} for k, v in ready.defaults.items()]),
             hide_index=True)
