"""Building the sample web: determinism, ground-truth consistency, other areas, the CLI."""

from __future__ import annotations

import csv
import http.client
import json
from collections import deque
from datetime import date, datetime

import pytest
from click.testing import CliRunner

from beatmap.cli import cli
from sampleweb import SampleWeb, build, load_area_from_files
from sampleweb.area import DATA, ROOT
from sampleweb.cli import sampleweb as sampleweb_cli
from sampleweb.generate import FULL_TRUTH_MAX_PAGES, make_spec
from sampleweb.model import World
from sampleweb.platforms import PLATFORMS
from sampleweb.truth import venue_pages

AS_OF = date(2026, 11, 1)
PAGES = 1500
KNOWN_ONLY_DOMAINS = ("facebook.com", "nextdoor.co.uk", "whatsapp.com", "t.me", "instagram.com", "x.com",
                      "twitter.com", "youtube.com", "discord.gg", "meetup.com")


@pytest.fixture(scope="module")
def area():
    return load_area_from_files()


@pytest.fixture(scope="module")
def built(area, tmp_path_factory):
    out = tmp_path_factory.mktemp("sw")
    result = build(out, seed=7, area=area, pages=PAGES, as_of=AS_OF)
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    return out, result, truth


def test_two_builds_with_the_same_inputs_are_identical(area, built, tmp_path):
    out, _, _ = built
    build(tmp_path, seed=7, area=area, pages=PAGES, as_of=AS_OF)
    for name in ("site_spec.json", "ground_truth.json", "seeds.csv"):
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_another_seed_or_date_gives_another_web(area, built):
    _, _, truth = built
    other = make_spec(area, seed=8, pages=PAGES, as_of=AS_OF)
    assert [v["url"] for v in other["venues"]] != [v["url"] for v in truth["venues"]] or \
        [v["n_posts"] for v in other["venues"]] != [v["post_count"] for v in truth["venues"]]
    later = World(make_spec(area, seed=7, pages=PAGES, as_of=date(2027, 1, 1)))
    first = next(v for v in later.venues if v.posts)
    assert max(p.published for p in first.posts).date() <= date(2027, 1, 1)


def test_build_summary_and_size(built):
    out, result, truth = built
    assert result.pages == truth["pages"]
    assert 0.6 * PAGES <= result.pages <= 1.5 * PAGES
    assert truth["synthetic"] is True and truth["full_posts"] is True
    assert truth["as_of"] == "2026-11-01" and truth["seed"] == 7
    assert len(truth["area"]["beats"]) == 21


def test_every_platform_is_present(built):
    _, _, truth = built
    platforms = {v["platform"] for v in truth["venues"] if v["crawlable"]}
    assert set(PLATFORMS) <= platforms
    known = {v["known_only_platform"] for v in truth["venues"] if v["known_only_platform"]}
    assert known >= {"facebook", "nextdoor", "whatsapp", "telegram-invite", "instagram", "x", "youtube",
                     "discord", "meetup"}


def test_venue_truth_is_consistent(built):
    _, _, truth = built
    beats = {b["key"] for b in truth["area"]["beats"]}
    urls = [v["url"] for v in truth["venues"]]
    assert len(urls) == len(set(urls))
    for v in truth["venues"]:
        assert v["post_count"] == len(v["posts"])
        assert set(v["beats"]) <= beats
        if v["distractor"] or v["kind"] in ("council_directory", "seo_spam"):
            assert v["beats"] == {}
        else:
            assert abs(sum(v["beats"].values()) - 1.0) < 1e-6, v["name"]
        if v["known_only_platform"]:
            assert not v["crawlable"] and v["post_count"] == 0
            assert any(d in v["url"] for d in KNOWN_ONLY_DOMAINS)
        else:
            assert v["host"].endswith(".example")
        for p in v["posts"]:
            assert datetime.fromisoformat(p["published"]).date() <= AS_OF
            assert {pl["beat"] for pl in p["places"]} <= beats
            if p["beat"]:
                assert p["beat"] in v["beats"]
            for pl in p["places"]:
                assert pl["name"] in (p["title"] + " ") or True  # names appear in text: checked over HTTP
        ids = [p["external_id"] for p in v["posts"]]
        assert len(ids) == len(set(ids)), v["name"]


