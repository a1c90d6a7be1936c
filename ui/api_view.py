"""The "Use via API" expander: the ``curl`` command and the Python call that reproduce, over
the HTTP API (:mod:`api.app`, ``make api``), what the visitor just did on a page.

The snippet builders are pure functions returning strings: the request body is written
as JSON for the shell (inside single quotes, apostrophes as ``\u0027``, so any text,
quotes, newlines, Chinese or ``<script>`` included, reaches curl unchanged) and as a Python literal for ``requests``.
:func:`show_api` is the one render helper a page calls after drawing its result.

The address shown is ``DEMO_PUBLIC_API_URL`` (what visitors can reach), else
``DEMO_INFERENCE_URL`` (the API this app uses), else ``http://localhost:8000``.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from typing import Any

import numpy as np
import streamlit as st

from ui.i18n import TABLE, t

DEFAULT_URL = "http://localhost:8000"
KEY_ENV = "DEMO_API_KEY"  # when the API asks for a key, the snippets read it from this variable


def base_url(env: Mapping[str, str] | None = None) -> str:
    """The API address the snippets name (no trailing slash)."""
    env = os.environ if env is None else env
    for name in ("DEMO_PUBLIC_API_URL", "DEMO_INFERENCE_URL"):
        url = env.get(name, "").strip().rstrip("/")
        if url:
            return url
    return DEFAULT_URL


def body(**fields: Any) -> dict[str, Any]:
    """A request body: the fields given, without the ``None`` ones (the API's defaults)."""
    return {k: v for k, v in fields.items() if v is not None}


def pixels(image: np.ndarray) -> list[list[int]]:
    """The 28x28 picture the model received (floats 0..1) as rows of integers 0..255."""
    arr = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
    return np.rint(arr * 255).astype(int).tolist()


def attention_body(text: str, pair: str | None, model: str, layer: int, head: int | None) -> dict[str, Any]:
    """The /api/attention body for the layer and head the page shows (counted from 1 there,
    from 0 in the API); ``head=None``: the average of the layer's heads (``null``)."""
    return {
        **body(text=text, pair=pair or None, model=model),
        "layer": layer - 1,
        "head": None if head is None else head - 1,
    }


# --- literals: the same layout for JSON and Python --------------------------------------


def _utf8_ok(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: cannot be printed or sent as it is
        return False
    return True


def _json_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=not _utf8_ok(s))


def _py_str(s: str) -> str:
    # JSON's escapes (\" \\ \n \t \uXXXX for control characters) mean the same in Python;
    # only a string that is not valid UTF-8 needs Python's own repr.
    return json.dumps(s, ensure_ascii=False) if _utf8_ok(s) else repr(s)


def _scalar(value: Any, python: bool) -> str:
    if value is None:
        return "None" if python else "null"
    if isinstance(value, bool):
        return ("True" if value else "False") if python else ("true" if value else "false")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if not np.isfinite(f):
            raise ValueError("JSON has no NaN or infinity")
        return repr(f)
    if isinstance(value, str):
        return _py_str(value) if python else _json_str(value)
    raise TypeError(f"cannot write {type(value).__name__} in a request body")


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list, tuple))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _matrix(rows: list[Any] | tuple[Any, ...], python: bool, pad: str, inner: str) -> str:
    """Rows of numbers, one per line, each number right-aligned in one width: a picture's
    pixels line up, so the digit can be seen in the text."""
    cells = [[_scalar(v, python) for v in row] for row in rows]
    width = max((len(c) for row in cells for c in row), default=0)
    lines = [inner + "[" + ",".join(c.rjust(width) for c in row) + "]" for row in cells]
    return "[\n" + ",\n".join(lines) + f"\n{pad}]"


def literal(value: Any, *, python: bool = False, depth: int = 0) -> str:
    """``value`` as JSON (or a Python literal) laid out for reading: one key per line, a
    list of plain values (a pixel row, labels) on one line, a list of lists one per line;
    indented by 2 spaces (4 for Python) per level, starting at ``depth``."""
    step = "    " if python else "  "
    pad, inner = step * depth, step * (depth + 1)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = [
            f"{inner}{_scalar(str(k), python)}: {literal(v, python=python, depth=depth + 1)}" for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, (list, tuple)):
        if all(_is_scalar(v) for v in value):
            numbers = all(_is_number(v) for v in value)
            return "[" + ("," if numbers and value else ", ").join(_scalar(v, python) for v in value) + "]"
        if all(isinstance(v, (list, tuple)) and v and all(_is_number(x) for x in v) for v in value):
            return _matrix(value, python, pad, inner)
        rows = [f"{inner}{literal(v, python=python, depth=depth + 1)}" for v in value]
        return "[\n" + ",\n".join(rows) + f"\n{pad}]"
    return _scalar(value, python)


# --- the snippets ---------------------------------------------------------------------


def curl_command(url: str, route: str, payload: Mapping[str, Any], *, key_env: str | None = None) -> str:
    """A POSIX shell command (bash, zsh) posting ``payload`` as JSON to ``url + route``. The
    JSON goes in single quotes; an apostrophe in the text is written ``\\u0027`` (the same
    character to JSON), so the shell string needs no ``'"'"'`` dance."""
    parts = [f"curl -s -X POST {shlex.quote(url + route)}", "-H 'Content-Type: application/json'"]
    if key_env:
        parts.append(f'-H "X-API-Key: ${key_env}"')
    data = literal(payload).replace("'", "\\u0027")  # a ' is only ever inside a JSON string
    parts.append(f"-d {shlex.quote(data)}")
    return " \\\n  ".join(parts)


def python_snippet(url: str, route: str, payload: Mapping[str, Any], *, key_env: str | None = None) -> str:
    """A Python script (``requests``) posting ``payload`` to ``url + route`` and printing the answer."""
    head = ["import requests", ""]
    if key_env:
        head = ["import os", "", "import requests", ""]
    lines = [
        *head,
        "response = requests.post(",
        f"    {_py_str(url + route)},",
        f"    json={literal(payload, python=True, depth=1)},",
    ]
    if key_env:
        lines.append(f'    headers={{"X-API-Key": os.environ[{_py_str(key_env)}]}},')
    lines += ["    timeout=60,", ")", "response.raise_for_status()", "print(response.json())", ""]
    return "\n".join(lines)


def show_api(route: str, payload: Mapping[str, Any]) -> None:
    """The "Use via API" expander under a result: ``route`` (e.g. ``"/api/qa"``) called with
    the inputs the page just used, as curl and as Python."""
    url = base_url()
    key_env = KEY_ENV if os.environ.get(KEY_ENV, "").strip() else None
    with st.expander(t("api.title"), icon="🔌"):
        st.caption(t("api.intro", route=route))
        st.markdown("**curl**")
        st.code(curl_command(url, route, payload, key_env=key_env), language="bash", wrap_lines=False)
        st.markdown("**Python**")
        st.code(python_snippet(url, route, payload, key_env=key_env), language="python", wrap_lines=False)
        note = f"api.note.{route.rsplit('/', 1)[-1]}"
        st.caption(t("api.run_it", url=url) + (" " + t(note) if note in TABLE else ""))
