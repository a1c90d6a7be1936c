"""The model registry: one declarative table of every model the app can use.

The table itself is data: ``core/registry.toml`` (one ``[[model]]`` per model) is the
single place to add a model. Each :class:`ModelEntry` says what the model
is for (``tasks``), which languages it serves, where its weights come from
(``bundled``: a folder in this repository or inside an installed Python package;
``hub``: a Hugging Face repository id with a revision), its size, licence and a
one-line description. ``builder`` names how to load it (see ``core/loaders.py``).

Nothing here imports torch or transformers, so the home page can read the table fast.
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"

Task = Literal["qa", "sentiment", "zero-shot", "attention", "digits", "embedding"]
Source = Literal["bundled", "hub"]


@dataclass(frozen=True)
class ModelEntry:
    """One model the app can use.

    ``location`` is, for ``bundled`` models, ``"repo:<path relative to repo root>"``,
    ``"package:<python package>/<sub folder>"`` or ``"pack:<name>"`` (an opt-in pack,
    ``make setup-llm``, converted into the model cache); for ``hub`` models the repository id.
    ``revision`` is a pinned commit id where one is known, else ``"main"``
    (``revision_note`` says why). ``builder`` is either one of the generic Hugging Face
    builders in ``core/loaders.py`` (``"hf-qa"``, ``"hf-seq-cls"``, ``"hf-encoder"``) or
    a dotted path ``"package.module:function"`` to a project builder.
    ``quality`` orders models of one task: the default is the available one with the
    highest quality for the text's language.
    """

    key: str
    name: str
    tasks: tuple[Task, ...]
    languages: tuple[str, ...]
    source: Source
    location: str
    builder: str
    size_mb: float
    licence: str
    description: str
    revision: str = "main"
    revision_note: str = ""
    quality: int = 0

    @property
    def is_bundled(self) -> bool:
        return self.source == "bundled"

    @property
    def is_llm(self) -> bool:
        """A language model that reads (``core.llm``): it answers by constrained generation,
        loads on demand (never with the defaults) and always with eager attention."""
        return self.builder.startswith("core.llm.")

    def reads(self, lang: str) -> bool:
        """Was this model made for ``lang`` text (``"*"``: many languages)?"""
        return lang in self.languages or "*" in self.languages


TABLE_FILE = Path(__file__).with_name("registry.toml")


def _read_table(path: Path = TABLE_FILE) -> tuple[ModelEntry, ...]:
    """The ``[[model]]`` tables of ``registry.toml`` as entries (lists become tuples)."""
    rows = tomllib.loads(path.read_text(encoding="utf-8"))["model"]
    return tuple(
        ModelEntry(
            **{**r, "tasks": tuple(r["tasks"]), "languages": tuple(r["languages"]), "size_mb": float(r["size_mb"])}
        )
        for r in rows
    )


MODELS: tuple[ModelEntry, ...] = _read_table()
_BY_KEY = {m.key: m for m in MODELS}
if len(_BY_KEY) != len(MODELS):  # pragma: no cover - guards edits of the table
    raise RuntimeError("duplicate model key in core/registry.py")


def get(key: str) -> ModelEntry:
    """The entry for ``key``; ``KeyError`` with the known keys if there is none."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown model {key!r}; known: {', '.join(_BY_KEY)}") from None


def entries(task: Task | None = None, lang: str | None = None) -> list[ModelEntry]:
    """Entries for a task (and language, where given), best quality first."""
    out = [m for m in MODELS if (task is None or task in m.tasks)]
    if lang is not None:
        out = [m for m in out if m.reads(lang)]
    return sorted(out, key=lambda m: -m.quality)


# ---- where the weights are -----------------------------------------------------


def bundled_path(entry: ModelEntry) -> Path | None:
    """The folder of a bundled model, or ``None`` when it is not installed / not trained."""
    kind, _, rest = entry.location.partition(":")
    if kind == "repo":
        p = REPO_ROOT / rest
        return p if p.is_dir() and any(p.iterdir()) else None
    if kind == "package":
        pkg, _, sub = rest.partition("/")
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            return None
        p = Path(list(spec.submodule_search_locations)[0]) / sub
        return p if p.is_dir() else None
    if kind == "pack":  # an opt-in pack converted into the model cache (make setup-llm)
        from core.llm import pack

        return pack.converted()
    raise ValueError(f"bad bundled location {entry.location!r} for {entry.key}")


def hf_cache_dir() -> Path:
    """The local Hugging Face hub cache, honouring HF_HUB_CACHE and HF_HOME."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "huggingface"
    )
    return Path(home) / "hub"


def cached_snapshot(entry: ModelEntry) -> Path | None:
    """The cached snapshot folder of a Hub model (with a config.json), or ``None``."""
    if entry.source != "hub":
        return None
    repo = hf_cache_dir() / ("models--" + entry.location.replace("/", "--"))
    snaps = repo / "snapshots"
    if not snaps.is_dir():
        return None
    if entry.revision != "main" and (snaps / entry.revision / "config.json").exists():
        return snaps / entry.revision
    ref = repo / "refs" / "main"
    if ref.exists():
        p = snaps / ref.read_text().strip()
        if (p / "config.json").exists():
            return p
    for p in sorted(snaps.iterdir()):
        if (p / "config.json").exists():
            return p
    return None
