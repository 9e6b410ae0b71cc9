"""Synthetic, seeded data for the web UI's tests and benchmark: the bundled Brighton & Hove
wards as beats, real local place names, and made-up venues with scores, posts and outreach.

The real pipeline (crawl → tag → rank) fills the same tables; this builds them directly and
fast (bulk inserts), so page tests and the 10k-venue benchmark need no crawl.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from storage.db import utcnow
from storage.ids import stable_id
from storage.models import (
    Beat,
    CrawlRun,
    LedgerEntry,
    Link,
    Outreach,
    Place,
    PlaceMention,
    Post,
    PostTopic,
    Seed,
    Topic,
    Venue,
    VenueScore,
)

ROOT = Path(__file__).resolve().parent.parent
WARDS = ROOT / "data" / "boundaries" / "brighton_and_hove_wards_2013.geojson"
AREA_NAMES = ROOT / "data" / "gazetteer" / "brighton_and_hove_area_names_curated.csv"
PLATFORMS = ("wordpress", "phpbb", "discourse", "reddit", "blogger", "facebook", "nextdoor",
             "mastodon", "telegram")
KNOWN_ONLY = {"facebook", "nextdoor", "telegram"}
TOPICS = (("anti-social-behaviour", "Anti-social behaviour", "crime", True),
          ("burglary", "Burglary", "crime", True),
          ("vehicle-crime", "Vehicle crime", "crime", True),
          ("drugs", "Drugs", "crime", True),
          ("parking", "Parking", "community", False),
          ("litter", "Litter and fly-tipping", "community", False),
          ("events", "Community events", "community", False))
KINDS = ("Residents' Association", "Community Forum", "Neighbourhood Watch", "Local News",
         "Friends of the Park", "Traders Group", "Allotment Society", "Parents Network")
HOSTILE = ('<script>alert("x")</script>', '"><img src=x onerror=alert(1)>',
           "' onmouseover='alert(2)", "=HYPERLINK(\"http://evil.example\",\"click\")")
POSTS_PER_VENUE = 6


@dataclass
class SampleInfo:
    beat_keys: list[str] = field(default_factory=list)
    venue_ids: list[int] = field(default_factory=list)
    sensitive_ids: list[int] = field(default_factory=list)
    hostile_ids: list[int] = field(default_factory=list)


def _wards() -> list[dict]:
    return json.loads(WARDS.read_text(encoding="utf-8"))["features"]


def _bbox(geometry: dict) -> tuple[float, float, float, float]:
    def points(c):
        if isinstance(c[0], (int, float)):
            yield c
        else:
            for x in c:
                yield from points(x)
    pts = list(points(geometry["coordinates"]))
    lons, lats = [p[0] for p in pts], [p[1] for p in pts]
    return min(lats), min(lons), max(lats), max(lons)


def _areas() -> dict[str, list[tuple[str, float, float]]]:
    out: dict[str, list[tuple[str, float, float]]] = {}
    with AREA_NAMES.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["ward_code_2013"], []).append(
                (row["name"], float(row["lat"]), float(row["lon"])))
    return out


def build_sample(engine: Engine, *, venues: int = 300, seed: int = 7, hostile: bool = False,
                 now: datetime | None = None) -> SampleInfo:
    """Fill an initialised, empty database with beats and ``venues`` scored venues."""
    rng = random.Random(seed)
    now = now or utcnow()
    info = SampleInfo()
    areas = _areas()
    beat_rows, place_rows, beat_places = [], [], {}
    for ward in _wards():
        props, geom = ward["properties"], ward["geometry"]
        min_lat, min_lon, max_lat, max_lon = _bbox(geom)
        bid = stable_id("beat", props["ward_code"])
        beat_rows.append({"id": bid, "key": props["ward_code"], "name": props["ward_name"],
                          "force": "sussex", "source": WARDS.name, "geometry": geom,
                          "min_lat": min_lat, "min_lon": min_lon, "max_lat": max_lat,
                          "max_lon": max_lon, "centre_lat": (min_lat + max_lat) / 2,
                          "centre_lon": (min_lon + max_lon) / 2, "details": None,
                          "imported_at": now, "updated_at": now})
        info.beat_keys.append(props["ward_code"])
        names = areas.get(props["ward_code"]) or [(props["ward_name"], (min_lat + max_lat) / 2,
                                                    (min_lon + max_lon) / 2)]
        beat_places[bid] = []
        for name, lat, lon in names:
            pid = stable_id("place", props["ward_code"], name)
            place_rows.append({"id": pid, "name": name, "norm_name": name.lower(),
                               "alt_names": [], "feature_type": "area:neighbourhood",
                               "lat": lat, "lon": lon, "beat_id": bid, "locality": None,
                               "district": "Brighton and Hove", "prominence": 0.5,
                               "coarse": False, "source": "sample", "source_id": pid})
            beat_places[bid].append((pid, name, lat, lon))
    beat_ids = [b["id"] for b in beat_rows]
    rows: dict[type, list[dict]] = {m: [] for m in (Venue, VenueScore, Post, PlaceMention,
                                                   PostTopic, Link, Outreach, Seed)}
    for i in range(venues):
        _venue(rng, i, now, beat_ids, beat_places, rows, info, hostile=hostile)
    _links(rng, info.venue_ids, now, rows)
    _rank(rows[VenueScore])
    runs, ledger = _runs(now)
    with Session(engine) as session:
        session.execute(insert(Beat), beat_rows)
        session.execute(insert(Place), place_rows)
        session.execute(insert(Topic), [{"key": k, "label": lab, "category": c, "safety": s}
                                        for k, lab, c, s in TOPICS])
        for model in (Venue, Seed, VenueScore, Post, PlaceMention, PostTopic, Link, Outreach):
            for start in range(0, len(rows[model]), 5000):
                session.execute(insert(model), rows[model][start:start + 5000])
        session.execute(insert(CrawlRun), runs)
        session.execute(insert(LedgerEntry), ledger)
        session.commit()
    return info


def _venue(rng: random.Random, i: int, now: datetime, beat_ids: list[int],
           beat_places: dict, rows: dict, info: SampleInfo, *, hostile: bool) -> None:
    home = beat_ids[i % len(beat_ids)]
    pid, place, lat, lon = rng.choice(beat_places[home])
    platform = rng.choice(PLATFORMS)
    key = f"venue{i}.sample.test"
    vid = stable_id("venue", key)
    name = f"{place} {rng.choice(KINDS)}"
    description = f"News and chat for people living around {place}."
    status = rng.choices(("live", "dormant", "gone"), weights=(85, 10, 5))[0]
    sensitive = i % 50 == 7
    if sensitive:
        name = f"{place} Mosque Community Group"
        info.sensitive_ids.append(vid)
    reason_extra = ""
    if hostile and i % 10 == 3:
        bad = HOSTILE[(i // 10) % len(HOSTILE)]
        # A formula must open the cell to be one: put that one first.
        name = bad if bad.startswith("=") else f"{place} {bad}"
        description, reason_extra = f"About {bad}", f" {bad}"
        info.hostile_ids.append(vid)
    first_seen = now - timedelta(days=rng.randint(0, 400))
    last_post = now - timedelta(days=rng.randint(1, 40 if status == "live" else 400))
    contact = {"email": f"hello@venue{i}.sample.test",
               "contact_page": f"https://venue{i}.sample.test/contact"}
    if hostile and i % 10 == 3:
        contact = {"email": "x@y.test", "contact_page": "javascript:alert(3)"}
    rows[Venue].append({
        "id": vid, "key": key, "platform": platform, "name": name, "description": description,
        "url": f"https://venue{i}.sample.test/" if not (hostile and i % 10 == 3)
        else "javascript:alert(4)",
        "host": f"venue{i}.sample.test", "crawlable": platform not in KNOWN_ONLY,
        "known_only_reason": "terms forbid crawling" if platform in KNOWN_ONLY else None,
        "state": rng.choices(("candidate", "in", "undecided"), weights=(60, 30, 10))[0],
        "status": status, "sensitive": sensitive,
        "sensitive_reason": "faith: mosque" if sensitive else None, "contact": contact,
        "member_count": rng.randint(20, 4000), "post_count": POSTS_PER_VENUE,
        "discovered_via": "link" if i % 3 else "seed", "depth": i % 3,
        "merged_into_id": None, "first_seen_at": first_seen, "last_post_at": last_post,
        "last_crawled_at": now - timedelta(days=1), "revisit_after": None, "updated_at": now})
    info.venue_ids.append(vid)
    if i % 3 == 0:
        rows[Seed].append({"id": stable_id("seed", key), "url": f"https://{key}/",
                           "beat_id": home, "note": None, "source": "sample", "venue_id": vid,
                           "created_at": first_seen})
    topics = rng.sample([t[0] for t in TOPICS], k=2)
    served = [home] + rng.sample([b for b in beat_ids if b != home], k=rng.randint(0, 2))
    for j, beat in enumerate(served):
        bpid, bplace, blat, blon = rng.choice(beat_places[beat])
        parts = [round(rng.random() * (1.0 if j == 0 else 0.4), 4) for _ in range(4)]
        feedback = 0.0
        score = round(0.4 * parts[0] + 0.25 * parts[1] + 0.2 * parts[2] + 0.15 * parts[3], 4)
        posts = rng.randint(1, 60)
        rows[VenueScore].append({
            "venue_id": vid, "beat_id": beat, "rank": 0, "score": score,
            "locality": parts[0], "activity": parts[1], "reach": parts[2], "topical": parts[3],
            "feedback": feedback,
            "reason": f"mentions {bplace} in {posts} posts this quarter; linked from "
                      f"{rng.randint(0, 5)} local venues{reason_extra}",
            "evidence": {"places": [[bplace, posts]] + ([[place, 2]] if place != bplace else []), "topics": [[t, 3] for t in topics],
                         "posts_90d": posts, "lat": blat + rng.uniform(-0.002, 0.002),
                         "lon": blon + rng.uniform(-0.002, 0.002)},
            "computed_at": now})
    for k in range(POSTS_PER_VENUE):
        post_id = stable_id("post", key, k)
        rows[Post].append({"id": post_id, "post_fp": f"{key}#{k}", "venue_id": vid,
                           "page_id": None, "url": f"https://{key}/p/{k}", "title": f"Post {k}",
                           "text": f"Anyone else seen the trouble near {place}?",
                           "published_at": now - timedelta(days=rng.randint(0, 700)),
                           "author_key": None, "thread": None, "board": None,
                           "created_at": now, "tagged_at": now, "purged_at": None})
        rows[PlaceMention].append({"id": stable_id("pm", post_id), "post_id": post_id,
                                   "kind": "place", "surface": place, "start": 30,
                                   "end": 30 + len(place), "place_id": pid, "postcode": None,
                                   "beat_id": home, "confidence": 0.9, "ambiguous": False})
        rows[PostTopic].append({"post_id": post_id, "topic": topics[k % 2], "count": 1})
    if rng.random() < 0.15:
        rows[Outreach].append({"id": stable_id("outreach", key), "venue_id": vid,
                               "beat_id": home, "user_id": None,
                               "status": rng.choice(("approached", "engaged", "declined")),
                               "note": "met the chair at the summer fair", "revisit_on": None,
                               "created_at": now - timedelta(days=rng.randint(1, 60))})


def _links(rng: random.Random, venue_ids: list[int], now: datetime, rows: dict) -> None:
    seen = set()
    for src in venue_ids:
        for dst in rng.sample(venue_ids, k=min(3, len(venue_ids))):
            if src != dst and (src, dst) not in seen:
                seen.add((src, dst))
                rows[Link].append({"src_venue_id": src, "dst_venue_id": dst,
                                   "count": rng.randint(1, 9), "anchor_text": "our neighbours",
                                   "example_url": None, "first_seen_at": now - timedelta(days=90),
                                   "last_seen_at": now})


def _rank(scores: list[dict]) -> None:
    by_beat: dict[int, list[dict]] = {}
    for row in scores:
        by_beat.setdefault(row["beat_id"], []).append(row)
    for rows in by_beat.values():
        rows.sort(key=lambda r: (-r["score"], r["venue_id"]))
        for rank, row in enumerate(rows, start=1):
            row["rank"] = rank


def _runs(now: datetime) -> tuple[list[dict], list[dict]]:
    """Two past crawl runs (one finished, one failed) and a few failed fetches."""
    finished, failed = stable_id("run", 1), stable_id("run", 2)
    runs = [
        {"id": finished, "started_at": now - timedelta(days=2), "status": "finished",
         "finished_at": now - timedelta(days=2) + timedelta(minutes=14),
         "purpose": "map local community venues for neighbourhood engagement",
         "actor": "cli:analyst", "mode": "single", "config": {"max_pages": 50000},
         "stats": {"progress": {"pages": 4210, "posts": 9876, "venues": 312, "errors": 17,
                                "blocked": 42, "elapsed": 840.0},
                   "fetch/error/Timeout": 17, "robots/disallowed": 40, "fetch/blocked/ssrf": 2,
                   "downloader/request_count": 4300}},
        {"id": failed, "started_at": now - timedelta(hours=5), "status": "failed",
         "finished_at": now - timedelta(hours=5) + timedelta(minutes=1),
         "purpose": "refresh Hanover venues", "actor": "analyst1", "mode": "single",
         "config": {}, "stats": {"progress": {"pages": 12, "errors": 3},
                                 "fetch/error/ConnectionRefused": 3}}]
    ledger = [{"url_fp": f"fp{i}", "url": f"https://down{i}.sample.test/", "venue_id": None,
               "state": "failed", "lease_owner": None, "lease_expires_at": None, "attempts": 3,
               "last_error": "connection refused", "http_status": None, "depth": 1,
               "priority": 0.0, "discovered_at": now - timedelta(hours=6),
               "fetched_at": now - timedelta(hours=5), "next_fetch_at": None, "run_id": failed,
               "etag": None, "last_modified": None} for i in range(3)]
    return runs, ledger
