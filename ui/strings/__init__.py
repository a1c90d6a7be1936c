"""Per-section parts of the one string table; ``ui.i18n`` assembles them into ``TABLE``."""
