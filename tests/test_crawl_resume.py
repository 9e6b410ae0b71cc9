"""Crash safety for real: a crawl killed with SIGKILL (or stopped with SIGTERM) mid-way and
run again resumes with nothing lost and nothing stored twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.run import _refuse_if_running
from crawler.seeds import SeedRow, add_seeds
from storage.db import make_engine, session_scope
from storage.models import CrawlRun, LedgerEntry, Page, Post
from tests.crawlsite import MiniWeb, html

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PAGES = 60
HANDLE = "Ruth_Hanover_1987"
PAGE_DELAY = 0.08  # seconds per page, so the crawl is still running when it is killed


def chain_site() -> dict:
    def page(i: int):
        def answer(_headers):
            time.sleep(PAGE_DELAY)
            links = "".join(f'<a href="/p/{j}">next {j}</a>' for j in (i + 1, i + 2) if j < PAGES)
            body = (f"<meta name='author' content='{HANDLE}'><article><h1>Notice {i}</h1>"
                    f"<p>Posted on {1 + i % 28} March 2026</p>"
                    f"<p>Notice number {i}: the bins on Elm Grove were not collected again this "
                    f"week, and the residents' association has asked the council to send a "
                    f"crew before the weekend. Please keep pavements clear for buggies.</p>"
                    f"</article>{links}")
            return html(body, f"Notice {i}")
        return answer
    routes = {f"/p/{i}": page(i) for i in range(PAGES)}
    routes["/"] = html('<a href="/p/0">first notice</a>', "Notices")
    return {"notices.example": routes}


def _env(db: str, web: MiniWeb) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"BEATMAP_DB": db, "BEATMAP_CONTACT_URL": "https://police.example/crawler",
                "BEATMAP_CRAWL_PURPOSE": "resume test", "BEATMAP_PROXY": web.proxy_url,
                "BEATMAP_ALLOW_PRIVATE_HOSTS": "127.0.0.1", "BEATMAP_DOWNLOAD_DELAY": "0",
                "PYTHONPATH": str(ROOT)})
    env.pop("BEATMAP_CONFIG", None)
    return env


def _start(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "crawler.run", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _pages(engine) -> int:
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(Page)).scalar_one()


def _wait_for_pages(engine, n: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _pages(engine) < n:
        assert proc.poll() is None, "crawl ended before it could be interrupted"
        assert time.monotonic() < deadline, "crawl made no progress"
        time.sleep(0.1)


def _wait_for_a_lease(engine, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Return as soon as the crawl holds a lease (the page in flight takes PAGE_DELAY)."""
    deadline = time.monotonic() + timeout
    while True:
        with session_scope(engine) as s:
            leased = s.execute(select(func.count()).select_from(LedgerEntry)
                               .where(LedgerEntry.state == "leased")).scalar_one()
        if leased:
            return
        assert proc.poll() is None, "crawl ended before it could be interrupted"
        assert time.monotonic() < deadline, "the crawl never held a lease"
        time.sleep(0.005)


def _crawl_child(parent: int) -> int:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    assert children, "the crawl subprocess is not running"
    return int(children[0])


def _proc_state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return None


def _check_complete(engine, web: MiniWeb) -> None:
    with session_scope(engine) as s:
        urls = s.execute(select(Page.url)).scalars().all()
        assert len(urls) == PAGES + 1 == len(set(urls))  # every page, once
        posts = s.execute(select(Post.url)).scalars().all()
        assert len(posts) == len(set(posts)) >= PAGES  # nothing stored twice
        keys = s.execute(select(Post.author_key)).scalars().all()
        assert len(set(keys)) == 1 and HANDLE.lower() not in str(keys).lower()
        states = Counter(s.execute(select(LedgerEntry.state)).scalars())
        assert states["leased"] == 0 and states["queued"] == 0, states
        runs = s.execute(select(CrawlRun)).scalars().all()
        assert len(runs) == 1 and runs[0].status == "finished"  # resumed, same run
    fetched = Counter(p for h, p in web.log if h == "notices.example" and p != "/robots.txt")
    assert set(fetched) == {"/", *(f"/p/{i}" for i in range(PAGES))}


