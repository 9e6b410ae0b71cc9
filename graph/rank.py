"""Score every (venue, beat) from named parts and write the ranked lists to ``venue_scores``.

score = Σ WEIGHTS[part] × part (each part in [0, 1]), plus ``IN_BOOST`` for venues curated
"in", times a status factor for dormant, gone, hijacked and duplicate venues. Venues curated
"out", merged into another, or with no locality for a beat are not listed for it.
``docs/ranking.md`` explains each part, its weight and why.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import networkx as nx
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from geo.names import normalise
from graph import parts
from graph.build import build_graph, node, node_id
from graph.reasons import reason
from storage.db import utcnow
from storage.models import Beat, Outreach, VenueScore
from storage.sensitive import flag_sensitive

logger = logging.getLogger(__name__)

# Weights of the parts (they sum to 1). Locality leads because a venue of another beat is no
# use however lively; activity next because a sergeant needs people who read it now; reach,
# topic and feedback refine the order within the local venues. Tuned on the sample web's
# ground truth (tests/test_rank_quality.py) and kept round so they can be explained.
WEIGHTS: dict[str, float] = {"locality": 0.35, "activity": 0.20, "reach": 0.15,
                             "topical": 0.15, "feedback": 0.15}
# Latest outreach status → feedback part. No outreach yet is neutral (0.5), so feedback only
# moves venues the team has actually approached.
FEEDBACK_VALUES: dict[str | None, float] = {"engaged": 1.0, "approached": 0.6, "revisit": 0.5,
                                            None: 0.5, "declined": 0.0}
# Added to the score of venues the project team curated "in" (they have been checked by a
# person); enough to lift them above unreviewed peers, not above far better venues.
IN_BOOST = 0.10
# Multipliers that push poor first contacts down the list without hiding them.
# Dormant is harsh on purpose: a venue silent for a year is a worse first contact than an
# active city-wide forum that only sometimes talks about the beat.
STATUS_FACTORS: dict[str, float] = {"dormant": 0.15, "gone": 0.1, "hijacked": 0.05,
                                    "duplicate": 0.5}
# The parts other than locality count in proportion to locality up to this value: a big
# city-wide forum's activity and links say little about one beat it rarely mentions. 0.3 is
# about what a venue with a third of its evidence in the beat reaches.
LOCALITY_GATE = 0.3
# A venue that declined contact stays listed (the note may matter) but falls well down.
DECLINED_FACTOR = 0.6
# A venue whose newest post is older than this is flagged dormant even if the crawler has not
# said so (the sample web's dormant venues stop posting one to several years back).
DORMANT_DAYS = 365
# Least locality for a venue to be listed for a beat at all ("out of area" below it). A venue
# spread evenly over 21 beats has ~0.03; a homonym distractor with a stray resolved name, less.
MIN_LOCALITY = 0.02
# Evidence shown per entry.
MAX_EVIDENCE_PLACES = 8
MAX_EVIDENCE_LINKERS = 5
MAX_EVIDENCE_TOPICS = 6
# Places less specific than this (town names) are left out of the evidence shown when the
# venue also names more specific places.
BROAD_SPECIFICITY = 0.3


@dataclass
class RankStats:
    """What one ranking run did."""

    beats: int = 0
    venues: int = 0
    rows: int = 0
    seconds: float = 0.0
    build_seconds: float = 0.0
    score_seconds: float = 0.0
    write_seconds: float = 0.0
    as_of: datetime | None = None
    graph_nodes: int = 0
    graph_edges: int = 0
    sensitive: int = 0
    per_beat: dict[str, int] = field(default_factory=dict)


def _feedback(session: Session) -> tuple[dict[tuple[int, int], str], dict[int, str]]:
    """Latest outreach status per (venue, beat) and per venue (any beat)."""
    per_beat: dict[tuple[int, int], str] = {}
    per_venue: dict[int, str] = {}
    for vid, bid, status in session.execute(
            select(Outreach.venue_id, Outreach.beat_id, Outreach.status)
            .order_by(Outreach.created_at, Outreach.id)):
        per_venue[vid] = status
        if bid is not None:
            per_beat[(vid, bid)] = status
    return per_beat, per_venue


def venue_flags(data: dict[str, Any], as_of: datetime) -> list[str]:
    """Flags of a venue node that do not depend on the beat."""
    flags = []
    status = data.get("status", "unknown")
    days = parts.days_since(data.get("last_post", ""), as_of)
    if status in ("dormant", "gone", "hijacked"):
        flags.append(status)
    if "dormant" not in flags and days is not None and days > DORMANT_DAYS:
        flags.append("dormant")
    if not data.get("crawlable", True):
        flags.append("known-only")
    if data.get("sensitive"):
        flags.append("sensitive")
    return flags


def combine(values: dict[str, float], *, state: str, flags: list[str],
            outreach: str | None = None) -> float:
    """The score from its parts, curation and flags.

    ``WEIGHTS["locality"] * locality + min(1, locality / LOCALITY_GATE) * Σ WEIGHTS[p] * p``
    over the other parts, plus ``IN_BOOST`` when curated in, times the status factors.

    >>> top = {"locality": 1, "activity": 1, "reach": 1, "topical": 1, "feedback": 1}
    >>> combine(top, state="candidate", flags=[])
    1.0
    >>> combine(top, state="candidate", flags=["dormant"])
    0.15
    >>> combine(dict(top, locality=0.06), state="candidate", flags=[])  # .35*.06 + .2*.65
    0.151
    """
    gate = min(1.0, values["locality"] / LOCALITY_GATE)
    score = WEIGHTS["locality"] * values["locality"] + gate * sum(
        WEIGHTS[k] * values[k] for k in WEIGHTS if k != "locality")
    if state == "in":
        score += IN_BOOST
    score = min(1.0, score)
    for flag in flags:
        score *= STATUS_FACTORS.get(flag, 1.0)
    if outreach == "declined":
        score *= DECLINED_FACTOR
    return round(score, 6)


def _dedupe_key(data: dict[str, Any]) -> tuple[str, str]:
    return (data.get("platform", ""), normalise(data.get("label") or data.get("key", "")))


def places_by_beat(G: nx.DiGraph) -> dict[str, dict[str, list[tuple[str, dict]]]]:
    """``{venue: {beat: [(place, edge data), …]}}`` for mention and name edges, built once so
    the evidence of each (venue, beat) reads only its own places."""
    where = parts.place_beats(G)
    out: dict[str, dict[str, list[tuple[str, dict]]]] = {}
    for v, kind in G.nodes(data="kind"):
        if kind != "venue":
            continue
        for p, e in G.succ[v].items():
            if e.get("kind") in ("mentions", "named") and p in where:
                out.setdefault(v, {}).setdefault(where[p], []).append((p, e))
    return out


def _beat_evidence(G: nx.DiGraph, v: str, b: str,
                   where: dict[str, dict[str, list[tuple[str, dict]]]]) -> dict[str, Any]:
    named: list[tuple[float, str, float]] = []
    sectors: dict[str, float] = defaultdict(float)
    lat = lon = wsum = 0.0
    named_only = True
    for p, e in where.get(v, {}).get(b, ()):
        pdata = G.nodes[p]
        w = e.get("weight", 0.0) * pdata.get("specificity", 1.0)
        named_only = named_only and e.get("kind") == "named"
        if pdata.get("sector"):
            sectors[pdata["sector"]] += w
        else:
            named.append((w, pdata.get("label", p), pdata.get("specificity", 1.0)))
        lat += w * pdata.get("lat", 0.0)
        lon += w * pdata.get("lon", 0.0)
        wsum += w
    by_name: dict[str, float] = defaultdict(float)
    for w, name, spec in named:
        # A town name is weak evidence; name it only when nothing more specific is there.
        if spec >= BROAD_SPECIFICITY or all(s < BROAD_SPECIFICITY for _, _, s in named):
            by_name[name] += w
    places = sorted(by_name.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_EVIDENCE_PLACES]
    about = G.edges[v, b] if G.has_edge(v, b) else {}
    return {
        "places": [[name, round(w, 3)] for name, w in places],
        "sectors": [s for s, _ in sorted(sectors.items(), key=lambda kv: (-kv[1], kv[0]))][:4],
        "posts_in_beat": int(about.get("posts", 0)),
        "posts_in_beat_90d": int(about.get("posts_90d", 0)),
        "seeded": bool(about.get("seeded", False)),
        "named_only": bool(wsum) and named_only,
        "lat": round(lat / wsum, 6) if wsum else None,
        "lon": round(lon / wsum, 6) if wsum else None,
    }


def _topics_evidence(G: nx.DiGraph, v: str, priorities: dict[str, float],
                     shares_cache: dict[str, dict[str, float]]) -> tuple[list, list]:
    edges = sorted(((d.get("weight", 0.0), t) for t, d in G.succ[v].items()
                    if d.get("kind") == "topic"), key=lambda x: (-x[0], x[1]))
    topics = [[t.split(":", 1)[1], int(w)] for w, t in edges[:MAX_EVIDENCE_TOPICS]]
    if v not in shares_cache:
        shares_cache[v] = parts.topic_shares(G, v)
    shares = shares_cache[v]
    hits = [t.split(":", 1)[1] for t in sorted(priorities, key=lambda t: -shares.get(t, 0.0))
            if shares.get(t, 0.0) >= parts.PRIORITY_SHARE_FULL / 2]
    return topics, hits


def score_beat(G: nx.DiGraph, b: str, loc: dict[str, float], act: dict[str, float],
               percentile: dict[str, float], feedback: dict[str, str | None], as_of: datetime,
               where: dict[str, dict[str, list]] | None = None,
               shares: dict[str, dict[str, float]] | None = None) -> list[dict[str, Any]]:
    """Scored entries for beat node ``b``, best first (not yet written anywhere).

    ``where`` (:func:`places_by_beat` of ``G``) and ``shares`` (a cache of each venue's
    topic shares) are passed in when scoring many beats.
    """
    where = places_by_beat(G) if where is None else where
    candidates = [v for v, x in loc.items() if x >= MIN_LOCALITY
                  and not G.nodes[v].get("merged") and G.nodes[v].get("state") != "out"]
    reach = parts.reach(G, loc, percentile=percentile, nodes=candidates)
    shares = {} if shares is None else shares
    topical = parts.topical(G, b, venues=candidates, shares_cache=shares)
    entries = []
    for v in candidates:
        data = G.nodes[v]
        status = feedback.get(v)
        values = {"locality": loc[v], "activity": act.get(v, 0.0), "reach": reach.get(v, 0.0),
                  "topical": topical.get(v, 0.0), "feedback": FEEDBACK_VALUES.get(status, 0.5)}
        flags = venue_flags(data, as_of)
        entries.append({"v": v, "values": values, "flags": flags, "state": data.get("state"),
                        "status": status})
    _mark_duplicates(G, entries)
    context = {"priorities": parts.beat_priorities(G, b), "cache": {}, "shares": shares}
    for e in entries:
        e["score"] = combine(e["values"], state=e["state"], flags=e["flags"],
                             outreach=e["status"])
    entries.sort(key=lambda e: (-e["score"], -e["values"]["locality"], e["v"]))
    for i, e in enumerate(entries, start=1):
        e["rank"] = i
        e["evidence"] = _evidence(G, e, b, where, loc, as_of, context)
        e["reason"] = reason(e["evidence"])
    return entries


def _mark_duplicates(G: nx.DiGraph, entries: list[dict[str, Any]]) -> None:
    """Flag all but the best-scoring of venues with the same platform and name."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for e in entries:
        key = _dedupe_key(G.nodes[e["v"]])
        if key[1]:
            groups[key].append(e)
    for group in groups.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda e: (-combine(e["values"], state=e["state"], flags=e["flags"]),
                                  e["v"]))
        for e in group[1:]:
            e["flags"].append("duplicate")


