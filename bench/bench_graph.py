"""Graph build and ranking time as the database grows: demo size up to 10k venues / 1M posts.

Each database is synthesised with bulk inserts straight into SQLite (in a temporary folder)
after ``init_db`` made the real schema: beats, places, postcodes, venues, posts with
pseudonymous authors over two years, place mentions, topics, beat priorities, links, outreach.
Then ``rank_all`` runs as ``beatmap rank`` would, and one beat's list is read back.
"""

from __future__ import annotations

import json
import random
import resource
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from graph.build import build_graph
from graph.queries import beat_ranking
from graph.rank import rank_all
from storage.db import init_db, make_engine, session_scope

AS_OF = datetime(2026, 6, 1)
# (label, beats, venues, posts). The last is the 10k-venue / 1M-post case.
SIZES = (("demo", 21, 250, 5_000), ("10x", 60, 2_000, 100_000),
         ("10k venues / 1M posts", 120, 10_000, 1_000_000))
PLACES_PER_BEAT = 60
POSTCODES_PER_BEAT = 12
TS = "%Y-%m-%d %H:%M:%S.%f"
FEATURES = ("street", "street", "landmark_near_bus_stop", "pub_bar_club", "area:neighbourhood",
            "geonames:P.PPL")
TOPICS = (("anti-social-behaviour", 1), ("burglary", 1), ("drugs", 1), ("vehicle-crime", 1),
          ("events", 0), ("planning", 0), ("bins", 0), ("parks", 0))


def _ts(value: datetime) -> str:
    return value.strftime(TS)


def _insert(con: sqlite3.Connection, table: str, columns: str, rows: list[tuple]) -> None:
    names = columns.split()
    # Table and column names are this module's constants, never input: no injection path.
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"  # noqa: S608
    con.executemany(sql, rows)


