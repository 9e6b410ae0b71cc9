"""Ranking: hand-worked values, a slow reference implementation, curation, flags and storage."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import timedelta

import networkx as nx
import pytest
from networkx.algorithms.link_analysis.pagerank_alg import _pagerank_python
from sqlalchemy import func, select

from graph import parts
from graph.build import specificity
from graph.queries import beat_ranking, beats_overview, resolve_beat, venue_detail
from graph.rank import FEEDBACK_VALUES, MIN_LOCALITY, WEIGHTS, combine, rank_all
from storage.db import make_engine, session_scope
from storage.models import (
    Link,
    Outreach,
    Place,
    PlaceMention,
    Post,
    Postcode,
    PostTopic,
    Seed,
    Topic,
    Venue,
    VenueScore,
)
from tests.test_graph_fixtures import AS_OF, Maker, small_world


@pytest.fixture
def engine(sqlite_db):
    engine = make_engine(sqlite_db)
    yield engine
    engine.dispose()


def test_hand_worked_single_venue(engine):
    """One venue, three posts in the last week by three people, each naming one street."""
    with session_scope(engine) as s:
        m = Maker(s)
        b = m.beat("B1", "Beat one")
        street = m.place("Ditchling Road", b, "street")
        v = m.venue("ditchling.example", "Ditchling Rise Residents")
        for i, days in enumerate((1, 3, 5)):
            m.post(v, days_ago=days, author=f"p{i}", places=[street])
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
    with session_scope(engine) as s:
        (row,) = beat_ranking(s, "B1")
    # locality: all 3 units of evidence in the beat; volume 1 - e^(-3/3)
    locality = 1.0 * (0.4 + 0.6 * (1 - math.exp(-1)))
    # activity: .45 * ln4/ln31 + .30 * ln4/ln11 + .25 * 0.5^(1/45) (last post a day ago)
    activity = (0.45 * math.log(4) / math.log(31) + 0.30 * math.log(4) / math.log(11)
                + 0.25 * 0.5 ** (1 / 45))
    assert row["locality"] == pytest.approx(locality, abs=1e-4)
    assert row["activity"] == pytest.approx(activity, abs=1e-4)
    assert row["reach"] == 0 and row["topical"] == 0 and row["feedback"] == 0.5
    expected = 0.35 * locality + 0.20 * activity + 0.15 * 0.5
    assert row["score"] == pytest.approx(expected, abs=1e-4)
    assert row["score"] == pytest.approx(0.4680, abs=1e-4)
    assert row["reason"] == "mentions Ditchling Road in 3 posts this quarter"
    assert row["posts_90d"] == 3 and row["places"] == ["Ditchling Road"]


def test_weights_sum_to_one_and_combine():
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    half = dict.fromkeys(WEIGHTS, 0.5)
    assert combine(half, state="candidate", flags=[]) == pytest.approx(0.5)
    assert combine(half, state="in", flags=[]) == pytest.approx(0.6)
    assert combine(half, state="candidate", flags=["hijacked"]) == pytest.approx(0.025)
    assert combine(half, state="candidate", flags=["known-only", "sensitive"]) == 0.5
    # Below LOCALITY_GATE (0.3) the other parts count in proportion: .35*.15 + .5*.65*.5
    assert combine(dict(half, locality=0.15), state="candidate", flags=[]) == pytest.approx(0.215)
    assert combine(half, state="candidate", flags=[], outreach="declined") == pytest.approx(0.3)


def test_small_world_order_and_rules(engine):
    with session_scope(engine) as s:
        w = small_world(Maker(s))
    with session_scope(engine) as s:
        stats = rank_all(s, as_of=AS_OF)
        assert stats.beats == 2
    with session_scope(engine) as s:
        rows = beat_ranking(s, "Hanover and Elm Grove")
        names = [r["name"] for r in rows]
        # Active local venues first; the known-only group its locals point to next; the
        # dormant one last; the Lancashire homonym and the curated-out venue not at all.
        assert names == ["Hanover Residents Association", "Elm Grove Blog",
                         "Hanover Local Facebook group", "Old Hanover News"]
        assert [r["rank"] for r in rows] == [1, 2, 3, 4]
        by = {r["name"]: r for r in rows}
        assert by["Old Hanover News"]["flags"] == ["dormant"]
        assert by["Old Hanover News"]["status"] == "dormant"
        fb = by["Hanover Local Facebook group"]
        assert fb["flags"] == ["known-only"] and fb["crawlable"] is False
        assert fb["reason"].startswith("Facebook venue, not crawled; linked from 2 local venues")
        ra = by["Hanover Residents Association"]
        assert ra["reason"].startswith(
            "mentions Elm Grove, Queen's Park Road and BN2 9 postcodes in 12 posts this quarter")
        assert ra["contact"] == {"email": "chair@hanover-ra.example"}
        assert ra["topics"][0] == "anti-social-behaviour" and "events" in ra["topics"]
        assert ra["lat"] == pytest.approx(w["hanover"].centre_lat)
        kemp = beat_ranking(s, "E05002422")
        assert [r["name"] for r in kemp] == ["Kemptown Forum"]


def test_rank_replaces_rows_and_respects_curation_and_feedback(engine):
    with session_scope(engine) as s:
        m = Maker(s)
        w = small_world(m)
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
        before = {r["name"]: r for r in beat_ranking(s, "E05002425")}
    with session_scope(engine) as s:
        m = Maker(s)
        m.outreach(s.get(Venue, w["blog"].id), w["hanover"], "approached", days_ago=5)
        m.outreach(s.get(Venue, w["blog"].id), w["hanover"], "engaged", days_ago=2)
        m.outreach(s.get(Venue, w["ra"].id), None, "declined")
        s.get(Venue, w["old"].id).state = "in"
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
        rows = beat_ranking(s, "E05002425")
        after = {r["name"]: r for r in rows}
        assert s.scalar(select(func.count()).select_from(VenueScore)) == 5  # replaced, not added
    assert after["Elm Grove Blog"]["feedback"] == FEEDBACK_VALUES["engaged"]
    assert after["Elm Grove Blog"]["outreach_status"] == "engaged"
    assert after["Hanover Residents Association"]["feedback"] == FEEDBACK_VALUES["declined"]
    assert after["Hanover Residents Association"]["score"] < before[
        "Hanover Residents Association"]["score"]
    assert rows[0]["name"] == "Elm Grove Blog"  # engaged beats declined here
    # Curated "in" lifts the score by IN_BOOST before the dormant factor.
    assert after["Old Hanover News"]["score"] == pytest.approx(
        before["Old Hanover News"]["score"] + 0.10 * 0.15, abs=1e-3)
    assert "curated in" in after["Old Hanover News"]["reason"]


def test_queries_hide_out_and_sensitive_without_rerank(engine):
    with session_scope(engine) as s:
        w = small_world(Maker(s))
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
    with session_scope(engine) as s:
        s.get(Venue, w["blog"].id).sensitive = True
        s.get(Venue, w["fb"].id).state = "out"
    with session_scope(engine) as s:
        names = [r["name"] for r in beat_ranking(s, "E05002425")]
        assert names == ["Hanover Residents Association", "Old Hanover News"]
        shown = beat_ranking(s, "E05002425", include_sensitive=True)
        assert "sensitive" in [r for r in shown if r["name"] == "Elm Grove Blog"][0]["flags"]
        assert [r["name"] for r in beat_ranking(s, "E05002425", status="dormant")] == [
            "Old Hanover News"]
        assert [r["name"] for r in beat_ranking(s, "E05002425", topic="anti-social-behaviour")
                ] == ["Hanover Residents Association"]
        assert beat_ranking(s, "E05002425", platform="facebook") == []
        assert len(beat_ranking(s, "E05002425", limit=1)) == 1
        assert beat_ranking(s, "E05002425", crawlable=False) == []


def test_resolve_beat_errors(engine):
    with session_scope(engine) as s:
        small_world(Maker(s))
    with session_scope(engine) as s:
        assert resolve_beat(s, "hanover AND elm grove").key == "E05002425"
        with pytest.raises(ValueError, match="no beat with key or name 'Atlantis'"):
            resolve_beat(s, "Atlantis")
        with pytest.raises(LookupError, match="no beat with id 5"):
            resolve_beat(s, 5)


def test_venue_detail_and_overview(engine):
    with session_scope(engine) as s:
        m = Maker(s)
        w = small_world(m)
        m.outreach(w["ra"], w["hanover"], "engaged")
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
    with session_scope(engine) as s:
        d = venue_detail(s, w["ra"].id)
        assert d["beats"][0]["beat_key"] == "E05002425" and d["beats"][0]["rank"] == 1
        assert {x["name"] for x in d["linked_from"]} == {
            "Elm Grove Blog", "Kemptown Forum", "Preston Lancs Chat"}
        assert {x["name"] for x in d["links_to"]} == {"Elm Grove Blog",
                                                      "Hanover Local Facebook group"}
        assert sum(x["posts"] for x in d["activity_by_month"]) == 12
        assert d["topics"][0] == {"topic": "anti-social-behaviour", "posts": 6}
        assert d["outreach"][0]["status"] == "engaged"
        with pytest.raises(LookupError):
            venue_detail(s, 12345)
        overview = {b["key"]: b for b in beats_overview(s)}
        assert overview["E05002425"]["venues"] == 4
        assert overview["E05002425"]["outreach"]["engaged"] == 1
        assert overview["E05002425"]["new_candidates"] == 4
        assert beats_overview(s, since=AS_OF)[0]["new_candidates"] == 0


def test_duplicates_and_bad_statuses_fall(engine):
    with session_scope(engine) as s:
        m = Maker(s)
        b = m.beat("B1", "Beat one")
        st = m.place("Elm Grove", b)
        good = m.venue("a.example", "Elm Grove Forum", platform="phpbb")
        dup = m.venue("www.a.example", "Elm Grove Forum", platform="phpbb")
        hij = m.venue("h.example", "Elm Grove Chat", status="hijacked")
        gone = m.venue("g.example", "Elm Grove Old", status="gone")
        for v in (good, dup, hij, gone):
            for i in range(10):
                m.post(v, days_ago=i + 1, author=f"x{i}", places=[st])
        m.post(good, days_ago=0.5, places=[st])
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
        rows = beat_ranking(s, "B1")
    assert [r["venue_key"] for r in rows] == ["a.example", "www.a.example", "g.example",
                                              "h.example"]
    assert rows[1]["flags"] == ["duplicate"]
    assert rows[2]["flags"] == ["gone"] and rows[3]["flags"] == ["hijacked"]
    assert "probable duplicate" in rows[1]["reason"]


def test_out_of_area_and_seeded(engine):
    with session_scope(engine) as s:
        m = Maker(s)
        b = m.beat("B1", "Beat one")
        far = [m.place(n, None, "street") for n in ("Fishergate", "Deepdale", "Ribbleton")]
        st = m.place("Elm Grove", b)
        homonym = m.venue("preston.example", "Preston Chat")
        for i in range(30):
            m.post(homonym, days_ago=i + 1, places=[far[i % 3], (None, {"surface": "Preston"})])
        m.post(homonym, days_ago=3, places=[(st, {"ambiguous": True, "confidence": 0.5})])
        seeded = m.venue("police.example/b1", "Beat one police page", platform="static")
        m.seed(seeded, b)
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
        rows = beat_ranking(s, "B1")
    assert [r["venue_key"] for r in rows] == ["police.example/b1"]
    assert "given as a seed for this beat" in rows[0]["reason"]


def test_template_places_count_once_and_read_venues_speak_for_themselves(engine):
    """A place in every post is the site's template; a venue we have read is judged by its
    posts, not by its name or its linkers (the sample web's homonym distractors)."""
    with session_scope(engine) as s:
        m = Maker(s)
        b1, b2 = m.beat("B1", "Brunswick"), m.beat("B2", "East Brighton")
        own = [m.place(n, b1) for n in ("Norfolk Square", "Palmeira Square", "Selborne Road")]
        hub = m.place("Community Hub", b2, "landmark")
        m.place("Hanover", b2, "area:neighbourhood")
        site = m.venue("brunswick-hub.example", "Brunswick Community Hub")
        for i in range(20):
            m.post(site, days_ago=i + 1, places=[hub, own[i % 3]])
        local = m.venue("b2-ra.example", "East Brighton RA")
        for i in range(10):
            m.post(local, days_ago=i + 1, places=[hub])
        expats = m.venue("hanoverexpats.example", "Hanover Expats (Germany)")
        for i in range(12):
            m.post(expats, days_ago=i + 1, places=[(None, {"surface": "Hannover"})])
        m.link(local, expats)
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
        b1_rows = [r["venue_key"] for r in beat_ranking(s, "B1")]
        b2 = {r["venue_key"]: r for r in beat_ranking(s, "B2")}
    assert b1_rows == ["brunswick-hub.example"]
    # The hub landmark counts once (2 units of 0.9) against 20 own mentions: well below.
    assert b2["brunswick-hub.example"]["locality"] < 0.1
    assert b2["b2-ra.example"]["rank"] == 1
    assert "hanoverexpats.example" not in b2


def test_rank_on_each_database(any_db):
    engine = make_engine(any_db)
    try:
        with session_scope(engine) as s:
            small_world(Maker(s))
        with session_scope(engine) as s:
            rank_all(s, as_of=AS_OF)
        with session_scope(engine) as s:
            rows = beat_ranking(s, "E05002425")
        assert [r["name"] for r in rows][:2] == ["Hanover Residents Association",
                                                 "Elm Grove Blog"]
        assert rows[0]["score"] == pytest.approx(0.8258, abs=1e-3)
    finally:
        engine.dispose()


# --- a slow reference implementation, straight from the rows --------------------------------


def random_world(m: Maker, seed: int) -> None:
    rng = random.Random(seed)
    beats = [m.beat(f"B{i}", f"Beat {i}", lon=-0.2 + i * 0.02, lat=50.8) for i in range(3)]
    types = ["street", "landmark", "area:neighbourhood", "geonames:P.PPL", "pub_bar_club",
             "electoral_ward_2013"]
    places = [m.place(f"Place {i}", rng.choice(beats + [None]), rng.choice(types))
              for i in range(14)]
    codes = [m.postcode(f"BN{i} 1AA", beats[i % 3]) for i in range(3)]
    for t in ("burglary", "drugs"):
        m.topic(t, safety=True)
    m.topic("events", safety=False)
    m.priority(beats[0], "drugs", 2.0)
    m.priority(beats[0], "events", 1.0)
    venues = []
    for i in range(16):
        venues.append(m.venue(f"v{i}.example", f"Venue {i}", crawlable=rng.random() > 0.2,
                              state=rng.choice(["candidate", "in", "undecided", "out"]),
                              status=rng.choice(["live", "live", "live", "dormant", "unknown"])))
    for v in venues:
        if not v.crawlable or rng.random() < 0.1:
            continue
        for _ in range(rng.randint(1, 25)):
            mentions = []
            for _ in range(rng.randint(0, 4)):
                r = rng.random()
                if r < 0.6:
                    mentions.append((rng.choice(places), {
                        "confidence": rng.choice([1.0, 0.8, 0.5]),
                        "ambiguous": rng.random() < 0.1}))
                elif r < 0.8:
                    mentions.append(rng.choice(codes))
                elif r < 0.9:
                    mentions.append((None, {"kind": "outcode", "surface": "BN2"}))
                else:
                    mentions.append((None, {"surface": "Somewhere"}))
            m.post(v, days_ago=rng.uniform(0, 600), author=f"a{rng.randint(0, 6)}",
                   places=mentions, topics=rng.sample(["burglary", "drugs", "events"],
                                                      rng.randint(0, 2)))
    for _ in range(30):
        a, b = rng.sample(venues, 2)
        if not m.s.get(Link, (a.id, b.id)):
            m.link(a, b, rng.randint(1, 4))
    for v in rng.sample(venues, 4):
        m.outreach(v, rng.choice(beats + [None]), rng.choice(["approached", "engaged",
                                                              "declined", "revisit"]))
    m.seed(venues[0], beats[1])


def reference_scores(s, as_of) -> dict[tuple[int, int], dict[str, float]]:
    """Every part computed again with plain loops over posts and mentions (slow, obvious)."""
    since = as_of - timedelta(days=90)
    venues = {v.id: v for v in s.scalars(select(Venue))}
    posts = {p.id: p for p in s.scalars(select(Post))}
    places = {p.id: p for p in s.scalars(select(Place))}
    codes = {c.postcode: c for c in s.scalars(select(Postcode))}
    total: dict[int, float] = defaultdict(float)
    inbeat: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    n_posts = defaultdict(int)
    for p in posts.values():
        n_posts[p.venue_id] += 1
    # Per (venue, place or postcode): confidence sum and mentions, to apply the template rule.
    per_place: dict[tuple, list] = defaultdict(lambda: [0.0, 0, 0.0, None])
    for mention in s.scalars(select(PlaceMention)):
        vid = posts[mention.post_id].venue_id
        conf = mention.confidence * (0.25 if mention.ambiguous else 1.0)
        if mention.place_id:
            place = places[mention.place_id]
            spec, beat = specificity(place.feature_type, coarse=place.coarse), place.beat_id
            key = (vid, "place", mention.place_id)
        elif mention.kind == "postcode":
            spec, beat = 1.0, codes[mention.postcode].beat_id
            key = (vid, "postcode", mention.postcode)
        else:
            total[vid] += conf * (0.1 if mention.kind == "outcode" else 0.5)
            continue
        acc = per_place[key]
        acc[0] += conf
        acc[1] += 1
        acc[2], acc[3] = spec, beat
    for (vid, _, _), (conf, count, spec, beat) in per_place.items():
        if n_posts[vid] >= 5 and count >= 0.8 * n_posts[vid]:
            conf = min(conf, 2.0)  # in the site's template: counted once
        total[vid] += conf * spec
        if beat is not None:
            inbeat[beat][vid] += conf * spec
    for seed in s.scalars(select(Seed)):
        total[seed.venue_id] += 3.0
        inbeat[seed.beat_id][seed.venue_id] += 3.0
    beats = sorted({b.id for b in s.scalars(select(Beat_()))})
    own = {b: {v: (e / total[v]) * (0.4 + 0.6 * (1 - math.exp(-e / 3.0)))
               for v, e in inbeat[b].items() if e > 0} for b in beats}
    linkers: dict[int, set[int]] = defaultdict(set)
    for link in s.scalars(select(Link)):
        linkers[link.dst_venue_id].add(link.src_venue_id)
    loc = {b: dict(own[b]) for b in beats}
    for b in beats:
        for v in venues:
            if total[v] >= 1.0 or n_posts[v] >= 5 or not linkers[v]:
                continue
            values = [own[b].get(u, 0.0) for u in linkers[v]]
            n_local = sum(1 for x in values if x > 0)
            if n_local:
                inherited = 0.8 * sum(values) / len(values) * (1 - math.exp(-n_local))
                loc[b][v] = max(loc[b].get(v, 0.0), inherited)
    # activity
    activity = {}
    for v, venue in venues.items():
        mine = [p for p in posts.values() if p.venue_id == v]
        if not mine:
            activity[v] = 0.0 if venue.crawlable else 0.3
            continue
        recent = [p for p in mine if since < p.published_at <= as_of]
        authors = {p.author_key for p in recent if p.author_key}
        last = max(p.published_at for p in mine if p.published_at <= as_of)
        days = (as_of - last).total_seconds() / 86400
        activity[v] = (0.45 * min(1, math.log1p(len(recent)) / math.log1p(30))
                       + 0.30 * min(1, math.log1p(len(authors)) / math.log1p(10))
                       + 0.25 * 0.5 ** (days / 45))
    # reach: PageRank percentile from networkx's own pure-Python implementation
    G = nx.DiGraph()
    G.add_nodes_from(venues)
    for link in s.scalars(select(Link)):
        G.add_edge(link.src_venue_id, link.dst_venue_id, weight=float(link.count))
    pr = _pagerank_python(G, alpha=0.85, weight="weight", tol=1e-12, max_iter=500)
    linked = sorted((pr[v], v) for v in venues if linkers[v])
    pct = {v: (i + 1) / len(linked) for i, (_, v) in enumerate(linked)}
    # topical
    safety = {t.key for t in s.scalars(select(Topic)) if t.safety}
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for pt in s.scalars(select(PostTopic)):
        counts[posts[pt.post_id].venue_id][pt.topic] += 1
    from storage.models import BeatTopic

    priorities: dict[int, dict[str, float]] = defaultdict(dict)
    for bt in s.scalars(select(BeatTopic)):
        priorities[bt.beat_id][bt.topic] = bt.weight
    # feedback
    fb_beat, fb_any = {}, {}
    for o in s.scalars(select(Outreach).order_by(Outreach.created_at, Outreach.id)):
        fb_any[o.venue_id] = o.status
        if o.beat_id:
            fb_beat[(o.venue_id, o.beat_id)] = o.status
    out = {}
    for b in beats:
        for v, x in loc[b].items():
            venue = venues[v]
            if x < MIN_LOCALITY or venue.state == "out" or venue.merged_into_id:
                continue
            if n_posts[v]:
                shares = {t: n / n_posts[v] for t, n in counts[v].items()}
                saf = min(1, sum(sh for t, sh in shares.items() if t in safety) / 0.25)
                com = min(1, sum(shares.values()) / 0.5)
                if priorities[b]:
                    fit = sum(w * min(1, shares.get(t, 0) / 0.1)
                              for t, w in priorities[b].items()) / sum(priorities[b].values())
                    top = 0.5 * saf + 0.3 * fit + 0.2 * com
                else:
                    top = 0.7 * saf + 0.3 * com
            else:
                top = 0.0 if venue.crawlable else 0.3
            local_in = sum(loc[b].get(u, 0.0) for u in linkers[v] if u != v)
            status = fb_beat.get((v, b), fb_any.get(v))
            out[(v, b)] = {
                "locality": x, "activity": activity[v],
                "reach": 0.75 * (1 - math.exp(-local_in)) + 0.25 * pct.get(v, 0.0),
                "topical": top, "feedback": FEEDBACK_VALUES.get(status, 0.5)}
    return out


def Beat_():
    from storage.models import Beat

    return Beat


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_rank_matches_slow_reference(engine, seed):
    with session_scope(engine) as s:
        random_world(Maker(s), seed)
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
    with session_scope(engine) as s:
        expected = reference_scores(s, AS_OF)
        stored = {(r.venue_id, r.beat_id): r for r in s.scalars(select(VenueScore))}
    assert set(stored) == set(expected)
    assert stored, "the random world should list some venues"
    for key, want in expected.items():
        got = stored[key]
        for part, value in want.items():
            assert getattr(got, part) == pytest.approx(value, abs=1e-5), (key, part)
    # Ranks are 1..n per beat in descending score.
    per_beat = defaultdict(list)
    for (_, b), row in stored.items():
        per_beat[b].append(row)
    for rows in per_beat.values():
        rows.sort(key=lambda r: r.rank)
        assert [r.rank for r in rows] == list(range(1, len(rows) + 1))
        assert all(a.score >= b.score for a, b in zip(rows, rows[1:], strict=False))


def test_rank_is_stable_and_evidence_is_short(engine):
    with session_scope(engine) as s:
        random_world(Maker(s), 21)
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
        first = sorted((r.venue_id, r.beat_id, r.rank, r.reason)
                       for r in s.scalars(select(VenueScore)))
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
        again = sorted((r.venue_id, r.beat_id, r.rank, r.reason)
                       for r in s.scalars(select(VenueScore)))
        for row in s.scalars(select(VenueScore)):
            assert len(row.reason) < 300 and "\n" not in row.reason
            assert set(row.evidence["parts"]) == set(WEIGHTS)
    assert first == again


def test_parts_module_constants_are_used():
    """The reference above hard-codes the documented constants; fail loudly if they drift."""
    assert (parts.LOCALITY_VOLUME, parts.LOCALITY_FLOOR, parts.SEED_EVIDENCE) == (3.0, 0.4, 3.0)
    assert (parts.INHERIT_FACTOR, parts.INHERIT_LINKERS, parts.MIN_OWN_EVIDENCE) == (0.8, 1.0, 1.0)
    assert parts.READ_POSTS == 5
    assert (parts.ACTIVITY_POSTS_FULL, parts.ACTIVITY_AUTHORS_FULL) == (30, 10)
    assert parts.RECENCY_HALF_LIFE_DAYS == 45.0 and parts.REACH_SCALE == 1.0
    assert (parts.SAFETY_SHARE_FULL, parts.PRIORITY_SHARE_FULL,
            parts.COMMUNITY_SHARE_FULL) == (0.25, 0.10, 0.5)


def test_ranking_one_beat_gives_the_rows_of_a_full_run(engine):
    """``rank_all(beats=[b])`` scores on the whole graph and replaces only b's rows."""
    with session_scope(engine) as s:
        random_world(Maker(s), seed=5)
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
        stored = {(r.beat_id, r.venue_id): (r.rank, r.score, r.reason)
                  for r in s.scalars(select(VenueScore))}
    target = max({b for b, _ in stored}, key=lambda b: sum(1 for x, _ in stored if x == b))
    with session_scope(engine) as s:
        s.execute(VenueScore.__table__.delete())
    with session_scope(engine) as s:
        stats = rank_all(s, as_of=AS_OF, beats=[target])
        again = {(r.beat_id, r.venue_id): (r.rank, r.score, r.reason)
                 for r in s.scalars(select(VenueScore))}
    assert stats.beats == 1
    assert again == {k: v for k, v in stored.items() if k[0] == target}
