"""DNS half of the SSRF guard in a real crawl: names whose answers include a non-global
address, and answers that change between lookups (DNS rebinding), never reach loopback.

The crawl runs its production child with a scripted resolver (tests/hostile/dnschild.py) and
no proxy, so Scrapy really connects to whatever address the guarded resolver hands it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.run import finish_run, prepare_run
from storage.config import Config
from storage.db import make_engine, session_scope
from storage.models import CrawlRun, LedgerEntry, Page
from tests.hostile.web import HostileWeb, html, redirect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = "93.184.216.34"  # global, unreachable here: a connection to it fails
TIMEOUT = 3
# name → successive answer lists (the last repeats)
DNS = {
    "good.test": [["127.0.0.1"]],  # allowed by name only
    "rebind.test": [[PUBLIC], ["127.0.0.1"]],  # passes the check once, then points home
    "rebind-first.test": [["127.0.0.1"], [PUBLIC]],
    "mixed.test": [[PUBLIC, "127.0.0.1"]],  # one bad answer among good ones
    "mapped.test": [["::ffff:127.0.0.1"]],
    "v6loop.test": [["::1", PUBLIC]],
    "metadata.test": [["169.254.169.254"]],
    "private.test": [["10.0.0.7"]],
    "cgnat.test": [["100.64.1.1"]],
    "nat64.test": [["64:ff9b::7f00:1"]],
}
BAD = [n for n in DNS if n != "good.test"]


def _crawl(db: str, web: HostileWeb, tmp: Path) -> tuple[int, list[str]]:
    config = Config.load({"db": db, "contact_url": "https://police.example/crawler",
                          "crawl_purpose": "dns test", "download_delay": 0.0,
                          "allow_private_hosts": "good.test", "download_timeout": TIMEOUT},
                         environ={})
    seeds = [f"http://{name}:{web.port}/" for name in DNS]
    run_id = prepare_run(config, seeds=seeds, purpose="dns test", actor="test", max_pages=50,
                         seeds_only=False, resume=False)
    log = tmp / "dns.log"
    env = dict(os.environ, BEATMAP_CRAWL_CONFIG=json.dumps(config.as_dict()),
               BEATMAP_TEST_DNS=json.dumps(DNS), BEATMAP_TEST_DNS_LOG=str(log),
               PYTHONPATH=str(ROOT))
    child = subprocess.run([sys.executable, "-m", "tests.hostile.dnschild", "--run-id",
                            str(run_id)], cwd=ROOT, env=env, timeout=120,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.returncode == 0, child.stderr.decode()[-2000:]
    finish_run(config, run_id, child.returncode, "test")
    return run_id, log.read_text().split() if log.exists() else []


def test_dns_answers_and_rebinding_never_reach_loopback(sqlite_db, tmp_path):
    web = HostileWeb({})
    port = web.port
    links = "".join(f'<a href="http://{n}:{port}/inner">{n}</a>' for n in BAD)
    web.sites.update({f"{n}:{port}": {"/": html("PRIVATE"), "/inner": html("PRIVATE"),
                                      "/robots.txt": html("")} for n in BAD})
    web.sites[f"good.test:{port}"] = {
        "/": html(links + '<a href="/hop">hop</a><a href="/page">page</a>'),
        "/hop": redirect(f"http://rebind.test:{port}/after-redirect"),
        "/page": html("<article><h1>Fine</h1><p>A page on the allowed host.</p></article>"),
    }
    with web:
        run_id, lookups = _crawl(sqlite_db, web, tmp_path)
    seen_hosts = {h.split(":")[0] for h, _, _ in web.log}
    assert seen_hosts == {"good.test"}, seen_hosts  # not one request for any other name
    assert set(lookups) >= set(DNS)  # every name really was looked up
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        ledger = {e.url: e for e in s.execute(select(LedgerEntry)).scalars()}
        assert ledger[f"http://good.test:{port}/page"].state == "done"
        for name in BAD:
            entry = ledger[f"http://{name}:{port}/"]
            assert entry.state in ("blocked", "failed") and entry.last_error, name
        for name in ("mixed.test", "mapped.test", "v6loop.test", "metadata.test",
                     "private.test", "cgnat.test", "nat64.test", "rebind-first.test"):
            assert ledger[f"http://{name}:{port}/"].state == "blocked", name
        # rebind.test passed the check with a public answer; the connection went to that
        # checked address (and timed out), never to the loopback answer given later: its
        # robots.txt could not be read, so the page is refused (fail closed).
        rebind = ledger[f"http://rebind.test:{port}/"]
        assert rebind.state == "blocked" and "robots.txt" in rebind.last_error, rebind.last_error
        # (refused or timed out: the public address is unreachable here; loopback would answer)
        assert "Refused" in rebind.last_error or "Timeout" in rebind.last_error, rebind.last_error
        pages = set(s.execute(select(Page.url)).scalars())
        assert not any(name in url for url in pages for name in BAD)
        run = s.get(CrawlRun, run_id)
        assert run.stats["fetch/blocked/ssrf_dns"] >= len(BAD) - 1
    engine.dispose()
