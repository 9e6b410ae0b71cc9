"""Data protection end to end: the planted handle never in clear (database bytes, every table's
text, the crawl's logs, every export, the web UI); one key per period and a new one after
rotation; purged text unreachable; crawls without a purpose or naming a deny-listed platform
refused before any request.

Unit-level guarantees proved elsewhere (referenced in docs/security.md): pseudonymiser
properties (tests/test_pseudonym.py), purge (tests/test_data_protection.py), sensitive venues in
the UI (tests/test_web.py) and exports (tests/test_export.py), audit append-only on PostgreSQL
(tests/test_data_protection.py), export audit entries (tests/test_export.py).
"""

from __future__ import annotations

import csv
import html as html_mod
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from crawler.run import CrawlSetupError, run_crawl
from crawler.seeds import SeedRow, add_seeds
from crawler.urls import URLError, canonicalize, is_profile_url
from crawler.venues import venue_key
from storage.config import Config
from storage.db import init_db, make_engine, session_scope, utcnow
from storage.ids import new_id
from storage.models import (
    AuditEntry,
    Beat,
    CrawlRun,
    LedgerEntry,
    Link,
    Page,
    Post,
    Seed,
    Venue,
)
from storage.pseudonym import rotate_key
from tests.crawlsite import MiniWeb, html

pytestmark = pytest.mark.slow

CONTACT = "https://police.example/about-our-crawler"
# Large enough that the generator plants the handle as an author on six engines (phpBB,
# Discourse, XenForo, MyBB, Invision, Mastodon), with author, member and profile pages and
# Mastodon status URLs that carry it (ground truth "planted_handle_urls").
SAMPLE_PAGES = 1500
HANDLE = "Ruth_Hanover_1987"
ABSOLUTE_URL = re.compile(r"https?://[^\s\"'<>]+")


def _config(db: str, proxy: str | None, **extra) -> Config:
    values = {"db": db, "contact_url": CONTACT, "crawl_purpose": "privacy test",
              "download_delay": 0.0, "allow_private_hosts": "127.0.0.1", **extra}
    if proxy:
        values["proxy"] = proxy
    return Config.load(values, environ={})


def _export_texts(db: str, out: Path) -> dict[str, str]:
    import openpyxl

    from beatmap.export import FORMATS, export

    engine = make_engine(db)
    texts = {}
    with session_scope(engine) as s:
        for fmt in FORMATS:
            for sensitive in (False, True):
                path = out / f"all-{sensitive}.{fmt}"
                export(s, fmt, path, reason="privacy test", include_sensitive=sensitive,
                       actor="test")
                if fmt == "xlsx":
                    wb = openpyxl.load_workbook(path)
                    texts[path.name] = " ".join(
                        str(c.value) for ws in wb.worksheets for row in ws.iter_rows()
                        for c in row if c.value is not None)
                else:
                    texts[path.name] = path.read_text(encoding="utf-8-sig")
    engine.dispose()
    return texts


def _table_text_hits(db: str, needle: str) -> list[str]:
    """Tables with any row whose text (any column) contains ``needle``, case-insensitively."""
    engine = make_engine(db)
    hits = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            quote = engine.dialect.identifier_preparer.quote
            cols = [quote(c["name"]) for c in inspect(engine).get_columns(table)]
            expr = " || ' ' || ".join(f"COALESCE(CAST({c} AS TEXT), '')" for c in cols)
            # names come from the schema itself, the needle is a bound parameter
            sql = f"SELECT COUNT(*) FROM {quote(table)} WHERE LOWER({expr}) LIKE :n"  # noqa: S608
            n = conn.execute(text(sql), {"n": f"%{needle.lower()}%"}).scalar_one()
            if n:
                hits.append(table)
    engine.dispose()
    return hits


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    sampleweb = pytest.importorskip("sampleweb.generate")
    from sampleweb.area import DEFAULT_BEATS, load_area_from_files
    from sampleweb.server import SampleWeb

    out = tmp_path_factory.mktemp("privacy")
    sampleweb.build(out, seed=11, area=load_area_from_files(DEFAULT_BEATS), pages=SAMPLE_PAGES,
                    as_of=datetime(2026, 11, 1).date())
    truth = json.loads((out / "ground_truth.json").read_text())
    seeds = [row["url"] for row in csv.DictReader((out / "seeds.csv").open())]
    db = f"sqlite:///{out / 'crawl.db'}"
    init_db(db)
    return {"out": out, "truth": truth, "seeds": seeds, "db": db, "web": SampleWeb}