def synthesise(path: Path, n_beats: int, n_venues: int, n_posts: int, seed: int = 1) -> dict:
    """Fill the SQLite database at ``path`` (schema already there); returns row counts."""
    rng = random.Random(seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    now = _ts(AS_OF)
    beats = []
    for b in range(n_beats):
        lon, lat = -0.3 + (b % 12) * 0.02, 50.8 + (b // 12) * 0.02
        ring = [[lon, lat], [lon + 0.02, lat], [lon + 0.02, lat + 0.02], [lon, lat + 0.02],
                [lon, lat]]
        geom = json.dumps({"type": "Polygon", "coordinates": [ring]})
        beats.append((b + 1, f"B{b:04d}", f"Beat {b}", "bench", "bench", geom, lat, lon,
                      lat + 0.02, lon + 0.02, lat + 0.01, lon + 0.01, None, now, now))
    _insert(con, "beats", "id key name force source geometry min_lat min_lon max_lat max_lon "
            "centre_lat centre_lon details imported_at updated_at", beats)
    places, codes = [], []
    for b in range(n_beats):
        lat, lon = beats[b][10], beats[b][11]
        for p in range(PLACES_PER_BEAT):
            pid = b * PLACES_PER_BEAT + p + 1
            places.append((pid, f"Place {b}-{p}", f"place {b} {p}", "[]", FEATURES[p % 6],
                           lat + rng.uniform(-0.009, 0.009), lon + rng.uniform(-0.009, 0.009),
                           b + 1, None, None, 0.0, 0, "bench", str(pid)))
        for c in range(POSTCODES_PER_BEAT):
            codes.append((f"BN{b} {c}AA", f"BN{b}", lat, lon, 10, b + 1))
    _insert(con, "places", "id name norm_name alt_names feature_type lat lon beat_id locality "
            "district prominence coarse source source_id", places)
    _insert(con, "postcodes", "postcode outcode lat lon quality beat_id", codes)
    _insert(con, "topics", "key label category safety",
            [(k, k, "crime" if s else "community", s) for k, s in TOPICS])
    _insert(con, "beat_topics", "beat_id topic weight source detail",
            [(b + 1, TOPICS[b % 4][0], 1.0, "bench", None) for b in range(n_beats)])
    venues, home = [], []
    for v in range(n_venues):
        crawlable = rng.random() > 0.15
        status = "dormant" if rng.random() < 0.05 else "live"
        venues.append((v + 1, f"v{v}.example", "wordpress" if crawlable else "facebook",
                       f"Venue {v}", None, f"https://v{v}.example/", f"v{v}.example", crawlable,
                       None, "candidate", status, 0, None, None, None, 0, "bench", 1, None, now,
                       None, None, None, now))
        home.append(rng.randrange(n_beats))
    _insert(con, "venues", "id key platform name description url host crawlable "
            "known_only_reason state status sensitive sensitive_reason contact member_count "
            "post_count discovered_via depth merged_into_id first_seen_at last_post_at "
            "last_crawled_at revisit_after updated_at", venues)
    # Bulk load without the secondary indexes, then build them once (as a restore would).
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS "
                          "NOT NULL AND tbl_name IN ('posts', 'place_mentions', "
                          "'post_topics')").fetchall()
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')
    counts = _posts(con, rng, n_posts, n_venues, n_beats, home,
                    [v[7] for v in venues], [v[10] for v in venues])
    for _, sql in indexes:
        con.execute(sql)
    links = {(rng.randrange(n_venues) + 1, rng.randrange(n_venues) + 1)
             for _ in range(n_venues * 5)}
    _insert(con, "links", "src_venue_id dst_venue_id count anchor_text example_url "
            "first_seen_at last_seen_at",
            [(a, b, rng.randint(1, 4), None, None, now, now) for a, b in links if a != b])
    _insert(con, "outreach", "id venue_id beat_id user_id status note revisit_on created_at",
                    [(i + 1, rng.randrange(n_venues) + 1, None, None,
                      rng.choice(("approached", "engaged", "declined")), None, None, now)
                     for i in range(n_venues // 20)])
    con.commit()
    con.close()
    return dict(counts, beats=n_beats, venues=n_venues, links=len(links))


def _posts(con, rng, n_posts, n_venues, n_beats, home, crawlable, status) -> dict:
    """Posts, mentions and topics in batches; heavy-tailed posts per venue like real groups."""
    weights = [rng.paretovariate(1.3) if crawlable[v] else 0.0 for v in range(n_venues)]
    owners = rng.choices(range(n_venues), weights=weights, k=n_posts)
    # Pools of formatted timestamps: strftime a million times would dominate the load.
    recent_pool = [_ts(AS_OF - timedelta(days=rng.expovariate(1 / 120))) for _ in range(20_000)]
    old_pool = [_ts(AS_OF - timedelta(days=rng.uniform(400, 900))) for _ in range(5_000)]
    n_mentions = n_topics = 0
    batch_p, batch_m, batch_t = [], [], []
    for i, v in enumerate(owners):
        pool = old_pool if status[v] == "dormant" else recent_pool
        published = pool[int(rng.random() * len(pool))]
        pid = i + 1
        batch_p.append((pid, f"p{pid}", v + 1, None, f"https://v{v}.example/p/{pid}", None,
                        "text", published, f"a{v}-{rng.randrange(12)}", None, None, published,
                        published, None))
        beat = home[v] if rng.random() < 0.85 else rng.randrange(n_beats)
        for j in range(rng.choice((0, 1, 1, 2, 2, 3))):
            if rng.random() < 0.15:
                code = f"BN{beat} {rng.randrange(POSTCODES_PER_BEAT)}AA"
                batch_m.append((pid * 4 + j, pid, "postcode", code, j, j + 5, None, code,
                                beat + 1, 1.0, 0))
            else:
                place = beat * PLACES_PER_BEAT + rng.randrange(PLACES_PER_BEAT) + 1
                batch_m.append((pid * 4 + j, pid, "place", "x", j, j + 5, place, None, beat + 1,
                                rng.choice((1.0, 0.8)), 0))
        for topic in rng.sample(TOPICS, rng.choice((0, 0, 1, 1, 2)))[:2]:
            batch_t.append((pid, topic[0], 1))
        if len(batch_p) >= 50_000 or i == len(owners) - 1:
            _insert(con, "posts", "id post_fp venue_id page_id url title text published_at "
                    "author_key thread board created_at tagged_at purged_at", batch_p)
            _insert(con, "place_mentions", 'id post_id kind surface start "end" place_id '
                    "postcode beat_id confidence ambiguous", batch_m)
            _insert(con, "post_topics", "post_id topic count", batch_t)
            n_mentions += len(batch_m)
            n_topics += len(batch_t)
            batch_p, batch_m, batch_t = [], [], []
    return {"posts": len(owners), "mentions": n_mentions, "post_topics": n_topics}


def measure(label: str, n_beats: int, n_venues: int, n_posts: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="beatmap-bench-graph-") as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        init_db(url)
        started = time.perf_counter()
        counts = synthesise(path, n_beats, n_venues, n_posts)
        generated = time.perf_counter() - started
        engine = make_engine(url)
        try:
            with session_scope(engine) as s:
                # The graph alone (rank_all builds it again and reports that build apart).
                t0 = time.perf_counter()
                G = build_graph(s, as_of=AS_OF, topics=False) if n_posts <= 100_000 else None
                build = time.perf_counter() - t0 if G is not None else None
                del G
            with session_scope(engine) as s:
                # Wall clock and this process's CPU time: SQLite runs in-process, so CPU time
                # is the cost without the other load of a shared machine.
                t0, c0 = time.perf_counter(), time.process_time()
                stats = rank_all(s, as_of=AS_OF)
                rank, rank_cpu = time.perf_counter() - t0, time.process_time() - c0
            with session_scope(engine) as s:
                t0 = time.perf_counter()
                rows = beat_ranking(s, "B0000")
                query = time.perf_counter() - t0
        finally:
            engine.dispose()
    return {"size": label, **counts, "graph_nodes": stats.graph_nodes,
            "graph_edges": stats.graph_edges, "generate_s": round(generated, 1),
            "build_graph_no_topics_s": round(build, 2) if build is not None else None,
            "rank_all_s": round(rank, 2), "rank_all_cpu_s": round(rank_cpu, 2),
            "rank_build_part_s": stats.build_seconds,
            "rank_score_part_s": stats.score_seconds, "rank_write_part_s": stats.write_seconds,
            "scores_written": stats.rows, "beat_query_ms": round(query * 1000, 1),
            "beat_rows": len(rows),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def run(results: dict) -> None:
    results["sizes"] = []
    for label, beats, venues, posts in SIZES:
        figures = measure(label, beats, venues, posts)
        print(figures, flush=True)
        results["sizes"].append(figures)
    small, large = results["sizes"][0], results["sizes"][-1]
    results["rank_growth_posts_x"] = round(large["posts"] / small["posts"])
    results["rank_growth_time_x"] = round(large["rank_all_s"] / max(small["rank_all_s"], 1e-3), 1)
