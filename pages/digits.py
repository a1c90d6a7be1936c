"""The digits page (placeholder until its capability lands)."""

from ui.common import coming_soon

coming_soon("nav.digits")
