"""Extension: live progress lines for the caller, and the run's stats saved in ``crawl_runs``.

Every PROGRESS_SECONDS it writes one JSON line (prefixed ``@progress``) to the progress file
descriptor the parent process reads, and every PERSIST_SECONDS it saves the namespaced Scrapy
stats into ``crawl_runs.stats``, so the web UI can show the health of a running crawl. When
the spider closes it saves the final stats and the run's status.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import datetime
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from sqlalchemy import func, select, update
from twisted.internet import task

from storage.db import make_engine, session_scope, utcnow
from storage.models import CrawlRun, LedgerEntry

logger = logging.getLogger(__name__)

PROGRESS_SECONDS = 2.0
PERSIST_SECONDS = 10.0
PROGRESS_PREFIX = "@progress "
# Scrapy close reasons → crawl_runs.status
RUN_STATUS = {"finished": "finished", "shutdown": "interrupted", "cancelled": "interrupted",
              "storage_full": "failed"}


def _jsonable(stats: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in stats.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, (int, float, str, bool)) or value is None:
            out[key] = value
        else:
            out[key] = str(value)
    return out


def snapshot(stats: dict[str, Any], queued: int, elapsed: float) -> dict[str, Any]:
    """The figures a person watches: pages, posts, venues, queue, errors, rate."""
    pages = stats.get("store/pages", 0) + stats.get("store/pages_unchanged", 0)
    errors = sum(v for k, v in stats.items()
                 if k in ("ledger/failed", "ledger/blocked", "store/error"))
    return {"pages": pages, "posts": stats.get("store/posts", 0),
            "venues": stats.get("venues/discovered", 0), "queue": queued, "errors": errors,
            "blocked": stats.get("ledger/blocked", 0),
            "rate": round(pages / elapsed, 2) if elapsed > 0 else 0.0,
            "elapsed": round(elapsed, 1)}


class ProgressReporter:
    def __init__(self, crawler: Crawler, db_url: str, run_id: int, fd: int | None):
        self.crawler = crawler
        self.db_url = db_url
        self.run_id = run_id
        self.fd = fd
        self.started = time.monotonic()
        self.last_persist = 0.0
        self._loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressReporter:
        s = crawler.settings
        fd = s.get("BEATMAP_PROGRESS_FD")
        ext = cls(crawler, s.get("BEATMAP_DB"), s.getint("BEATMAP_RUN_ID"),
                  int(fd) if fd not in (None, "") else None)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self) -> None:
        self.engine = make_engine(self.db_url)
        self.started = time.monotonic()
        self._loop = task.LoopingCall(self.report)
        self._loop.start(PROGRESS_SECONDS, now=False)

    def _queued(self) -> int:
        with session_scope(self.engine) as session:
            return session.execute(select(func.count()).select_from(LedgerEntry)
                                   .where(LedgerEntry.state == "queued")).scalar_one()

    def report(self, final: bool = False) -> dict[str, Any]:
        stats = self.crawler.stats.get_stats()
        snap = snapshot(stats, self._queued(), time.monotonic() - self.started)
        snap["final"] = final
        if self.fd is not None:
            try:
                os.write(self.fd, (PROGRESS_PREFIX + json.dumps(snap) + "\n").encode())
            except OSError:
                self.fd = None  # the parent went away; keep crawling, stop reporting
        if final or time.monotonic() - self.last_persist >= PERSIST_SECONDS:
            self.persist(stats, snap)
        return snap

    def persist(self, stats: dict[str, Any], snap: dict[str, Any],
                status: str | None = None) -> None:
        values: dict[str, Any] = {"stats": {**_jsonable(stats), "progress": snap}}
        if status is not None:
            values.update(status=status, finished_at=utcnow())
        with session_scope(self.engine) as session:
            session.execute(update(CrawlRun).where(CrawlRun.id == self.run_id).values(**values))
        self.last_persist = time.monotonic()

    def closed(self, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        stats = self.crawler.stats.get_stats()
        snap = snapshot(stats, self._queued(), time.monotonic() - self.started)
        snap.update(final=True, reason=reason)
        if self.fd is not None:
            try:
                os.write(self.fd, (PROGRESS_PREFIX + json.dumps(snap) + "\n").encode())
            except OSError:
                pass
        self.persist(stats, snap, RUN_STATUS.get(reason, "interrupted"))
        self.engine.dispose()
