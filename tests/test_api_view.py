"""The "Use via API" snippets (ui/api_view.py): whatever the visitor typed, the curl command
is valid shell that hands curl exactly the request body, and the Python snippet is valid
Python that posts exactly that body."""

from __future__ import annotations

import ast
import json
import shlex
import subprocess

import numpy as np
import pytest

from ui.api_view import (
    DEFAULT_URL,
    attention_body,
    base_url,
    body,
    curl_command,
    literal,
    pixels,
    python_snippet,
)

URL = "http://127.0.0.1:8000"
NASTY = [
    'He said "hi" and left',
    "l'été, it's 'quoted' twice",
    "line one\nline two\r\n\ttabbed",
    "埃菲尔铁塔是谁设计的？「引号」",
    "<script>alert('x')</script><b>bold</b> &amp;",
    "$(rm -rf /) `id` $HOME ${PATH} \\ back\\slash \\n not a newline",
    "a backslash before a quote \\' and \\\\' and \\u0027 typed out",
    "emoji 🙂 and a bell \x07 and a NUL-free control \x1b[0m",
    "!event !! history ; | & > < * ? [a] ~ #",
    "",
]


def _curl_args(command: str) -> list[str]:
    """The arguments bash passes to curl when it runs ``command`` (curl replaced by a
    function that prints them), so the test checks real shell parsing."""
    script = "curl() { printf '%s\\0' \"$@\"; }\n" + command
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True, timeout=10).stdout
    return out.decode("utf-8").split("\0")[:-1]


def _data(args: list[str]) -> str:
    return args[args.index("-d") + 1]


def _post_call(snippet: str) -> ast.Call:
    calls = [
        n
        for n in ast.walk(ast.parse(snippet))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "post"
    ]
    assert len(calls) == 1
    return calls[0]


def _keyword(call: ast.Call, name: str) -> ast.expr:
    return next(k.value for k in call.keywords if k.arg == name)


@pytest.mark.parametrize("text", NASTY)
def test_curl_hands_the_exact_json_to_curl(text):
    payload = body(question=text, context=f"{text} ctx", model="qa-e5", top_k=3)
    cmd = curl_command(URL, "/api/qa", payload)
    subprocess.run(["bash", "-n", "-c", cmd], check=True, timeout=10)  # syntax
    args = _curl_args(cmd)
    assert args[:4] == ["-s", "-X", "POST", URL + "/api/qa"]
    assert json.loads(_data(args)) == payload
    # shlex (POSIX rules) reads it the same way once the line continuations are joined
    assert json.loads(_data(shlex.split(cmd.replace("\\\n", " ")))) == payload


@pytest.mark.parametrize("text", NASTY)
def test_python_snippet_posts_the_exact_body(text):
    payload = body(text=text, labels=["sport", text or "x", "科技"])
    snippet = python_snippet(URL, "/api/zero-shot", payload)
    compile(snippet, "snippet.py", "exec")
    call = _post_call(snippet)
    assert ast.literal_eval(call.args[0]) == URL + "/api/zero-shot"
    assert ast.literal_eval(_keyword(call, "json")) == payload
    assert ast.literal_eval(_keyword(call, "timeout")) == 60


def test_an_apostrophe_needs_no_shell_quote_dance():
    cmd = curl_command(URL, "/api/attention", body(text="The animal didn't cross"))
    assert "didn\\u0027t" in cmd and cmd.count("'") == 4  # '-H' value and the -d body only
    assert json.loads(_data(_curl_args(cmd))) == {"text": "The animal didn't cross"}


def test_chinese_stays_readable():
    payload = body(text="这家餐厅的菜很好吃")
    assert "这家餐厅的菜很好吃" in curl_command(URL, "/api/classify", payload)
    assert "这家餐厅的菜很好吃" in python_snippet(URL, "/api/classify", payload)


def test_a_lone_surrogate_is_escaped_not_printed():
    payload = {"text": "bad \ud800 text"}
    cmd, snippet = curl_command(URL, "/api/classify", payload), python_snippet(URL, "/api/classify", payload)
    cmd.encode("utf-8"), snippet.encode("utf-8")  # printable: no lone surrogate left in the text
    assert json.loads(_data(_curl_args(cmd))) == payload
    assert ast.literal_eval(_keyword(_post_call(snippet), "json")) == payload


