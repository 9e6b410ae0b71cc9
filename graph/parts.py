"""The named parts of a venue's score, as plain functions of the graph from :mod:`graph.build`.

Each function takes the graph (and a beat where the part depends on one) and returns
``dict[node, float]`` with values in [0, 1]. ``docs/ranking.md`` explains every part, its
weight and why; the constants below are the knobs, each with how it was chosen.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime

import networkx as nx
import numpy as np

# --- locality ----------------------------------------------------------------------------
# A seed given for a beat (the team or police.uk said "this venue serves this beat") counts as
# this many confident, specific mentions.
SEED_EVIDENCE = 3.0
# Weighted mentions in a beat at which the volume factor reaches 63 %: a venue needs a few
# specific mentions, not one stray street name, to count as local.
LOCALITY_VOLUME = 3.0
# Share of the locality a venue keeps however thin its evidence (so a small, very local blog
# is not crushed by the volume factor).
LOCALITY_FLOOR = 0.4
# A venue with less own evidence than this (known-only venues, venues not yet crawled) also
# inherits locality from the venues linking to it.
MIN_OWN_EVIDENCE = 1.0
# ... and fewer posts read than this. A venue we have read this much of has spoken for itself:
# if its posts name no local places it is not local, whatever its name or its linkers say
# (the sample web's homonym distractors are linked from local blogs and named "Hanover …").
READ_POSTS = 5
# Inherited locality is at most this share of the linkers' (weighted) locality, and grows with
# the number of local linkers as 1 - exp(-n / INHERIT_LINKERS).
INHERIT_FACTOR = 0.8
INHERIT_LINKERS = 1.0

# --- activity ----------------------------------------------------------------------------
# Posts and distinct authors in the window at which those sub-parts reach 1 (log scale): a
# lively residents' forum has ~30 posts a quarter from ~10 people.
ACTIVITY_POSTS_FULL = 30
ACTIVITY_AUTHORS_FULL = 10
# Half-life of the recency sub-part: a venue silent for 45 days is half as "current".
RECENCY_HALF_LIFE_DAYS = 45.0
ACTIVITY_MIX = {"posts": 0.45, "authors": 0.30, "recency": 0.25}
# Activity of a venue we never read (known-only, or not yet crawled): unknown, so a modest
# prior rather than zero, which would bury every Facebook group under any active blog.
ACTIVITY_UNKNOWN = 0.3

# --- reach -------------------------------------------------------------------------------
# Locality-weighted in-links from local venues at which the in-link sub-part reaches 63 %.
REACH_SCALE = 1.0
REACH_MIX = {"local_inlinks": 0.75, "pagerank": 0.25}
PAGERANK_ALPHA = 0.85

# --- topical -----------------------------------------------------------------------------
# Share of posts on community-safety topics at which that sub-part is full: a quarter of the
# posts is already a venue where safety is a regular subject.
SAFETY_SHARE_FULL = 0.25
# Share of posts on one beat priority at which that priority counts fully.
PRIORITY_SHARE_FULL = 0.10
# Share of posts with any recognised local topic (events, planning, bins …) for full marks.
COMMUNITY_SHARE_FULL = 0.5
TOPICAL_MIX = {"safety": 0.5, "priority": 0.3, "community": 0.2}
TOPICAL_MIX_NO_PRIORITIES = {"safety": 0.7, "community": 0.3}
TOPICAL_UNKNOWN = 0.3


def _venues(G: nx.DiGraph) -> list[str]:
    return [n for n, kind in G.nodes(data="kind") if kind == "venue"]


def place_beats(G: nx.DiGraph) -> dict[str, str]:
    """The beat node each place node lies in (places outside the graph's beats are absent).

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_edge("place:1", "beat:1", kind="in_beat")
    >>> place_beats(G)
    {'place:1': 'beat:1'}
    """
    return {u: v for u, v, kind in G.edges(data="kind") if kind == "in_beat"}


def beat_evidence(G: nx.DiGraph, *, weight: str = "weight") -> dict[str, dict[str, float]]:
    """Specificity-weighted place evidence of each venue, per beat: ``{beat: {venue: E}}``.

    A venue's mention of a place adds ``edge[weight] * place["specificity"]`` to the place's
    beat; a seed for the beat adds ``SEED_EVIDENCE``.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_node("venue:1", kind="venue", evidence=3.0)
    >>> G.add_node("place:1", kind="place", specificity=1.0)
    >>> G.add_node("place:2", kind="place", specificity=0.2)
    >>> G.add_edge("venue:1", "place:1", kind="mentions", weight=2.0)
    >>> G.add_edge("venue:1", "place:2", kind="mentions", weight=5.0)
    >>> G.add_edge("place:1", "beat:1", kind="in_beat")
    >>> G.add_edge("place:2", "beat:2", kind="in_beat")
    >>> beat_evidence(G)
    {'beat:1': {'venue:1': 2.0}, 'beat:2': {'venue:1': 1.0}}
    """
    where = place_beats(G)
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for v in _venues(G):
        for target, data in G.succ[v].items():
            kind = data.get("kind")
            if kind in ("mentions", "named") and target in where:
                amount = data.get(weight, 1.0) * G.nodes[target].get("specificity", 1.0)
                bucket = out[where[target]]
                bucket[v] = bucket.get(v, 0.0) + amount
            elif kind == "about" and data.get("seeded"):
                out[target][v] = out[target].get(v, 0.0) + SEED_EVIDENCE
    return dict(out)


def _seed_total(G: nx.DiGraph, v: str) -> float:
    return sum(SEED_EVIDENCE for d in G.succ[v].values()
               if d.get("kind") == "about" and d.get("seeded"))


def locality_value(in_beat: float, total: float) -> float:
    """Locality from a venue's evidence in the beat and its total evidence.

    ``share * (LOCALITY_FLOOR + (1 - LOCALITY_FLOOR) * (1 - exp(-in_beat / LOCALITY_VOLUME)))``

    Examples
    --------
    >>> locality_value(0.0, 10.0)
    0.0
    >>> round(locality_value(30.0, 30.0), 4)   # all of plenty of evidence
    1.0
    >>> round(locality_value(3.0, 3.0), 4)     # all of a little evidence
    0.7793
    >>> round(locality_value(15.0, 30.0), 4)   # half of plenty
    0.498
    """
    if in_beat <= 0 or total <= 0:
        return 0.0
    share = min(1.0, in_beat / total)
    volume = 1.0 - math.exp(-in_beat / LOCALITY_VOLUME)
    return share * (LOCALITY_FLOOR + (1.0 - LOCALITY_FLOOR) * volume)


def own_locality(G: nx.DiGraph, *, weight: str = "weight") -> dict[str, dict[str, float]]:
    """Each venue's locality per beat from its own evidence: ``{beat: {venue: value}}``.

    The total is the venue node's ``evidence`` attribute (all its place evidence, inside the
    beats or not, resolved or not) plus its seeds.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_node("venue:1", kind="venue", evidence=4.0)
    >>> G.add_node("place:1", kind="place", specificity=1.0)
    >>> G.add_edge("venue:1", "place:1", kind="mentions", weight=3.0)
    >>> G.add_edge("place:1", "beat:1", kind="in_beat")
    >>> {b: round(x, 4) for b, x in own_locality(G)["beat:1"].items()}
    {'venue:1': 0.5845}
    """
    evidence = beat_evidence(G, weight=weight)
    totals = {v: G.nodes[v].get("evidence", 0.0) + _seed_total(G, v) for v in _venues(G)}
    return {b: {v: locality_value(e, totals[v]) for v, e in per.items()}
            for b, per in evidence.items()}


def inherited_locality(G: nx.DiGraph,
                       own: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Locality that thin-evidence venues take from the venues linking to them.

    For a venue with own evidence below ``MIN_OWN_EVIDENCE`` and fewer than ``READ_POSTS``
    posts read, and a beat: the mean locality of
    all its linkers in that beat (each linker once, so a Lancashire site linking to it pulls
    the mean down), times ``INHERIT_FACTOR`` and ``1 - exp(-local linkers / INHERIT_LINKERS)``.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> for v, ev in (("venue:1", 9.0), ("venue:2", 9.0), ("venue:3", 0.0)):
    ...     G.add_node(v, kind="venue", evidence=ev)
    >>> G.add_edge("venue:1", "venue:3", kind="link", weight=1.0)
    >>> G.add_edge("venue:2", "venue:3", kind="link", weight=4.0)
    >>> own = {"beat:1": {"venue:1": 0.9, "venue:2": 0.5}}
    >>> round(inherited_locality(G, own)["beat:1"]["venue:3"], 4)
    0.4842
    """
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for v in _venues(G):
        data = G.nodes[v]
        if (data.get("evidence", 0.0) + _seed_total(G, v) >= MIN_OWN_EVIDENCE
                or data.get("posts", 0) >= READ_POSTS):
            continue
        linkers = [u for u, kind in ((u, d.get("kind")) for u, d in G.pred[v].items())
                   if kind == "link" and u != v and G.nodes[u].get("kind") == "venue"]
        if not linkers:
            continue
        for b, per in own.items():
            values = [per.get(u, 0.0) for u in linkers]
            local = sum(1 for x in values if x > 0)
            if local:
                mean = sum(values) / len(values)
                out[b][v] = INHERIT_FACTOR * mean * (1.0 - math.exp(-local / INHERIT_LINKERS))
    return dict(out)


