"""``beatmap worker``: one distributed crawler worker, plus its heartbeat extension.

A worker attaches to a distributed run (``--run``, else the run announced in Redis), fetches
from the shared frontier until the run is finished, it has been idle for ``--idle-timeout``
seconds, or it is stopped (SIGTERM/SIGINT: graceful, its unfinished requests go back to the
frontier; SIGKILL: its claims are re-offered by the other workers' reapers). Run it under
systemd, Scrapyd (``scrapy crawl beatmap-worker``) or by hand on as many machines as needed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
import time
import warnings
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.exceptions import NotConfigured
from scrapy_redis.connection import get_redis_from_settings
from sqlalchemy import select
from twisted.internet import task

from crawler.distributed import default_name, run_settings
from crawler.progress import _jsonable, snapshot
from crawler.redis_keys import HEARTBEAT_TTL, RedisKeys
from crawler.spiders.distributed import DistributedSpider
from storage.config import Config, ConfigError
from storage.db import make_engine, session_scope
from storage.models import CrawlRun

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
PERSIST_SECONDS = 10.0  # how often a worker's stats are saved into crawl_runs.stats["workers"]


def run_worker(config: Config, *, run_id: int | None = None, name: str | None = None,
               idle_timeout: float = 0.0) -> dict[str, Any]:
    """Run one worker in this process until its run ends; return its final stats snapshot.

    Twisted's reactor runs once per process, so call this once (the CLI does).
    """
    # scrapy-redis 0.9.1 still calls two APIs Scrapy 2.19 deprecates; harmless, and noisy in
    # an operator's log on every request
    for message in (r"Spider\.log\(\) is deprecated", r"Passing a 'spider' argument to Stats"):
        warnings.filterwarnings("ignore", message=message)
    settings = run_settings(config, run_id, name, idle_timeout)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(DistributedSpider)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    return {"run_id": settings["BEATMAP_RUN_ID"], "name": settings["BEATMAP_WORKER_NAME"],
            "reason": stats.get("finish_reason", "unknown"),
            **snapshot(stats, 0, float(stats.get("elapsed_time_seconds", 0) or 0))}


# --- the heartbeat extension ---------------------------------------------------------------


class WorkerMonitor:
    """Heartbeat in Redis (key with a TTL, and a last-seen sorted set) and the worker's stats
    saved under ``crawl_runs.stats["workers"][name]``, so any machine can see progress."""

    def __init__(self, crawler: Crawler, server, keys: RedisKeys, name: str, db_url: str):
        self.crawler = crawler
        self.server = server
        self.keys = keys
        self.name = name
        self.db_url = db_url
        self.started = time.monotonic()
        self.started_at = time.time()
        self.last_persist = 0.0
        self._loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WorkerMonitor:
        s = crawler.settings
        if not s.getbool("BEATMAP_DISTRIBUTED"):
            raise NotConfigured
        ext = cls(crawler, get_redis_from_settings(s),
                  RedisKeys(s.get("BEATMAP_REDIS_PREFIX", "beatmap"), s.getint("BEATMAP_RUN_ID")),
                  s.get("BEATMAP_WORKER_NAME") or default_name(), s.get("BEATMAP_DB"))
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self) -> None:
        self.engine = make_engine(self.db_url)
        self.beat()
        self._loop = task.LoopingCall(self.beat)
        self._loop.start(HEARTBEAT_SECONDS, now=False)

    def info(self, state: str) -> dict[str, Any]:
        stats = self.crawler.stats.get_stats()
        scheduler = getattr(self.crawler.spider, "frontier_scheduler", None)
        local = scheduler.status() if scheduler is not None else {}
        snap = snapshot(stats, local.get("queue", 0), time.monotonic() - self.started)
        return {"name": self.name, "host": socket.gethostname(), "pid": os.getpid(),
                "run": self.keys.run_id, "state": state, "started": round(self.started_at),
                "redis_down": local.get("redis_down", False), **snap}

    def beat(self, state: str = "crawling") -> None:
        info = self.info(state)
        try:
            pipe = self.server.pipeline(transaction=False)
            pipe.set(self.keys.worker(self.name), json.dumps(info), ex=HEARTBEAT_TTL)
            pipe.zadd(self.keys.workers, {self.name: time.time()})
            pipe.execute()
        except Exception as exc:  # noqa: BLE001 - Redis down: the scheduler reports it
            logger.debug("heartbeat not sent: %s", exc)
        if time.monotonic() - self.last_persist >= PERSIST_SECONDS:
            self.persist(info)

    def persist(self, info: dict[str, Any]) -> None:
        """Merge this worker's figures into the run's stats (row locked: workers race)."""
        with session_scope(self.engine) as session:
            run = session.execute(select(CrawlRun).where(CrawlRun.id == self.keys.run_id)
                                  .with_for_update()).scalar_one_or_none()
            if run is not None:
                stats = dict(run.stats or {})
                workers = dict(stats.get("workers") or {})
                workers[self.name] = {**info,
                                      "stats": _jsonable(self.crawler.stats.get_stats())}
                stats["workers"] = workers
                # the run's figures are the sum of its workers' (what the web UI shows)
                stats["progress"] = {key: sum(w.get(key, 0) or 0 for w in workers.values())
                                     for key in ("pages", "posts", "venues", "errors",
                                                 "blocked", "rate")}
                run.stats = stats
        self.last_persist = time.monotonic()

    def closed(self, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        info = self.info(f"stopped: {reason}")
        try:
            self.persist(info)
        finally:
            self.engine.dispose()
        try:
            self.server.delete(self.keys.worker(self.name))
            self.server.zadd(self.keys.workers, {self.name: time.time()})
        except Exception:  # noqa: BLE001
            pass


# --- the command -----------------------------------------------------------------------------


def summary(result: dict[str, Any]) -> str:
    """The line a stopped worker prints (``beatmap worker`` and ``python -m crawler.worker``)."""
    return (f"worker {result['name']} stopped ({result['reason']}) on run {result['run_id']}: "
            f"{result['pages']} pages, {result['posts']} posts, {result['errors']} errors")


def main(argv: list[str] | None = None) -> int:
    """``python -m crawler.worker [--run N] [--name NAME] [--idle-timeout S]`` (systemd units);
    settings from beatmap.toml and ``BEATMAP_*`` as for ``beatmap worker``."""
    parser = argparse.ArgumentParser(prog="python -m crawler.worker",
                                     description="One distributed crawler worker.")
    parser.add_argument("--run", dest="run_id", type=int)
    parser.add_argument("--name")
    parser.add_argument("--idle-timeout", type=float, default=0.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    try:
        result = run_worker(Config.load(), run_id=args.run_id, name=args.name,
                            idle_timeout=args.idle_timeout)
    except (ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary(result))
    return 1 if result["reason"] == "redis_unavailable" else 0


if __name__ == "__main__":
    raise SystemExit(main())
