"""The team's review of what discovery found: find a venue, set its curation state, merge two."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from crawler.discovery import add_alias, record_links
from crawler.pipelines.refresh import refresh_venue
from storage.db import utcnow
from storage.models import CURATION_STATES, LedgerEntry, Link, Page, Post, Seed, Venue, VenueAlias


def venue_by_key(session: Session, key: str) -> Venue:
    """The venue with this key, or the venue this alias (e.g. a merged key) now points to."""
    venue = session.execute(select(Venue).where(Venue.key == key)).scalar_one_or_none()
    if venue is None:
        alias = session.execute(select(VenueAlias.venue_id)
                                .where(VenueAlias.alias == key)).scalar_one_or_none()
        venue = session.get(Venue, alias) if alias is not None else None
    if venue is None:
        raise ValueError(f"no venue with key {key!r} (see `beatmap venues`)")
    return venue


def set_state(session: Session, venue: Venue, state: str) -> str:
    """Curate ``venue`` (one of ``CURATION_STATES``); returns the state it had. The caller
    audits the change (the command line and the web UI each record who and why)."""
    if state not in CURATION_STATES:
        raise ValueError(f"curation state must be one of {', '.join(CURATION_STATES)}")
    before = venue.state
    venue.state, venue.updated_at = state, utcnow()
    return before


def merge_venues(session: Session, key: str, into_key: str) -> dict[str, int]:
    """Move everything of venue ``key`` to ``into_key`` and leave an alias behind.

    Pages, posts, ledger entries, seeds and links move; the source row stays, with
    ``merged_into_id``. Returns how many posts and links moved.
    """
    src, dst = venue_by_key(session, key), venue_by_key(session, into_key)
    if src.id == dst.id:
        raise ValueError(f"{key} and {into_key} are already the same venue")
    posts = session.execute(update(Post).where(Post.venue_id == src.id)
                            .values(venue_id=dst.id)).rowcount
    session.execute(update(Page).where(Page.venue_id == src.id).values(venue_id=dst.id))
    session.execute(update(LedgerEntry).where(LedgerEntry.venue_id == src.id)
                    .values(venue_id=dst.id))
    session.execute(update(Seed).where(Seed.venue_id == src.id).values(venue_id=dst.id))
    links = 0
    for link in session.execute(select(Link).where(or_(Link.src_venue_id == src.id,
                                                       Link.dst_venue_id == src.id))).scalars():
        a = dst.id if link.src_venue_id == src.id else link.src_venue_id
        b = dst.id if link.dst_venue_id == src.id else link.dst_venue_id
        if a != b:
            record_links(session, a, link.example_url or "",
                         {b: (link.count, link.anchor_text or "")})
        session.delete(link)
        links += 1
    session.flush()
    src.merged_into_id = dst.id
    src.updated_at = utcnow()
    add_alias(session, src.key, dst.id, "merge")
    refresh_venue(session, dst.id)
    src.post_count = 0
    return {"posts": posts or 0, "links": links}