def test_a_matrix_of_mixed_numbers_stays_valid():
    rows = [[1.5, 2, -3], [0, 10, 0.25]]
    assert json.loads(literal({"m": rows})) == {"m": rows}
    assert ast.literal_eval(literal({"m": rows}, python=True)) == {"m": rows}
    assert literal([[True, 1]]) == "[\n  [true, 1]\n]"  # booleans are not numbers: no alignment


def test_python_literals_and_json_literals_differ_where_they_must():
    payload = {"text": "x", "pair": None, "full": False, "ok": True, "score": 0.5}
    assert json.loads(literal(payload)) == payload
    assert ast.literal_eval(literal(payload, python=True)) == payload
    assert "null" in literal(payload) and "None" in literal(payload, python=True)
    with pytest.raises(ValueError):
        literal({"x": float("nan")})
    with pytest.raises(TypeError):
        literal({"x": object()})


def test_pixels_are_28_rows_of_integers_one_row_per_line():
    rng = np.random.default_rng(0)
    image = rng.random((28, 28)).astype(np.float32)
    image[0, 0], image[0, 1] = 1.0, 0.0
    rows = pixels(image)
    assert len(rows) == 28 and all(len(r) == 28 for r in rows)
    assert all(isinstance(v, int) and 0 <= v <= 255 for r in rows for v in r)
    assert rows[0][:2] == [255, 0]
    np.testing.assert_allclose(np.array(rows) / 255, image, atol=0.5 / 255 + 1e-6)
    text = literal(body(pixels=rows))
    assert json.loads(text) == {"pixels": rows}
    assert text.count("\n") == 28 + 3  # "{", "pixels": [, 28 rows, "]", "}"
    lines = text.splitlines()[2:-2]
    assert len({len(line.rstrip(",")) for line in lines}) == 1  # right-aligned: the picture lines up
    assert ast.literal_eval(literal(body(pixels=rows), python=True)) == {"pixels": rows}
    cmd = curl_command(URL, "/api/digits", body(pixels=rows))
    assert json.loads(_data(_curl_args(cmd))) == {"pixels": rows}


def test_body_drops_unset_fields_and_attention_counts_from_zero():
    assert body(text="a", model=None) == {"text": "a"}
    assert attention_body("a b", None, "minilm", 1, 1) == {"text": "a b", "model": "minilm", "layer": 0, "head": 0}
    avg = attention_body("a", "b", "minilm", 6, None)
    assert avg == {"text": "a", "pair": "b", "model": "minilm", "layer": 5, "head": None}
    assert '"head": null' in literal(avg) and '"head": None' in literal(avg, python=True)


def test_an_api_key_is_read_from_the_environment_never_written_out():
    payload = body(text="hi")
    cmd = curl_command(URL, "/api/classify", payload, key_env="DEMO_API_KEY")
    args = subprocess.run(
        ["bash", "-c", "curl() { printf '%s\\0' \"$@\"; }\n" + cmd],
        capture_output=True,
        check=True,
        env={"DEMO_API_KEY": "s3cret", "PATH": "/usr/bin:/bin"},
    ).stdout.split(b"\0")
    assert b"X-API-Key: s3cret" in args
    snippet = python_snippet(URL, "/api/classify", payload, key_env="DEMO_API_KEY")
    compile(snippet, "snippet.py", "exec")
    assert 'os.environ["DEMO_API_KEY"]' in snippet and "import os" in snippet


def test_base_url_prefers_the_public_address():
    assert base_url({}) == DEFAULT_URL == "http://localhost:8000"
    assert base_url({"DEMO_INFERENCE_URL": "http://api:8000/"}) == "http://api:8000"
    both = {"DEMO_INFERENCE_URL": "http://api:8000", "DEMO_PUBLIC_API_URL": " https://demo.example/ "}
    assert base_url(both) == "https://demo.example"
    assert base_url({"DEMO_PUBLIC_API_URL": "  ", "DEMO_INFERENCE_URL": ""}) == DEFAULT_URL
