"""Streamlit widgets shared by the pages (i18n, model picker, footer, safe rendering).

Importing this package also guards the routing: Streamlit starts a new server process in
its legacy "pages/ directory" mode when a ``pages/`` folder exists, until the router
(app.py's ``st.navigation``) has run once. A first visitor who opens a shared deep link
such as ``/qa`` would then get that page without the router (no language switch, raw file
names in the sidebar). Every page imports ``ui``, so the first such run switches the
process to ``st.navigation`` routing and reruns through app.py.
"""


def _leave_legacy_pages_mode() -> None:
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - other Streamlit versions
        return
    if not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is not None:
        import streamlit as st

        st.rerun()  # the same page again, now routed by app.py


_leave_legacy_pages_mode()
