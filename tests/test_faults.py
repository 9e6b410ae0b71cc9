"""Faults under a real crawl: SIGKILL at random moments (in a loop), PostgreSQL connections
killed mid-batch, a full disk under the SQLite file, and the web UI reading while a crawl
writes. After each, the record is whole: every ledger URL in one final state once resumed, no
page or post stored twice, no page without its post.

SIGTERM-and-resume and a single SIGKILL are proved in tests/test_crawl_resume.py; Redis killed
and restarted under the distributed mode in tests/test_distributed*.py.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from crawler.run import run_crawl
from crawler.seeds import SeedRow, add_seeds
from storage.config import Config
from storage.db import init_db, make_engine, session_scope
from storage.models import CrawlRun, LedgerEntry, Page, Post
from tests.crawlsite import MiniWeb, html
from tests.test_crawl_resume import HANDLE, PAGES, _env, _start, chain_site

pytestmark = pytest.mark.slow

CI_KILLS = 5  # SIGKILLs per loop in `make test`; the soak runs SOAK_KILLS
SOAK_KILLS = 50
SEED = int(os.environ.get("BEATMAP_FAULT_SEED", "20261126"))


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def check_whole(engine, *, complete: bool) -> dict[str, int]:
    """The record's invariants; with ``complete`` also that the crawl reached every page."""
    with session_scope(engine) as s:
        urls = s.execute(select(Page.url)).scalars().all()
        assert len(urls) == len(set(urls)), "a page stored twice"
        post_urls = s.execute(select(Post.url)).scalars().all()
        assert len(post_urls) == len(set(post_urls)), "a post stored twice"
        orphans = s.execute(select(func.count()).select_from(Post)
                            .where(Post.page_id.is_(None)
                                   | Post.page_id.not_in(select(Page.id)))).scalar_one()
        assert orphans == 0, "a post without its page"
        with_posts = set(s.execute(select(Page.url).join(Post, Post.page_id == Page.id))
                         .scalars())
        notices = [u for u in urls if "/p/" in u]
        missing = [u for u in notices if u not in with_posts]
        assert not missing, f"pages stored without their posts: {missing[:3]}"
        states = Counter(s.execute(select(LedgerEntry.state)).scalars())
        if complete:
            assert states["queued"] == 0 and states["leased"] == 0, states
            assert len(urls) == PAGES + 1, len(urls)
            assert set(states) <= {"done", "failed", "skipped", "blocked"}, states
        return {"pages": len(urls), "posts": len(post_urls), **states}


def _kill_loop(db: str, kills: int, rng: random.Random) -> None:
    engine = make_engine(db)
    with session_scope(engine) as s:
        add_seeds(s, [SeedRow("http://notices.example/")], source="test")
    with MiniWeb(chain_site()) as web:
        env = _env(db, web)
        for i in range(kills):
            parent = _start(env, *(["--resume"] if i else []))
            time.sleep(rng.uniform(0.3, 4.0))  # anywhere: start-up, leasing, mid-batch …
            victims = _children(parent.pid)
            if victims and rng.random() < 0.8:
                os.kill(victims[0], signal.SIGKILL)  # the crawl process itself
            else:
                parent.kill()  # or the parent: the child dies with it (PR_SET_PDEATHSIG)
            parent.wait(60)
            for child in victims:
                _wait_gone(child)
            check_whole(engine, complete=False)
        final = _start(env, "--resume")
        assert final.wait(120) == 0
        totals = check_whole(engine, complete=True)
    with session_scope(engine) as s:
        keys = set(s.execute(select(Post.author_key)).scalars())
        assert len(keys) == 1 and HANDLE.lower() not in str(keys).lower()
        assert s.execute(select(func.count()).select_from(CrawlRun)).scalar_one() >= 1
    engine.dispose()
    assert totals["pages"] == PAGES + 1


