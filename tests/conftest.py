"""Shared test set-up: run from the repository root with its packages importable."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
# Tests never reach the network: Hub paths are tested on tiny local models.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# No background warm-up inside the test process (the e2e server sets its own environment).
os.environ.setdefault("DEMO_WARMUP", "0")
