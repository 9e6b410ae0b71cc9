"""Run every benchmark module and write the figures to one JSON file.

Each ``bench/bench_<area>.py`` defines ``run(results: dict) -> None`` that adds its figures
under its own key. ``--only AREA`` runs one area. Figures are also printed as they come.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import platform
import sys
import time
from pathlib import Path

import bench


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--out", default="out/bench.json")
    parser.add_argument("--only", action="append", default=[], help="area(s) to run")
    args = parser.parse_args()
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    if args.only:
        names = [n for n in names if n.removeprefix("bench_") in args.only]
    results: dict = {"machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S")}}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for name in names:
        area = name.removeprefix("bench_")
        print(f"== {area}", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        section: dict = {}
        results[area] = section
        module.run(section)
        section["bench_seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(section, indent=2), flush=True)
        out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