def _evidence(G: nx.DiGraph, e: dict[str, Any], b: str, where: dict[str, dict[str, list]],
              loc: dict[str, float], as_of: datetime, context: dict[str, Any]
              ) -> dict[str, Any]:
    v = e["v"]
    data = G.nodes[v]
    ev = _beat_evidence(G, v, b, where)
    context["cache"][v] = (ev["lat"], ev["lon"])
    linkers = sorted(((loc.get(u, 0.0), G.nodes[u].get("label", u), u) for u, k
                      in ((u, d.get("kind")) for u, d in G.pred[v].items())
                      if k == "link" and loc.get(u, 0.0) > 0),
                     key=lambda x: (-x[0], x[1]))[:MAX_EVIDENCE_LINKERS]
    local_linkers = sum(1 for u, d in G.pred[v].items()
                        if d.get("kind") == "link" and loc.get(u, 0.0) > 0)
    topics, priority_hits = _topics_evidence(G, v, context["priorities"], context["shares"])
    own = data.get("evidence", 0.0) >= parts.MIN_OWN_EVIDENCE
    if ev["lat"] is None:
        ev["lat"], ev["lon"] = _fallback_position(G, v, b, where, loc, context["cache"])
    ev.update({
        "topics": topics, "priority_topics": priority_hits,
        "posts_90d": int(data.get("posts_90d", 0)), "authors_90d": int(data.get("authors_90d", 0)),
        "posts": int(data.get("posts", 0)), "last_post_at": data.get("last_post") or None,
        "local_linkers": local_linkers,
        # Sensitive linkers are counted, never named: the stored reason is the one anyone may
        # read. Their ids stay so that a viewer allowed to see them gets the names back
        # (graph.queries.shown_linkers), and so a venue flagged after ranking is hidden too.
        "linked_from": [name for _, name, u in linkers if not G.nodes[u].get("sensitive")],
        "linker_ids": [node_id(u) for _, _, u in linkers],
        "inherited": not own, "known_only": not data.get("crawlable", True),
        "platform": data.get("platform", ""), "flags": e["flags"], "state": e["state"],
        "outreach": e["status"], "as_of": as_of.isoformat(sep=" ", timespec="seconds"),
        "parts": {k: round(x, 4) for k, x in e["values"].items()},
    })
    return ev


