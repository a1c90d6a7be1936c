"""The task functions a page, the HTTP API and a remote client may call, by name.

One table, so the API (single process or Ray Serve) and the thin client
(:mod:`core.remote`) agree on what ``"qa"`` or ``"classify"`` means, and so a name coming
over the network can only ever reach these functions. ``FAMILY`` groups tasks by the model
family that serves them: one Ray Serve deployment per family.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# name -> (module, function, family)
_TABLE: dict[str, tuple[str, str, str]] = {
    "qa": ("core.qa", "answer_details", "qa"),
    "classify": ("core.classify", "classify", "classify"),
    "sentiment": ("core.classify", "sentiment_details", "classify"),
    "zero-shot": ("core.classify", "classify_zero_shot", "classify"),
    "zero-shot-details": ("core.classify", "zero_shot_details", "classify"),
    "digits": ("core.digits", "recognise", "digits"),
    "digits-batch": ("core.digits", "classify_digits", "digits"),
    "attention": ("core.attention", "attention_maps", "attention"),
}

NAMES: tuple[str, ...] = tuple(_TABLE)
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(f for _, _, f in _TABLE.values()))


def family(name: str) -> str:
    """The model family serving task ``name`` (``KeyError`` for an unknown name)."""
    return _TABLE[name][2]


def function(name: str) -> Callable[..., Any]:
    """The ``core`` function of task ``name`` (imported on first use; ``KeyError`` if unknown)."""
    module, attr, _ = _TABLE[name]
    return getattr(importlib.import_module(module), attr)


def name_of(fn: Callable[..., Any]) -> str | None:
    """The task name of a ``core`` function, ``None`` if it is not a task."""
    for name, (module, attr, _) in _TABLE.items():
        if attr == getattr(fn, "__name__", None) and (
            fn.__module__ == module or fn.__module__.startswith(module + ".")
        ):
            return name
    return None