def locality(G: nx.DiGraph, beat: str, *, weight: str = "weight") -> dict[str, float]:
    """Locality of every venue for ``beat``: own evidence, or inherited when it has none.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_node("venue:1", kind="venue", evidence=6.0)
    >>> G.add_node("venue:2", kind="venue", evidence=0.0)
    >>> G.add_node("place:1", kind="place", specificity=1.0)
    >>> G.add_edge("venue:1", "place:1", kind="mentions", weight=6.0)
    >>> G.add_edge("place:1", "beat:1", kind="in_beat")
    >>> G.add_edge("venue:1", "venue:2", kind="link", weight=1.0)
    >>> {v: round(x, 3) for v, x in sorted(locality(G, "beat:1").items())}
    {'venue:1': 0.919, 'venue:2': 0.465}
    """
    return locality_by_beat(G, weight=weight).get(beat, {})


def locality_by_beat(G: nx.DiGraph, *, weight: str = "weight") -> dict[str, dict[str, float]]:
    """:func:`locality` for every beat at once (one pass over the graph)."""
    own = own_locality(G, weight=weight)
    inherited = inherited_locality(G, own)
    merged = {b: dict(per) for b, per in own.items()}
    for b, per in inherited.items():
        target = merged.setdefault(b, {})
        for v, x in per.items():
            target[v] = max(target.get(v, 0.0), x)
    return merged


