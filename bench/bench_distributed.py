"""Distributed crawling: throughput of one worker versus two on this machine.

The same sample web (built once, served by this process) and the same seeds are crawled by one
``beatmap worker`` process, then by two, each time into a fresh PostgreSQL database with a
fresh Redis key prefix. Pages/s = ledger entries done / wall time from starting the workers to
the last one exiting (worker start-up included, as an operator sees it).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

# A 300-page web with every seed and one hop of discovery: ≈1,100 requests, so each crawl
# takes tens of seconds and the whole benchmark stays under two minutes on 2 cores.
PAGES = 300
MAX_DEPTH = 1
PG_ADMIN_URL = os.environ.get("BEATMAP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BEATMAP_BENCH_REDIS", "redis://127.0.0.1:6379/14")
WORKER_TIMEOUT = 300


def _new_db() -> tuple[str, object]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from storage.db import init_db, make_engine

    name = "beatmap_bench_" + uuid.uuid4().hex[:10]
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    init_db(url)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return url, drop


def _crawl(web, seeds: list[str], workers: int, workdir: Path) -> dict:
    import redis
    from sqlalchemy import func, select

    from crawler.distributed import start_distributed
    from storage.config import Config
    from storage.db import make_engine, session_scope
    from storage.models import LedgerEntry, Post

    db, drop = _new_db()
    prefix = f"bmbench-{uuid.uuid4().hex[:8]}"
    settings = {"db": db, "contact_url": "https://police.example/crawler",
                "crawl_purpose": "benchmark", "proxy": web.proxy_url,
                "allow_private_hosts": "127.0.0.1", "download_delay": "0",
                "download_timeout": "3", "max_depth": str(MAX_DEPTH), "redis_url": REDIS_URL,
                "redis_prefix": prefix}
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEATMAP_")}
    env.update({f"BEATMAP_{k.upper()}": v for k, v in settings.items()})
    try:
        run_id = start_distributed(Config.load(settings, environ={}), seeds=seeds)
        cpu_before = _children_cpu()
        started = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-m", "crawler.worker", "--run", str(run_id),  # noqa: S603
                                   "--name", f"bench{i}"], env=env, cwd=workdir,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for i in range(workers)]
        codes = [p.wait(WORKER_TIMEOUT) for p in procs]
        seconds = time.perf_counter() - started
        cpu = _children_cpu() - cpu_before
        engine = make_engine(db)
        with session_scope(engine) as s:
            done = s.execute(select(func.count()).select_from(LedgerEntry)
                             .where(LedgerEntry.state == "done")).scalar_one()
            posts = s.execute(select(func.count()).select_from(Post)).scalar_one()
            times = sorted(s.execute(select(LedgerEntry.fetched_at)
                                     .where(LedgerEntry.fetched_at.is_not(None))).scalars())
        engine.dispose()
    finally:
        drop()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    # When the pages were fetched, from the first: the shape of the crawl, start-up excluded.
    timeline = {f"p{int(q * 100)}": round((times[int(q * (len(times) - 1))] - times[0])
                                          .total_seconds(), 1) for q in (0.5, 0.9, 1.0)}
    return {"workers": workers, "exit_codes": codes, "pages": done, "posts": posts,
            "seconds": round(seconds, 1), "pages_per_s": round(done / seconds, 1),
            "fetch_seconds_from_first_page": timeline, "worker_cpu_seconds": round(cpu, 1),
            "cores_used": round(cpu / seconds, 2), "requests_served": len(web.request_log)}


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(results: dict) -> None:
    from sampleweb.area import DEFAULT_BEATS, load_area_from_files
    from sampleweb.generate import build
    from sampleweb.server import SampleWeb

    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
        out = Path(tmp)
        build(out / "web", seed=11, area=load_area_from_files(DEFAULT_BEATS), pages=PAGES,
              as_of=date(2026, 11, 1))
        seeds = [row["url"] for row in csv.DictReader((out / "web" / "seeds.csv").open())]
        with SampleWeb.start(out / "web", slow_delay=0.2) as web:
            trials = []
            for workers in (1, 2):
                web.clear_log()
                trials.append(_crawl(web, seeds, workers, out))
    one, two = trials
    results.update({"web_pages": PAGES, "max_depth": MAX_DEPTH, "cores": os.cpu_count(),
                    "one_worker": one, "two_workers": two,
                    "speedup": round(two["pages_per_s"] / max(one["pages_per_s"], 0.01), 2),
                    "load_average": [round(x, 2) for x in os.getloadavg()]})
