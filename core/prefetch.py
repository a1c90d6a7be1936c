"""Download every Hub model of the registry into the local Hugging Face cache.

Run once while online (``python -m core.prefetch``), e.g. before a pitch or while building
a container image; afterwards the app runs fully offline (``HF_HUB_OFFLINE=1``).

    python -m core.prefetch                 # every Hub model
    python -m core.prefetch --task qa       # only the models of one task
    python -m core.prefetch --list          # what is cached, what is missing
"""

from __future__ import annotations

import argparse
import sys

from core import registry
from core.availability import availability, hub_offline_forced, is_online


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.prefetch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", help="only models of this task (qa, sentiment, zero-shot, attention)")
    parser.add_argument("--key", action="append", help="only this registry key (repeatable)")
    parser.add_argument("--list", action="store_true", help="show availability and exit")
    args = parser.parse_args(argv)

    todo = [m for m in registry.entries(args.task) if m.source == "hub"]
    if args.key:
        todo = [m for m in todo if m.key in args.key]
    if args.list:
        for m in registry.MODELS:
            a = availability(m)
            print(f"{m.key:32} {m.source:8} {a.status:12} {a.reason}")
        return 0
    if hub_offline_forced() or not is_online():
        print("The Hugging Face Hub cannot be reached (offline, or HF_HUB_OFFLINE=1): nothing to do.", file=sys.stderr)
        return 2

    from core.loaders import ModelLoadError, download

    failed = []
    total_mb = sum(m.size_mb for m in todo)
    print(f"Prefetching {len(todo)} models (about {total_mb / 1024:.1f} GB) into {registry.hf_cache_dir()}")
    for i, m in enumerate(todo, 1):
        if registry.cached_snapshot(m) is not None:
            print(f"[{i}/{len(todo)}] {m.location}: already cached")
            continue
        print(f"[{i}/{len(todo)}] {m.location} ({m.size_mb:.0f} MB, revision {m.revision})")
        try:
            download(m, progress=None)  # huggingface_hub draws its own tqdm bars in the terminal
        except ModelLoadError as err:
            print(f"    failed: {err.reason}", file=sys.stderr)
            failed.append(m.key)
    if failed:
        print(f"{len(failed)} failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("Done: the app can now run offline with HF_HUB_OFFLINE=1.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
