"""``make demo``: the whole job end to end on the bundled default (Brighton & Hove)."""

from __future__ import annotations

import argparse

from beatmap.config import Config
from beatmap.db import init_db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m beatmap.demo")
    parser.add_argument("--out", default="out")
    args = parser.parse_args(argv)
    config = Config.load()
    print(f"[1/1] database: schema revision {init_db(config.db)} at {config.db}")
    print(f"done; outputs go to {args.out}/ (only the database step exists so far)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
