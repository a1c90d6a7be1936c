"""Transitional re-exports while the pages move to the split modules (ui.layout,
ui.models, ui.errors, ui.i18n); removed once no page imports it."""

import streamlit as st

from ui.errors import RateLimited, friendly_errors, rate_limit_per_min  # noqa: F401
from ui.i18n import language_switch  # noqa: F401
from ui.layout import PAGE_FILES, device_label, footer, page_header, page_link_to, record_prediction  # noqa: F401
from ui.models import ensure_model, model_picker, reason_text, show_load_error  # noqa: F401

URL_TEXT_MAX = 2000  # longer inputs are not put in the URL (links must stay shareable)


def keep_in_url(**values: str | None) -> None:
    """Mirror a page's inputs into the URL so a shared link reproduces what the sender saw.
    Empty values, and texts longer than ``URL_TEXT_MAX`` characters, are left out of it."""
    for name, value in values.items():
        if value and len(value) <= URL_TEXT_MAX:
            if st.query_params.get(name) != value:
                st.query_params[name] = value
        elif name in st.query_params:
            del st.query_params[name]


