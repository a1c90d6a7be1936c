"""Serve the app in production: warm the default models in the background, then start the
Streamlit server in this same process (so the warmed models are in its cache). With
``DEMO_INFERENCE_URL`` set, the inference API holds the models and nothing is warmed here.

    python -m ui.serve [--server.port 8501] [other streamlit flags]

Used by the Dockerfile; `make run` uses it too. It also makes ``st.navigation`` own
routing before the first request (see :mod:`ui.routing`).
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: list[str] | None = None) -> None:
    from streamlit.web import cli

    from core import remote
    from core.warmup import start_background_warmup
    from ui.routing import use_navigation_routing

    use_navigation_routing()
    if not remote.enabled():  # with DEMO_INFERENCE_URL the inference API loads the models
        start_background_warmup()
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()  # parses flags and config like `streamlit run`, then serves until stopped


if __name__ == "__main__":
    main()
