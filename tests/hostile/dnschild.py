"""The crawl child process with a scripted DNS: ``python -m tests.hostile.dnschild --run-id N``.

Runs the production child (:func:`crawler.run.child_main`) after swapping the one function
that asks the system resolver (``crawler.resolver.resolve_all``) for a table read from
``BEATMAP_TEST_DNS`` (JSON: name → list of answer lists). Each lookup of a name takes the next
answer list (the last one repeats), so an answer can change between lookups, which is what a
DNS-rebinding attacker does. Every lookup is appended to ``BEATMAP_TEST_DNS_LOG``.
"""

from __future__ import annotations

import argparse
import json
import os
import threading

import crawler.resolver
from crawler.run import child_main

_lock = threading.Lock()


def scripted_resolver(table: dict[str, list[list[str]]], log_path: str):
    calls: dict[str, int] = {}

    def resolve_all(host: str) -> list[str]:
        name = host.lower().rstrip(".")
        with _lock:
            n = calls.get(name, 0)
            calls[name] = n + 1
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(f"{name}\n")
        answers = table.get(name)
        if answers is None:
            raise OSError(f"scripted DNS: no such name {name}")
        return answers[min(n, len(answers) - 1)]
    return resolve_all


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-id", type=int, required=True)
    parser.add_argument("--max-pages", type=int, default=100)
    args = parser.parse_args()
    table = json.loads(os.environ["BEATMAP_TEST_DNS"])
    crawler.resolver.resolve_all = scripted_resolver(table, os.environ["BEATMAP_TEST_DNS_LOG"])
    return child_main(args.run_id, args.max_pages, False)


if __name__ == "__main__":
    raise SystemExit(main())
