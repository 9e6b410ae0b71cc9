"""The crawler's commands through click's CliRunner: seeds, crawl, venues (list, curation)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from beatmap.cli import cli
from crawler.discovery import ensure_venue, record_links
from crawler.venues import venue_key
from storage.db import make_engine, session_scope, utcnow
from storage.models import AuditEntry, Beat, Link, Post, Seed, Venue, VenueAlias
from tests.crawlsite import MiniWeb, html


def run(db: str, *args: str, env: dict | None = None):
    result = CliRunner().invoke(cli, ["--db", db, *args], env=env or {}, catch_exceptions=False)
    return result


def _beat(db: str, key: str = "E05002420") -> None:
    engine = make_engine(db)
    now = utcnow()
    with session_scope(engine) as s:
        s.add(Beat(id=1, key=key, name="Brunswick and Adelaide", force=None, source="test",
                   geometry={"type": "Point", "coordinates": [0, 0]}, min_lat=0, min_lon=0,
                   max_lat=0, max_lon=0, centre_lat=0, centre_lon=0, details=None,
                   imported_at=now, updated_at=now))
    engine.dispose()


def test_seeds_add_list_and_refusals(sqlite_db):
    _beat(sqlite_db)
    out = run(sqlite_db, "seeds", "add", "http://www.Hanover-RA.example/?utm_source=x",
              "--beat", "E05002420", "--note", "residents' association")
    assert out.exit_code == 0, out.output
    listed = run(sqlite_db, "seeds", "list", "--format", "json")
    rows = json.loads(listed.output)
    assert rows == [{"url": "http://www.hanover-ra.example/", "beat": "E05002420",
                     "note": "residents' association", "source": "cli"}]
    by_beat = json.loads(run(sqlite_db, "venues", "--beat", "E05002420", "--format", "json").output)
    assert [v["key"] for v in by_beat] == ["hanover-ra.example"]
    assert run(sqlite_db, "venues", "--beat", "nope").exit_code == 2
    fb = run(sqlite_db, "seeds", "add", "https://www.facebook.com/groups/x")
    assert fb.exit_code == 1 and "never crawls" in fb.output and "Traceback" not in fb.output
    bad_beat = run(sqlite_db, "seeds", "add", "http://a.example/", "--beat", "nope")
    assert bad_beat.exit_code == 1 and "unknown beat 'nope'" in bad_beat.output


def test_seeds_import_is_all_or_nothing(sqlite_db, tmp_path):
    _beat(sqlite_db)
    good = tmp_path / "seeds.csv"
    good.write_text("url,beat,note\nhttp://a.example/,E05002420,one\nhttp://b.example/x,,two\n")
    out = run(sqlite_db, "seeds", "import", str(good))
    assert out.exit_code == 0 and "2 seeds read" in out.output and "2 new" in out.output
    bad = tmp_path / "bad.csv"
    bad.write_text("url,beat,note\nhttp://c.example/,,ok\nftp://d.example/,,bad scheme\n")
    out = run(sqlite_db, "seeds", "import", str(bad))
    assert out.exit_code == 1 and "bad.csv:3" in out.output
    yml = tmp_path / "seeds.yaml"
    yml.write_text("seeds:\n  - url: http://e.example/\n    beat: E05002420\n  - http://f.example/\n")
    assert run(sqlite_db, "seeds", "import", str(yml)).exit_code == 0
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("- {url: http://g.example/, colour: red}\n")
    out = run(sqlite_db, "seeds", "import", str(wrong))
    assert out.exit_code == 1 and "unknown field(s) colour" in out.output
    nohead = tmp_path / "nohead.csv"
    nohead.write_text("http://h.example/\n")
    assert "needs a header row" in run(sqlite_db, "seeds", "import", str(nohead)).output
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        urls = sorted(s.execute(select(Seed.url)).scalars())
    assert urls == ["http://a.example/", "http://b.example/x", "http://e.example/",
                    "http://f.example/"]  # nothing from the failed files
    engine.dispose()


def test_crawl_command_refuses_without_contact_and_runs_with_it(sqlite_db):
    run(sqlite_db, "seeds", "add", "http://cli.example/")
    refused = run(sqlite_db, "crawl", "--purpose", "test")
    assert refused.exit_code == 1 and "contact_url" in refused.output
    site = {"cli.example": {"/": html('<a href="/a">a</a><a href="http://other.example/">o</a>'),
                            "/a": html("a page")}}
    with MiniWeb(site) as web:
        env = {"BEATMAP_CONTACT_URL": "https://police.example/crawler",
               "BEATMAP_PROXY": web.proxy_url, "BEATMAP_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
               "BEATMAP_DOWNLOAD_DELAY": "0"}
        out = run(sqlite_db, "crawl", "--purpose", "cli test", "--seeds-only", env=env)
    assert out.exit_code == 0, out.output
    assert "finished" in out.output and "2 pages" in out.output
    assert "\r" not in out.output  # not a terminal: progress comes as whole lines, readable in a log
    venues = json.loads(run(sqlite_db, "venues", "--format", "json").output)
    by_key = {v["key"]: v for v in venues}
    assert by_key["other.example"]["linked_from"] == 1 and by_key["other.example"]["posts"] == 0
    assert by_key["cli.example"]["state"] == "candidate"
    csv_out = run(sqlite_db, "venues", "--format", "csv").output.splitlines()
    assert csv_out[0].startswith("key,platform,url,crawlable")


def _venues_with_evidence(db: str) -> None:
    engine = make_engine(db)
    now = utcnow()
    with session_scope(engine) as s:
        cache: dict = {}
        a, _ = ensure_venue(s, venue_key("http://hanover-ra.example/"), discovered_via="seed",
                            depth=0, cache=cache)
        dup, _ = ensure_venue(s, venue_key("http://old-hanover-ra.example/"),
                              discovered_via="link", depth=1, cache=cache)
        fb, _ = ensure_venue(s, venue_key("https://facebook.com/groups/hanover"),
                             discovered_via="link", depth=1, cache=cache)
        other, _ = ensure_venue(s, venue_key("http://kemptown.example/"), discovered_via="link",
                                depth=1, cache=cache)
        record_links(s, other.id, "http://kemptown.example/", {dup.id: (2, "old site")})
        record_links(s, dup.id, "http://old-hanover-ra.example/", {fb.id: (1, "facebook")})
        s.add(Post(id=1, post_fp="p1", venue_id=dup.id, url="http://old-hanover-ra.example/1",
                   text="bins", created_at=now, published_at=now))
    engine.dispose()


def test_venue_curation_set_state_and_merge(sqlite_db):
    _venues_with_evidence(sqlite_db)
    out = run(sqlite_db, "venues", "set-state", "hanover-ra.example", "in", "--reason", "checked")
    assert out.exit_code == 0 and "candidate → in" in out.output
    assert run(sqlite_db, "venues", "set-state", "nope.example", "in").exit_code == 1
    listed = json.loads(run(sqlite_db, "venues", "--state", "in", "--format", "json").output)
    assert [v["key"] for v in listed] == ["hanover-ra.example"]
    fb = [v for v in json.loads(run(sqlite_db, "venues", "--format", "json").output)
          if v["key"] == "facebook.com/groups/hanover"][0]
    assert fb["crawlable"] is False and fb["known_only_reason"]
    out = run(sqlite_db, "venues", "merge", "old-hanover-ra.example", "hanover-ra.example")
    assert out.exit_code == 0 and "1 posts" in out.output
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        target = s.execute(select(Venue).where(Venue.key == "hanover-ra.example")).scalar_one()
        assert target.post_count == 1
        assert s.get(VenueAlias, "old-hanover-ra.example").venue_id == target.id
        links = {(link.src_venue_id, link.dst_venue_id): link.count
                 for link in s.execute(select(Link)).scalars()}
        assert sum(1 for (src, dst) in links if target.id in (src, dst)) == 2
        actions = [(a.action, a.detail["change"]) for a in s.execute(select(AuditEntry)).scalars()]
        assert actions == [("curation", "state"), ("curation", "merge")]
    engine.dispose()
    listed = json.loads(run(sqlite_db, "venues", "--format", "json").output)
    assert "old-hanover-ra.example" not in {v["key"] for v in listed}
    assert run(sqlite_db, "venues", "merge", "hanover-ra.example",
               "hanover-ra.example").exit_code == 1


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_venues_formats_on_empty_database(sqlite_db, fmt):
    out = run(sqlite_db, "venues", "--format", fmt)
    assert out.exit_code == 0
