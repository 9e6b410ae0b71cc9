"""Real crawls (Scrapy in a subprocess) against loopback sites reached through a proxy:
politeness, safety, discovery evidence, budgets and limits."""

from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import select

from crawler.run import CrawlSetupError, run_crawl
from storage.audit import cli_actor
from storage.config import Config
from storage.db import make_engine, session_scope
from storage.models import AuditEntry, CrawlRun, LedgerEntry, Link, Page, Venue, VenueAlias
from tests.crawlsite import MiniWeb, gzip_bomb, html, text

pytestmark = pytest.mark.slow

CONTACT = "https://police.example/about-our-crawler"
PRIVATE_TARGETS = ("10.0.0.5", "169.254.169.254", "[::1]", "192.168.1.1", "100.64.0.7")
KNOWN_ONLY_HOSTS = ("www.facebook.com", "facebook.com", "chat.whatsapp.com", "nextdoor.co.uk",
                    "t.me", "x.com", "discord.gg", "www.instagram.com")


def config(db: str, web: MiniWeb | None, **extra) -> Config:
    values = {"db": db, "contact_url": CONTACT, "crawl_purpose": "test crawl",
              "download_delay": 0.0, "allow_private_hosts": "127.0.0.1"}
    if web is not None:
        values["proxy"] = web.proxy_url
    values.update(extra)
    return Config.load(values, environ={})


def hanover_web() -> dict:
    home_links = "".join([
        '<a href="/news/1">Spring clean on Elm Grove</a>',
        '<a href="/private/minutes">minutes</a>',
        '<a href="http://kemptown.example/">Kemp Town residents</a>',
        '<a href="http://preston.example/">Preston Park friends</a>',
        '<a href="https://www.facebook.com/groups/HanoverResidents/">our Facebook group</a>',
        '<a href="https://chat.whatsapp.com/AbCdEf123">WhatsApp</a>',
        '<a href="https://nextdoor.co.uk/neighbourhood/hanover--brighton/">Nextdoor</a>',
        '<a href="https://t.me/+SecretInvite">Telegram chat</a>',
        '<a href="/a/b/a/b/a/b/">loop</a>',
    ] + [f'<a href="http://{ip}/latest/">internal</a>' for ip in PRIVATE_TARGETS])
    return {
        "hanover-ra.example": {
            "/robots.txt": text("User-agent: *\nDisallow: /private/\n"),
            "/": html(home_links, "Hanover Residents"),
            "/news/1": html('<a href="/news/2">next</a> <a href="/">home</a>'
                            '<a href="https://www.facebook.com/groups/HanoverResidents/">FB</a>'),
            "/news/2": html("<p>Bins late again</p>"),
            "/private/minutes": html("never fetch me"),
        },
        "kemptown.example": {"/robots.txt": text("down", status=503), "/": html("kemptown")},
        "preston.example": {
            "/robots.txt": text("User-agent: *\nAllow: /\n"),
            "/": html('<a href="http://moved.example/">our old site</a>'
                      '<a href="/fb">facebook</a>'),
            "/fb": (302, {"Location": "https://www.facebook.com/groups/preston/"}, b""),
        },
        "moved.example": {"/": (301, {"Location": "http://newhome.example/"}, b"")},
        "newhome.example": {"/": html("<p>we moved</p>", "New home")},
    }


def _ledger(engine) -> dict[str, LedgerEntry]:
    with session_scope(engine) as s:
        return {e.url: e for e in s.execute(select(LedgerEntry)).scalars()}