def test_sigkill_mid_crawl_then_resume(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        add_seeds(s, [SeedRow("http://notices.example/")], source="test")
    with MiniWeb(chain_site()) as web:
        env = _env(sqlite_db, web)
        parent = _start(env)
        _wait_for_pages(engine, 12, parent)
        os.kill(_crawl_child(parent.pid), signal.SIGKILL)
        assert parent.wait(30) == 0
        with session_scope(engine) as s:
            assert s.execute(select(CrawlRun.status)).scalar_one() == "interrupted"
            left = s.execute(select(func.count()).select_from(LedgerEntry)
                             .where(LedgerEntry.state.in_(("leased", "queued")))).scalar_one()
        assert left > 0 and _pages(engine) < PAGES + 1  # really killed mid-crawl
        before = len(web.log)
        resumed = _start(env, "--resume")
        assert resumed.wait(90) == 0
        refetched = Counter(p for h, p in web.log[:before] if h == "notices.example") & Counter(
            p for h, p in web.log[before:] if h == "notices.example" and p != "/robots.txt")
        # only what was in flight or not yet committed when killed is fetched again
        assert sum(refetched.values()) <= 20, refetched
        _check_complete(engine, web)
    engine.dispose()


def test_sigterm_stops_gracefully_and_resumes(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        add_seeds(s, [SeedRow("http://notices.example/")], source="test")
    with MiniWeb(chain_site()) as web:
        env = _env(sqlite_db, web)
        parent = _start(env)
        _wait_for_pages(engine, 12, parent)
        parent.send_signal(signal.SIGTERM)  # forwarded to the crawl: graceful stop
        assert parent.wait(60) == 0
        with session_scope(engine) as s:
            assert s.execute(select(CrawlRun.status)).scalar_one() == "interrupted"
            leased = s.execute(select(func.count()).select_from(LedgerEntry)
                               .where(LedgerEntry.state == "leased")).scalar_one()
        assert leased == 0  # leases went back to the queue
        assert _start(env, "--resume").wait(90) == 0
        _check_complete(engine, web)
    engine.dispose()


def test_resume_at_once_after_sigkill_of_the_whole_process_group(sqlite_db):
    """Killed with its parent (the whole process group, as a terminal's or a service manager's
    kill does), the crawl leaves leases whose owner is a zombie until init reaps it: `--resume`
    must see it as dead at once (its /proc state and start time), not after a delay."""
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        add_seeds(s, [SeedRow("http://notices.example/")], source="test")
    with MiniWeb(chain_site()) as web:
        env = _env(sqlite_db, web)
        parent = subprocess.Popen([sys.executable, "-m", "crawler.run"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  start_new_session=True)
        _wait_for_pages(engine, 12, parent)
        crawl = _crawl_child(parent.pid)
        _wait_for_a_lease(engine, parent)  # a chain site has one URL in flight at a time
        os.killpg(parent.pid, signal.SIGKILL)
        # As soon as it has died, before anyone reaps it: its parent died too, so it is a
        # zombie until init collects it (about a second on a test VM). The check that refuses a
        # second crawl must let us in already.
        deadline = time.monotonic() + 5
        while _proc_state(crawl) not in ("Z", None) and time.monotonic() < deadline:
            time.sleep(0.005)
        _refuse_if_running(engine)
        parent.wait(30)
        with session_scope(engine) as s:
            owners = set(s.execute(select(LedgerEntry.lease_owner)
                                   .where(LedgerEntry.state == "leased")).scalars())
        assert owners and all(f":{crawl}:" in o for o in owners)  # killed holding leases
        resumed = subprocess.run([sys.executable, "-m", "crawler.run", "--resume"], cwd=ROOT,
                                 env=env, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "another crawl is running" not in resumed.stderr
        with session_scope(engine) as s:
            # the killed run never recorded its end; the resumed one finished it
            assert s.execute(select(CrawlRun.status)).scalar_one() == "finished"
        fetched = {p for h, p in web.log if h == "notices.example"}
        assert {"/", *(f"/p/{i}" for i in range(PAGES))} <= fetched
    parent.stderr.close()
    engine.dispose()
