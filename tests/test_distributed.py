"""Distributed crawling end to end on this machine's real Redis and PostgreSQL: worker processes
over the sample web store exactly what one process stores, fetch nothing twice, survive SIGKILL
of a worker and a Redis restart, and the frontier's ledger moves are race-free."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from crawler.urls import canonicalize
from storage.config import Config
from storage.db import init_db, make_engine, session_scope, utcnow
from storage.models import CrawlRun, LedgerEntry, Page, Post
from tests.conftest import redis_available

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

SAMPLE_PAGES = 300  # the smallest web the generator makes: a crawl of it takes seconds
CONTACT = "https://police.example/about-our-crawler"
SHARED_REDIS = "redis://127.0.0.1:6379/15"
WORKER_TIMEOUT = 150


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _new_pg(pg_admin: str) -> tuple[str, callable]:
    from sqlalchemy.engine import make_url

    name = "beatmap_t_" + uuid.uuid4().hex[:12]
    admin = make_engine(pg_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_admin).set(database=name).render_as_string(hide_password=False)
    init_db(url)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return url, drop


def _settings(db: str, web, redis_url: str, prefix: str) -> dict[str, str]:
    return {"db": db, "contact_url": CONTACT, "crawl_purpose": "distributed test",
            "proxy": web.proxy_url, "allow_private_hosts": "127.0.0.1", "download_delay": "0",
            "download_timeout": "3", "max_depth": "1", "redis_url": redis_url,
            "redis_prefix": prefix}


def _env(settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEATMAP_")}
    env.update({f"BEATMAP_{k.upper()}": v for k, v in settings.items()})
    return env


def _start_worker(settings: dict[str, str], run_id: int, name: str, cwd: Path) -> subprocess.Popen:
    log = open(cwd / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "crawler.worker", "--run", str(run_id),  # noqa: S603
                             "--name", name], env=_env(settings), cwd=cwd, stdout=log, stderr=log)


def _wait(procs: list[subprocess.Popen], timeout: float = WORKER_TIMEOUT) -> list[int]:
    deadline = time.monotonic() + timeout
    codes = []
    for proc in procs:
        try:
            codes.append(proc.wait(max(1.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            proc.kill()
            codes.append(proc.wait())
            pytest.fail(f"worker {proc.args} did not finish in {timeout}s")
    return codes


def stored(db: str) -> dict[str, set[str]]:
    engine = make_engine(db)
    try:
        with session_scope(engine) as s:
            return {"pages": set(s.execute(select(Page.url_fp)).scalars()),
                    "posts": set(s.execute(select(Post.post_fp)).scalars()),
                    "post_urls": {fp: (url, vid) for fp, url, vid in s.execute(
                        select(Post.post_fp, Post.url, Post.venue_id))},
                    "ledger": {f"{fp} {st}" for fp, st in s.execute(
                        select(LedgerEntry.url_fp, LedgerEntry.state))}}
    finally:
        engine.dispose()


def fetched_twice(log, single_log) -> list[tuple[str, str, int, int]]:
    """URLs answered 200 more than once, beyond what the single process did itself (a slow
    hazard page that times out is retried by Scrapy in both modes; 5xx/429 retries and
    redirect hops are not 200 answers)."""
    counts = Counter((r.host, r.path) for r in log if r.status == 200)
    single = Counter((r.host, r.path) for r in single_log if r.status == 200)
    return sorted((*k, n, single[k]) for k, n in counts.items() if n > max(1, single[k]))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One sample web served for every crawl here (its content is generated once, in this
    process), and the single-process crawl of it that the distributed ones must match."""
    from tests.conftest import PG_ADMIN_URL, postgres_available

    if not (postgres_available() and redis_available()):
        pytest.skip("needs PostgreSQL and Redis on 127.0.0.1")
    from crawler.run import run_crawl
    from sampleweb.area import DEFAULT_BEATS, load_area_from_files
    from sampleweb.generate import build
    from sampleweb.server import SampleWeb

    out = tmp_path_factory.mktemp("distweb")
    build(out, seed=11, area=load_area_from_files(DEFAULT_BEATS), pages=SAMPLE_PAGES,
          as_of=date(2026, 11, 1))
    # Two seeds (the forum and the local news site) and one hop of discovery: a few hundred
    # requests, and a result that does not depend on the order pages are fetched in.
    seeds = [row["url"] for row in csv.DictReader((out / "seeds.csv").open())][1:3]
    drops = []
    with SampleWeb.start(out, slow_delay=0.2) as web:
        db, drop = _new_pg(PG_ADMIN_URL)
        drops.append(drop)
        settings = _settings(db, web, SHARED_REDIS, "unused")
        run_crawl(Config.load(settings, environ={}), seeds=seeds)
        single = {**stored(db), "log": list(web.request_log)}
        web.clear_log()

        def new_db() -> str:
            url, drop_it = _new_pg(PG_ADMIN_URL)
            drops.append(drop_it)
            return url
        yield {"web": web, "seeds": seeds, "single": single, "new_db": new_db, "dir": out}
    for drop in drops:
        drop()


