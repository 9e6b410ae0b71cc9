"""Build the networkx graph of venues, places, beats and topics from the database.

Nodes are strings ``"<kind>:<id>"`` (``venue:42``, ``place:7``, ``postcode:BN2 9AA``,
``beat:5``, ``topic:burglary``) with a ``kind`` attribute, so the graph writes unchanged to
GEXF and GraphML. Every attribute is a str, int, float or bool (Gephi accepts no None or
lists). Posts are never nodes: they are aggregated in SQL into weighted edges.

Edges (all directed, ``kind`` attribute):

* ``link``      venue → venue: ``weight`` = times the source links to the target;
* ``mentions``  venue → place: ``weight`` = confidence-weighted mentions, ``count``;
  ``template`` when the place is in nearly every post (counted once, see TEMPLATE_SHARE);
* ``named``     venue → place: the venue's name, or the anchor text of a link to it, names the
  place (venues with too few posts read to speak for themselves);
* ``about``     venue → beat: ``posts`` and ``posts_90d`` mentioning a place of the beat,
  ``seeded`` when a seed for the beat points at the venue;
* ``in_beat``   place → beat;
* ``topic``     venue → topic: ``weight`` = posts tagged with the topic;
* ``priority``  beat → topic: ``weight`` of a beat priority.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

import networkx as nx
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from geo.names import normalise
from storage.db import utcnow
from storage.models import (
    Beat,
    BeatTopic,
    Link,
    Place,
    PlaceMention,
    Post,
    Postcode,
    PostTopic,
    Seed,
    Topic,
    Venue,
)

logger = logging.getLogger(__name__)

# Posts "this quarter": the activity window of the ranking and the reasons.
ACTIVITY_WINDOW_DAYS = 90
# Specificity of a place by its feature type: how strongly one mention of it ties a venue to
# the beat the place lies in. A postcode or a street pins a few hundred metres; a town name
# says nothing about which beat. Checked in this order (first keyword found wins); chosen by
# reading the feature types of the bundled gazetteers (data/gazetteer) and tuned on the
# sample web so that city-wide venues rank below beat-specific ones.
SPECIFICITY_RULES: tuple[tuple[tuple[str, ...], float], ...] = (
    (("postcode",), 1.0),
    (("street", "road"), 1.0),
    (("town", "city", "geonames:p.ppl", "postal:place", "district", "county"), 0.2),
    (("ward",), 0.5),
    (("landmark", "pub", "bar", "club", "park", "bus_stop", "stop", "school", "estate",
      "open space", "campus", "junction", "shopping", "station"), 0.9),
    (("village",), 0.6),
    (("neighbourhood", "locality", "area"), 0.7),
)
DEFAULT_SPECIFICITY = 0.6
# An outcode ("BN2") or a name the tagger could not resolve: evidence that the venue talks
# about *some* place, which dilutes its share for any one beat.
UNRESOLVED_SPECIFICITY = 0.5
OUTCODE_SPECIFICITY = 0.1
# A point known only to outcode level is half as telling as a surveyed one.
COARSE_FACTOR = 0.5
# A mention the tagger marked ambiguous counts a quarter (kept, never forced, per the tagger).
AMBIGUOUS_FACTOR = 0.25
# Weight of a place named in a not-crawled venue's own name ("Hanover Street Facebook group"),
# in units of confident mentions: worth a handful of posts, less than a crawled forum's record.
NAME_EVIDENCE = 2.0
# Only venues with fewer posts read than this are tied to places by their names (the same
# rule as graph.parts.READ_POSTS: a venue we have read speaks through its posts).
READ_POSTS = 5
# A place named in at least this share of a venue's posts (of at least TEMPLATE_MIN_POSTS) is
# in the site's template — header, footer, the venue's own name — not in what residents
# write, so it counts once, as much as a name (seen on the sample web: "Community Hub" in a
# Brunswick site's title matched a landmark of another beat in every post).
TEMPLATE_SHARE = 0.8
TEMPLATE_MIN_POSTS = 5
# Longest place name, in words, looked for inside venue names.
NAME_MAX_WORDS = 4
# Rows per IN (...) list when fetching by id (SQLite's bound-parameter limit is 32766).
IN_CHUNK = 5000


def specificity(feature_type: str | None, *, coarse: bool = False) -> float:
    """How much one mention of a place of ``feature_type`` says about its beat, in [0, 1].

    Examples
    --------
    >>> specificity("street")
    1.0
    >>> specificity("area:neighbourhood")
    0.7
    >>> specificity("geonames:P.PPL")
    0.2
    >>> specificity("landmark", coarse=True)
    0.45
    """
    text = (feature_type or "").lower()
    value = DEFAULT_SPECIFICITY
    for keywords, weight in SPECIFICITY_RULES:
        if any(k in text for k in keywords):
            value = weight
            break
    return round(value * (COARSE_FACTOR if coarse else 1.0), 6)


def node(kind: str, ident: object) -> str:
    """The graph node name of a database object.

    >>> node("venue", 42)
    'venue:42'
    """
    return f"{kind}:{ident}"


def node_id(name: str) -> int:
    """The integer id inside a ``venue:``/``place:``/``beat:`` node name.

    >>> node_id("venue:42")
    42
    """
    return int(name.split(":", 1)[1])


def postcode_sector(postcode: str) -> str:
    """The sector of a UK postcode ("BN2 9AA" → "BN2 9"): what a reason names.

    >>> postcode_sector("BN2 9AA")
    'BN2 9'
    >>> postcode_sector("bn29aa")
    'BN2 9'
    """
    compact = postcode.replace(" ", "").upper()
    return f"{compact[:-3]} {compact[-3]}" if len(compact) >= 5 else compact


def _iso(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value else ""


def build_graph(session: Session, *, beats: Iterable[int] | None = None,
                as_of: datetime | None = None, topics: bool = True) -> nx.DiGraph:
    """The graph of venues, places, beats and topics (see the module docstring).

    ``beats`` (ids) limits the beat and place nodes to those beats; every venue is kept, and
    each venue's ``evidence`` attribute still totals *all* its place evidence so shares stay
    right. ``as_of`` (naive UTC, default now) fixes the activity window.
    """
    as_of = as_of or utcnow()
    since = as_of - timedelta(days=ACTIVITY_WINDOW_DAYS)
    G = nx.DiGraph(as_of=_iso(as_of), window_days=ACTIVITY_WINDOW_DAYS)
    beat_ids = _add_beats(session, G, beats)
    _add_venues(session, G, as_of, since)
    _add_links(session, G)
    place_spec = _add_mentions(session, G, beat_ids)
    _add_about(session, G, beat_ids, as_of, since)
    _add_names(session, G, beat_ids, place_spec)
    _add_seeds(session, G, beat_ids)
    if topics:
        _add_topics(session, G, beat_ids)
    logger.info("graph: %d nodes, %d edges", G.number_of_nodes(), G.number_of_edges())
    return G


def _add_beats(session: Session, G: nx.DiGraph, beats: Iterable[int] | None) -> set[int]:
    stmt = select(Beat.id, Beat.key, Beat.name, Beat.centre_lat, Beat.centre_lon)
    wanted = set(beats) if beats is not None else None
    ids: set[int] = set()
    for bid, key, name, lat, lon in session.execute(stmt):
        if wanted is not None and bid not in wanted:
            continue
        ids.add(bid)
        G.add_node(node("beat", bid), kind="beat", label=name, key=key, lat=float(lat),
                   lon=float(lon))
    return ids


def _add_venues(session: Session, G: nx.DiGraph, as_of: datetime, since: datetime) -> None:
    in_window = (Post.published_at > since) & (Post.published_at <= as_of)
    stats = {
        vid: (total, recent or 0, last)
        for vid, total, recent, last in session.execute(
            select(Post.venue_id, func.count(),
                   func.sum(case((in_window, 1), else_=0)),
                   func.max(case((Post.published_at <= as_of, Post.published_at), else_=None)))
            .group_by(Post.venue_id))
    }
    authors = dict(session.execute(
        select(Post.venue_id, func.count(func.distinct(Post.author_key)))
        .where(in_window, Post.author_key.is_not(None)).group_by(Post.venue_id)).all())
    for v in session.execute(select(
            Venue.id, Venue.key, Venue.name, Venue.platform, Venue.url, Venue.crawlable,
            Venue.state, Venue.status, Venue.sensitive, Venue.merged_into_id,
            Venue.last_post_at, Venue.first_seen_at)):
        total, recent, last = stats.get(v.id, (0, 0, None))
        if isinstance(last, str):  # SQLite returns MAX() of a timestamp as text
            last = datetime.fromisoformat(last)
        if v.last_post_at and v.last_post_at <= as_of and (last is None or v.last_post_at > last):
            last = v.last_post_at
        G.add_node(node("venue", v.id), kind="venue", label=v.name or v.key, key=v.key,
                   platform=v.platform, url=v.url, crawlable=bool(v.crawlable), state=v.state,
                   status=v.status, sensitive=bool(v.sensitive),
                   merged=v.merged_into_id is not None, posts=int(total),
                   posts_90d=int(recent), authors_90d=int(authors.get(v.id, 0)),
                   last_post=_iso(last), first_seen=_iso(v.first_seen_at), evidence=0.0)


def _add_links(session: Session, G: nx.DiGraph) -> None:
    for src, dst, count, anchor in session.execute(
            select(Link.src_venue_id, Link.dst_venue_id, Link.count, Link.anchor_text)):
        if src != dst:
            G.add_edge(node("venue", src), node("venue", dst), kind="link",
                       weight=float(max(count or 1, 1)), anchor=(anchor or "")[:200])


def _post_venues(session: Session):
    """``(id, venue_id, published_at)`` of every post as a materialised CTE.

    Joining a child table to ``posts`` by id makes SQLite fetch each post's wide row (id is
    not its rowid); reading the three columns once in table order and joining to that is
    several times faster at a million posts (docs/benchmarks.md). PostgreSQL and SQLite
    from 3.35 understand ``MATERIALIZED``; older SQLite gets a plain CTE.
    """
    cte = select(Post.id, Post.venue_id, Post.published_at).cte("post_venue")
    if session.get_bind().dialect.name == "postgresql" or sqlite3.sqlite_version_info >= (3, 35):
        cte = cte.prefix_with("MATERIALIZED")
    return cte


def _mention_rows(session: Session):
    """Mentions summed per (venue, place or postcode, beat, ambiguity).

    One pass over ``place_mentions`` joined to ``posts`` only; a place's or postcode's own
    beat fills in a missing mention beat afterwards, in Python, over the (few) distinct rows.
    """
    stmt = (select(Post.venue_id, PlaceMention.kind, PlaceMention.place_id, PlaceMention.postcode,
                   PlaceMention.beat_id, PlaceMention.ambiguous, func.count(),
                   func.sum(PlaceMention.confidence))
            .join(Post, Post.id == PlaceMention.post_id)
            .group_by(Post.venue_id, PlaceMention.kind, PlaceMention.place_id,
                      PlaceMention.postcode, PlaceMention.beat_id, PlaceMention.ambiguous))
    return session.execute(stmt)


def _add_mentions(session: Session, G: nx.DiGraph, beat_ids: set[int]) -> dict[str, float]:
    """Add venue → place edges; return the specificity of each place node added."""
    edges: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    place_beat: dict[str, int | None] = {}
    place_ids: set[int] = set()
    postcodes: set[str] = set()
    unresolved: dict[str, float] = defaultdict(float)
    for vid, kind, place_id, postcode, beat_id, ambiguous, count, conf in _mention_rows(session):
        vnode = node("venue", vid)
        factor = AMBIGUOUS_FACTOR if ambiguous else 1.0
        conf = float(conf or 0.0) * factor
        if place_id is not None:
            pnode = node("place", place_id)
            place_ids.add(place_id)
        elif postcode and kind == "postcode":
            pnode = node("postcode", postcode)
            postcodes.add(postcode)
        else:
            spec = OUTCODE_SPECIFICITY if kind == "outcode" else UNRESOLVED_SPECIFICITY
            unresolved[vnode] += conf * spec
            continue
        acc = edges[(vnode, pnode)]
        acc[0] += conf
        acc[1] += int(count)
        if beat_id is not None and place_beat.get(pnode) is None:
            place_beat[pnode] = beat_id
    spec = _add_place_nodes(session, G, place_ids, postcodes, place_beat, beat_ids)
    for (vnode, pnode), (weight, count) in edges.items():
        if vnode not in G:
            continue
        posts = G.nodes[vnode]["posts"]
        template = posts >= TEMPLATE_MIN_POSTS and count >= TEMPLATE_SHARE * posts
        if template:
            weight = min(weight, NAME_EVIDENCE)
        # A postcode or place missing from the reference tables (not imported): unresolved.
        G.nodes[vnode]["evidence"] += weight * spec.get(pnode, UNRESOLVED_SPECIFICITY)
        if pnode in G:
            G.add_edge(vnode, pnode, kind="mentions", weight=round(weight, 6), count=count,
                       template=template)
    for vnode, amount in unresolved.items():
        if vnode in G:
            G.nodes[vnode]["evidence"] += amount
    return spec


def _chunks(values: Iterable, size: int = IN_CHUNK):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _add_place_nodes(session: Session, G: nx.DiGraph, place_ids: set[int], postcodes: set[str],
                     place_beat: dict[str, int | None], beat_ids: set[int]) -> dict[str, float]:
    spec: dict[str, float] = {}
    for chunk in _chunks(place_ids):
        for p in session.execute(select(Place.id, Place.name, Place.feature_type, Place.lat,
                                        Place.lon, Place.beat_id, Place.coarse)
                                 .where(Place.id.in_(chunk))):
            pnode = node("place", p.id)
            spec[pnode] = specificity(p.feature_type, coarse=bool(p.coarse))
            beat_id = p.beat_id if p.beat_id is not None else place_beat.get(pnode)
            _add_place(G, pnode, p.name, p.feature_type, p.lat, p.lon, spec[pnode], beat_id,
                       beat_ids)
    for chunk in _chunks(postcodes):
        for pc in session.execute(select(Postcode).where(Postcode.postcode.in_(chunk))).scalars():
            pnode = node("postcode", pc.postcode)
            spec[pnode] = specificity("postcode")
            beat_id = pc.beat_id if pc.beat_id is not None else place_beat.get(pnode)
            _add_place(G, pnode, pc.postcode, "postcode", pc.lat, pc.lon, spec[pnode], beat_id,
                       beat_ids)
    for pnode in place_beat:
        spec.setdefault(pnode, UNRESOLVED_SPECIFICITY)
    return spec


def _add_place(G: nx.DiGraph, pnode: str, name: str, feature_type: str, lat: float, lon: float,
               spec: float, beat_id: int | None, beat_ids: set[int]) -> None:
    in_scope = beat_id is not None and beat_id in beat_ids
    if beat_id is not None and not in_scope:
        return  # a place of a beat outside ``beats``: counted in evidence totals only
    G.add_node(pnode, kind="place", label=name, feature_type=feature_type, lat=float(lat),
               lon=float(lon), specificity=spec,
               sector=postcode_sector(name) if feature_type == "postcode" else "")
    if in_scope:
        G.add_edge(pnode, node("beat", beat_id), kind="in_beat", weight=1.0)


def _add_about(session: Session, G: nx.DiGraph, beat_ids: set[int], as_of: datetime,
               since: datetime) -> None:
    """Per (venue, beat): distinct posts mentioning the beat, all time and in the window.

    The beat is the one the tagger gave the mention (``place_mentions.beat_id``); ambiguous
    mentions do not count. Distinct (post, beat) pairs first, so posts are joined once each.
    """
    pairs = (select(PlaceMention.post_id, PlaceMention.beat_id).distinct()
             .where(PlaceMention.beat_id.is_not(None), PlaceMention.ambiguous.is_(False))
             .subquery())
    pv = _post_venues(session)
    recent = case(((pv.c.published_at > since) & (pv.c.published_at <= as_of), 1), else_=0)
    stmt = (select(pv.c.venue_id, pairs.c.beat_id, func.count(), func.sum(recent))
            .join(pv, pv.c.id == pairs.c.post_id)
            .group_by(pv.c.venue_id, pairs.c.beat_id))
    for vid, beat_id, posts, posts_90d in session.execute(stmt):
        if beat_id in beat_ids:
            G.add_edge(node("venue", vid), node("beat", beat_id), kind="about",
                       posts=int(posts), posts_90d=int(posts_90d or 0), seeded=False,
                       weight=1.0)


def _name_grams(text: str) -> set[str]:
    words = normalise(text).split()
    return {" ".join(words[i:i + n]) for n in range(1, NAME_MAX_WORDS + 1)
            for i in range(len(words) - n + 1)}


# Single words too common in venue names to count as a place ("Park Residents", "Green").
NAME_STOPWORDS = frozenset({"park", "green", "road", "street", "the", "group", "forum", "hill",
                            "community", "residents", "news", "page", "north", "south", "east",
                            "west", "central", "city", "village", "old", "new", "square"})


def _add_names(session: Session, G: nx.DiGraph, beat_ids: set[int],
               spec: dict[str, float]) -> None:
    """Tie venues with no place evidence of their own to the places their names contain.

    The name is the venue's own and the anchor texts of the links to it (the linking context:
    "Bevendean Community Noticeboard (Facebook)"); each place counts once per venue.
    """
    bare = {n: d for n, d in G.nodes(data=True) if d["kind"] == "venue" and d["evidence"] == 0
            and d["posts"] < READ_POSTS}
    grams: dict[str, list[str]] = defaultdict(list)
    for vnode, data in bare.items():
        texts = [data["label"]] + [d.get("anchor", "") for _, d in G.pred[vnode].items()
                                   if d.get("kind") == "link"]
        found = set().union(*(_name_grams(t) for t in texts if t))
        for gram in found:
            if gram not in NAME_STOPWORDS and len(gram) > 3:
                grams[gram].append(vnode)
    if not grams:
        return
    # Prefer the most specific entry per name, and only places inside a beat.
    best: dict[str, tuple] = {}
    for chunk in _chunks(grams):
        for p in session.execute(select(Place.id, Place.name, Place.norm_name, Place.feature_type,
                                        Place.lat, Place.lon, Place.beat_id, Place.coarse)
                                 .where(Place.norm_name.in_(chunk), Place.beat_id.is_not(None))):
            s = specificity(p.feature_type, coarse=bool(p.coarse))
            if p.norm_name not in best or s > best[p.norm_name][0]:
                best[p.norm_name] = (s, p)
    for gram, (s, p) in best.items():
        pnode = node("place", p.id)
        if pnode not in G:
            _add_place(G, pnode, p.name, p.feature_type, p.lat, p.lon, s, p.beat_id, beat_ids)
        if pnode not in G:
            continue
        for vnode in grams[gram]:
            G.add_edge(vnode, pnode, kind="named", weight=NAME_EVIDENCE, count=0)
            G.nodes[vnode]["evidence"] += NAME_EVIDENCE * s


def _add_seeds(session: Session, G: nx.DiGraph, beat_ids: set[int]) -> None:
    for venue_id, beat_id in session.execute(
            select(Seed.venue_id, Seed.beat_id)
            .where(Seed.venue_id.is_not(None), Seed.beat_id.is_not(None))):
        vnode, bnode = node("venue", venue_id), node("beat", beat_id)
        if beat_id not in beat_ids or vnode not in G:
            continue
        if G.has_edge(vnode, bnode):
            G.edges[vnode, bnode]["seeded"] = True
        else:
            G.add_edge(vnode, bnode, kind="about", posts=0, posts_90d=0, seeded=True, weight=1.0)


# Topics counted as community safety when the database's topics table has none marked.
FALLBACK_SAFETY_TOPICS = frozenset({
    "anti-social-behaviour", "bicycle-theft", "burglary", "criminal-damage-arson", "drugs",
    "other-theft", "possession-of-weapons", "public-order", "robbery", "shoplifting",
    "theft-from-the-person", "vehicle-crime", "violent-crime", "other-crime",
    "neighbourhood-watch", "speeding", "road-safety"})


def _add_topics(session: Session, G: nx.DiGraph, beat_ids: set[int]) -> None:
    known = {t.key: t for t in session.scalars(select(Topic))}
    any_safety = any(t.safety for t in known.values())

    def topic_node(key: str) -> str:
        tnode = node("topic", key)
        if tnode not in G:
            t = known.get(key)
            safety = bool(t.safety) if any_safety and t else key in FALLBACK_SAFETY_TOPICS
            G.add_node(tnode, kind="topic", label=t.label if t else key.replace("-", " "),
                       category=t.category if t else "", safety=safety)
        return tnode

    pv = _post_venues(session)
    stmt = (select(pv.c.venue_id, PostTopic.topic, func.count())
            .join(pv, pv.c.id == PostTopic.post_id).group_by(pv.c.venue_id, PostTopic.topic))
    for vid, topic, posts in session.execute(stmt):
        vnode = node("venue", vid)
        if vnode in G:
            G.add_edge(vnode, topic_node(topic), kind="topic", weight=float(posts))
    for beat_id, topic, weight in session.execute(
            select(BeatTopic.beat_id, BeatTopic.topic, BeatTopic.weight)):
        if beat_id in beat_ids:
            G.add_edge(node("beat", beat_id), topic_node(topic), kind="priority",
                       weight=float(weight))