def _fallback_position(G: nx.DiGraph, v: str, b: str, where: dict[str, dict[str, list]],
                       loc: dict[str, float], cache: dict[str, tuple]
                       ) -> tuple[float | None, float | None]:
    """A venue without places of its own sits at its local linkers' places, else the beat centre."""
    points = []
    for u, k in ((u, d.get("kind")) for u, d in G.pred[v].items()):
        if k == "link" and loc.get(u, 0.0) > 0:
            if u not in cache:
                ev = _beat_evidence(G, u, b, where)
                cache[u] = (ev["lat"], ev["lon"])
            if cache[u][0] is not None:
                points.append(cache[u])
    if points:
        return (round(sum(p[0] for p in points) / len(points), 6),
                round(sum(p[1] for p in points) / len(points), 6))
    beat = G.nodes.get(b, {})
    return beat.get("lat"), beat.get("lon")


def rank_graph(G: nx.DiGraph, *, as_of: datetime, feedback: tuple[dict, dict] | None = None
               ) -> dict[str, list[dict[str, Any]]]:
    """Entries per beat node for a built graph (no database writes): ``{beat: [entry…]}``."""
    per_beat_fb, per_venue_fb = feedback or ({}, {})
    loc_all = parts.locality_by_beat(G)
    act = parts.activity(G, as_of=as_of)
    percentile = parts.pagerank_percentile(G)
    where = places_by_beat(G)
    shares: dict[str, dict[str, float]] = {}
    out = {}
    for b in (n for n, k in G.nodes(data="kind") if k == "beat"):
        bid = node_id(b)
        loc = loc_all.get(b, {})
        fb = {v: per_beat_fb.get((node_id(v), bid), per_venue_fb.get(node_id(v))) for v in loc}
        out[b] = score_beat(G, b, loc, act, percentile, fb, as_of, where, shares)
    return out


