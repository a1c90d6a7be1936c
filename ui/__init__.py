"""Streamlit widgets shared by the pages (i18n, model picker, footer, safe rendering)."""
