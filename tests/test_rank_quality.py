"""The ranking quality gate: nDCG@10 and the dormant/distractor rules against a ground truth.

Two gates with the same pinned floors:

* on the demo database built by the real pipeline, the demo's own steps: the bundled area,
  the sample web served on loopback, the production crawler with tagging, then ranking;
* on a database synthesised here from a ground truth in the sample web's format over the
  real Brighton & Hove wards and gazetteer: local, city-wide, known-only, dormant, hijacked,
  duplicate, sensitive and homonym-distractor venues, with tagging noise (places of other
  beats, town names, unresolved and ambiguous mentions, wrong resolutions).
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from shapely.geometry import shape

from graph.quality import evaluate
from graph.rank import rank_all
from storage.db import make_engine, session_scope
from storage.ids import stable_id
from storage.models import Beat
from tests.test_graph_fixtures import Maker

ROOT = Path(__file__).resolve().parent.parent
WARDS = ROOT / "data" / "boundaries" / "brighton_and_hove_wards_2013.geojson"
GAZETTEER = ROOT / "data" / "gazetteer" / "sussex_fine_gazetteer_combined.csv"
AS_OF = datetime(2026, 6, 1)

# Pinned floors (issue 7). A drop below fails the tests.
NDCG_FLOOR = 0.9
SPECIFIC_TYPES = ("street", "landmark_near_bus_stop", "pub_bar_club", "area:neighbourhood",
                  "area:landmark", "area:park", "locality")
DISTRACTORS = (("Hanover (Germany) Stammtisch", "Hanover"), ("Preston Lancs Chat", "Preston"),
               ("Washington DC Neighbors", "Washington"), ("Westbourne Bournemouth", "Westbourne"))


def load_beats(m: Maker) -> dict[str, Beat]:
    beats = {}
    for f in json.loads(WARDS.read_text())["features"]:
        geom = shape(f["geometry"])
        minx, miny, maxx, maxy = geom.bounds
        c = geom.representative_point()
        key = f["properties"]["ward_code"]
        b = Beat(id=stable_id("beat", key), key=key, name=f["properties"]["ward_name"],
                 force="test", source=WARDS.name, geometry=f["geometry"], min_lat=miny,
                 min_lon=minx, max_lat=maxy, max_lon=maxx, centre_lat=c.y, centre_lon=c.x,
                 details=None, imported_at=AS_OF, updated_at=AS_OF)
        m.s.add(b)
        beats[key] = b
    m.s.flush()
    return beats


def load_places(m: Maker, beats: dict[str, Beat], rng: random.Random) -> dict[str, list]:
    rows = defaultdict(list)
    with GAZETTEER.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["ward_code_2013"] in beats and row["feature_type"] in SPECIFIC_TYPES:
                rows[row["ward_code_2013"]].append(row)
    places = {}
    for key, found in rows.items():
        seen, chosen = set(), []
        for row in sorted(found, key=lambda r: r["name"]):
            if row["name"] not in seen:
                seen.add(row["name"])
                chosen.append(row)
        rng.shuffle(chosen)
        places[key] = [m.place(r["name"], beats[key], r["feature_type"], lat=float(r["lat"]),
                               lon=float(r["lon"])) for r in chosen[:30]]
    return places


def synthesise(m: Maker, seed: int = 7) -> dict:
    """Fill the database and return the ground truth (sample web format) it was made from."""
    rng = random.Random(seed)
    beats = load_beats(m)
    places = load_places(m, beats, rng)
    keys = sorted(places)
    town = m.place("Brighton", beats[keys[0]], "geonames:P.PPL")
    for t in ("anti-social-behaviour", "burglary", "drugs", "vehicle-crime"):
        m.topic(t, safety=True)
    for t in ("events", "planning", "bins", "parks"):
        m.topic(t, safety=False)
    for k in keys[::3]:
        m.priority(beats[k], rng.choice(["anti-social-behaviour", "drugs", "burglary"]))
    truth: list[dict] = []

    def venue(key, name, beats_w, *, status="live", platform="wordpress", crawlable=True,
              distractor=False, duplicate_of=None, sensitive=False):
        v = m.venue(key, name, platform=platform, crawlable=crawlable, status="unknown",
                    sensitive=sensitive)
        truth.append({"id": key, "url": v.url, "name": name, "platform": platform,
                      "crawlable": crawlable, "beats": beats_w, "status": status,
                      "distractor": distractor, "duplicate_of": duplicate_of,
                      "sensitive": sensitive})
        return v

    def posts(v, beats_w, n, *, days=(0, 150), authors=6, safety=0.3, noise=0.12):
        bk = sorted(beats_w)
        for _ in range(n):
            b = rng.choices(bk, weights=[beats_w[k] for k in bk])[0] if bk else None
            mentions = []
            if b:
                mentions += rng.sample(places[b], rng.randint(1, 3))
            if rng.random() < noise:
                mentions.append(rng.choice(places[rng.choice(keys)]))
            if rng.random() < 0.25:
                mentions.append(town)
            if rng.random() < 0.2:
                mentions.append((None, {"surface": "the shops"}))
            topics = [rng.choice(["anti-social-behaviour", "burglary", "drugs", "vehicle-crime"])
                      ] if rng.random() < safety else []
            if rng.random() < 0.5:
                topics.append(rng.choice(["events", "planning", "bins", "parks"]))
            m.post(v, days_ago=rng.uniform(*days), author=f"{v.key}-{rng.randint(1, authors)}",
                   places=mentions, topics=topics)

    local: dict[str, list] = defaultdict(list)
    for i, k in enumerate(keys):
        slug = k.lower()
        ra = venue(f"ra-{slug}.example", f"{beats[k].name} Residents Association", {k: 1.0})
        posts(ra, {k: 1.0}, rng.randint(25, 50), authors=8)
        lat = venue(f"lat-{slug}.example", f"{beats[k].name} Local Action Team", {k: 1.0},
                    platform="phpbb")
        posts(lat, {k: 1.0}, rng.randint(8, 25), authors=5, safety=0.5)
        nb = keys[(i + 1) % len(keys)]
        blog_w = {k: 0.7, nb: 0.3}
        blog = venue(f"blog-{slug}.example", f"Around {beats[k].name}", blog_w,
                     platform="blogger")
        posts(blog, blog_w, rng.randint(6, 20), authors=2)
        fb = venue(f"facebook.com/groups/{slug}", f"{beats[k].name} Community Facebook group",
                   {k: 1.0}, platform="facebook", crawlable=False)
        old = venue(f"old-{slug}.example", f"{beats[k].name} News (old)", {k: 1.0},
                    status="dormant")
        posts(old, {k: 1.0}, rng.randint(15, 40), days=(420, 1500), authors=4)
        local[k] = [ra, lat, blog, fb]
        m.link(ra, fb, 2)
        m.link(blog, fb)
        m.link(lat, ra)
        m.link(blog, ra)
        m.link(ra, old)
        if i % 4 == 0:
            hij = venue(f"hijacked-{slug}.example", f"{beats[k].name} Society", {k: 1.0},
                        status="hijacked")
            posts(hij, {k: 1.0}, 20, days=(500, 900))
            posts(hij, {}, 30, days=(0, 60), safety=0.0)
            m.s.get(type(hij), hij.id).status = "hijacked"  # as the crawler's spam check sets
        if i % 5 == 1:
            faith = venue(f"church-{slug}.example", f"{beats[k].name} Parish Church", {k: 1.0},
                          sensitive=True)
            posts(faith, {k: 1.0}, 15)
        if i == 2:
            dup = venue(f"www.ra-{slug}.example", ra.name, {k: 1.0}, duplicate_of=ra.url)
            posts(dup, {k: 1.0}, 10)
    citywide = []
    for j, (name, platform) in enumerate((("Brighton Forum", "phpbb"), ("r/brighton", "reddit"),
                                          ("Brighton News Blog", "wordpress"),
                                          ("Brighton & Hove Discourse", "discourse"),
                                          ("Hove Chat", "xenforo"), ("City Events", "ghost"))):
        raw = {k: rng.random() + 0.2 for k in keys}
        total = sum(raw.values())
        weights = {k: round(w / total, 4) for k, w in raw.items()}
        v = venue(f"city{j}.example", name, weights, platform=platform)
        posts(v, weights, rng.randint(150, 250), authors=40, safety=0.35)
        citywide.append(v)
        for k in rng.sample(keys, 6):
            m.link(v, local[k][0])
    for j, (name, homonym) in enumerate(DISTRACTORS):
        v = venue(f"distractor{j}.example", name, {}, distractor=True, platform="discourse")
        for _ in range(40):
            mentions = [(None, {"surface": homonym}), (None, {"surface": "Hauptstrasse"})]
            if rng.random() < 0.3:  # the tagger sometimes keeps a local homonym, as ambiguous
                mentions.append((rng.choice(places[rng.choice(keys)]),
                                 {"ambiguous": True, "confidence": 0.4}))
            if rng.random() < 0.05:  # and rarely resolves one outright by mistake
                mentions.append((rng.choice(places[rng.choice(keys)]), {"confidence": 0.6}))
            m.post(v, days_ago=rng.uniform(0, 90), author=f"d{j}-{rng.randint(1, 9)}",
                   places=mentions, topics=["events"])
        m.link(citywide[2], v)
    return {"as_of": AS_OF.date().isoformat(), "venues": truth}


def assert_gate(report) -> None:
    detail = json.dumps({"per_beat": report.per_beat, "dormant": report.dormant_in_top5,
                         "distractors": report.distractor_in_top10}, indent=1)
    assert report.mean_ndcg >= NDCG_FLOOR, f"mean nDCG@10 {report.mean_ndcg} < floor\n{detail}"
    assert not report.dormant_in_top5, f"dormant venues in a top 5: {report.dormant_in_top5}"
    assert not report.distractor_in_top10, f"distractors in a top 10: {report.distractor_in_top10}"


@pytest.mark.slow
def test_quality_gate_on_synthesised_database(sqlite_db):
    engine = make_engine(sqlite_db)
    try:
        with session_scope(engine) as s:
            truth = synthesise(Maker(s, AS_OF))
        with session_scope(engine) as s:
            stats = rank_all(s, as_of=AS_OF)
            assert stats.beats == 21
            report = evaluate(s, truth)
    finally:
        engine.dispose()
    assert len(report.per_beat) == 21 and report.unmatched == 0
    assert_gate(report)


def build_demo_database(url: str, web_dir: Path, *, seed: int = 7) -> dict:
    """The demo's own steps (``sampleweb.demo.run``), without printing: import the bundled area,
    build and serve the sample web, seed and crawl it with the production crawler (tagging in
    the crawl). Returns the sample web's ground truth."""
    from crawler.run import run_crawl
    from crawler.seeds import add_seeds, read_seed_file
    from geo.demo import import_default_area
    from sampleweb.generate import DEMO_PAGES, GROUND_TRUTH_FILE, build
    from sampleweb.server import SampleWeb
    from storage.config import Config
    from storage.db import init_db, open_engine

    init_db(url)
    engine = open_engine(url)
    try:
        with session_scope(engine) as s:
            import_default_area(s)
        build(web_dir, seed=seed, pages=DEMO_PAGES)
        with SampleWeb.start(web_dir) as web:
            with session_scope(engine) as s:
                add_seeds(s, read_seed_file(web_dir / "seeds.csv"), source="test")
            config = Config.load({"db": url}, environ={}).replace(
                proxy=web.proxy_url, allow_private_hosts="127.0.0.1",
                contact_url="http://127.0.0.1/beatmap-test", download_delay=0.0,
                crawl_purpose="ranking quality gate on the synthetic sample web",
                crawl_delay_cap=0.0)
            run_crawl(config, purpose=config.crawl_purpose)
        with session_scope(engine) as s:
            from storage.sensitive import flag_sensitive

            flag_sensitive(s)
    finally:
        engine.dispose()
    return json.loads((web_dir / GROUND_TRUTH_FILE).read_text(encoding="utf-8"))


