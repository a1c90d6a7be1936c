"""Open one page of the app in Streamlit's AppTest, the way a visitor's link would."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(page: str, lang: str = "en", *, timeout: float = 180, **params: str) -> AppTest:
    """Run ``app.py`` once with ``?lang=`` and ``params`` in the URL, switch to ``page``
    (e.g. ``"pages/qa.py"``) and run it; fails the test on any exception."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def html_of(at: AppTest) -> str:
    """All ``st.html`` / unsafe markdown HTML the page produced, as one string."""
    return " ".join(str(getattr(e, "proto", e)) for e in at.get("html"))