def test_planted_handle_never_in_clear(sample, capfd, tmp_path):
    handle = sample["truth"]["planted_handle"]
    assert handle in (sample["out"] / "site_spec.json").read_text(), "no handle planted"
    planted = [v for v in sample["truth"]["venues"] if v["planted_handle_author"]]
    handle_urls = sample["truth"]["planted_handle_urls"]
    assert len({v["platform"] for v in planted}) >= 5 and handle_urls, "handle not planted"
    with sample["web"].start(sample["out"], slow_delay=0.1) as web:
        run_crawl(_config(sample["db"], web.proxy_url, download_timeout=5),
                  seeds=sample["seeds"])
        bylines = sum(1 for r in web.request_log if r.status == 200)
        planted_hosts = {v["host"] for v in planted}
        assert {r.host for r in web.request_log if r.status == 200} >= planted_hosts
    logs = capfd.readouterr()
    engine = make_engine(sample["db"])
    with session_scope(engine) as s:
        keyed = s.execute(select(func.count()).select_from(Post)
                          .where(Post.author_key.is_not(None))).scalar_one()
    engine.dispose()
    assert keyed > 0 and bylines > 100
    raw = b"".join(p.read_bytes() for p in sample["out"].glob("crawl.db*") if p.is_file())
    assert handle.lower().encode() not in raw.lower(), "handle in the database file"
    assert _table_text_hits(sample["db"], handle) == []
    assert handle.lower() not in (logs.out + logs.err).lower(), "handle in the crawl's logs"
    for name, body in _export_texts(sample["db"], tmp_path).items():
        assert handle.lower() not in body.lower(), f"handle in export {name}"
    _stored_urls_hold_no_profile(sample["db"], handle, handle_urls)
    _web_pages_hold_no(sample["db"], handle)


def _stored_urls_hold_no_profile(db: str, handle: str, handle_urls: list[str]) -> None:
    """No URL the crawl kept (the ledger, pages, posts, link evidence, venues) is an author,
    member or profile page of any engine, or carries the planted handle."""
    engine = make_engine(db)
    with session_scope(engine) as s:
        ledger = s.execute(select(LedgerEntry.url)).scalars().all()
        stored = [*ledger, *s.execute(select(Page.url)).scalars(),
                  *s.execute(select(Post.url)).scalars(),
                  *s.execute(select(Link.example_url)).scalars(),
                  *s.execute(select(Venue.url)).scalars()]
    engine.dispose()
    assert len(ledger) > 500
    assert [u for u in ledger if is_profile_url(u) and _crawlable(u)] == []
    assert [u for u in stored if u and handle.lower() in u.lower()] == []
    canonical = set()
    for url in handle_urls:
        try:
            canonical.add(canonicalize(url))
        except URLError:
            continue
    assert canonical and not canonical & set(ledger)


def _crawlable(url: str) -> bool:
    """A URL of a site beatmap crawls (known-only platforms' venues, e.g. a YouTube @channel,
    are recorded by their key and never fetched)."""
    try:
        return venue_key(url).crawlable
    except (URLError, ValueError):
        return False


def _web_pages_hold_no(db: str, needle: str) -> None:
    """Every page of the web UI, as an analyst and as an admin: crawls (seeds, runs and the
    ledger's errors), venues, beats and their downloads, users, retention and the audit log."""
    from beatmap.web.users import add_user
    from tests.web_helpers import PASSWORDS, make_app, sign_in

    engine = make_engine(db)
    with session_scope(engine) as s:
        for role in ("analyst", "admin"):
            add_user(s, f"{role}1", role, PASSWORDS[role])
        venue_ids = s.execute(select(Venue.id)).scalars().all()
        beats = s.execute(select(Beat.key)).scalars().all()
    engine.dispose()
    paths = ["/", "/beats", "/crawls", "/admin/audit", "/admin/users", "/admin/retention",
             *(f"/venues/{v}" for v in venue_ids),
             *(f"/beats/{b}{fmt}" for b in beats for fmt in ("", ".json", ".csv"))]
    app = make_app(db)
    for role in ("analyst", "admin"):
        client = app.test_client()
        sign_in(client, role)
        for path in paths:
            response = client.get(path, follow_redirects=True)
            assert response.status_code in (200, 403, 404), (role, path, response.status_code)
            body = response.get_data(as_text=True)
            assert needle.lower() not in body.lower(), (role, path)
            shown = [html_mod.unescape(u) for u in ABSOLUTE_URL.findall(body)]
            assert [u for u in shown if _crawlable(u) and is_profile_url(u)] == [], (role, path)


