"""``python -m api``: the single-process API on ``API_PORT`` (default 8000), models in
this process, the default models warmed in the background at startup."""

from __future__ import annotations

import argparse
import os


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the HTTP API (uvicorn, one process).")
    parser.add_argument("--host", default=os.environ.get("API_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("API_PORT", "8000")))
    parser.add_argument("--no-warm", action="store_true", help="load models on first use instead of at startup")
    parser.add_argument(
        "--no-batch", action="store_true", help="no micro-batching of concurrent calls (for the benchmark)"
    )
    opts = parser.parse_args()

    import uvicorn

    from api.app import create_app
    from api.backend import InProcess

    app = create_app(InProcess(batching=not opts.no_batch), warm=not opts.no_warm)
    print(f"API on http://{opts.host}:{opts.port}  (docs: /docs)", flush=True)
    uvicorn.run(app, host=opts.host, port=opts.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
