"""The attention page (placeholder until its capability lands)."""

from ui.common import coming_soon

coming_soon("nav.attention")
