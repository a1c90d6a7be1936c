"""Home: what the product is in ten seconds, four capability cards with one-click examples,
and the environment badge (device, network, models ready offline, models loaded)."""

import streamlit as st

from core import registry
from core.availability import availability, is_online
from core.device import describe_device
from core.loaders import loaded_models
from ui.common import device_label, page_link_to
from ui.i18n import lang, t
from ui.pitch import STEPS

st.title("✨ " + t("app.title"))
st.markdown(f"#### {t('home.hero')}")
st.markdown(t("home.intro"))

# One-click examples: the same curated inputs as the pitch tour, in the interface language.
EXAMPLES = {step.page: step.params.get(lang(), {}) for step in STEPS if step.params}
CARDS = [("qa", "❓"), ("classify", "🏷️"), ("digits", "✍️"), ("attention", "🔍")]

cols = st.columns(4, gap="medium")
for col, (key, icon) in zip(cols, CARDS):
    with col.container(border=True):
        st.markdown(f"#### {icon} {t(f'home.{key}.title')}")
        st.write(t(f"home.{key}.body"))
        st.caption(t(f"home.{key}.example"))
        page_link_to(key, t("home.open_example"), EXAMPLES[key], icon="▶️")

st.divider()
dev = describe_device()
online = is_online()
ready = [m for m in registry.MODELS if availability(m, online=online).status == "available"]
loaded = loaded_models()

with st.container(border=True):
    st.markdown(f"**{t('home.env.title')}**")
    c1, c2, c3, c4 = st.columns(4)
    if dev.kind == "cpu":
        c1.metric(t("home.env.device"), "CPU")
        c1.caption(t("home.env.threads", threads=dev.threads))
    else:
        mem = f"{dev.memory_gb:.0f} GB" if dev.memory_gb else ""
        c1.metric(t("home.env.device"), dev.kind.upper())
        c1.caption(f"{dev.name} {mem}".strip())
    c2.metric(t("home.env.network"), t("home.env.is_online") if online else t("home.env.is_offline"))
    c2.caption(t("home.env.online") if online else t("home.env.offline"))
    c3.metric(t("home.env.models"), f"{len(ready)} / {len(registry.MODELS)}")
    c3.caption(", ".join(m.name for m in ready))
    c4.metric(t("home.env.loaded"), str(len(loaded)))
    c4.caption(", ".join(t("home.env.load_time", model=k, seconds=s) for k, s in loaded.items())
               or t("home.env.loaded_none"))
    st.caption(device_label(dev))

st.caption(t("home.footer"))
