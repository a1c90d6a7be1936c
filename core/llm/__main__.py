"""``python -m core.llm``: check the installed LLM pack and convert it once (make setup-llm)."""

from __future__ import annotations

import sys
import time

from core.llm.pack import PackUnavailable, ensure_converted


def main() -> int:
    t0 = time.perf_counter()
    try:
        folder = ensure_converted(progress=lambda msg: print(f"  {msg} ...", flush=True))
    except PackUnavailable as exc:
        print(f"LLM pack not ready: {exc}", file=sys.stderr)
        return 1
    print(f"qwen-0.5b-reader ready in {folder} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