def _wait_gone(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return
        except OSError:
            return
        time.sleep(0.05)


def test_sigkill_at_random_points_in_a_loop(sqlite_db):
    _kill_loop(sqlite_db, CI_KILLS, random.Random(SEED))


@pytest.mark.soak
def test_sigkill_soak(sqlite_db):
    _kill_loop(sqlite_db, SOAK_KILLS, random.Random(SEED + 1))


@pytest.mark.soak
@pytest.mark.postgres
def test_sigkill_loop_on_postgresql(pg_db):
    _kill_loop(pg_db, SOAK_KILLS // 5, random.Random(SEED + 2))


def _config(db: str, web: MiniWeb, **extra) -> Config:
    return Config.load({"db": db, "contact_url": "https://police.example/crawler",
                        "crawl_purpose": "fault test", "download_delay": 0.0,
                        "proxy": web.proxy_url, "allow_private_hosts": "127.0.0.1", **extra},
                       environ={})


@pytest.mark.postgres
def test_postgresql_connections_dropped_mid_batch(pg_db):
    """pg_terminate_backend on the crawler's connections while it stores; a rerun completes."""
    engine = make_engine(pg_db)
    admin = create_engine(pg_db, isolation_level="AUTOCOMMIT")
    stop = threading.Event()
    killed: list[int] = []

    def terminator() -> None:
        while not stop.wait(0.4):
            with admin.connect() as conn:
                rows = conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'")).all()
                killed.extend(1 for r in rows if r[0])

    with MiniWeb(chain_site()) as web:
        thread = threading.Thread(target=terminator, daemon=True)
        thread.start()
        try:
            first = run_crawl(_config(pg_db, web), seeds=["http://notices.example/"])
        finally:
            stop.set()
            thread.join()
        assert killed, "no connection was terminated: the test proved nothing"
        check_whole(engine, complete=False)
        with session_scope(engine) as s:
            status = s.get(CrawlRun, first).status
        assert status in ("finished", "failed", "interrupted")
        run_crawl(_config(pg_db, web), resume=True)
        check_whole(engine, complete=True)
    engine.dispose()
    admin.dispose()


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True)
    return done.returncode == 0


def test_disk_full_under_sqlite(tmp_path):
    """A full disk: the run ends with a clear error, no half-written batch; a rerun completes."""
    mnt = tmp_path / "small"
    if os.geteuid() != 0 or not _mount_tmpfs(mnt, "1200k"):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        db = f"sqlite:///{mnt / 'beatmap.db'}"
        init_db(db)
        big = "Elm Grove bins again. " * 1500  # ~33 KB of text per page fills 1.2 MB fast
        routes = {f"/p/{i}": html(f"<article><h1>Notice {i}</h1><p>Posted on 3 March 2026</p>"
                                  f"<p>{big}</p></article>" + "".join(
                                      f'<a href="/p/{j}">n</a>' for j in (i + 1, i + 2)
                                      if j < PAGES)) for i in range(PAGES)}
        routes["/"] = html('<a href="/p/0">first</a>')
        engine = make_engine(db)
        with MiniWeb({"notices.example": routes}) as web:
            progress: list[dict] = []
            run_id = run_crawl(_config(db, web), seeds=["http://notices.example/"],
                               progress=progress.append)
            full = check_whole(engine, complete=False)
            assert full["pages"] < PAGES + 1, "the disk never filled: the test proved nothing"
            with session_scope(engine) as s:
                run = s.get(CrawlRun, run_id)
                status, stats = run.status, dict(run.stats or {})
            assert status == "failed", status  # not "finished": the run says it stopped
            assert stats["store/fatal"].startswith("storage full: database or disk is full")
            with session_scope(engine) as s:
                left = s.execute(select(func.count()).select_from(LedgerEntry).where(
                    LedgerEntry.state.in_(("queued", "leased")))).scalar_one()
                stored_failed = s.execute(select(func.count()).select_from(LedgerEntry).where(
                    LedgerEntry.last_error.like("store:%"))).scalar_one()
            assert left > 0 and stored_failed == 0  # unstored pages wait for the next run
            subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
            run_crawl(_config(db, web), seeds=["http://notices.example/"])
            check_whole(engine, complete=True)
        engine.dispose()
        print(f"disk full: first run {status}, stats store/error={stats.get('store/error')}, "
              f"pages before full={full['pages']}")
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_web_ui_reads_while_a_crawl_writes(sqlite_db):
    from beatmap.web.users import add_user
    from tests.web_helpers import PASSWORDS, make_app, sign_in

    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        add_user(s, "analyst1", "analyst", PASSWORDS["analyst"])
    app = make_app(sqlite_db)
    client = app.test_client()
    sign_in(client, "analyst")
    statuses: Counter[int] = Counter()
    with MiniWeb(chain_site()) as web:
        done = threading.Event()
        crawl = threading.Thread(target=lambda: (run_crawl(_config(sqlite_db, web),
                                                           seeds=["http://notices.example/"]),
                                                 done.set()), daemon=True)
        crawl.start()
        reads = 0
        while not done.is_set():
            for path in ("/", "/crawls", "/beats", "/admin/audit"):
                response = client.get(path)
                body = response.get_data(as_text=True)
                statuses[response.status_code] += 1
                assert "database is locked" not in body.lower(), path
                assert response.status_code < 500, (path, body[:300])
                reads += 1
        crawl.join(120)
    assert reads >= 20, reads  # the UI really read during the crawl
    check_whole(engine, complete=True)
    engine.dispose()