def _author_site(path_prefix: str) -> dict:
    page = ("<meta name='author' content='{h}'><article><h1>Notice {i}</h1><p>Posted on 3 "
            "March 2026 by {h}</p><p>The bins on Elm Grove were missed again this week; the "
            "residents' association asked the council for a crew.</p></article>")
    routes = {f"{path_prefix}{i}": html(page.format(h=HANDLE, i=i)) for i in range(4)}
    routes["/"] = html("".join(f'<a href="{path_prefix}{i}">n{i}</a>' for i in range(4)))
    return routes


def test_same_handle_same_key_within_a_period_new_key_after_rotation(any_db):
    engine = make_engine(any_db)
    sites = {"first.example": _author_site("/a/"), "second.example": _author_site("/b/")}
    with MiniWeb(sites) as web:
        run_crawl(_config(any_db, web.proxy_url), seeds=["http://first.example/"])
        with session_scope(engine) as s:
            before = set(s.execute(select(Post.author_key).where(
                Post.url.like("http://first.example/a/%"))).scalars())
            rotate_key(s, "p2")
        run_crawl(_config(any_db, web.proxy_url), seeds=["http://second.example/"])
    with session_scope(engine) as s:
        after = set(s.execute(select(Post.author_key).where(
            Post.url.like("http://second.example/b/%"))).scalars())
    engine.dispose()
    assert len(before) == 1 and len(after) == 1, (before, after)  # one key per period
    (old,), (new,) = before, after
    assert old != new and new.startswith("p2:") and not old.startswith("p2:")
    assert HANDLE.lower() not in (old + new).lower()
    assert _table_text_hits(any_db, HANDLE) == []


@pytest.mark.parametrize("case", ["no purpose", "deny-listed seed", "deny-listed stored seed"])
def test_refused_before_any_request(sqlite_db, case):
    engine = make_engine(sqlite_db)
    with MiniWeb({"hanover.example": {"/": html("hello")}}) as web:
        if case == "no purpose":
            with pytest.raises(CrawlSetupError, match="purpose"):
                run_crawl(_config(sqlite_db, web.proxy_url, crawl_purpose=""),
                          seeds=["http://hanover.example/"])
        elif case == "deny-listed seed":
            with pytest.raises(ValueError, match="never crawls"):
                run_crawl(_config(sqlite_db, web.proxy_url),
                          seeds=["http://hanover.example/",
                                 "https://www.facebook.com/groups/hanover/"])
        else:
            with session_scope(engine) as s:  # a seeds file naming Meta, stored earlier
                add_seeds(s, [SeedRow("http://hanover.example/")], source="test")
                s.add(Seed(id=new_id(), url="https://www.facebook.com/groups/hanover/",
                           source="test", created_at=utcnow()))
            with pytest.raises(ValueError, match="never crawls"):
                run_crawl(_config(sqlite_db, web.proxy_url))
        assert web.log == []  # not one request, not even robots.txt
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(CrawlRun)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action == "crawl.start")).scalar_one() == 0
    engine.dispose()


def test_purged_text_is_unreachable_from_ui_and_exports(sqlite_db, tmp_path):
    from storage.retention import purge
    from tests.test_data_protection import _fill

    engine = _fill(sqlite_db)
    with session_scope(engine) as s:
        purge(s, post_days=365, audit_days=2190, actor="test")
        venue_ids = s.execute(select(Venue.id)).scalars().all()
    engine.dispose()
    gone = ("Elm Grove post 1", "Elm Grove post 2", "our friends")
    for name, body in _export_texts(sqlite_db, tmp_path).items():
        for needle in gone:
            assert needle not in body, (name, needle)
    for needle in gone:
        _web_pages_hold_no_venue(sqlite_db, venue_ids, needle)


def _web_pages_hold_no_venue(db: str, venue_ids: list[int], needle: str) -> None:
    from beatmap.web.users import add_user
    from tests.web_helpers import PASSWORDS, make_app, sign_in

    engine = make_engine(db)
    with session_scope(engine) as s:
        if not s.execute(text("SELECT 1 FROM users WHERE username = 'analyst1'")).first():
            add_user(s, "analyst1", "analyst", PASSWORDS["analyst"])
    engine.dispose()
    client = make_app(db).test_client()
    sign_in(client, "analyst")
    for path in [f"/venues/{v}" for v in venue_ids] + ["/beats/B1", "/beats/B1.json",
                                                      "/beats/B1.csv"]:
        body = client.get(path).get_data(as_text=True)
        assert needle not in body, (path, needle)
