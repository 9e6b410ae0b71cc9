"""GEXF and GraphML of the venue–place–beat–topic graph, for Gephi and other network tools.

Attributes are only str, int, float or bool (Gephi rejects None and lists); each venue node
carries its best score over the exported beats and that beat's parts. Sensitive venues are
left out unless the export includes them.
"""

from __future__ import annotations

from typing import Any, BinaryIO

import networkx as nx
from sqlalchemy.orm import Session

from graph.build import build_graph, node

SCORE_KEYS = ("score", "locality", "activity", "reach", "topical", "feedback")


def clean_value(value: Any) -> str | int | float | bool:
    """A value every GEXF/GraphML reader accepts.

    >>> clean_value(None), clean_value(["a", "b"]), clean_value(0.5), clean_value({"e": 1})
    ('', 'a; b', 0.5, 'e: 1')
    """
    if value is None:
        return ""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def export_graph(session: Session, data, *, include_sensitive: bool = False) -> nx.DiGraph:
    """The graph to write: scored venues of the exported beats and what they connect to."""
    beat_ids = [item.beat.id for item in data]
    G = build_graph(session, beats=beat_ids)
    best: dict[str, dict[str, Any]] = {}
    for item in data:
        for row in item.rows:
            v = node("venue", row["venue_id"])
            if v not in best or row["score"] > best[v]["score"]:
                best[v] = dict(row, beat_key=item.beat.key)
    venues = [n for n, k in G.nodes(data="kind") if k == "venue"]
    drop = [v for v in venues if v not in best
            or (G.nodes[v].get("sensitive") and not include_sensitive)]
    G.remove_nodes_from(drop)
    G.remove_nodes_from([n for n, k in G.nodes(data="kind")
                         if k in ("place", "topic") and G.degree(n) == 0])
    for v, row in best.items():
        if v in G:
            G.nodes[v].update({k: row[k] for k in SCORE_KEYS})
            G.nodes[v].update(best_beat=row["beat_key"], best_rank=row["rank"],
                              reason=row["reason"], flags="; ".join(row["flags"]),
                              outreach=row["outreach_status"] or "")
    for n, attrs in G.nodes(data=True):
        for key in list(attrs):
            attrs[key] = clean_value(attrs[key])
        for key in SCORE_KEYS:  # one attribute type per key across nodes, as GEXF needs
            attrs.setdefault(key, 0.0)
        attrs.setdefault("label", n)
    for _, _, attrs in G.edges(data=True):
        for key in list(attrs):
            attrs[key] = clean_value(attrs[key])
        attrs.setdefault("weight", 1.0)
    G.graph = {"name": "beatmap venues, places, beats and topics"}
    return G


def write_gexf(session: Session, data, stream: BinaryIO, *, include_sensitive: bool = False,
               **_: Any) -> None:
    nx.write_gexf(export_graph(session, data, include_sensitive=include_sensitive), stream)


def write_graphml(session: Session, data, stream: BinaryIO, *, include_sensitive: bool = False,
                  **_: Any) -> None:
    nx.write_graphml(export_graph(session, data, include_sensitive=include_sensitive), stream)
