"""Distributed crawling: the worker settings overlay, starting a distributed run, and its
status as seen from any machine (Redis keys and connection: ``crawler.redis_keys``).

Several ``beatmap worker`` processes (on one or many machines) share one frontier and one
duplicate filter in Redis through scrapy-redis's ``Scheduler`` and ``RFPDupeFilter``, and write
to one PostgreSQL database. The ledger stays the record (``crawler.frontier``); Redis holds the
window of requests ready to fetch, the per-host politeness gates, the shared robots.txt cache
and the workers' heartbeats. See ``docs/distributed.md``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterable
from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from crawler.frontier import LedgerFrontier
from crawler.ledger import _owner_alive, make_owner
from crawler.redis_keys import (
    REDIS_PARAMS,
    RedisKeys,
    RedisUnavailable,
    check_prefix,
    connect_redis,
    safe_redis_url,
)
from crawler.redis_scheduler import WINDOW_HOST_CAP, WINDOW_PER_WORKER, offer_leases
from crawler.run import check_ready, prepare_run
from crawler.settings import build_settings
from storage.audit import cli_actor
from storage.config import Config, ConfigError
from storage.db import open_engine, session_scope
from storage.models import CrawlRun, LedgerEntry

logger = logging.getLogger(__name__)

RECENT_WORKERS_SECONDS = 3600  # `crawl --status` lists workers seen within the last hour


def require_postgres(db_url: str) -> None:
    """Distributed workers share one database, which must be a server, not a file."""
    if make_url(db_url).get_backend_name() != "postgresql":
        raise ConfigError("distributed crawling needs a PostgreSQL database shared by all "
                          "workers (set db to postgresql+psycopg://user:password@host/beatmap)")


# --- the settings overlay -----------------------------------------------------------------


def worker_settings(config: Config, *, run_id: int, name: str, max_pages: int,
                    seeds_only: bool, idle_timeout: float = 0.0,
                    owner: str | None = None) -> dict[str, Any]:
    """Scrapy settings of one worker: the single-machine settings plus the shared frontier."""
    keys = RedisKeys(check_prefix(config.redis_prefix), run_id)
    values = build_settings(config, run_id=run_id, max_pages=max_pages, seeds_only=seeds_only,
                            owner=owner or make_owner(run_id))
    values.update({
        # scrapy-redis: the frontier and the duplicate filter live in Redis; persisted, so a
        # worker that stops leaves them to the others (SCHEDULER_PERSIST=False would wipe them)
        "SCHEDULER": "crawler.redis_scheduler.LedgerScheduler",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_FLUSH_ON_START": False,
        "SCHEDULER_IDLE_BEFORE_CLOSE": 0,  # never block the reactor in BRPOP
        "SCHEDULER_QUEUE_CLASS": "crawler.redis_serializer.SafePriorityQueue",
        "SCHEDULER_QUEUE_KEY": keys.queue,
        "SCHEDULER_DUPEFILTER_KEY": keys.seen,
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_SERIALIZER": "crawler.redis_serializer",
        "REDIS_URL": config.redis_url,
        "REDIS_PARAMS": dict(REDIS_PARAMS),
        "BEATMAP_DISTRIBUTED": True,
        "BEATMAP_REDIS_PREFIX": keys.prefix,
        "BEATMAP_WORKER_NAME": name,
        "BEATMAP_IDLE_TIMEOUT": float(idle_timeout),
        "DOWNLOADER_MIDDLEWARES": {
            **values["DOWNLOADER_MIDDLEWARES"],
            # last before the download, first to see the response: see host_gate's docstring
            "crawler.middlewares.host_gate.HostGateMiddleware": 950,
        },
        "EXTENSIONS": {
            **values["EXTENSIONS"],
            # the single-run reporter would mark the shared run finished when one worker stops
            "crawler.progress.ProgressReporter": None,
            "crawler.worker.WorkerMonitor": 200,
        },
    })
    return values


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def run_settings(config: Config, run_id: int | None, name: str | None,
                 idle_timeout: float = 0.0) -> dict[str, Any]:
    """Settings of a worker for ``run_id`` (or the current run), checked before any crawl."""
    require_postgres(config.db)
    client = connect_redis(config.redis_url)
    run_id = resolve_run(config, run_id, client)
    name = name or default_name()
    engine = open_engine(config.db)
    try:
        with session_scope(engine) as session:
            run = session.get(CrawlRun, run_id)
            if run is None:
                raise ConfigError(f"no crawl run {run_id}")
            if run.mode != "distributed":
                raise ConfigError(f"run {run_id} is a single-machine run; start a distributed "
                                  f"one with `beatmap crawl --distributed`")
            run_config = dict(run.config or {})
    finally:
        engine.dispose()
    _claim_name(client, RedisKeys(config.redis_prefix), name)
    return worker_settings(config, run_id=run_id, name=name,
                           max_pages=int(run_config.get("max_pages", config.max_pages)),
                           seeds_only=bool(run_config.get("seeds_only", False)),
                           idle_timeout=idle_timeout)


def _claim_name(client, keys: RedisKeys, name: str) -> None:
    raw = client.get(keys.worker(name))
    if raw:
        info = json.loads(raw)
        owner = f"{info.get('host')}:{info.get('pid')}:0"
        if (info.get("pid"), info.get("host")) != (os.getpid(), socket.gethostname()) \
                and _owner_alive(owner):
            raise ConfigError(f"a worker named {name!r} is already running on "
                              f"{info.get('host')} (pid {info.get('pid')}); choose another "
                              f"--name")


def settings_from_environment() -> dict[str, Any]:
    """Distributed settings from beatmap.toml / BEATMAP_* (``scrapy crawl beatmap-worker``)."""
    config = Config.load()
    run = os.environ.get("BEATMAP_RUN")
    return run_settings(config, int(run) if run else None, os.environ.get("BEATMAP_WORKER_NAME"))


# --- starting a run -------------------------------------------------------------------------


def start_distributed(config: Config, *, seeds: Iterable[str] | None = None,
                      max_pages: int | None = None, purpose: str | None = None,
                      seeds_only: bool = False, actor: str | None = None,
                      resume: bool = False) -> int:
    """Create a distributed run, queue its seeds and offer the first window to the workers;
    with ``resume``, attach to the newest unfinished distributed run and announce it again.

    Returns the run id. Workers (``beatmap worker``) attach to it on any machine.
    """
    require_postgres(config.db)
    purpose = (purpose if purpose is not None else config.crawl_purpose) or ""
    check_ready(config, purpose)
    client = connect_redis(config.redis_url)
    prefix = check_prefix(config.redis_prefix)
    if resume:
        run_id, budget = _reopen_distributed(config)
    else:
        budget = max_pages if max_pages is not None else config.max_pages
        run_id = prepare_run(config, seeds=seeds, purpose=purpose, actor=actor or cli_actor(),
                             max_pages=budget, seeds_only=seeds_only, resume=False,
                             mode="distributed")
    keys = RedisKeys(prefix, run_id)
    # a resumed run whose Redis keys are gone (Redis restarted) gets its open offers again
    fresh = client.set(keys.epoch, str(int(time.time())), nx=True)
    client.set(keys.current_run, str(run_id))
    engine = open_engine(config.db)
    try:
        # the starting command only offers; it never claims, so it needs no worker identity
        frontier = LedgerFrontier(engine, run_id, f"@starter:{run_id}", max_pages=budget,
                                  max_per_host=config.max_pages_per_host)
        leases = frontier.current_offers() if resume and fresh else []
        leases += frontier.take_offers(WINDOW_PER_WORKER, host_cap=WINDOW_HOST_CAP)
        offered = offer_leases(client, keys, leases)
    finally:
        engine.dispose()
    logger.info("distributed run %d %s: %d requests offered", run_id,
                "resumed" if resume else "started", offered)
    return run_id


def _reopen_distributed(config: Config) -> tuple[int, int]:
    engine = open_engine(config.db)
    try:
        with session_scope(engine) as session:
            run = session.execute(select(CrawlRun)
                                  .where(CrawlRun.mode == "distributed",
                                         CrawlRun.status.in_(("running", "interrupted")))
                                  .order_by(CrawlRun.started_at.desc()).limit(1)
                                  ).scalar_one_or_none()
            if run is None:
                raise ConfigError("no unfinished distributed run to resume: start one with "
                                  "`beatmap crawl --distributed`")
            run.status, run.finished_at = "running", None
            return run.id, int((run.config or {}).get("max_pages", config.max_pages))
    finally:
        engine.dispose()


def crawl_command(config: Config, *, status: bool, run_id: int | None, max_pages: int | None,
                  purpose: str | None, seeds_only: bool, resume: bool = False) -> None:
    """``beatmap crawl --status`` and ``beatmap crawl --distributed`` (echoes its lines)."""
    if status:
        for line in format_status(crawl_status(config, run_id)):
            click.echo(line)
        return
    run_id = start_distributed(config, max_pages=max_pages, purpose=purpose,
                               seeds_only=seeds_only, resume=resume)
    click.echo(f"distributed crawl {run_id} {'resumed' if resume else 'started'}: its "
               f"{'open URLs' if resume else 'seeds'} are in the shared frontier at "
               f"{safe_redis_url(config.redis_url)}. Start workers on any machine with "
               f"`beatmap worker` (same db and redis_url settings); follow it with "
               f"`beatmap crawl --status`.")


def resolve_run(config: Config, run_id: int | None, client=None) -> int:
    """The run a worker attaches to: ``run_id``, else the current one in Redis, else the
    newest running distributed run in the database."""
    if run_id is not None:
        return run_id
    keys = RedisKeys(check_prefix(config.redis_prefix))
    if client is not None:
        value = client.get(keys.current_run)
        if value:
            return int(value)
    engine = open_engine(config.db)
    try:
        with session_scope(engine) as session:
            found = session.execute(select(CrawlRun.id)
                                    .where(CrawlRun.mode == "distributed",
                                           CrawlRun.status == "running")
                                    .order_by(CrawlRun.started_at.desc()).limit(1)).scalar()
    finally:
        engine.dispose()
    if found is None:
        raise ConfigError("no distributed crawl is running: start one with "
                          "`beatmap crawl --distributed`")
    return found


# --- status ---------------------------------------------------------------------------------


def crawl_status(config: Config, run_id: int | None = None) -> dict[str, Any]:
    """Progress of a run from any machine: ledger counts, Redis queue, workers' heartbeats."""
    engine = open_engine(config.db)
    out: dict[str, Any] = {}
    try:
        client, redis_error = None, None
        try:
            client = connect_redis(config.redis_url)
        except RedisUnavailable as exc:
            redis_error = str(exc)
        with session_scope(engine) as session:
            if run_id is None:
                run_id = _status_run(config, session, client)
            run = session.get(CrawlRun, run_id) if run_id is not None else None
            if run_id is not None and run is None:
                raise ValueError(f"no crawl run {run_id}")
            out["run"] = None if run is None else {
                "id": run.id, "mode": run.mode, "status": run.status, "purpose": run.purpose,
                "started_at": run.started_at.isoformat(timespec="seconds"),
                "finished_at": run.finished_at.isoformat(timespec="seconds")
                if run.finished_at else None}
            out["ledger"] = dict(session.execute(
                select(LedgerEntry.state, func.count()).group_by(LedgerEntry.state)).all())
            if run is not None:
                out["ledger_run"] = dict(session.execute(
                    select(LedgerEntry.state, func.count()).where(LedgerEntry.run_id == run.id)
                    .group_by(LedgerEntry.state)).all())
    finally:
        engine.dispose()
    out["redis"] = _redis_status(config, client, run_id) if client is not None \
        else {"error": redis_error}
    return out


