"""``python -m core.openvino build [KEY ...] [--force]``: build (or check) the OpenVINO models;
``python -m core.openvino data KEY``: rewrite the committed calibration/guard files (needs
``../shared/data``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from core.openvino import build as ov_build


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.openvino")
    ap.add_argument("command", choices=["build", "data"])
    ap.add_argument("keys", nargs="*", default=list(ov_build.SUPPORTED))
    ap.add_argument("--force", action="store_true", help="rebuild even when a valid build is there")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for key in args.keys:
        if args.command == "data":
            from core.openvino import data, text

            print(*(data.write_qa_files(key) if key == "qa-e5" else text.write_files(key)))
            continue
        try:
            folder = ov_build.build(key, force=args.force)
        except Exception as exc:  # a clear line for make setup, not a traceback
            print(f"{key}: OpenVINO build failed ({type(exc).__name__}: {exc}); PyTorch will serve it", file=sys.stderr)
            continue
        record = json.loads((folder / "guard.json").read_text())
        metric = record.get("metric", "f1")
        line = "; ".join(f"{name} {ov_build._summary(sc, metric)}" for name, sc in record["scores"].items())
        print(f"{key}: OpenVINO {record['precision']} in {folder} ({line})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