# --- reach -------------------------------------------------------------------------------


def local_inlinks(G: nx.DiGraph, loc: dict[str, float], *, weight: str = "weight",
                  nodes: list[str] | None = None) -> dict[str, float]:
    """Sum of the beat locality of the venues linking to each venue (each linker once).

    A sidebar that links a hundred times is still one endorsement, so ``weight`` only decides
    whether an edge counts (weight > 0).

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_edge("venue:1", "venue:3", kind="link", weight=7.0)
    >>> G.add_edge("venue:2", "venue:3", kind="link", weight=1.0)
    >>> sorted(local_inlinks(G, {"venue:1": 0.5, "venue:2": 0.25, "venue:3": 1.0}).items())
    [('venue:1', 0.0), ('venue:2', 0.0), ('venue:3', 0.75)]
    """
    out = {}
    for v in G if nodes is None else nodes:
        if G.nodes[v].get("kind", "venue") != "venue":
            continue
        total = 0.0
        for u, data in G.pred[v].items():
            if data.get("kind", "link") == "link" and u != v and data.get(weight, 1.0) > 0:
                total += loc.get(u, 0.0)
        out[v] = total
    return out


def pagerank(G: nx.DiGraph, *, alpha: float = PAGERANK_ALPHA, weight: str = "weight",
             tol: float = 1.0e-10, max_iter: int = 200) -> dict[str, float]:
    """PageRank of the venue link graph (``link`` edges), by power iteration in numpy.

    Dangling venues spread their rank uniformly, as in networkx's ``pagerank``; values sum
    to 1. numpy keeps it fast without scipy, and tests compare it with networkx's own
    pure-Python implementation.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_edge("venue:1", "venue:2", kind="link", weight=1.0)
    >>> G.add_edge("venue:2", "venue:1", kind="link", weight=1.0)
    >>> G.add_node("venue:3", kind="venue")
    >>> {n: round(x, 4) for n, x in sorted(pagerank(G).items())}
    {'venue:1': 0.4651, 'venue:2': 0.4651, 'venue:3': 0.0698}
    """
    nodes = [n for n, kind in G.nodes(data="kind") if kind in ("venue", None)]
    if not nodes:
        return {}
    index = {n: i for i, n in enumerate(nodes)}
    src, dst, w = [], [], []
    for u, v, data in G.edges(data=True):
        if data.get("kind", "link") == "link" and u in index and v in index:
            src.append(index[u])
            dst.append(index[v])
            w.append(float(data.get(weight, 1.0)))
    n = len(nodes)
    src_a, dst_a, w_a = np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64), np.array(w)
    out_w = np.bincount(src_a, weights=w_a, minlength=n)
    dangling = out_w == 0
    share = w_a / np.where(out_w[src_a] > 0, out_w[src_a], 1.0)
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        spread = np.bincount(dst_a, weights=x[src_a] * share, minlength=n)
        new = alpha * (spread + x[dangling].sum() / n) + (1.0 - alpha) / n
        done = np.abs(new - x).sum() < n * tol
        x = new
        if done:
            break
    return {node_: float(x[i]) for node_, i in index.items()}


