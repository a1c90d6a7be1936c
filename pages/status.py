"""System check: every registry model with its availability, device, load time and a live
latency measurement; "ready for offline" is green only when every page's default model
works without network. With inference on a remote API (``DEMO_INFERENCE_URL``) the page
says where predictions run and measures nothing here (that would load models locally)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import registry, remote
from core.availability import is_online
from core.device import describe_device
from core.health import ModelState, llm_pack, measure_latency, model_states, offline_readiness
from ui.errors import friendly_errors
from ui.i18n import t
from ui.layout import device_label, page_header, served_by
from ui.models import reason_text
from ui.routing import use_navigation_routing

use_navigation_routing()  # first: a new server's first deep link is routed by app.py (see ui.routing)

ICONS = {"available": "🟢", "downloadable": "🟡", "unavailable": "🔴"}
RUNTIMES = {"pytorch": "PyTorch", "openvino": "OpenVINO"}  # product names: the same in every language


@st.cache_data(ttl=60, show_spinner=False)
def _latency(key: str) -> float:
    """Median warm latency of ``key`` in ms (loaded first if needed); one figure a minute
    per server, whoever asks: it is the server's, not the visitor's."""
    return measure_latency(key)


def _measure(states: list[ModelState]) -> dict[str, float]:
    """Live latency of every available model, with a spinner while one is measured; a
    model that fails says why and the others are still measured."""
    latencies: dict[str, float] = {}
    for s in states:
        if s.status == "available" and (s.load_seconds is not None or not registry.get(s.key).is_llm):
            # a language model loads on demand (seconds, gigabytes): measured once it is loaded
            with st.spinner(t("status.measuring", model=s.name)), friendly_errors():
                latencies[s.key] = _latency(s.key)
    return latencies


def _row(s: ModelState, latencies: dict[str, float]) -> dict[str, object]:
    return {
        t("status.col.model"): s.name,
        t("status.col.key"): s.key,
        t("status.col.status"): f"{ICONS[s.status]} {t('status.' + s.status)}",
        # "—": not measured / not loaded in this process yet (an empty number shows as "None")
        t("status.col.latency"): f"{latencies[s.key]:.1f}" if s.key in latencies else "—",
        t("status.col.load"): "—" if s.load_seconds is None else f"{s.load_seconds:.2f}",
        t("status.col.memory"): "—" if s.memory_mb is None else f"{s.memory_mb:,.0f}",
        t("status.col.runtime"): _runtime_text(s),
        t("status.col.size"): round(s.size_mb),
        t("status.col.reason"): reason_text(s.code, s.params) if s.code else "",
        t("status.col.tasks"): ", ".join(s.tasks),
        t("status.col.languages"): ", ".join(s.languages).replace("*", "multi"),
        t("status.col.source"): t(f"status.source.{s.source}"),
    }


def _runtime_text(s: ModelState) -> str:
    """The runtime cell: "OpenVINO · int8", "PyTorch · fp32 (why not OpenVINO)", "—" before it loads."""
    if s.runtime is None:
        return "—"
    text = f"{RUNTIMES.get(s.runtime, s.runtime)} · {s.precision}"
    return text + (f" ({t(f'status.runtime_note.{s.runtime_note}')})" if s.runtime_note else "")


def _llm_pack_line() -> None:
    """Whether the opt-in language-model pack is installed, and its memory once loaded."""
    p = llm_pack()
    if not p.installed:
        st.info(t("status.llm_missing"), icon="📦")
    elif p.folder is None:
        st.info(t("status.llm_unconverted"), icon="📦")
    elif p.loaded:
        st.info(t("status.llm_loaded", mb=f"{p.memory_mb or 0:,.0f}", s=f"{p.load_seconds or 0:.1f}"), icon="🧠")
    else:
        st.info(t("status.llm_ready", size=f"{p.size_mb:,.0f}"), icon="🧠")


def main() -> None:
    page_header(t("status.title"), t("status.subtitle"))
    ready = offline_readiness()
    if ready.ready:
        st.success(t("status.ready"), icon="✅")
    else:
        st.error(t("status.not_ready", missing=", ".join(k for k, v in ready.defaults.items() if v is None)), icon="⛔")

    dev, online, states = describe_device(), is_online(), model_states()
    c1, c2, c3 = st.columns(3)
    c1.metric(t("status.device"), dev.kind.upper())
    c1.caption(device_label(dev))
    c2.metric(t("status.network"), t("status.online") if online else t("status.offline"))
    c3.metric(t("status.models"), f"{sum(s.status == 'available' for s in states)} / {len(states)}")

    _llm_pack_line()
    latencies: dict[str, float] = {}
    if url := remote.base_url():
        where, device = served_by(url)
        st.info(t("status.remote", where=where, device=device or "?"), icon="🛰️")
    elif st.toggle(t("status.measure"), key="measure", bind="query-params", help=t("status.measure_help")):
        latencies = _measure(states)
        states = model_states()  # load times are known now
    table = pd.DataFrame([_row(s, latencies) for s in states])
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=35 * (len(table) + 1) + 3,  # every row, no scroll
        column_config={
            t("status.col.reason"): st.column_config.TextColumn(width="large"),
        },
    )

    st.markdown(f"**{t('status.defaults')}**")
    st.dataframe(
        pd.DataFrame(
            [{t("status.col.task_lang"): k, t("status.col.key"): v or "—"} for k, v in ready.defaults.items()]
        ),
        hide_index=True,
    )


main()
