"""The crawl ledger on real databases: leasing order and caps, reclaiming dead workers'
leases, back-off and revisits; and the frontier's locality priority."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select, update

from crawler import ledger
from crawler.discovery import LocalityScorer, link_priority
from crawler.ledger import Ledger, make_owner
from crawler.urls import host_of, url_fp
from storage.db import make_engine, session_scope, utcnow
from storage.models import LedgerEntry


def _queue(engine, urls_priorities: list[tuple[str, float]]) -> None:
    with session_scope(engine) as s:
        ledger.enqueue(s, [ledger.entry_row(u, url_fp(u), host_of(u), venue_id=None, depth=0,
                                            priority=p, run_id=None)
                           for u, p in urls_priorities])


def test_lease_order_caps_and_exclusive_claims(any_db):
    engine = make_engine(any_db)
    _queue(engine, [(f"http://a.example/{i}", 1.0) for i in range(10)]
           + [("http://b.example/local", 9.0), ("http://c.example/x", 5.0)])
    _queue(engine, [("http://b.example/local", 0.0)])  # queued again: keeps its state
    first = Ledger(engine, "w1:1:1")
    got = first.lease(5, host_cap=2)
    assert [g.url for g in got][:2] == ["http://b.example/local", "http://c.example/x"]
    assert sum(1 for g in got if g.host == "a.example") == 2  # per-host cap
    second = Ledger(engine, "w2:2:1").lease(50, exclude_hosts={"c.example"})
    assert not {g.url_fp for g in got} & {g.url_fp for g in second}  # never leased twice
    assert len(got) + len(second) == 12
    with session_scope(engine) as s:
        ledger.finish(s, got[0].url_fp, "done", http_status=200, etag='"v1"')
    with session_scope(engine) as s:
        row = s.get(LedgerEntry, got[0].url_fp)
        assert (row.state, row.lease_owner, row.etag, row.attempts) == ("done", None, '"v1"', 1)
    engine.dispose()


def test_dead_workers_leases_are_reclaimed_at_once(sqlite_db):
    engine = make_engine(sqlite_db)
    _queue(engine, [("http://a.example/1", 1.0), ("http://a.example/2", 1.0)])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    owner = make_owner(1).split(":")[0] + f":{dead}:1"  # this host, a pid that has exited
    assert len(Ledger(engine, owner).lease(10)) == 2
    alive = Ledger(engine, make_owner(2))
    assert alive.lease(10) == []  # still leased by the dead owner
    assert alive.reclaim() == 2
    assert len(alive.lease(10)) == 2
    released = alive.release()  # graceful stop gives them back without counting an attempt
    assert released == 2
    with session_scope(engine) as s:
        rows = s.execute(select(LedgerEntry)).scalars().all()
        assert {r.state for r in rows} == {"queued"} and {r.attempts for r in rows} == {1}
    engine.dispose()


def test_expired_leases_and_due_revisits_come_back(sqlite_db):
    engine = make_engine(sqlite_db)
    _queue(engine, [("http://a.example/feed", 1.0), ("http://a.example/gone", 1.0),
                    ("http://a.example/later", 1.0)])
    other_machine = Ledger(engine, "elsewhere:123:1")
    leases = {lease.url: lease for lease in other_machine.lease(10)}
    with session_scope(engine) as s:
        past = utcnow() - timedelta(minutes=1)
        ledger.finish(s, leases["http://a.example/feed"].url_fp, "done", next_fetch_at=past)
        ledger.finish(s, leases["http://a.example/gone"].url_fp, "failed", next_fetch_at=past)
        s.execute(update(LedgerEntry).where(LedgerEntry.url == "http://a.example/later")
                  .values(lease_expires_at=past))
    mine = Ledger(engine, make_owner(3))
    assert mine.reclaim() == 1  # the other machine's lease expired
    assert mine.requeue_due() == 2  # revisit of the feed, retry of the failure
    assert {lease.url for lease in mine.lease(10)} == set(leases)
    engine.dispose()


def test_local_links_rank_first():
    scorer = LocalityScorer(["elm grove", "hanover", "the level"])
    local = link_priority(anchor_hits=scorer.hits("Hanover & Elm Grove residents"),
                          page_hits=scorer.hits("bins on Elm Grove, BN2 3AB"),
                          source_local=False, depth=1)
    remote = link_priority(anchor_hits=scorer.hits("Cheap flights"), page_hits=0,
                           source_local=False, depth=1)
    vouched = link_priority(anchor_hits=0, page_hits=0, source_local=True, depth=1)
    assert local > vouched > remote