def _status_run(config: Config, session, client) -> int | None:
    if client is not None:
        value = client.get(RedisKeys(check_prefix(config.redis_prefix)).current_run)
        if value:
            return int(value)
    return session.execute(select(CrawlRun.id).order_by(CrawlRun.started_at.desc())
                           .limit(1)).scalar()


def _redis_status(config: Config, client, run_id: int | None) -> dict[str, Any]:
    keys = RedisKeys(check_prefix(config.redis_prefix), run_id or 0)
    now = time.time()
    client.zremrangebyscore(keys.workers, "-inf", now - RECENT_WORKERS_SECONDS)
    workers = []
    for raw_name, seen in client.zrange(keys.workers, 0, -1, withscores=True):
        name = raw_name.decode()
        raw = client.get(keys.worker(name))
        info = json.loads(raw) if raw else {}
        workers.append({"name": name, "alive": raw is not None,
                        "last_heartbeat_seconds_ago": round(now - seen, 1), **info})
    return {"url": safe_redis_url(config.redis_url),
            "queue": client.zcard(keys.queue) if run_id else 0,
            "seen": client.scard(keys.seen) if run_id else 0,
            "rejected": client.llen(keys.rejected) if run_id else 0,
            "workers": workers}


def format_status(status: dict[str, Any]) -> list[str]:
    """The lines ``beatmap crawl --status`` prints."""
    run = status.get("run")
    lines = ["no crawl run yet" if run is None else
             f"run {run['id']} ({run['mode']}) {run['status']}, started {run['started_at']}"
             + (f", finished {run['finished_at']}" if run.get("finished_at") else "")
             + f" — {run['purpose']}"]
    ledger = status.get("ledger_run") or {}
    lines.append("ledger, this run: " + _counts(ledger))
    lines.append("ledger, all URLs: " + _counts(status.get("ledger") or {}))
    redis = status.get("redis") or {}
    if "error" in redis:
        lines.append(f"redis: unavailable ({redis['error']})")
        return lines
    lines.append(f"redis {redis['url']}: {redis['queue']} requests queued, {redis['seen']} "
                 f"fingerprints seen, {redis['rejected']} entries rejected")
    workers = redis.get("workers") or []
    if not workers:
        lines.append("workers: none seen in the last hour")
    for w in workers:
        state = "alive" if w["alive"] else "gone"
        lines.append(f"worker {w['name']} ({state}, heartbeat {w['last_heartbeat_seconds_ago']}s "
                     f"ago) host {w.get('host', '?')} pid {w.get('pid', '?')} run "
                     f"{w.get('run', '?')}: {w.get('pages', 0)} pages, {w.get('posts', 0)} "
                     f"posts, {w.get('errors', 0)} errors, {w.get('rate', 0)} pages/s")
    return lines


def _counts(counts: dict[str, int]) -> str:
    order = ["queued", "leased", "done", "failed", "blocked", "skipped"]
    parts = [f"{counts[s]} {s}" for s in order if counts.get(s)]
    parts += [f"{n} {s}" for s, n in sorted(counts.items()) if s not in order and n]
    return ", ".join(parts) or "empty"
