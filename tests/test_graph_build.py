"""The graph built from the database and the graph functions."""

from __future__ import annotations

import random

import networkx as nx
import pytest
from networkx.algorithms.link_analysis.pagerank_alg import _pagerank_python

from graph import parts
from graph.build import build_graph, node, specificity
from storage.db import make_engine, session_scope
from tests.test_graph_fixtures import AS_OF, Maker, small_world


@pytest.fixture
def world(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        objs = small_world(Maker(s))
    yield engine, objs
    engine.dispose()


def test_build_graph_nodes_and_edges(world):
    engine, w = world
    with session_scope(engine) as s:
        G = build_graph(s, as_of=AS_OF)
    kinds = {k for _, k in G.nodes(data="kind")}
    assert kinds == {"venue", "place", "beat", "topic"}
    ra, fb, blog = (node("venue", w[k].id) for k in ("ra", "fb", "blog"))
    elm = node("place", w["elm"].id)
    hanover = node("beat", w["hanover"].id)
    # 9 of the 12 posts of the residents' association mention Elm Grove, at confidence 1.
    edge = G.edges[ra, elm]
    assert (edge["kind"], edge["weight"], edge["count"]) == ("mentions", 9.0, 9)
    assert edge["template"] is False
    assert G.edges[elm, hanover]["kind"] == "in_beat"
    assert G.edges[ra, fb] == {"kind": "link", "weight": 3.0,
                               "anchor": "Hanover Local Facebook group"}
    # Postcode mentions become postcode nodes in their beat, with their sector.
    pc = node("postcode", "BN2 9AA")
    assert G.nodes[pc]["sector"] == "BN2 9" and G.has_edge(pc, hanover)
    # About edges count distinct posts mentioning the beat, all time and in the window.
    assert G.edges[ra, hanover]["posts"] == 12
    assert G.edges[ra, hanover]["posts_90d"] == 12
    assert G.edges[node("venue", w["old"].id), hanover]["posts_90d"] == 0
    # Venue activity attributes; author keys are counted, never stored.
    data = G.nodes[ra]
    assert (data["posts"], data["posts_90d"], data["authors_90d"]) == (12, 12, 5)
    assert data["last_post"] == "2026-05-29 00:00:00"
    # Evidence totals weigh each mention by its place's specificity (3 specific places x 9).
    assert data["evidence"] == pytest.approx(27.0)
    assert G.nodes[blog]["evidence"] == pytest.approx(4 * 1.0 + 4 * 0.2)
    # Topic and priority edges.
    assert G.edges[ra, node("topic", "anti-social-behaviour")]["weight"] == 6
    assert G.edges[hanover, node("topic", "anti-social-behaviour")]["kind"] == "priority"
    assert G.nodes[node("topic", "events")]["safety"] is False


def test_graph_attributes_are_gephi_types(world):
    engine, _ = world
    with session_scope(engine) as s:
        G = build_graph(s, as_of=AS_OF)
    for _, attrs in list(G.nodes(data=True)) + [(None, d) for *_, d in G.edges(data=True)]:
        for key, value in attrs.items():
            assert isinstance(value, str | int | float | bool), (key, value)


def test_build_graph_limited_to_beats_keeps_totals(world):
    engine, w = world
    with session_scope(engine) as s:
        G = build_graph(s, beats=[w["kemp"].id], as_of=AS_OF)
    assert [n for n, k in G.nodes(data="kind") if k == "beat"] == [node("beat", w["kemp"].id)]
    assert node("place", w["elm"].id) not in G
    # The residents' association keeps its full evidence total, so its Kemp share stays 0.
    assert G.nodes[node("venue", w["ra"].id)]["evidence"] == pytest.approx(27.0)


def test_named_venue_without_posts_ties_to_place(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        m = Maker(s)
        b = m.beat("B1", "Beat one")
        m.place("Hollingdean", b, "area:neighbourhood")
        fb = m.venue("facebook.com/groups/hollingdeanmums", "Hollingdean Mums",
                     platform="facebook", crawlable=False)
        other = m.venue("facebook.com/groups/knitting", "Knitting Circle", platform="facebook",
                        crawlable=False)
    with session_scope(engine) as s:
        G = build_graph(s, as_of=AS_OF)
    v = node("venue", fb.id)
    named = [(t, d) for _, t, d in G.out_edges(v, data=True) if d["kind"] == "named"]
    assert len(named) == 1 and G.nodes[named[0][0]]["label"] == "Hollingdean"
    assert G.nodes[v]["evidence"] == pytest.approx(2.0 * 0.7)
    assert not list(G.out_edges(node("venue", other.id)))
    engine.dispose()


@pytest.mark.parametrize("feature_type,expected", [
    ("street", 1.0), ("postcode", 1.0), ("pub_bar_club", 0.9), ("landmark_near_bus_stop", 0.9),
    ("area:park/village", 0.9), ("locality", 0.7), ("area:ward/area", 0.5),
    ("electoral_ward_2013", 0.5), ("geonames:P.PPL", 0.2), ("geonames_postal:place", 0.2),
    ("area:village", 0.6), ("something-new", 0.6), (None, 0.6)])
def test_specificity_of_gazetteer_feature_types(feature_type, expected):
    assert specificity(feature_type) == expected


def _random_link_graph(seed: int, n: int = 40, p: float = 0.08) -> nx.DiGraph:
    rng = random.Random(seed)
    G = nx.DiGraph()
    for i in range(n):
        G.add_node(f"venue:{i}", kind="venue")
    for i in range(n):
        for j in range(n):
            if i != j and rng.random() < p:
                G.add_edge(f"venue:{i}", f"venue:{j}", kind="link", weight=float(rng.randint(1, 5)))
    return G


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pagerank_matches_networkx_reference(seed):
    G = _random_link_graph(seed)
    ours = parts.pagerank(G)
    reference = _pagerank_python(G, alpha=parts.PAGERANK_ALPHA, weight="weight", tol=1e-12,
                                 max_iter=500)
    assert sum(ours.values()) == pytest.approx(1.0)
    for n in G:
        assert ours[n] == pytest.approx(reference[n], abs=1e-8)


def test_pagerank_ignores_non_link_edges():
    G = _random_link_graph(5, n=10, p=0.3)
    before = parts.pagerank(G)
    G.add_node("place:1", kind="place")
    G.add_edge("venue:0", "place:1", kind="mentions", weight=100.0)
    assert parts.pagerank(G) == pytest.approx(before)


def test_locality_hand_worked():
    """Venue A: 6 street mentions in beat 1, 2 in beat 2, 2 unresolved (x0.5).
    Venue B: none of its own, linked from A and from C (which is local to nothing)."""
    G = nx.DiGraph()
    G.add_node("venue:A", kind="venue", evidence=6 + 2 + 2 * 0.5)
    G.add_node("venue:B", kind="venue", evidence=0.0)
    G.add_node("venue:C", kind="venue", evidence=5.0)
    for p, b in (("place:1", "beat:1"), ("place:2", "beat:2")):
        G.add_node(p, kind="place", specificity=1.0)
        G.add_edge(p, b, kind="in_beat")
    G.add_edge("venue:A", "place:1", kind="mentions", weight=6.0)
    G.add_edge("venue:A", "place:2", kind="mentions", weight=2.0)
    G.add_edge("venue:A", "venue:B", kind="link", weight=1.0)
    G.add_edge("venue:C", "venue:B", kind="link", weight=1.0)
    loc = parts.locality_by_beat(G)
    # share 6/9, volume 1 - e^-2: 0.6667 * (0.4 + 0.6 * 0.8647) = 0.6125
    assert loc["beat:1"]["venue:A"] == pytest.approx(6 / 9 * (0.4 + 0.6 * (1 - 2.718281828 ** -2)))
    assert loc["beat:2"]["venue:A"] == pytest.approx(2 / 9 * (0.4 + 0.6 * (1 - 2.718281828 ** (-2 / 3))))
    # B inherits: mean over its 2 linkers (A's value and C's 0) x 0.8 x (1 - e^-1).
    expected_b = 0.8 * (loc["beat:1"]["venue:A"] / 2) * (1 - 2.718281828 ** -1)
    assert loc["beat:1"]["venue:B"] == pytest.approx(expected_b)
    assert "venue:C" not in loc["beat:1"]


def test_unnamed_known_only_venue_named_by_its_links(sqlite_db):
    """The linking context: a link's anchor text names the venue and its place."""
    from graph.queries import beat_ranking
    from graph.rank import rank_all

    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        m = Maker(s)
        b = m.beat("B1", "Beat one")
        street = m.place("Bevendean Road", b)
        m.place("Bevendean", b, "area:neighbourhood")
        ra = m.venue("bevendean-ra.example", "Residents")
        for i in range(6):
            m.post(ra, days_ago=i + 1, author=f"r{i}", places=[street])
        fb = m.venue("facebook.com/groups/bvd123", platform="facebook", crawlable=False)
        fb.name = None
        m.link(ra, fb)
        s.flush()
        from storage.models import Link

        s.get(Link, (ra.id, fb.id)).anchor_text = "Bevendean Community Noticeboard (Facebook)"
    with session_scope(engine) as s:
        G = build_graph(s, as_of=AS_OF)
        named = [G.nodes[t]["label"] for t, d in G.succ[node("venue", fb.id)].items()
                 if d["kind"] == "named"]
        assert named == ["Bevendean"]
        rank_all(s, as_of=AS_OF)
        rows = {r["venue_key"]: r for r in beat_ranking(s, "B1")}
    engine.dispose()
    row = rows["facebook.com/groups/bvd123"]
    assert row["name"] == "Bevendean Community Noticeboard (Facebook)"
    assert "named after Bevendean" in row["reason"] or "Bevendean" in row["reason"]
