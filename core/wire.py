"""A JSON codec for task arguments and results: dataclasses, tuples and numpy arrays survive
the trip over HTTP and come back as the same types.

Only classes this module knows (``core``'s result dataclasses) are rebuilt; any other
``"__dc__"`` name is refused, so a response can never make the client import or build
something else. Arrays travel as base64 of their raw bytes with dtype and shape.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
from typing import Any

import numpy as np

# The dataclasses that may cross the wire, by "module:qualname".
ALLOWED: frozenset[str] = frozenset(
    {
        "core.qa:Answer",
        "core.qa:QAResult",
        "core.qa.explain:QAExplanation",
        "core.classify.sentiment:Prediction",
        "core.explain:Attribution",
        "core.classify.explain:Explanation",
        "core.classify.explain:SentimentResult",
        "core.classify.zero_shot:ZeroShotResult",
        "core.digits.inference:DigitResult",
        "core.attention:AttentionResult",
    }
)

MAX_ARRAY_BYTES = 64 * 1024 * 1024


class WireError(ValueError):
    """A payload this codec cannot decode (unknown class, bad array, wrong shape)."""


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def encode(value: Any) -> Any:
    """``value`` as plain JSON data (dicts, lists, str, numbers, bool, None)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        if arr.dtype.hasobject:  # its bytes would be pointers
            raise WireError("cannot encode an array of Python objects")
        return {"__nd__": arr.dtype.str, "shape": list(arr.shape), "b64": base64.b64encode(arr.tobytes()).decode()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = _name(type(value))
        if name not in ALLOWED:
            raise WireError(f"not a wire type: {name}")
        return {"__dc__": name, "fields": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"__dict__": {k: encode(v) for k, v in value.items()}}
        return {"__items__": [[encode(k), encode(v)] for k, v in value.items()]}
    raise WireError(f"cannot encode {type(value).__name__}")


def _array(obj: dict[str, Any]) -> np.ndarray:
    try:
        dtype = np.dtype(obj["__nd__"])
        shape = tuple(int(n) for n in obj["shape"])
        raw = base64.b64decode(obj["b64"], validate=True)
    except Exception as exc:
        raise WireError(f"bad array: {exc}") from None
    if (
        dtype.hasobject
        or any(n < 0 for n in shape)
        or len(raw) > MAX_ARRAY_BYTES
        or len(raw) != dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    ):
        raise WireError("bad array: size, dtype or shape")
    try:
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    except ValueError as exc:
        raise WireError(f"bad array: {exc}") from None


def _dataclass(obj: dict[str, Any]) -> Any:
    name = obj["__dc__"]
    if not isinstance(name, str) or name not in ALLOWED:
        raise WireError(f"not a wire type: {name!r}")
    module, qualname = name.split(":")
    cls = getattr(importlib.import_module(module), qualname)
    fields = obj.get("fields")
    if not isinstance(fields, dict):
        raise WireError(f"bad fields for {name}")
    known = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: _decode(v) for k, v in fields.items() if k in known})
    except TypeError as exc:
        raise WireError(f"bad fields for {name}: {exc}") from None


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`; raises :class:`WireError` on anything else (a
    malformed payload never escapes as another exception)."""
    try:
        return _decode(value)
    except WireError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        raise WireError(f"bad payload: {type(exc).__name__}: {exc}") from None


def _decode(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__nd__" in value:
            return _array(value)
        if "__dc__" in value:
            return _dataclass(value)
        if "__tuple__" in value and isinstance(value["__tuple__"], list):
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__dict__" in value and isinstance(value["__dict__"], dict):
            return {str(k): _decode(v) for k, v in value["__dict__"].items()}
        if "__items__" in value and isinstance(value["__items__"], list):
            return {_decode(k): _decode(v) for k, v in value["__items__"]}
    raise WireError(f"cannot decode {type(value).__name__}")