def pagerank_percentile(G: nx.DiGraph, *, weight: str = "weight") -> dict[str, float]:
    """Each venue's PageRank as a percentile among venues that have in-links; 0 without any.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_edge("venue:1", "venue:2", kind="link", weight=1.0)
    >>> G.add_edge("venue:3", "venue:2", kind="link", weight=1.0)
    >>> G.add_edge("venue:2", "venue:3", kind="link", weight=1.0)
    >>> pagerank_percentile(G)
    {'venue:1': 0.0, 'venue:2': 1.0, 'venue:3': 0.5}
    """
    ranks = pagerank(G, weight=weight)
    linked = sorted((r, v) for v, r in ranks.items()
                    if any(d.get("kind") == "link" for d in G.pred[v].values()))
    out = dict.fromkeys(ranks, 0.0)
    for i, (_, v) in enumerate(linked):
        out[v] = (i + 1) / len(linked)
    return out


def reach(G: nx.DiGraph, loc: dict[str, float], *, weight: str = "weight",
          percentile: dict[str, float] | None = None, nodes: list[str] | None = None
          ) -> dict[str, float]:
    """Reach in a beat: local in-links (saturating) mixed with global PageRank percentile.

    ``REACH_MIX["local_inlinks"] * (1 - exp(-local_inlinks / REACH_SCALE))
    + REACH_MIX["pagerank"] * percentile``

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_edge("venue:1", "venue:2", kind="link", weight=1.0)
    >>> {v: round(x, 4) for v, x in reach(G, {"venue:1": 1.0}).items()}
    {'venue:1': 0.0, 'venue:2': 0.7241}
    """
    percentile = pagerank_percentile(G, weight=weight) if percentile is None else percentile
    inlinks = local_inlinks(G, loc, weight=weight, nodes=nodes)
    return {v: REACH_MIX["local_inlinks"] * (1.0 - math.exp(-x / REACH_SCALE))
            + REACH_MIX["pagerank"] * percentile.get(v, 0.0) for v, x in inlinks.items()}


# --- activity ----------------------------------------------------------------------------


def log_saturation(n: float, full: float) -> float:
    """``log(1 + n) / log(1 + full)``, capped at 1: diminishing returns on counts.

    >>> log_saturation(0, 30), log_saturation(30, 30), round(log_saturation(5, 30), 3)
    (0.0, 1.0, 0.522)
    """
    if n <= 0:
        return 0.0
    return min(1.0, math.log1p(n) / math.log1p(full))


def venue_activity(posts_90d: int, authors_90d: int, days_since_post: float | None) -> float:
    """Activity from posts and distinct authors in the window and days since the last post.

    >>> venue_activity(30, 10, 0.0)
    1.0
    >>> round(venue_activity(5, 2, 45.0), 4)  # .45 log6/log31 + .3 log3/log11 + .25 * .5
    0.4972
    >>> venue_activity(0, 0, None)
    0.0
    """
    recency = 0.0 if days_since_post is None else 0.5 ** (max(days_since_post, 0.0)
                                                          / RECENCY_HALF_LIFE_DAYS)
    return (ACTIVITY_MIX["posts"] * log_saturation(posts_90d, ACTIVITY_POSTS_FULL)
            + ACTIVITY_MIX["authors"] * log_saturation(authors_90d, ACTIVITY_AUTHORS_FULL)
            + ACTIVITY_MIX["recency"] * recency)


def days_since(last_post: str, as_of: datetime) -> float | None:
    """Days from an ISO timestamp attribute ("" for none) to ``as_of``."""
    if not last_post:
        return None
    return (as_of - datetime.fromisoformat(last_post)).total_seconds() / 86400.0


