"""Crawler hardening (issue 16): profile URLs never queued, stored or logged; refusals use no page
budget; one pages row per final URL; the same post stored the same whatever the order."""

from __future__ import annotations

import csv
import logging
from datetime import UTC, datetime

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import distinct, func, select

from crawler.adapters.types import PostItem
from crawler.items import PageItem
from crawler.pipelines.store import StorePipeline
from crawler.run import check_seed, run_crawl
from crawler.urls import is_profile_url, url_fp
from storage.db import init_db, make_engine, session_scope, utcnow
from storage.models import CrawlRun, LedgerEntry, Link, Page, Post, Venue
from tests.crawlsite import MiniWeb, html
from tests.test_crawl import config
from tests.test_privacy import _table_text_hits

HANDLE = "jane_doe_1987"
# A profile page of every engine the sample web renders (sampleweb/platforms/*.py), and the
# generic shapes of the issue. Anchors are neutral: the URLs alone carry the handle.
PROFILE_PATHS = (
    f"/author/{HANDLE}/",  # WordPress, Ghost
    f"/members/{HANDLE}",  # generic
    f"/profile.php?user={HANDLE}",  # generic
    f"/members/{HANDLE}.3/",  # XenForo
    f"/u/{HANDLE}",  # Discourse
    f"/user/{HANDLE}",  # Reddit
    f"/@{HANDLE}",  # Mastodon
    f"/profile/3-{HANDLE}/",  # Invision
    "/memberlist.php?mode=viewprofile&u=3&sid=0123abcd",  # phpBB
    "/index.php?PHPSESSID=0123abcd&action=profile;u=3",  # SMF
    "/member.php?u=3",  # vBulletin
    "/member.php?action=profile&uid=3",  # MyBB
    "/profile/0123456789",  # Blogger
)


def _profile_site() -> dict:
    links = "".join(f'<a href="{p}">author page {i}</a>' for i, p in enumerate(PROFILE_PATHS))
    links += (f'<a href="http://forum.example/members/{HANDLE}.3/">on the forum</a>'
              '<a href="/go">a redirect</a><a href="/news/1">news</a>')
    pages = {p.split("?")[0]: html(f"<p>profile of {HANDLE}</p>") for p in PROFILE_PATHS}
    return {
        "hanover.example": {**pages, "/": html(links, "Hanover residents"),
                            "/go": (302, {"Location": f"/author/{HANDLE}/"}, b""),
                            "/news/1": html("<p>Bins on Elm Grove</p>")},
        "forum.example": {"/": html("forum"), f"/members/{HANDLE}.3/": html("member")},
    }


@pytest.mark.slow
def test_profile_urls_never_queued_fetched_stored_or_logged(sqlite_db, capfd):
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)  # the crawl logs at its caller's level: INFO here
    try:
        with MiniWeb(_profile_site()) as web:
            run_id = run_crawl(config(sqlite_db, web), seeds=["http://hanover.example/"])
            log = list(web.log)
    finally:
        root.setLevel(level)
    logs = capfd.readouterr()
    assert ("hanover.example", "/news/1") in log  # the crawl did follow ordinary links
    assert not [p for h, p in log if is_profile_url(f"http://{h}{p}")]  # no profile requested
    assert HANDLE not in (logs.out + logs.err)
    assert _table_text_hits(sqlite_db, HANDLE) == []  # ledger, links, pages, venues …
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        urls = s.execute(select(LedgerEntry.url)).scalars().all()
        assert not [u for u in urls if is_profile_url(u)]
        go = s.execute(select(LedgerEntry).where(LedgerEntry.url == "http://hanover.example/go")
                       ).scalar_one()
        assert go.state == "skipped" and HANDLE not in (go.last_error or "")
        run = s.get(CrawlRun, run_id)
        assert run.stats["links/profile_skipped"] >= len(PROFILE_PATHS) + 1
        assert run.stats["fetch/blocked/profile"] == 1  # the redirect into a profile
        # the other venue is not created from a profile link, and no evidence names one
        assert s.execute(select(Venue).where(Venue.key == "forum.example")).first() is None
        assert all(not is_profile_url(e or "") for e in s.execute(
            select(Link.example_url)).scalars())
    engine.dispose()


