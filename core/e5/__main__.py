"""``python -m core.e5``: convert the bundled e5-small now (``make setup`` does), say where."""

import sys
import time

from core.e5 import E5Unavailable, ensure_converted

t0 = time.perf_counter()
try:
    where = ensure_converted()
except E5Unavailable as exc:
    print(f"e5-small not converted: {exc}", file=sys.stderr)
    sys.exit(1)
print(f"e5-small ready in {where} ({time.perf_counter() - t0:.1f} s)")