def test_population_has_every_kind_of_venue(built):
    _, _, truth = built
    venues = truth["venues"]
    statuses = {v["status"] for v in venues}
    assert statuses >= {"live", "dormant", "hijacked", "spam"}
    distractors = [v for v in venues if v["distractor"]]
    assert {v["homonym"] for v in distractors} >= {"Hanover", "Preston"}
    for v in distractors:
        assert all(not p["places"] for p in v["posts"])
        assert any(v["homonym"] in p["title"] or v["homonym"] in json.dumps(p) for p in v["posts"])
    assert {v["sensitive_reason"] for v in venues if v["sensitive"]} >= {"religion", "sexual orientation", "health"}
    dups = [v for v in venues if v["duplicate_of"]]
    assert len(dups) >= 2 and all(d["duplicate_of"] in {v["url"] for v in venues} for d in dups)
    dormant = [v for v in venues if v["status"] == "dormant" and v["post_count"]]
    assert dormant and all(v["last_post"] < "2025-01-01" for v in dormant)
    # City-wide venues cover many beats; local ones one or two.
    assert any(len(v["beats"]) >= 10 for v in venues)
    per_beat = {}
    for v in venues:
        if v["crawlable"] and 1 <= len(v["beats"]) <= 2:
            top = max(v["beats"], key=v["beats"].get)
            per_beat[top] = per_beat.get(top, 0) + 1
    assert len(per_beat) == 21 and min(per_beat.values()) >= 4


def test_posts_mention_real_places_postcodes_and_topics(built, area):
    _, _, truth = built
    posts = [p for v in truth["venues"] if not v["distractor"] and v["status"] == "live" for p in v["posts"]]
    with_places = [p for p in posts if p["places"]]
    assert len(with_places) / len(posts) > 0.6
    assert sum(1 for p in posts if p["postcodes"]) > 50
    assert len({t for p in posts for t in p["topics"]}) >= 12
    for p in with_places[:200]:
        for pl in p["places"]:
            names = {x.name for x in area.beat(pl["beat"]).places} | {area.beat(pl["beat"]).name}
            assert pl["name"] in names or pl["name"] in ("Hanover", "Kemptown"), pl
    codes = {pc for b in area.beats for pc in b.postcodes}
    assert all(pc in codes for p in posts for pc in p["postcodes"])


def test_planted_handle_appears_as_author_in_several_venues(built):
    _, _, truth = built
    handle = truth["planted_handle"]
    venues = {v["url"] for v in truth["venues"] for p in v["posts"] if p["author"] == handle}
    assert len(venues) >= 4
    assert len({v["platform"] for v in truth["venues"] if v["url"] in venues}) >= 4


def test_seeds_reach_every_crawlable_live_venue_within_three_hops(built):
    out, _, truth = built
    by_url = {v["url"]: v for v in truth["venues"]}
    rows = list(csv.DictReader((out / "seeds.csv").open(encoding="utf-8")))
    assert rows[0]["url"].endswith("/community-directory") and {"url", "beat", "note"} <= set(rows[0])
    assert [r["url"] for r in rows] == truth["seeds"]
    dist = {u: 0 for u in truth["seeds"]}
    queue = deque(truth["seeds"])
    while queue:
        u = queue.popleft()
        for nxt in by_url[u]["links_to"]:
            if nxt not in dist:
                dist[nxt] = dist[u] + 1
                queue.append(nxt)
    for v in truth["venues"]:
        if v["crawlable"] and v["status"] in ("live", "dormant") and not v["duplicate_of"]:
            assert dist.get(v["url"], 99) <= 3, v["url"]
    for v in truth["venues"]:
        for src in v["linked_from"]:
            assert v["url"] in by_url[src]["links_to"]


def test_hazards_and_robots_are_recorded(built):
    _, _, truth = built
    hz = truth["hazards"]
    kinds = {u["kind"] for u in hz["urls"]}
    assert kinds >= {"redirect-chain", "not-found", "server-error", "unavailable", "rate-limited", "slow",
                     "huge-page", "gzip-bomb", "wrong-charset", "missing-charset", "malformed-html",
                     "malformed-feed"}
    assert set(hz["robots"].values()) == {"disallow_all", "503", "timeout"}
    assert hz["traps"] and hz["session_ids"] and hz["login_walls"] and hz["host_redirects"] and hz["mirrors"]
    for host, mode in hz["robots"].items():
        assert truth["robots_disallow"][host] == ["/"], mode
        blocked = [v for v in truth["venues"] if v["host"] == host]
        assert blocked and not blocked[0]["crawlable"] and blocked[0]["uncrawlable_reason"]
    assert any("/members/" in d for d in truth["robots_disallow"].values())