@pytest.mark.parametrize("url", [f"http://hanover.example{p}" for p in PROFILE_PATHS])
def test_a_profile_url_is_refused_as_a_seed_without_echoing_the_handle(url):
    with pytest.raises(ValueError, match="page about one person") as refused:
        check_seed(url)
    assert HANDLE not in str(refused.value)
    assert "http://hanover.example/" in str(refused.value)  # what to seed instead


@pytest.mark.slow
def test_refused_seeds_do_not_use_the_page_budget(sqlite_db):
    refused = [f"http://10.0.0.{i}/" for i in range(1, 26)]  # the SSRF guard refuses each
    sites = {"good.example": {"/": html('<a href="/a">a</a>', "Good"), "/a": html("a")}}
    with MiniWeb(sites) as web:
        run_id = run_crawl(config(sqlite_db, web), seeds=[*refused, "http://good.example/"],
                           max_pages=20)
        assert "/" in web.requested("good.example")
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        states = dict(s.execute(select(LedgerEntry.url, LedgerEntry.state)).all())
        assert [states[u] for u in refused] == ["blocked"] * 25
        assert states["http://good.example/"] == "done"
        stats = s.get(CrawlRun, run_id).stats
        assert stats["fetch/blocked/ssrf"] == 25
        assert stats["budget/refused_not_counted"] == 25
    engine.dispose()


@pytest.mark.slow
def test_two_hosts_redirecting_to_one_page_store_one_page(sqlite_db):
    moved = (301, {"Location": "http://new-home.example/"}, b"")
    sites = {"old-a.example": {"/": moved}, "old-b.example": {"/": moved},
             "new-home.example": {"/": html("<p>we moved here</p>", "New home")}}
    with MiniWeb(sites) as web:
        run_crawl(config(sqlite_db, web), seeds=["http://old-a.example/",
                                                  "http://old-b.example/"])
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        pages = s.execute(select(Page.url, Page.url_fp)).all()
        assert [p.url for p in pages] == ["http://new-home.example/"]
        assert pages[0].url_fp == url_fp("http://new-home.example/")
        ledger = {e.url: e for e in s.execute(select(LedgerEntry)).scalars()}
        for old in ("http://old-a.example/", "http://old-b.example/"):
            assert (ledger[old].state, ledger[old].http_status) == ("done", 301), old
        assert ledger["http://new-home.example/"].state == "done"
    engine.dispose()


# --- the same post from two channels -------------------------------------------------------

WHEN = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def _page(path: str, post: PostItem) -> PageItem:
    url = f"http://forum.example{path}"
    return PageItem(url=url, url_fp=url_fp(url), final_url=url, venue_id=None,
                    venue_key="forum.example", depth=0, http_status=200, kind="thread",
                    content_hash=path, posts=[post], authors_pseudonymised=True)


def _copies() -> list[PageItem]:
    """One post (external id 42) as a feed summary without author, as the full HTML with
    one, and as an API copy naming the author by another key."""
    return [
        _page("/feed", PostItem(url="http://forum.example/t/42", text="Bins missed again",
                                external_id="42", title="Bins", published_at=WHEN)),
        _page("/t/42", PostItem(url="http://forum.example/t/42#p1", external_id="42",
                                text="Bins missed again on Elm Grove; the council was asked",
                                author="p1:aaaa", board="Streets")),
        _page("/api/42", PostItem(url="http://forum.example/api/42", external_id="42",
                                  text="Bins missed again on Elm Grove; the council was ASKED",
                                  author="p1:0bbb", thread="Bins")),
    ]