@pytest.fixture
def prefix():
    """A Redis key prefix of this test alone (parallel runs never collide), cleaned after."""
    value = f"bmtest-{uuid.uuid4().hex[:10]}"
    yield value
    if redis_available():
        import redis

        client = redis.Redis.from_url(SHARED_REDIS)
        keys = list(client.scan_iter(match=f"{value}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def acl_url(prefix):
    """A Redis ACL user allowed only this test's keys: the workers must touch nothing else."""
    import redis

    admin = redis.Redis.from_url(SHARED_REDIS)
    user, password = prefix, uuid.uuid4().hex
    admin.execute_command("ACL", "SETUSER", user, "on", f">{password}", f"~{prefix}:*",
                          "resetchannels", "+@all", "-@dangerous")
    yield f"redis://{user}:{password}@127.0.0.1:6379/15"
    admin.execute_command("ACL", "DELUSER", user)
    admin.close()


def test_redis_credentials_are_checked_and_never_shown(acl_url):
    from crawler.redis_keys import RedisUnavailable, connect_redis

    assert connect_redis(acl_url).ping()
    wrong = acl_url.replace("@127", "x@127")
    password = wrong.split(":")[2].split("@")[0]
    with pytest.raises(RedisUnavailable, match="refused the credentials") as caught:
        connect_redis(wrong)
    assert password not in str(caught.value) and "***" in str(caught.value)
    with pytest.raises(RedisUnavailable, match="cannot reach Redis"):
        connect_redis(f"redis://127.0.0.1:{_free_port()}/0")


def _start_run(world, settings) -> int:
    from crawler.distributed import start_distributed

    return start_distributed(Config.load(settings, environ={}), seeds=world["seeds"])


def _assert_same_as_single(world, db: str) -> None:
    got, want = stored(db), world["single"]
    assert got["pages"] == want["pages"], (len(got["pages"]), len(want["pages"]),
                                           sorted(got["pages"] ^ want["pages"])[:5])
    assert got["posts"] == want["posts"], (
        [want["post_urls"].get(fp) for fp in want["posts"] - got["posts"]],
        [got["post_urls"].get(fp) for fp in got["posts"] - want["posts"]])
    assert got["ledger"] == want["ledger"]


def _run_status(db: str, run_id: int) -> str:
    engine = make_engine(db)
    try:
        with session_scope(engine) as s:
            return s.get(CrawlRun, run_id).status
    finally:
        engine.dispose()


# --- the three end-to-end scenarios --------------------------------------------------------


@pytest.mark.slow
def test_two_workers_store_what_one_process_stores(world, prefix, acl_url, tmp_path):
    import redis

    from crawler.redis_keys import RedisKeys

    web = world["web"]
    web.clear_log()
    db = world["new_db"]()
    settings = _settings(db, web, acl_url, prefix)
    run_id = _start_run(world, settings)
    keys = RedisKeys(prefix, run_id)
    client = redis.Redis.from_url(SHARED_REDIS)
    marker = tmp_path / "pwned"
    # What an attacker with write access to Redis might plant: a pickle that would run code,
    # a well-formed entry for a URL the ledger never offered, one naming another callback.
    client.zadd(keys.queue, {(b"\x80\x04cbuiltins\nopen\n(V" + str(marker).encode()
                              + b"\nVw\ntR."): -10**6})
    forged = (b'{"v":1,"url":"http://attacker.example/x","callback":"parse","priority":999,'
              b'"meta":{},"headers":[],"body":""}')
    client.zadd(keys.queue, {forged: -999,
                             forged.replace(b'"parse"', b'"close"').replace(b"/x", b"/y"): -998})
    workers = [_start_worker(settings, run_id, f"w{i}", tmp_path) for i in range(2)]
    assert _wait(workers) == [0, 0], [(tmp_path / f"w{i}.log").read_text()[-3000:] for i in range(2)]
    _assert_same_as_single(world, db)
    assert fetched_twice(web.request_log, world["single"]["log"]) == []
    assert not [r for r in web.request_log if "attacker" in r.host]
    assert not marker.exists()
    assert client.llen(keys.rejected) == 2  # the pickle and the foreign callback
    assert _run_status(db, run_id) == "finished"
    engine = make_engine(db)
    with session_scope(engine) as s:
        progress = s.get(CrawlRun, run_id).stats["progress"]
    engine.dispose()
    assert progress["pages"] >= len(world["single"]["pages"])  # summed over both workers
    # progress is visible from any machine
    from click.testing import CliRunner

    from beatmap.cli import cli

    result = CliRunner().invoke(cli, ["--db", db, "crawl", "--status", "--run", str(run_id)],
                                env=_env({"redis_url": acl_url, "redis_prefix": prefix}))
    assert result.exit_code == 0, result.output
    assert f"run {run_id} (distributed) finished" in result.output
    assert "worker w0" in result.output and "worker w1" in result.output
    assert "2 entries rejected" in result.output
    client.close()


@pytest.mark.slow
def test_a_worker_killed_mid_crawl_loses_nothing(world, prefix, tmp_path):
    web = world["web"]
    web.clear_log()
    db = world["new_db"]()
    settings = _settings(db, web, SHARED_REDIS, prefix)
    run_id = _start_run(world, settings)
    victim = _start_worker(settings, run_id, "victim", tmp_path)
    engine = make_engine(db)
    target = len(world["single"]["pages"]) // 4
    deadline = time.monotonic() + 60
    with session_scope(engine) as s:
        while time.monotonic() < deadline:
            done = s.execute(select(LedgerEntry).where(LedgerEntry.state == "done")).all()
            leased = s.execute(select(LedgerEntry)
                               .where(LedgerEntry.lease_owner.like(f"%:{victim.pid}:%"))).all()
            if len(done) >= target and leased:
                break
            s.rollback()
            time.sleep(0.2)
    assert leased, "the victim never held a claim"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    # Worst case of a death between the database and Redis steps: the queue itself is gone.
    # The survivor finds the ledger's offers missing from Redis and offers them again.
    import redis

    from crawler.redis_keys import RedisKeys

    redis.Redis.from_url(SHARED_REDIS).delete(RedisKeys(prefix, run_id).queue)
    with session_scope(engine) as s:
        held = set(s.execute(select(LedgerEntry.url).where(
            LedgerEntry.state == "leased",
            LedgerEntry.lease_owner.like(f"%:{victim.pid}:%"))).scalars())
    survivor = _start_worker(settings, run_id, "survivor", tmp_path)
    assert _wait([survivor]) == [0], (tmp_path / "survivor.log").read_text()[-3000:]
    engine.dispose()
    _assert_same_as_single(world, db)
    # Only what the victim held uncommitted when it died is fetched again; what it had
    # stored is never refetched.
    again = {canonicalize(f"http://{host}{path}")
             for host, path, _n, _single in fetched_twice(web.request_log, world["single"]["log"])}
    assert again <= held, sorted(again - held)


@pytest.mark.slow
def test_redis_restarted_mid_crawl(world, tmp_path):
    """Our own redis-server (password set, no persistence): killed and started again while
    two workers crawl; they wait, find the queue gone, rebuild it from the ledger, finish."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port, password = _free_port(), uuid.uuid4().hex
    argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
            "no", "--requirepass", password, "--dir", str(tmp_path)]

    def start_redis() -> subprocess.Popen:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)  # noqa: S603
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return proc
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    redis_proc = start_redis()
    try:
        web = world["web"]
        web.clear_log()
        db = world["new_db"]()
        settings = _settings(db, web, f"redis://:{password}@127.0.0.1:{port}/0", "bm")
        # started the way an analyst does: seeds, then `beatmap crawl --distributed`
        from click.testing import CliRunner

        from beatmap.cli import cli

        env = {f"BEATMAP_{k.upper()}": v for k, v in settings.items()}
        for url in world["seeds"]:
            assert CliRunner().invoke(cli, ["seeds", "add", url], env=env).exit_code == 0
        result = CliRunner().invoke(cli, ["crawl", "--distributed"], env=env)
        assert result.exit_code == 0, result.output
        assert password not in result.output
        run_id = int(result.output.split("distributed crawl ")[1].split()[0])
        workers = [_start_worker(settings, run_id, f"r{i}", tmp_path) for i in range(2)]
        engine = make_engine(db)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with session_scope(engine) as s:
                if len(s.execute(select(Page.id)).all()) >= len(world["single"]["pages"]) // 4:
                    break
            time.sleep(0.2)
        engine.dispose()
        redis_proc.terminate()
        redis_proc.wait()
        time.sleep(3)  # workers see the outage
        redis_proc = start_redis()
        assert _wait(workers) == [0, 0]
        logs = "".join((tmp_path / f"r{i}.log").read_text() for i in range(2))
        assert "is unreachable" in logs and "is back" in logs
        assert "offering" in logs and "again from the ledger" in logs
        _assert_same_as_single(world, db)
        # The shared robots.txt answers went with Redis's data: a worker may read a host's
        # robots.txt once more. Pages are never fetched twice.
        twice = fetched_twice(web.request_log, world["single"]["log"])
        assert [t for t in twice if t[1] != "/robots.txt"] == [], twice
    finally:
        redis_proc.terminate()
        redis_proc.wait()


# --- the ledger moves, one by one ------------------------------------------------------------


def _ledger_rows(db: str, n: int, run_id: int) -> list[str]:
    from crawler import ledger

    engine = make_engine(db)
    fps = [f"fp{i:03d}" for i in range(n)]
    with session_scope(engine) as s:
        s.add(CrawlRun(id=run_id, started_at=utcnow(), status="running", purpose="t",
                       mode="distributed", config={}, stats={}))
        s.flush()
        ledger.enqueue(s, [ledger.entry_row(f"http://h{i % 3}.example/{i}", fp, f"h{i % 3}.example",
                                            venue_id=None, depth=0, priority=float(i),
                                            run_id=run_id) for i, fp in enumerate(fps)])
    engine.dispose()
    return fps


def test_offers_claims_and_reaping(pg_db):
    from crawler.frontier import LedgerFrontier, offer_owner

    fps = _ledger_rows(pg_db, 12, 1)
    engine = make_engine(pg_db)
    a = LedgerFrontier(engine, 1, "otherhost:1:1", max_pages=100, max_per_host=100)
    b = LedgerFrontier(engine, 1, f"{socket.gethostname()}:{os.getpid()}:1", max_pages=100,
                       max_per_host=100)
    offers = a.take_offers(10, host_cap=3)
    assert len(offers) == 9  # three hosts, three each
    assert [o.priority for o in offers] == sorted((o.priority for o in offers), reverse=True)
    offered = {o.url_fp for o in offers}
    claimed_a = a.claim(sorted(offered)[:4])
    claimed_b = b.claim(sorted(offered))  # the four a took are gone
    assert len(claimed_a) == 4 and len(claimed_b) == 5
    assert not ({c.url_fp for c in claimed_a} & {c.url_fp for c in claimed_b})
    assert a.claim(["fp999", fps[11]]) == []  # never offered: claims nothing
    # a's machine is silent: only expiry tells; b is alive and keeps its claims
    assert b.reap() == []
    with session_scope(engine) as s:
        s.execute(update(LedgerEntry).where(LedgerEntry.lease_owner == "otherhost:1:1")
                  .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    reaped = b.reap()
    assert {r.url_fp for r in reaped} == {c.url_fp for c in claimed_a}
    with session_scope(engine) as s:
        owners = Counter(s.execute(select(LedgerEntry.lease_owner)
                                   .where(LedgerEntry.state == "leased")).scalars())
    assert owners == {offer_owner(1): 4, b.owner: 5}
    # b stops gracefully: its claims become offers for the others
    assert len(b.hand_back()) == 5
    assert len(b.current_offers()) == 9
    assert b.outstanding() == {"leased": 9, "queued_due": 3}
    engine.dispose()


def test_a_dead_local_worker_is_reaped_at_once(pg_db):
    from crawler.frontier import LedgerFrontier

    _ledger_rows(pg_db, 3, 2)
    engine = make_engine(pg_db)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    dead.wait()
    ghost = LedgerFrontier(engine, 2, f"{socket.gethostname()}:{dead.pid}:2", max_pages=10,
                           max_per_host=10)
    live = LedgerFrontier(engine, 2, f"{socket.gethostname()}:{os.getpid()}:2", max_pages=10,
                          max_per_host=10)
    ghost.claim(o.url_fp for o in ghost.take_offers(3, host_cap=3))
    assert len(live.reap()) == 3  # its process is gone: no need to wait for expiry
    engine.dispose()


def test_budgets_bound_the_offers(pg_db):
    from crawler.frontier import LedgerFrontier

    _ledger_rows(pg_db, 12, 3)
    engine = make_engine(pg_db)
    frontier = LedgerFrontier(engine, 3, "x:1:3", max_pages=5, max_per_host=2)
    first = frontier.take_offers(10, host_cap=10)
    assert len(first) == 5 and max(Counter(o.host for o in first).values()) <= 2
    assert frontier.take_offers(10, host_cap=10) == []  # 5 in flight: the run's budget
    engine.dispose()


def test_distributed_mode_refuses_sqlite(sqlite_db):
    from click.testing import CliRunner

    from beatmap.cli import cli

    result = CliRunner().invoke(cli, ["--db", sqlite_db, "worker"])
    assert result.exit_code == 1
    assert "needs a PostgreSQL database" in result.output
    result = CliRunner().invoke(cli, ["--db", sqlite_db, "crawl", "--distributed"],
                                env={"BEATMAP_CONTACT_URL": CONTACT, "BEATMAP_CRAWL_PURPOSE": "t"})
    assert result.exit_code == 1 and "PostgreSQL" in result.output


def test_scrapyd_path_builds_the_worker_settings(pg_db, prefix, monkeypatch):
    """`scrapy crawl beatmap-worker` (Scrapyd) gets the distributed settings from beatmap's
    own settings and attaches to the run announced in Redis."""
    from scrapy.settings import Settings

    from crawler.distributed import start_distributed
    from crawler.spiders.distributed import DistributedSpider

    settings = {"db": pg_db, "contact_url": CONTACT, "crawl_purpose": "t",
                "redis_url": SHARED_REDIS, "redis_prefix": prefix}
    run_id = start_distributed(Config.load(settings, environ={}), seeds=["http://venue.example/"])
    for key, value in _env(settings).items():
        if key.startswith("BEATMAP_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("BEATMAP_WORKER_NAME", "scrapyd-1")
    scrapy_settings = Settings({"SCHEDULER": "scrapy.core.scheduler.Scheduler"})
    DistributedSpider.update_settings(scrapy_settings)
    assert scrapy_settings["SCHEDULER"] == "crawler.redis_scheduler.LedgerScheduler"
    assert scrapy_settings["DUPEFILTER_CLASS"] == "scrapy_redis.dupefilter.RFPDupeFilter"
    assert scrapy_settings["SCHEDULER_SERIALIZER"] == "crawler.redis_serializer"
    assert scrapy_settings.getbool("SCHEDULER_PERSIST")
    assert scrapy_settings.getint("BEATMAP_RUN_ID") == run_id
    assert scrapy_settings["BEATMAP_WORKER_NAME"] == "scrapyd-1"
    assert scrapy_settings["SCHEDULER_QUEUE_KEY"] == f"{prefix}:run:{run_id}:requests"


def test_resume_attaches_to_the_unfinished_run(pg_db, prefix):
    import redis

    from crawler.distributed import start_distributed
    from crawler.redis_keys import RedisKeys
    from storage.config import ConfigError

    config = Config.load({"db": pg_db, "contact_url": CONTACT, "crawl_purpose": "t",
                          "redis_url": SHARED_REDIS, "redis_prefix": prefix}, environ={})
    with pytest.raises(ConfigError, match="no unfinished distributed run"):
        start_distributed(config, resume=True)
    run_id = start_distributed(config, seeds=["http://venue.example/", "http://b.example/"])
    client = redis.Redis.from_url(SHARED_REDIS)
    keys = RedisKeys(prefix, run_id)
    assert client.zcard(keys.queue) == 2
    client.delete(keys.queue, keys.epoch, keys.current_run)  # as after a Redis restart
    assert start_distributed(config, resume=True) == run_id
    assert int(client.get(keys.current_run)) == run_id
    assert client.zcard(keys.queue) == 2  # the open offers, pushed again from the ledger
    client.close()
