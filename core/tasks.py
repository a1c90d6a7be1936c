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
    "qa-explain": ("core.qa.explain", "explain_answer", "qa"),
    "classify": ("core.classify", "classify", "classify"),
    "sentiment": ("core.classify", "sentiment_details", "classify"),
    "zero-shot": ("core.classify", "classify_zero_shot", "classify"),
    "zero-shot-details": ("core.classify", "zero_shot_details", "classify"),
    "digits": ("core.digits", "recognise", "digits"),
    "digits-batch": ("core.digits", "classify_digits", "digits"),
    "attention": ("core.attention", "attention_maps", "attention"),
}

# The keyword arguments a caller over the network may pass, with the largest value allowed
# for the numeric ones (None: any value of the right kind). Anything else is refused, so a
# remote caller cannot ask for, say, 100,000-token attention maps.
KWARGS: dict[str, dict[str, float | None]] = {
    "qa": {"model": None, "top_k": 10},
    "qa-explain": {"model": None, "steps": 128},
    "classify": {"model": None},
    "sentiment": {"model": None, "method": None},
    "zero-shot": {"model": None, "template": None},
    "zero-shot-details": {},
    "digits": {"saliency": None, "compare": None, "method": None},
    "digits-batch": {},
    "attention": {"model": None, "text_pair": None, "max_tokens": 128},
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


def check_kwargs(name: str, kwargs: dict[str, object]) -> str | None:
    """Why ``kwargs`` may not be sent to task ``name`` from outside, or ``None`` if they may."""
    allowed = KWARGS.get(name, {})
    for key, value in kwargs.items():
        if key not in allowed:
            return f"{name} takes no argument {key!r} (it takes: {', '.join(allowed) or 'none'})"
        cap = allowed[key]
        if cap is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= cap):
            return f"{key} is a number from 1 to {cap:g}"
    return None
