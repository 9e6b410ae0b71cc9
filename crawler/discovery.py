"""Discovery: turn outbound links into candidate venues with evidence, and rank the frontier.

Every outbound link names a venue (:func:`crawler.venues.venue_key`). The venue is created as
a *candidate* if new (known-only platforms too: they are recorded, never fetched), the link
is added to the evidence in ``links`` (count, an anchor-text sample, a page it was seen on),
and a crawlable candidate within the depth budget gets its home queued in the ledger. The
frontier prefers links that look local: place names from the gazetteer in the anchor text or
on the linking page, and links from venues the team already marked as in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crawler.adapters.types import LinkItem
from crawler.urls import URLError, canonicalize, host_of
from crawler.venues import VenueRef
from geo.names import normalise
from storage.db import upsert, utcnow
from storage.ids import stable_id
from storage.models import Link, Place, Venue, VenueAlias

logger = logging.getLogger(__name__)

# Frontier priorities. The scale only matters relative to itself; these put a venue's cheap
# channels (feeds, APIs) first, then pages of seeds, then local-looking candidates, and push
# deeper hops down. Chosen by hand on the sample web so that the local venues of a beat are
# reached before city-wide and out-of-area ones.
ENTRY_POINT_BONUS = 20.0
SEED_PRIORITY = 50.0
LOCAL_ANCHOR_WEIGHT = 6.0  # per place name in the anchor text (capped at 3)
LOCAL_PAGE_WEIGHT = 4.0  # linking page mentions places (scaled 0..1 over 5 names)
LOCAL_SOURCE_WEIGHT = 5.0  # linking venue is marked "in" by the team
DEPTH_PENALTY = 3.0
FOLLOW_PENALTY = 1.0  # a venue's inner pages come after its entry points
ANCHOR_SAMPLE_CHARS = 200
MIN_PLACE_NAME_CHARS = 4  # shorter gazetteer names ("Hove" passes) are too ambiguous
MAX_NGRAM = 4
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I)


@dataclass
class VenueState:
    id: int
    key: str
    crawlable: bool
    depth: int
    local: bool


class LocalityScorer:
    """Counts gazetteer place names and postcodes in a text (cheap n-gram lookups)."""

    def __init__(self, names: Iterable[str]):
        self.names = frozenset(n for n in names if len(n) >= MIN_PLACE_NAME_CHARS)

    @classmethod
    def from_session(cls, session: Session) -> LocalityScorer:
        names: set[str] = set()
        for norm, alts in session.execute(select(Place.norm_name, Place.alt_names)):
            names.add(norm)
            names.update(normalise(a) for a in (alts or []))
        return cls(names)

    def hits(self, text: str) -> int:
        """How many place names or postcodes ``text`` mentions.

        >>> LocalityScorer(["kemp town", "level"]).hits("Litter on The Level, Kemp Town BN2 1AA")
        3
        """
        if not text:
            return 0
        count = len(_POSTCODE.findall(text))
        if not self.names:
            return count
        tokens = normalise(text).split()
        for n in range(1, MAX_NGRAM + 1):
            for i in range(len(tokens) - n + 1):
                if " ".join(tokens[i:i + n]) in self.names:
                    count += 1
        return count


def link_priority(*, anchor_hits: int, page_hits: int, source_local: bool, depth: int) -> float:
    """Frontier priority of a newly discovered venue's home page.

    >>> link_priority(anchor_hits=1, page_hits=5, source_local=False, depth=1)
    7.0
    """
    return (LOCAL_ANCHOR_WEIGHT * min(anchor_hits, 3)
            + LOCAL_PAGE_WEIGHT * min(page_hits, 5) / 5
            + (LOCAL_SOURCE_WEIGHT if source_local else 0.0)
            - DEPTH_PENALTY * depth)


def venue_id_for(key: str) -> int:
    return stable_id("venue", key)


def resolve_venue(session: Session, key: str, cache: dict[str, VenueState]) -> VenueState | None:
    """The venue a key means, following aliases and merges; None when unknown."""
    if key in cache:
        return cache[key]
    row = session.execute(select(Venue.id, Venue.key, Venue.crawlable, Venue.depth, Venue.state,
                                 Venue.merged_into_id).where(Venue.key == key)).first()
    if row is None:
        alias = session.execute(select(VenueAlias.venue_id)
                                .where(VenueAlias.alias == key)).scalar_one_or_none()
        if alias is None:
            return None
        row = session.execute(select(Venue.id, Venue.key, Venue.crawlable, Venue.depth,
                                     Venue.state, Venue.merged_into_id)
                              .where(Venue.id == alias)).first()
        if row is None:
            return None
    for _ in range(8):  # follow merges (bounded: a cycle would be a curation bug)
        if row.merged_into_id is None:
            break
        nxt = session.execute(select(Venue.id, Venue.key, Venue.crawlable, Venue.depth,
                                     Venue.state, Venue.merged_into_id)
                              .where(Venue.id == row.merged_into_id)).first()
        if nxt is None:
            break
        row = nxt
    state = VenueState(row.id, row.key, row.crawlable, row.depth, row.state == "in")
    cache[key] = state
    return state


def ensure_venue(session: Session, ref: VenueRef, *, discovered_via: str, depth: int,
                 cache: dict[str, VenueState], now: datetime | None = None) -> tuple[VenueState, bool]:
    """The venue for ``ref``, created as a candidate when new. Returns (venue, created)."""
    existing = resolve_venue(session, ref.key, cache)
    if existing is not None:
        if depth < existing.depth:
            session.execute(update(Venue).where(Venue.id == existing.id, Venue.depth > depth)
                            .values(depth=depth))
            existing.depth = depth
        return existing, False
    now = now or utcnow()
    vid = venue_id_for(ref.key)
    upsert(session, Venue, [{
        "id": vid, "key": ref.key, "platform": ref.platform_hint, "url": ref.url,
        "host": host_of(ref.url), "crawlable": ref.crawlable,
        "known_only_reason": ref.known_only_reason, "state": "candidate", "status": "unknown",
        "sensitive": False, "post_count": 0, "discovered_via": discovered_via, "depth": depth,
        "first_seen_at": now, "updated_at": now}], keys=["key"])
    state = VenueState(vid, ref.key, ref.crawlable, depth, False)
    cache[ref.key] = state
    return state, True


def add_alias(session: Session, alias: str, venue_id: int, reason: str) -> None:
    if alias:
        upsert(session, VenueAlias, [{"alias": alias, "venue_id": venue_id, "reason": reason}],
               keys=["alias"])


def links_upsert(insert):
    """``INSERT … ON CONFLICT`` for link evidence that adds counts (executemany form)."""
    table = Link.__table__
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=["src_venue_id", "dst_venue_id"],
        set_={"count": table.c.count + stmt.excluded.count,
              "last_seen_at": stmt.excluded.last_seen_at,
              # The first sample stays: evidence shown to people should not flicker.
              "anchor_text": func.coalesce(table.c.anchor_text, stmt.excluded.anchor_text),
              "example_url": func.coalesce(table.c.example_url, stmt.excluded.example_url)})


def record_links(session: Session, src_venue_id: int, page_url: str,
                 links: dict[int, tuple[int, str]], now: datetime | None = None) -> None:
    """Add link evidence: ``links`` maps destination venue id → (count, anchor sample)."""
    now = now or utcnow()
    rows = [{"src_venue_id": src_venue_id, "dst_venue_id": dst, "count": count,
             "anchor_text": anchor[:ANCHOR_SAMPLE_CHARS] or None, "example_url": page_url,
             "first_seen_at": now, "last_seen_at": now}
            for dst, (count, anchor) in sorted(links.items()) if dst != src_venue_id]
    if rows:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(links_upsert(insert), rows)


def group_links(links: Iterable[LinkItem]) -> dict[str, list[LinkItem]]:
    """Outbound links grouped by canonical URL, unparsable ones dropped."""
    out: dict[str, list[LinkItem]] = {}
    for link in links:
        try:
            url = canonicalize(link.url)
        except (URLError, ValueError):
            continue
        out.setdefault(url, []).append(link)
    return out