def rank_all(session: Session, *, as_of: datetime | None = None,
             beats: list[int] | None = None) -> RankStats:
    """Recompute and store the ranked venues of every beat (or only of ``beats``, by id).

    Scores are always computed on the whole graph — a venue's share of evidence across beats
    and its PageRank depend on all of it — so ranking one beat gives exactly the rows a full
    run gives for that beat; ``beats`` only limits which beats' rows are replaced. The old rows
    are replaced inside the caller's transaction: run it in :func:`storage.db.session_scope`
    so readers see either the old lists or the new ones.

    Sensitive venues are flagged first (:func:`storage.sensitive.flag_sensitive`), so a force
    that only crawls and ranks still hides them, and no reason names one.
    """
    started = time.perf_counter()
    as_of = as_of or utcnow()
    sensitive = flag_sensitive(session)
    session.flush()
    G = build_graph(session, as_of=as_of)
    built = time.perf_counter()
    ranked = rank_graph(G, as_of=as_of, feedback=_feedback(session))
    if beats is not None:
        wanted = set(beats)
        ranked = {b: entries for b, entries in ranked.items() if node_id(b) in wanted}
    scored = time.perf_counter()
    beat_ids = [node_id(b) for b in ranked]
    now = utcnow()
    rows = [{"venue_id": node_id(e["v"]), "beat_id": node_id(b), "rank": e["rank"],
             "score": e["score"], **{k: round(x, 6) for k, x in e["values"].items()},
             "reason": e["reason"], "evidence": e["evidence"], "computed_at": now}
            for b, entries in ranked.items() for e in entries]
    for i in range(0, len(beat_ids), 500):
        session.execute(delete(VenueScore).where(VenueScore.beat_id.in_(beat_ids[i:i + 500])))
    for i in range(0, len(rows), 2000):
        session.execute(insert(VenueScore), rows[i:i + 2000])
    session.flush()
    names = dict(session.execute(select(Beat.id, Beat.key)).all())
    stats = RankStats(beats=len(ranked), rows=len(rows),
                      venues=len({r["venue_id"] for r in rows}),
                      seconds=round(time.perf_counter() - started, 3),
                      build_seconds=round(built - started, 3),
                      score_seconds=round(scored - built, 3),
                      write_seconds=round(time.perf_counter() - scored, 3), as_of=as_of,
                      graph_nodes=G.number_of_nodes(), graph_edges=G.number_of_edges(),
                      sensitive=sensitive,
                      per_beat={names.get(node_id(b), b): len(e) for b, e in ranked.items()})
    logger.info("ranked %d venues over %d beats (%d rows) in %.2fs", stats.venues, stats.beats,
                stats.rows, stats.seconds)
    return stats


__all__ = ["WEIGHTS", "RankStats", "combine", "node", "rank_all", "rank_graph", "score_beat"]
