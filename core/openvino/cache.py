"""Built OpenVINO models in the model cache, keyed by the weights they were built from.

A build lives in ``core.e5.cache_root()/openvino/<key>-<sha16>/``: ``model.xml`` +
``model.bin`` (the precision the guard chose), ``guard.json`` (the guard's measurement)
and ``manifest.json`` (source hash, format, each file's size and sha256). ``<sha16>`` is
the start of :func:`source_sha`, the hash of every file the model is built from (for
``qa-e5``: ``layers.safetensors`` and the e5 packed file), so retrained weights find no
folder (stale) and are rebuilt; never committed. Builds are written to a temporary folder
and renamed into place under a file lock (a crash never leaves half a model; two
processes never build together, not even two different models). :func:`check` says
whether a folder is usable: ``missing``, ``stale`` (an older build for other weights is
there), ``damaged`` (files do not match the manifest) or ``ok``.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

FORMAT = 1  # bump when a build's layout or graph inputs change
FILES = ("model.xml", "model.bin", "guard.json")


def root() -> Path:
    from core.e5 import cache_root

    return cache_root() / "openvino"


@functools.lru_cache(maxsize=16)
def _file_sha(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha(path: Path) -> str:
    """sha256 of a file (remembered per size and mtime)."""
    st = path.stat()
    return _file_sha(str(path), st.st_size, st.st_mtime_ns)


def source_sha(files: Sequence[Path]) -> str:
    """One hash over the sha256 of every source file (and :data:`FORMAT`)."""
    h = hashlib.sha256(f"format={FORMAT}".encode())
    for f in files:
        h.update(file_sha(f).encode())
    return h.hexdigest()


def folder_for(key: str, sha: str) -> Path:
    return root() / f"{key}-{sha[:16]}"


def check(key: str, sha: str) -> str:
    """``ok``, ``missing``, ``stale`` (only builds for other weights) or ``damaged``."""
    folder = folder_for(key, sha)
    if not folder.exists():
        others = list(root().glob(f"{key}-*")) if root().exists() else []
        return "stale" if any(p.is_dir() and not p.name.startswith(".") for p in others) else "missing"
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return "damaged"
    if manifest.get("source_sha") != sha or manifest.get("format") != FORMAT:
        return "damaged"
    files = manifest.get("files", {})
    for name in FILES:
        path = folder / name
        want = files.get(name, {})
        if not path.is_file() or path.stat().st_size != want.get("size") or file_sha(path) != want.get("sha256"):
            return "damaged"
    return "ok"


def read_guard(key: str, sha: str) -> dict[str, Any] | None:
    """The guard record of the build for ``sha`` (None when there is none)."""
    try:
        return dict(json.loads((folder_for(key, sha) / "guard.json").read_text()))
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _build_lock(key: str) -> Iterator[None]:
    """One build at a time on this machine, whatever the model: the app may start a background
    build for each of the four encoders at once, and each needs a core and ~1 GB."""
    root().mkdir(parents=True, exist_ok=True)
    with open(root() / ".build.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


def write(key: str, sha: str, build: Callable[[Path], None], *, force: bool = False) -> Path:
    """Run ``build(tmp)`` (it writes :data:`FILES` into ``tmp``) and move the result into
    place atomically, replacing a damaged build and removing stale ones for ``key``. A
    valid build already there is kept unless ``force``. Safe across threads and processes."""
    folder = folder_for(key, sha)
    with _build_lock(key):
        if not force and check(key, sha) == "ok":
            return folder
        for dead in root().glob(f".{key}-*.tmp-*"):
            shutil.rmtree(dead, ignore_errors=True)  # left by a killed build (we hold the lock)
        tmp = root() / f".{folder.name}.tmp-{os.getpid()}"
        tmp.mkdir(parents=True)
        try:
            build(tmp)
            files = {n: {"size": (tmp / n).stat().st_size, "sha256": file_sha(tmp / n)} for n in FILES}
            manifest = {"key": key, "source_sha": sha, "format": FORMAT, "files": files}
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for old in root().glob(f"{key}-*"):
            if old != folder and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)  # builds for weights that are gone
    return folder