@pytest.mark.slow
def test_quality_gate_on_demo_pipeline(tmp_path):
    """The same floors on the database the real crawl and tagging build from the sample web."""
    try:
        import crawler.run  # noqa: F401
        import geo.demo  # noqa: F401
        import sampleweb.server  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the crawl pipeline is not importable here: {exc}")
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    truth = build_demo_database(url, tmp_path / "sampleweb")
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            # The sample web dates its posts up to its as_of day (today, UTC): rank as of now.
            rank_all(s)
            report = evaluate(s, truth)
    finally:
        engine.dispose()
    assert len(report.per_beat) == 21, report.per_beat
    assert_gate(report)
    _exports_hold_no_handle(url, tmp_path, truth.get("planted_handle"))


def _exports_hold_no_handle(url: str, tmp_path: Path, handle: str | None) -> None:
    """The sample web plants one author's handle in its pages; no export may carry it."""
    if not handle:
        return
    import openpyxl

    from beatmap.export import FORMATS, export

    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            for fmt in FORMATS:
                export(s, fmt, tmp_path / f"all.{fmt}", reason="quality gate")
    finally:
        engine.dispose()
    for fmt in FORMATS:
        path = tmp_path / f"all.{fmt}"
        if fmt == "xlsx":
            wb = openpyxl.load_workbook(path)
            text = " ".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows()
                            for c in row if c.value is not None)
        else:
            text = path.read_text(encoding="utf-8-sig")
        assert handle.lower() not in text.lower(), f"author handle found in the {fmt} export"
