"""The crawler against the sample web, scored on its ground truth: venues found, posts and
dates extracted, known-only venues recorded with evidence, zero forbidden requests."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from crawler.urls import URLError, canonicalize
from crawler.venues import venue_key
from storage.config import Config
from storage.db import make_engine, session_scope
from storage.models import CrawlRun, Link, Post, Venue, VenueAlias

pytestmark = pytest.mark.slow

# Floors from the issue ("done when"); the test fails if the crawler drops below them.
VENUE_RECALL_FLOOR = 0.98
POST_RECALL_FLOOR = 0.95
SAMPLE_PAGES = 1500  # small enough for a test run well under a minute
CONTACT = "https://police.example/about-our-crawler"


def _key(url: str) -> str:
    return venue_key(url).key


def _same_date(truth: str, stored: datetime | None, precision: str) -> bool:
    if stored is None:
        return False
    when = datetime.fromisoformat(truth).replace(tzinfo=None)  # ground truth is UTC
    if precision == "day":
        return abs((when - stored).total_seconds()) <= 36 * 3600  # a day in any time zone
    return abs((when - stored).total_seconds()) <= 60


def score(engine: Engine, truth: dict[str, Any]) -> dict[str, Any]:
    """Venue and post recall of a crawl against ``ground_truth.json``."""
    with session_scope(engine) as s:
        keys = {k: vid for k, vid in s.execute(select(Venue.key, Venue.id))}
        keys.update({a: vid for a, vid in s.execute(select(VenueAlias.alias, VenueAlias.venue_id))})
        crawled = {vid for (vid,) in s.execute(select(Venue.id).where(Venue.last_crawled_at.is_not(None)))}
        posts = {}
        by_venue: dict[int, list[datetime]] = {}
        for url, published, vid in s.execute(select(Post.url, Post.published_at, Post.venue_id)):
            posts[url] = published
            if published is not None:
                by_venue.setdefault(vid, []).append(published)
        evidence = {dst for (dst,) in s.execute(select(Link.dst_venue_id).distinct())}
        known = {k: (c, r) for k, c, r in s.execute(select(Venue.key, Venue.crawlable,
                                                           Venue.known_only_reason))}
    crawlable = [v for v in truth["venues"] if v["crawlable"] and not v.get("duplicate_of")]
    found = [v for v in crawlable if _key(v["url"]) in keys]
    fetched = [v for v in found if keys[_key(v["url"])] in crawled]
    expected_posts = matched = dated = 0
    missing: list[str] = []
    for venue in fetched:
        if venue["status"] in ("spam", "hijacked"):
            continue
        for post in venue["posts"]:
            expected_posts += 1
            try:
                url = canonicalize(post["url"])
            except URLError:
                continue
            if url in posts:
                matched += 1
                dated += _same_date(post["published"], posts[url], venue["date_precision"])
                continue
            # An engine may spell a post's URL another way (a thread URL with ?t= and ?p=):
            # then the post counts when its venue has a post stored with the same time.
            candidates = by_venue.get(keys[_key(venue["url"])], [])
            hit = next((d for d in candidates if venue["date_precision"] != "day"
                        and _same_date(post["published"], d, "second")), None)
            if hit is not None:
                candidates.remove(hit)
                matched += 1
                dated += 1
            elif len(missing) < 10:
                missing.append(url)
    known_only = [v for v in truth["venues"] if not v["crawlable"]]
    recorded = [v for v in known_only
                if _key(v["url"]) in keys and keys[_key(v["url"])] in evidence]
    return {
        "crawlable_venues": len(crawlable), "found": len(found), "fetched": len(fetched),
        "venue_recall": len(found) / max(1, len(crawlable)),
        "not_found": sorted(v["url"] for v in crawlable if v not in found)[:20],
        "posts_expected": expected_posts, "posts_matched": matched, "posts_dated": dated,
        "post_recall": dated / max(1, expected_posts), "missing_posts": missing,
        "known_only": len(known_only), "known_only_recorded": len(recorded),
        "known_only_missing": sorted(v["url"] for v in known_only if v not in recorded)[:20],
        "known_only_marked_crawlable": sorted(
            v["url"] for v in known_only if known.get(_key(v["url"]), (False,))[0]),
    }


@pytest.fixture(scope="module")
def sample_crawl(tmp_path_factory):
    sampleweb = pytest.importorskip("sampleweb.generate")
    from crawler.run import run_crawl
    from sampleweb.area import DEFAULT_BEATS, load_area_from_files
    from sampleweb.server import SampleWeb
    from storage.db import init_db

    out = tmp_path_factory.mktemp("sampleweb")
    sampleweb.build(out, seed=7, area=load_area_from_files(DEFAULT_BEATS), pages=SAMPLE_PAGES,
                    as_of=datetime(2026, 11, 1).date())
    truth = json.loads((out / "ground_truth.json").read_text())
    seeds = [row["url"] for row in csv.DictReader((out / "seeds.csv").open())]
    db = f"sqlite:///{out / 'crawl.db'}"
    init_db(db)
    with SampleWeb.start(out, slow_delay=0.2) as web:
        config = Config.load({"db": db, "contact_url": CONTACT, "crawl_purpose": "sample web test",
                              "proxy": web.proxy_url, "allow_private_hosts": "127.0.0.1",
                              "download_delay": 0.0, "download_timeout": 5}, environ={})
        run_id = run_crawl(config, seeds=seeds)
        log = list(web.request_log)
        violations = web.robots_violations("beatmap")
    engine = make_engine(db)
    yield {"truth": truth, "engine": engine, "log": log, "violations": violations,
           "run_id": run_id, "out": Path(out)}
    engine.dispose()


def test_venues_and_posts_meet_the_floors(sample_crawl):
    result = score(sample_crawl["engine"], sample_crawl["truth"])
    assert result["venue_recall"] >= VENUE_RECALL_FLOOR, result
    assert result["post_recall"] >= POST_RECALL_FLOOR, result


def test_known_only_venues_recorded_with_evidence_and_never_requested(sample_crawl):
    result = score(sample_crawl["engine"], sample_crawl["truth"])
    assert result["known_only_recorded"] == result["known_only"], result
    assert not result["known_only_marked_crawlable"]
    # Venues the truth calls uncrawlable because their robots.txt forbids it were asked for
    # robots.txt only (that is how one knows); known-only platforms get no request at all.
    platform_hosts = {venue_key(v["url"]).url.split("/")[2] for v in sample_crawl["truth"]["venues"]
                      if not v["crawlable"] and v.get("known_only_platform")}
    robots_only = {venue_key(v["url"]).url.split("/")[2] for v in sample_crawl["truth"]["venues"]
                   if not v["crawlable"] and not v.get("known_only_platform")}
    assert not [r for r in sample_crawl["log"] if r.host in platform_hosts]
    assert not [r for r in sample_crawl["log"] if r.host in robots_only and r.path != "/robots.txt"]


def test_no_robots_violations_and_no_private_requests(sample_crawl):
    assert sample_crawl["violations"] == []
    with session_scope(sample_crawl["engine"]) as s:
        run = s.get(CrawlRun, sample_crawl["run_id"])
        assert run.status == "finished"
    # the sample web answers only its own .example hosts: anything else reaching it would be
    # a request the guard should have stopped
    assert all(r.host.endswith(".example") or ":" in r.host for r in sample_crawl["log"])


def test_author_handles_never_stored(sample_crawl):
    handle = sample_crawl["truth"]["planted_handle"]
    db_file = sample_crawl["out"] / "crawl.db"
    raw = b"".join(p.read_bytes() for p in db_file.parent.glob("crawl.db*") if p.is_file())
    assert handle.encode() not in raw and handle.lower().encode() not in raw.lower()
    with session_scope(sample_crawl["engine"]) as s:
        keys = s.execute(select(Post.author_key).where(Post.author_key.is_not(None))).scalars().all()
    assert keys and all(":" in k and handle.lower() not in k.lower() for k in keys)


def test_status_flags_follow_the_evidence(sample_crawl):
    """Dormant (no post for two years) and hijacked (spam takes over) venues are flagged."""
    with session_scope(sample_crawl["engine"]) as s:
        status = dict(s.execute(select(Venue.key, Venue.status)).all())
    truth = [v for v in sample_crawl["truth"]["venues"]
             if v["crawlable"] and v["status"] in ("live", "dormant", "hijacked")
             and not v.get("duplicate_of") and v["posts"]]
    judged = [(v["status"], status.get(_key(v["url"]))) for v in truth]
    assert all(ours == "hijacked" for want, ours in judged if want == "hijacked")
    agree = sum(1 for want, ours in judged if want == ours)
    assert agree / len(judged) >= 0.9, [j for j in judged if j[0] != j[1]]