def test_politeness_safety_and_discovery_evidence(sqlite_db):
    with MiniWeb(hanover_web()) as web:
        run_id = run_crawl(config(sqlite_db, web), seeds=["http://hanover-ra.example/"])
        log = list(web.log)
    engine = make_engine(sqlite_db)
    hosts = {h for h, _ in log}
    # robots.txt first on every host, and obeyed
    for host in hosts:
        assert web.requested(host)[0] == "/robots.txt", host
    assert "/private/minutes" not in web.requested("hanover-ra.example")
    assert {"/", "/news/1", "/news/2"} <= set(web.requested("hanover-ra.example"))
    # fail closed: robots.txt answered 503, so nothing else was fetched there
    assert set(web.requested("kemptown.example")) == {"/robots.txt"}
    # zero requests to private addresses and to known-only platforms (the redirect too)
    assert not hosts & set(PRIVATE_TARGETS)
    assert not hosts & set(KNOWN_ONLY_HOSTS)
    # the trap was never fetched
    assert not any("/a/b/a/b" in p for _, p in log)

    ledger = _ledger(engine)
    assert ledger["http://kemptown.example/"].state == "blocked"
    assert "robots.txt" in ledger["http://kemptown.example/"].last_error
    assert ledger["http://kemptown.example/"].next_fetch_at is not None  # retried later
    assert ledger["http://hanover-ra.example/private/minutes"].state == "blocked"
    assert ledger["http://hanover-ra.example/a/b/a/b/a/b/"].state == "skipped"
    for ip in PRIVATE_TARGETS:
        assert ledger[f"http://{ip}/"].state == "blocked", ip
    assert ledger["http://preston.example/fb"].state == "skipped"
    assert all(e.state not in ("queued", "leased") for e in ledger.values())

    with session_scope(engine) as s:
        venues = {v.key: v for v in s.execute(select(Venue)).scalars()}
        fb = venues["facebook.com/groups/hanoverresidents"]
        assert not fb.crawlable and "Meta" in fb.known_only_reason
        for key in ("chat.whatsapp.com/AbCdEf123", "nextdoor.com/neighbourhood/hanover--brighton",
                    "t.me/+SecretInvite"):
            assert not venues[key].crawlable, key
        evidence = s.execute(select(Link).where(Link.dst_venue_id == fb.id)).scalars().all()
        assert len(evidence) == 1 and evidence[0].count == 2  # home page and news/1
        assert evidence[0].anchor_text == "our Facebook group"
        assert evidence[0].example_url.startswith("http://hanover-ra.example/")
        # the moved site: newhome.example is an alias of the venue first known as moved.example
        alias = s.get(VenueAlias, "newhome.example")
        assert alias is not None and alias.venue_id == venues["moved.example"].id
        assert s.execute(select(Page).where(Page.url == "http://newhome.example/")).scalar_one()
        run = s.get(CrawlRun, run_id)
        assert run.status == "finished" and run.finished_at is not None
        assert run.stats["fetch/blocked/ssrf"] == len(PRIVATE_TARGETS)
        assert run.stats["fetch/blocked/known_only"] == 1
        assert run.stats["robots/disallowed"] >= 1 and run.stats["robots/error"] >= 1
        assert run.stats["frontier/trap"] >= 1
        actions = [a.action for a in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
        assert actions == ["crawl.start", "crawl.finish"]
        assert "pseudonym_key" not in run.config and "db" not in run.config
    engine.dispose()


def test_refuses_to_start_without_contact_or_purpose(sqlite_db):
    with pytest.raises(CrawlSetupError, match="contact_url"):
        run_crawl(config(sqlite_db, None, contact_url=""), seeds=["http://a.example/"])
    with pytest.raises(CrawlSetupError, match="purpose"):
        run_crawl(config(sqlite_db, None, crawl_purpose=""), seeds=["http://a.example/"])
    with pytest.raises(ValueError, match="never crawls"):
        run_crawl(config(sqlite_db, None), seeds=["https://www.facebook.com/groups/x"])
    with pytest.raises(CrawlSetupError, match="allow_private_hosts"):
        run_crawl(config(sqlite_db, None, proxy="http://127.0.0.1:9", allow_private_hosts=""),
                  seeds=["http://a.example/"])


def test_size_limits_hold_after_decompression(sqlite_db):
    sites = {"big.example": {
        "/": html('<a href="/bomb">b</a><a href="/huge">h</a><a href="/ok">ok</a>'),
        "/bomb": gzip_bomb(50_000_000),  # ~50 KB on the wire, 50 MB inflated
        "/huge": html("x" * 3_000_000),
        "/ok": html("fine"),
    }}
    with MiniWeb(sites) as web:
        run_id = run_crawl(config(sqlite_db, web, max_response_bytes=1_000_000),
                           seeds=["http://big.example/"])
    engine = make_engine(sqlite_db)
    ledger = _ledger(engine)
    assert ledger["http://big.example/bomb"].state == "failed"
    assert ledger["http://big.example/huge"].state == "failed"
    assert ledger["http://big.example/ok"].state == "done"
    with session_scope(engine) as s:
        assert s.get(CrawlRun, run_id).stats["fetch/too_large"] == 2
        assert s.execute(select(Page.url)).scalars().all().count("http://big.example/bomb") == 0
    engine.dispose()


def test_crawl_delay_and_retry_after_are_respected(sqlite_db):
    calls = {"n": 0}

    def busy(_headers):
        calls["n"] += 1
        if calls["n"] == 1:
            return 429, {"Retry-After": "1", "Content-Type": "text/plain"}, b"slow down"
        return html("<p>ok now</p>")

    sites = {
        "slow.example": {"/robots.txt": text("User-agent: *\nCrawl-delay: 1\n"),
                         "/": html('<a href="/a">a</a><a href="/b">b</a>'),
                         "/a": html("a"), "/b": html("b")},
        "busy.example": {"/": busy},
    }
    with MiniWeb(sites) as web:
        run_crawl(config(sqlite_db, web), seeds=["http://slow.example/", "http://busy.example/"])
        stamps = list(web.stamps)
    slow = [t for h, p, t, _ in stamps if h == "slow.example" and p != "/robots.txt"]
    assert len(slow) == 3
    gaps = [b - a for a, b in zip(slow, slow[1:], strict=False)]
    assert min(gaps) >= 0.9, gaps
    busy_times = [t for h, p, t, _ in stamps if h == "busy.example" and p == "/"]
    assert len(busy_times) == 2 and busy_times[1] - busy_times[0] >= 0.95
    engine = make_engine(sqlite_db)
    assert _ledger(engine)["http://busy.example/"].state == "done"
    engine.dispose()


def test_budgets_and_seeds_only(sqlite_db):
    pages = {f"/p{i}": html(f'<a href="/p{i + 1}">next</a>') for i in range(10)}
    sites = {"chain.example": {"/": html('<a href="/p0">start</a>'
                                         '<a href="http://other.example/">other</a>'), **pages},
             "other.example": {"/": html("other")}}
    with MiniWeb(sites) as web:
        run_crawl(config(sqlite_db, web), seeds=["http://chain.example/"], max_pages=4,
                  seeds_only=True)
        fetched = [p for h, p in web.log if p != "/robots.txt"]
    assert len(fetched) == 4
    assert "other.example" not in {h for h, _ in web.log}  # seeds-only: recorded, not fetched
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        other = s.execute(select(Venue).where(Venue.key == "other.example")).scalar_one()
        assert other.state == "candidate" and other.crawlable
        queued = s.execute(select(LedgerEntry).where(LedgerEntry.state == "queued")).scalars().all()
        assert queued  # the rest of the chain waits for the next run
    engine.dispose()


def test_conditional_recrawl_gets_304(sqlite_db):
    def page(headers):
        if headers.get("if-none-match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, {"Content-Type": "text/html", "ETag": '"v1"'}, b"<html><title>t</title></html>"

    with MiniWeb({"etag.example": {"/": page}}) as web:
        run_crawl(config(sqlite_db, web), seeds=["http://etag.example/"])
        second = run_crawl(config(sqlite_db, web), seeds=["http://etag.example/"])
        sent = [h for host, p, _, h in web.stamps if host == "etag.example" and p == "/"]
    assert "if-none-match" not in sent[0] and sent[1]["if-none-match"] == '"v1"'
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        assert s.get(CrawlRun, second).stats["fetch/not_modified"] == 1
    engine.dispose()


def _loopback_name() -> str | None:
    name = socket.gethostname()
    try:
        answers = {i[4][0] for i in socket.getaddrinfo(name, None)}
    except OSError:
        return None
    return name if answers and all(a.startswith("127.") for a in answers) else None


def test_dns_answers_are_checked_without_proxy(sqlite_db):
    name = _loopback_name()
    if name is None:
        pytest.skip("this machine's host name does not resolve to loopback only")
    with MiniWeb({}) as web:
        web.sites[f"{name}:{web.port}"] = {"/": html("hello"), "/robots.txt": text("")}
        seed = f"http://{name}:{web.port}/"
        blocked = run_crawl(config(sqlite_db, None, allow_private_hosts=""), seeds=[seed])
        assert web.log == []  # refused before any connection
        allowed = run_crawl(config(sqlite_db, None, allow_private_hosts="127.0.0.1"),
                            seeds=[seed])
        assert (f"{name}:{web.port}", "/") in web.log
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        assert s.get(CrawlRun, blocked).stats["fetch/blocked/ssrf_dns"] >= 1
        assert s.get(CrawlRun, allowed).status == "finished"
    engine.dispose()
    assert cli_actor().startswith("cli:")


def test_progress_callback_reports(sqlite_db):
    seen = []
    slow = {f"/p{i}": (lambda h, i=i: (time.sleep(0.3), html(f'<a href="/p{i + 1}">n</a>'))[1])
            for i in range(12)}
    with MiniWeb({"tick.example": {"/": html('<a href="/p0">go</a>'), **slow}}) as web:
        run_crawl(config(sqlite_db, web), seeds=["http://tick.example/"], progress=seen.append)
    assert any(not p.get("final") for p in seen)
    final = seen[-1]
    assert final["final"] and final["status"] == "finished" and final["pages"] >= 12


@pytest.mark.postgres
def test_crawl_stores_on_postgresql(pg_db):
    """The same storage path (executemany upserts, leases with SKIP LOCKED) on PostgreSQL."""
    with MiniWeb(hanover_web()) as web:
        run_id = run_crawl(config(pg_db, web), seeds=["http://hanover-ra.example/"])
        run_crawl(config(pg_db, web), seeds=["http://hanover-ra.example/"])  # again: no dups
    engine = make_engine(pg_db)
    with session_scope(engine) as s:
        assert s.get(CrawlRun, run_id).status == "finished"
        pages = s.execute(select(Page.url)).scalars().all()
        assert len(pages) == len(set(pages)) >= 4
        fb = s.execute(select(Venue).where(
            Venue.key == "facebook.com/groups/hanoverresidents")).scalar_one()
        link = s.execute(select(Link).where(Link.dst_venue_id == fb.id)).scalar_one()
        assert link.count == 2  # the unchanged pages of the second run add no evidence
        states = {e.state for e in s.execute(select(LedgerEntry)).scalars()}
        assert not states & {"queued", "leased"}
    engine.dispose()
