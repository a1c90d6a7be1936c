"""Entry point: page configuration, language switch and routing. Nothing else.

Run with ``make run`` (or ``streamlit run app.py``). The landing page and this router do
not import torch or transformers: models load only when a page needs them.
"""

import streamlit as st

from core import remote
from core.warmup import start_background_warmup
from ui.i18n import language_switch, t
from ui.layout import footer
from ui.pitch import is_pitch, pitch_bar
from ui.run import plug_streamlit_cache

st.set_page_config(page_title="AI Playground · AI 体验馆", page_icon="✨", layout="wide", initial_sidebar_state="auto")

plug_streamlit_cache()
language_switch()

PAGES = [
    st.Page("pages/home.py", title=t("nav.home"), icon="🏠", url_path="", default=True),
    st.Page("pages/qa.py", title=t("nav.qa"), icon="❓", url_path="qa"),
    st.Page("pages/classify.py", title=t("nav.classify"), icon="🏷️", url_path="classify"),
    st.Page("pages/digits.py", title=t("nav.digits"), icon="✍️", url_path="digits"),
    st.Page("pages/train.py", title=t("nav.train"), icon="🏋️", url_path="train"),
    st.Page("pages/attention.py", title=t("nav.attention"), icon="🔍", url_path="attention"),
    st.Page("pages/status.py", title=t("nav.status"), icon="🩺", url_path="status"),
]

if not remote.enabled():  # with DEMO_INFERENCE_URL the API holds the models, this process none
    start_background_warmup()  # once per process: the default models load while visitors browse

pitch = is_pitch()
page = st.navigation(PAGES, position="hidden" if pitch else "sidebar")
if pitch:
    pitch_bar()
page.run()
if not pitch:
    footer()