def _store(db: str, batches: list[list[PageItem]]) -> dict:
    engine = make_engine(db)
    with session_scope(engine) as s:
        s.add(CrawlRun(id=1, started_at=utcnow(), status="running", purpose="t", actor="t",
                       mode="single", config={}, stats={}))
    crawler = get_crawler(settings_dict={"BEATMAP_DB": db, "BEATMAP_RUN_ID": 1})
    store = StorePipeline.from_crawler(crawler)
    store.engine = engine
    for items in batches:
        with session_scope(engine) as s:
            store._store_all(s, items)
    with session_scope(engine) as s:
        (post,) = s.execute(select(Post)).scalars().all()
        row = {c: getattr(post, c) for c in ("post_fp", "url", "page_id", "text", "title",
                                             "published_at", "author_key", "thread", "board")}
    engine.dispose()
    return row


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0), (2, 0, 1)])
def test_the_same_post_in_any_order_stores_the_same_row(tmp_path, order):
    copies = _copies()
    reference = f"sqlite:///{tmp_path / 'ref.db'}"
    init_db(reference)
    expected = _store(reference, [copies])
    assert expected["author_key"] == "p1:aaaa"  # the author the fullest copy names
    # as long as the API copy: the greater text ("asked" > "ASKED") and its URL win
    assert expected["text"].endswith("asked") and expected["url"].endswith("/t/42#p1")
    assert expected["title"] == "Bins" and expected["board"] == "Streets"
    within = f"sqlite:///{tmp_path / 'within.db'}"
    init_db(within)
    ordered = [_copies()[i] for i in order]
    got = _store(within, [ordered])
    across = f"sqlite:///{tmp_path / 'across.db'}"
    init_db(across)
    split = _store(across, [[_copies()[i]] for i in order])  # one batch each
    for column in ("post_fp", "url", "page_id", "text", "author_key"):
        assert got[column] == expected[column] == split[column], column
    # title, date, thread and board: filled from whichever copy has one
    assert got["title"] == split["title"] == "Bins"
    assert got["board"] == split["board"] == "Streets"
    assert got["thread"] == split["thread"] == "Bins"


# --- two crawls of one web ------------------------------------------------------------------


def _authors_per_venue(db: str) -> dict[str, int]:
    engine = make_engine(db)
    with session_scope(engine) as s:
        counts = dict(s.execute(select(Venue.key, func.count(distinct(Post.author_key)))
                                .join(Post, Post.venue_id == Venue.id).group_by(Venue.key)).all())
    engine.dispose()
    return counts


@pytest.mark.slow
def test_two_crawls_of_one_sample_web_count_the_same_authors(tmp_path):
    """Copies of a post reach the store in whatever order the downloads finish; the counts of
    distinct authors per venue must not depend on it (they differed, e.g. 2 against 0)."""
    sampleweb = pytest.importorskip("sampleweb.generate")
    from sampleweb.area import DEFAULT_BEATS, load_area_from_files
    from sampleweb.server import SampleWeb

    sampleweb.build(tmp_path, seed=11, area=load_area_from_files(DEFAULT_BEATS), pages=400,
                    as_of=datetime(2026, 11, 1).date())
    seeds = [row["url"] for row in csv.DictReader((tmp_path / "seeds.csv").open())]
    counts = []
    for n in (1, 2):
        db = f"sqlite:///{tmp_path / f'crawl{n}.db'}"
        init_db(db)
        with SampleWeb.start(tmp_path, slow_delay=0.1) as web:
            run_crawl(config(db, None, proxy=web.proxy_url, download_timeout=5), seeds=seeds)
        counts.append(_authors_per_venue(db))
    first, second = counts
    assert sum(first.values()) > 50
    assert first == second, {k: (first.get(k), second.get(k)) for k in first.keys() | second.keys()
                             if first.get(k) != second.get(k)}