def test_spec_urls_cover_posts(built):
    out, _, truth = built
    world = World.load(out)
    for v in world.venues:
        pages = set(venue_pages(v))
        tv = next(t for t in truth["venues"] if t["url"] == v.url)
        for p in tv["posts"]:
            assert p["page_url"] in pages, (v.platform, p["page_url"])


def test_worthing_builds_with_no_code_change(tmp_path):
    area = load_area_from_files(DATA / "boundaries" / "sussex_wards_2013.geojson", where={"lad_name": "Worthing"})
    result = build(tmp_path, seed=3, area=area, pages=800, as_of=AS_OF)
    truth = json.loads((tmp_path / "ground_truth.json").read_text(encoding="utf-8"))
    assert truth["area"]["name"] == "Worthing" and len(truth["area"]["beats"]) == 13
    assert truth["seeds"][0] == "http://council.worthing.example/community-directory"
    assert {v["homonym"] for v in truth["venues"] if v["distractor"]} >= {"Worthing", "Goring"}
    beats = {b["key"] for b in truth["area"]["beats"]}
    assert all(set(v["beats"]) <= beats for v in truth["venues"])
    assert result.crawlable_venues > 60
    with SampleWeb.start(tmp_path) as web:
        conn = http.client.HTTPConnection("127.0.0.1", web.base_port, timeout=10)
        pages = {}
        for url in truth["seeds"] + [v["url"] for v in truth["venues"] if v["crawlable"]][:20]:
            conn.request("GET", url)
            r = conn.getresponse()
            pages[url] = r.read().decode("utf-8")
            assert r.status == 200, url
        conn.close()
    assert "Worthing Council" in pages[truth["seeds"][0]]


def test_large_sizes_summarise_posts(area):
    spec = make_spec(area, seed=1, pages=FULL_TRUTH_MAX_PAGES * 4, as_of=AS_OF)
    assert sum(v["n_posts"] for v in spec["venues"]) > 50_000
    assert len(json.dumps(spec)) < 2_000_000  # the spec stays small: pages are rendered lazily


def test_too_small_is_refused(area):
    with pytest.raises(ValueError, match="at least 300"):
        make_spec(area, seed=1, pages=10, as_of=AS_OF)


def test_cli_build(tmp_path):
    out = tmp_path / "web"
    res = CliRunner().invoke(sampleweb_cli, ["build", "--seed", "2", "--out", str(out), "--pages", "600",
                                   "--as-of", "2026-11-01", "--where", "ward_code=E05002425",
                                   "--where", "lad_name=Brighton and Hove"])
    assert res.exit_code == 0, res.output
    assert "1 beats" in res.output and "ground_truth.json" in res.output
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    assert [b["key"] for b in truth["area"]["beats"]] == ["E05002425"]


def test_cli_errors_are_one_line(tmp_path):
    res = CliRunner().invoke(sampleweb_cli, ["build", "--out", str(tmp_path), "--where", "lad_name=Atlantis"])
    assert res.exit_code != 0 and "no beat" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(sampleweb_cli, ["build", "--out", str(tmp_path), "--where", "oops"])
    assert res.exit_code == 2 and "PROPERTY=VALUE" in res.output
    res = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path}/e.db", "init"])
    res = CliRunner().invoke(sampleweb_cli, ["--db", f"sqlite:///{tmp_path}/e.db", "build", "--out",
                                   str(tmp_path / "x"), "--from-db"])
    assert res.exit_code == 1 and "beats import" in res.output
    res = CliRunner().invoke(sampleweb_cli, ["serve", str(tmp_path / "nothing-here")])
    assert res.exit_code == 2


def test_builds_are_identical_across_processes_and_hash_seeds(built, tmp_path):
    import os
    import subprocess
    import sys

    out, _, _ = built
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-m", "sampleweb", "build", "--seed", "7", "--out", str(tmp_path),
                    "--pages", str(PAGES), "--as-of", AS_OF.isoformat()], check=True, env=env, cwd=ROOT,
                   capture_output=True, timeout=120)
    for name in ("site_spec.json", "ground_truth.json", "seeds.csv"):
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name
