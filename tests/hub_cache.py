"""A local Hugging Face cache entry made by hand, laid out as huggingface_hub lays it out, so
tests can put tiny models where the app looks for downloaded Hub models."""

from __future__ import annotations

from pathlib import Path


def fake_snapshot(cache: Path, repo_id: str, revision: str = "0" * 40) -> Path:
    """Create ``cache/models--org--name/snapshots/<revision>`` with ``refs/main`` pointing at
    it; return the (empty) snapshot folder for the test to fill."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snap = repo / "snapshots" / revision
    snap.mkdir(parents=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snap
