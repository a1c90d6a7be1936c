"""Cached loaders: load once, eval mode, warm-up, load time, separate eager-attention copy,
clear errors; the Hub code path exercised on a tiny random model placed in a local cache."""

import dataclasses
import threading

import pytest
import torch

from core import loaders, registry
from core.loaders import ModelLoadError
from tests.hub_cache import fake_snapshot


def _fake_hub_cache(tmp_path, entry, make_model):
    from transformers import BertTokenizerFast

    snap = fake_snapshot(tmp_path, entry.location, "b" * 40)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "warm", "up", "热", "身", "hello", "world"]
    BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}).save_pretrained(snap)
    make_model(len(vocab)).save_pretrained(snap)
    return snap


def _tiny_qa(vocab_size):
    from transformers import BertConfig, BertForQuestionAnswering

    cfg = BertConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    return BertForQuestionAnswering(cfg)


def test_bundled_minilm_loads_once_in_eval_mode():
    b = loaders.load("minilm")
    assert b.key == "minilm" and not b.model.training
    assert b.load_seconds > 0 and b.preprocessor is not None
    assert next(b.model.parameters()).device.type == b.device.type
    assert loaders.load("minilm") is b  # cached: the same bundle
    assert "minilm" in loaders.loaded_models()
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.key = "other"  # immutable


def test_attention_copy_is_separate_and_eager():
    fast = loaders.load("minilm")
    eager = loaders.load("minilm", attention=True)
    assert eager is not fast and eager.attention
    assert eager.model.config._attn_implementation == "eager"
    enc = eager.preprocessor("hello world", return_tensors="pt")
    with eager.lock, torch.inference_mode():
        out = eager.model(**enc, output_attentions=True)
    assert len(out.attentions) == 6 and out.attentions[0].shape[1] == 12


def test_hub_path_loads_from_local_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = registry.get("qa-distilbert-squad")
    _fake_hub_cache(tmp_path, entry, _tiny_qa)
    b = loaders._load_uncached(entry.key, False)  # bypass the process cache: this cache dir is temporary
    assert type(b.model).__name__ == "BertForQuestionAnswering" and not b.model.training
    enc = b.preprocessor("hello", "world", return_tensors="pt")
    assert b.preprocessor.convert_ids_to_tokens(enc["input_ids"][0]) == ["[CLS]", "hello", "[SEP]", "world", "[SEP]"]
    with torch.inference_mode():
        out = b.model(**enc)
    assert out.start_logits.shape == enc["input_ids"].shape


def test_unavailable_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as info:
        loaders.load("qa-roberta-squad2")
    assert "prefetch" in info.value.hint and info.value.reason
    assert info.value.code == "offline-forced"  # the ui translates the code


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ModelLoadError, match="unknown model") as info:
        loaders.load("no-such-model")
    assert info.value.code == "unknown-model"


def test_broken_weights_become_model_load_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    entry = registry.get("attn-distilbert")
    snap = _fake_hub_cache(tmp_path, entry, _tiny_qa)
    (snap / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError) as info:
        loaders._load_uncached(entry.key, False)
    assert info.value.key == "attn-distilbert"
    assert info.value.code == "load-failed" and info.value.params["error"]


@pytest.mark.slow
def test_importing_core_never_imports_streamlit():
    import subprocess
    import sys

    code = (
        "import core, core.loaders, core.qa, core.classify, core.digits, core.attention, core.health, "
        "core.warmup, core.inference, sys; bad = [m for m in sys.modules if m.startswith('streamlit')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=registry.REPO_ROOT)


def test_two_threads_asking_together_load_once_and_clear_cache_forgets(monkeypatch):
    calls = []
    real = loaders._load_uncached

    def counting(key, attention):
        calls.append(key)
        return real(key, attention)

    monkeypatch.setattr(loaders, "_load_uncached", counting)
    loaders.clear_cache()
    got, start = [], threading.Barrier(2)

    def ask():
        start.wait()
        got.append(loaders.load("digits-cnn"))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert calls == ["digits-cnn"] and got[0] is got[1]
    assert "digits-cnn" in loaders.loaded_models()
    loaders.clear_cache()
    assert loaders.loaded_models() == {}
    again = loaders.load("digits-cnn")
    assert again is not got[0] and calls == ["digits-cnn", "digits-cnn"]


def test_a_host_cache_sits_on_top_of_the_process_memo():
    """A model loaded before the host plugs its cache in is not loaded a second time."""
    first = loaders.load("digits-cnn")
    seen = []

    def host_cache(fn):
        def wrapper(key, attention):
            seen.append(key)
            return fn(key, attention)

        wrapper.clear = lambda: seen.clear()
        return wrapper

    try:
        loaders.use_cache(host_cache)
        assert loaders.load("digits-cnn") is first and seen == ["digits-cnn"]
    finally:
        loaders.use_cache(lambda fn: fn)  # back to the bare memo


def test_queued_lock_counts_waiters():
    lock = loaders.QueuedLock()
    seen = []
    with lock:
        t = threading.Thread(target=lambda: (lock.__enter__(), seen.append(lock.waiting), lock.__exit__()))
        t.start()
        for _ in range(100):
            if lock.waiting == 1:
                break
            threading.Event().wait(0.01)
        assert lock.waiting == 1 and lock.locked()
    t.join(5)
    assert seen == [0] and lock.waiting == 0
