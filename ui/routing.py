"""Routing by ``st.navigation`` from a new server's very first request.

Upstream behaviour: Streamlit decides once per process whether the app uses the legacy
"pages/ directory" multipage mode (``PagesManager.uses_pages_directory``, set from
whether a ``pages/`` folder exists beside the main script, and cleared only when
``st.navigation`` runs; see streamlit/streamlit#8860 and #10276). Streamlit has no
setting to choose v2 routing up front. The product keeps its page files in ``pages/``,
so a first visitor who opens a shared deep link such as ``/qa`` on a fresh server would
get that file run on its own (no router: no language switch, raw file names in the
sidebar).

:func:`use_navigation_routing` clears the flag. ``ui.serve`` calls it before the server
starts (``make run``, Docker); each page file calls it first too, for ``streamlit run
app.py``: on that first legacy run it reruns the request through ``app.py``.
``tests/e2e/test_pages_browser.py::test_deep_link_as_first_visit_of_a_new_server_is_routed``
proves it on a real server.
"""

from __future__ import annotations


def use_navigation_routing() -> None:
    """Make ``st.navigation`` (app.py) own routing; rerun the current run if it was a legacy one."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - other Streamlit versions
        return
    if PagesManager.uses_pages_directory is False:
        return
    legacy = PagesManager.uses_pages_directory is True
    PagesManager.uses_pages_directory = False
    if not legacy:
        return
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is not None:
        import streamlit as st

        st.rerun()  # the same page again, now routed by app.py
