"""Watch the crawl child process: its peak resident memory (VmHWM), read from /proc."""

from __future__ import annotations

import os
import threading
from pathlib import Path

POLL_SECONDS = 0.05


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakRss:
    """Peak RSS (MiB) of every child process of this test process while the block runs."""

    def __init__(self) -> None:
        self.peak_kib: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            for child in _children(me):
                self.peak_kib[child] = max(self.peak_kib.get(child, 0), _hwm_kib(child))
            self._stop.wait(POLL_SECONDS)

    @property
    def peak_mib(self) -> float:
        return max(self.peak_kib.values(), default=0) / 1024

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
