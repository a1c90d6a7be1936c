"""Home: what the product is in ten seconds, four capability cards with one-click examples,
and the environment badge (device, network, models ready offline, models loaded).
Nothing here imports torch: the landing page stays light."""

from __future__ import annotations

import streamlit as st

from core import registry
from core.availability import availability, is_online
from core.device import describe_device
from core.loaders import loaded_models
from ui.i18n import lang, t
from ui.layout import device_label, page_link_to
from ui.pitch import STEPS
from ui.routing import use_navigation_routing

use_navigation_routing()  # first: a new server's first deep link is routed by app.py (see ui.routing)

CARDS = (("qa", "❓"), ("classify", "🏷️"), ("digits", "✍️"), ("attention", "🔍"))


def _cards() -> None:
    """One card per capability, each opening its page on a curated example (the pitch
    tour's, in the interface language)."""
    examples = {step.page: step.params.get(lang(), {}) for step in STEPS if step.params}
    for col, (key, icon) in zip(st.columns(len(CARDS), gap="medium"), CARDS):
        with col.container(border=True, height="stretch"):
            st.markdown(f"#### {icon} {t(f'home.{key}.title')}")
            st.write(t(f"home.{key}.body"))
            st.caption(t(f"home.{key}.example"))
            page_link_to(key, t("home.open_example"), examples[key], icon="▶️")


def _llm_badge() -> str:
    """One line on the opt-in language-model pack: installed or how to add it; its memory
    once loaded."""
    from core.health import llm_pack

    p = llm_pack()
    if not p.installed:
        return t("home.env.llm_missing")
    if p.loaded:
        return t("home.env.llm_loaded", mb=f"{p.memory_mb or 0:,.0f}")
    return t("home.env.llm_ready")


def _environment() -> None:
    """Device, network, models ready offline and models loaded in this server."""
    dev, online, loaded = describe_device(), is_online(), loaded_models()
    ready = [m for m in registry.MODELS if availability(m, online=online).status == "available"]
    with st.container(border=True):
        st.markdown(f"**{t('home.env.title')}**")
        c1, c2, c3, c4 = st.columns(4)
        c1.metric(t("home.env.device"), dev.kind.upper())
        if dev.kind == "cpu":
            c1.caption(t("home.env.threads", threads=dev.threads))
        else:
            c1.caption(f"{dev.name} {f'{dev.memory_gb:.0f} GB' if dev.memory_gb else ''}".strip())
        c2.metric(t("home.env.network"), t("home.env.is_online") if online else t("home.env.is_offline"))
        c2.caption(t("home.env.online") if online else t("home.env.offline"))
        c3.metric(t("home.env.models"), f"{len(ready)} / {len(registry.MODELS)}")
        c3.caption(", ".join(m.name for m in ready))
        c4.metric(t("home.env.loaded"), str(len(loaded)))
        c4.caption(
            ", ".join(t("home.env.load_time", model=k, seconds=s) for k, s in loaded.items())
            or t("home.env.loaded_none")
        )
        st.caption(device_label(dev) + " · " + _llm_badge())


st.title("✨ " + t("app.title"))
st.markdown(f"#### {t('home.hero')}")
st.markdown(t("home.intro"))
_cards()
st.divider()
_environment()
st.caption(t("home.footer"))