def activity(G: nx.DiGraph, *, as_of: datetime) -> dict[str, float]:
    """Activity of every venue node; ``ACTIVITY_UNKNOWN`` for venues never read.

    Examples
    --------
    >>> from datetime import datetime
    >>> G = nx.DiGraph()
    >>> G.add_node("venue:1", kind="venue", posts=40, posts_90d=30, authors_90d=10,
    ...            last_post="2026-01-31 00:00:00", crawlable=True)
    >>> G.add_node("venue:2", kind="venue", posts=0, posts_90d=0, authors_90d=0,
    ...            last_post="", crawlable=False)
    >>> activity(G, as_of=datetime(2026, 1, 31))
    {'venue:1': 1.0, 'venue:2': 0.3}
    """
    out = {}
    for v in _venues(G):
        d = G.nodes[v]
        if not d.get("posts") and not d.get("last_post"):
            out[v] = ACTIVITY_UNKNOWN if not d.get("crawlable", True) else 0.0
            continue
        out[v] = venue_activity(d.get("posts_90d", 0), d.get("authors_90d", 0),
                                days_since(d.get("last_post", ""), as_of))
    return out


# --- topical -----------------------------------------------------------------------------


def topic_shares(G: nx.DiGraph, v: str, *, weight: str = "weight") -> dict[str, float]:
    """Share of the venue's posts tagged with each topic (``{topic node: share}``)."""
    posts = G.nodes[v].get("posts", 0)
    if not posts:
        return {}
    return {t: min(1.0, d.get(weight, 0.0) / posts) for t, d in G.succ[v].items()
            if d.get("kind") == "topic"}


def beat_priorities(G: nx.DiGraph, beat: str, *, weight: str = "weight") -> dict[str, float]:
    """The topic nodes a beat prioritises, with their weights."""
    if beat not in G:
        return {}
    return {t: d.get(weight, 1.0) for t, d in G.succ[beat].items()
            if d.get("kind") == "priority"}


def topical(G: nx.DiGraph, beat: str, *, weight: str = "weight",
            venues: list[str] | None = None,
            shares_cache: dict[str, dict[str, float]] | None = None) -> dict[str, float]:
    """Topical fit of venues for ``beat``: community safety, the beat's priorities, local life.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_node("venue:1", kind="venue", posts=20)
    >>> G.add_node("topic:burglary", kind="topic", safety=True)
    >>> G.add_node("topic:events", kind="topic", safety=False)
    >>> G.add_edge("venue:1", "topic:burglary", kind="topic", weight=5.0)
    >>> G.add_edge("venue:1", "topic:events", kind="topic", weight=2.0)
    >>> G.add_edge("beat:1", "topic:burglary", kind="priority", weight=1.0)
    >>> round(topical(G, "beat:1")["venue:1"], 4)  # 0.5 * 1 + 0.3 * 1 + 0.2 * (7/20) / 0.5
    0.94
    >>> G.add_node("beat:2", kind="beat")          # no priorities: 0.7 * 1 + 0.3 * 0.7
    >>> round(topical(G, "beat:2")["venue:1"], 4)
    0.91
    """
    priorities = beat_priorities(G, beat, weight=weight)
    total_priority = sum(priorities.values())
    out = {}
    for v in venues if venues is not None else _venues(G):
        if not G.nodes[v].get("posts"):
            out[v] = TOPICAL_UNKNOWN if not G.nodes[v].get("crawlable", True) else 0.0
            continue
        shares = shares_cache.get(v) if shares_cache is not None else None
        if shares is None:
            shares = topic_shares(G, v, weight=weight)
            if shares_cache is not None:
                shares_cache[v] = shares
        safety_share = sum(s for t, s in shares.items() if G.nodes[t].get("safety"))
        safety = min(1.0, safety_share / SAFETY_SHARE_FULL)
        community = min(1.0, sum(shares.values()) / COMMUNITY_SHARE_FULL)
        if total_priority > 0:
            fit = sum(w * min(1.0, shares.get(t, 0.0) / PRIORITY_SHARE_FULL)
                      for t, w in priorities.items()) / total_priority
            out[v] = (TOPICAL_MIX["safety"] * safety + TOPICAL_MIX["priority"] * fit
                      + TOPICAL_MIX["community"] * community)
        else:
            out[v] = (TOPICAL_MIX_NO_PRIORITIES["safety"] * safety
                      + TOPICAL_MIX_NO_PRIORITIES["community"] * community)
    return out
