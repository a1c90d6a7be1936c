"""The registry table, availability and default-model choice."""

import time
from dataclasses import replace

import pytest

from core import availability as av
from core import registry
from tests.hub_cache import fake_snapshot


def test_keys_unique_and_entries_complete():
    keys = [m.key for m in registry.MODELS]
    assert len(keys) == len(set(keys))
    for m in registry.MODELS:
        assert m.name and m.tasks and m.languages and m.licence and m.description and m.size_mb > 0
        assert m.source in ("bundled", "hub")
        if m.source == "hub":
            assert "/" in m.location
            assert m.revision == "main" and m.revision_note or len(m.revision) == 40
        else:
            assert m.location.split(":")[0] in ("repo", "package", "pack")


def test_every_page_task_has_models():
    for task in ("qa", "sentiment", "zero-shot", "attention", "digits"):
        assert registry.entries(task), task


def test_bundled_minilm_is_available_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    a = av.availability("minilm")
    assert a.status == "available"
    path = registry.bundled_path(registry.get("minilm"))
    assert (path / "config.json").exists() and (path / "model.safetensors").exists()


def test_hub_model_unavailable_offline_with_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    a = av.availability("qa-roberta-squad2")
    assert a.status == "unavailable" and "HF_HUB_OFFLINE" in a.reason and a.code == "offline-forced"


def test_hub_model_in_local_cache_is_available(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    entry = registry.get("qa-roberta-squad2")
    snap = fake_snapshot(tmp_path, entry.location, "a" * 40)
    (snap / "config.json").write_text("{}")
    assert av.availability(entry).status == "available"
    assert registry.cached_snapshot(entry) == snap
    # and it becomes the default for English QA, ahead of the bundled sentence retrieval
    assert av.default_model("qa", "en") == "qa-roberta-squad2"


def test_downloadable_when_online(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    a = av.availability("qa-roberta-squad2", online=True)
    assert a.status == "downloadable"
    assert av.availability("qa-roberta-squad2", online=False).status == "unavailable"
    # "available" beats "downloadable": the default never starts a 500 MB download by itself
    assert av.default_model("qa", "en", online=True) == "qa-e5"
    # ... but where nothing is available, a downloadable model serves
    fake = replace(registry.get("qa-e5"), location="repo:models/does-not-exist")
    monkeypatch.setattr(registry, "_BY_KEY", {**registry._BY_KEY, "qa-e5": fake})
    monkeypatch.setattr(registry, "MODELS", tuple(fake if m.key == "qa-e5" else m for m in registry.MODELS))
    assert av.default_model("qa", "zh", online=True) in {"qa-roberta-zh", "qa-xlmr-squad2"}


def test_default_prefers_available_over_downloadable(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    assert av.default_model("attention", "en", online=True) == "e5-small"  # bundled wins
    assert av.default_model("qa", "en", online=False) == "qa-e5"


def test_missing_bundled_weights_are_unavailable_with_reason():
    fake = replace(registry.get("digits-cnn"), location="repo:models/does-not-exist")
    a = av.availability(fake)
    assert a.status == "unavailable" and "training" in a.reason and a.code == "not-trained"


def test_offline_detection_is_fast_without_network(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(av, "_online_cache", None)
    # This workplace has no route to the Hub: the probe must give up within its timeout.
    t0 = time.monotonic()
    online = av.is_online(timeout=0.5)
    assert time.monotonic() - t0 < 1.0
    t1 = time.monotonic()
    assert av.is_online(timeout=0.5) is online  # cached
    assert time.monotonic() - t1 < 0.05


def test_hf_hub_offline_is_honoured_without_probing(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(av, "_probe", lambda *a: pytest.fail("probed the network"))
    assert av.is_online() is False
