"""The project team's changes to venues: curation state, merges, and outreach notes."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from beatmap import audit
from beatmap.db import utcnow
from beatmap.ids import new_id
from beatmap.models import (
    OUTREACH_STATUSES,
    Link,
    Outreach,
    Page,
    Post,
    Seed,
    Venue,
    VenueAlias,
    VenueScore,
)

logger = logging.getLogger(__name__)

CURATION_CHOICES = ("in", "out", "undecided")
MAX_NOTE_LENGTH = 2000


class CurationError(ValueError):
    """A curation, merge or outreach request that cannot be carried out; says why."""


def set_state(session: Session, venue: Venue, state: str, *, actor: str,
              reason: str | None) -> None:
    """Curate a venue in / out / undecided, audited with the old and new state."""
    if state not in CURATION_CHOICES:
        raise CurationError(f"curation must be one of {', '.join(CURATION_CHOICES)}")
    old = venue.state
    venue.state, venue.updated_at = state, utcnow()
    audit.record(session, actor=actor, action="curation", object_type="venue",
                 object_id=venue.id, reason=reason or None, detail={"from": old, "to": state})


def record_outreach(session: Session, venue: Venue, *, status: str, actor: str,
                    user_id: int | None, beat_id: int | None, note: str | None,
                    revisit_on: date | None) -> Outreach:
    """Add one entry to a venue's outreach log (never edited later: the log is history)."""
    if status not in OUTREACH_STATUSES:
        raise CurationError(f"outreach status must be one of {', '.join(OUTREACH_STATUSES)}")
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise CurationError(f"the note is longer than {MAX_NOTE_LENGTH} characters")
    if status == "revisit" and revisit_on is None:
        raise CurationError("give the date to revisit")
    entry = Outreach(id=new_id(), venue_id=venue.id, beat_id=beat_id, user_id=user_id,
                     status=status, note=note or None, revisit_on=revisit_on,
                     created_at=utcnow())
    session.add(entry)
    audit.record(session, actor=actor, action="outreach", object_type="venue",
                 object_id=venue.id, detail={"status": status, "beat_id": beat_id,
                                             "revisit_on": revisit_on.isoformat()
                                             if revisit_on else None})
    return entry


def merge_venues(session: Session, source: Venue, target: Venue, *, actor: str,
                 reason: str | None) -> None:
    """Fold ``source`` into ``target``: its key becomes an alias, its evidence moves over.

    Pages, posts, seeds and outreach move to the target; links are re-pointed (a link the
    target already has absorbs the count); the source's scores are dropped, so the next
    ``beatmap rank`` scores the merged venue on all the evidence. Nothing is deleted that
    cannot be rebuilt, and the source row stays with ``merged_into_id`` for the record.
    """
    if source.id == target.id:
        raise CurationError("a venue cannot be merged into itself")
    if target.merged_into_id is not None:
        raise CurationError(f"{target.key} was itself merged away; merge into where it went")
    if source.merged_into_id is not None:
        raise CurationError(f"{source.key} is already merged into another venue")
    for model in (Page, Post, Seed, Outreach):
        session.execute(update(model).where(model.venue_id == source.id)
                        .values(venue_id=target.id))
    _move_links(session, source.id, target.id)
    session.execute(delete(VenueScore).where(VenueScore.venue_id == source.id))
    session.execute(update(VenueAlias).where(VenueAlias.venue_id == source.id)
                    .values(venue_id=target.id))
    if session.get(VenueAlias, source.key) is None:
        session.add(VenueAlias(alias=source.key, venue_id=target.id, reason="merge"))
    target.post_count = (target.post_count or 0) + (source.post_count or 0)
    if source.last_post_at and (not target.last_post_at or source.last_post_at > target.last_post_at):
        target.last_post_at = source.last_post_at
    source.merged_into_id, source.updated_at, target.updated_at = target.id, utcnow(), utcnow()
    audit.record(session, actor=actor, action="merge", object_type="venue", object_id=source.id,
                 reason=reason or None, detail={"into": target.id, "from_key": source.key,
                                                "into_key": target.key})


def _move_links(session: Session, source_id: int, target_id: int) -> None:
    links = list(session.scalars(select(Link).where(
        (Link.src_venue_id == source_id) | (Link.dst_venue_id == source_id))))
    for link in links:
        src = target_id if link.src_venue_id == source_id else link.src_venue_id
        dst = target_id if link.dst_venue_id == source_id else link.dst_venue_id
        session.delete(link)
        session.flush()
        if src == dst:  # a link between the two merged venues is now internal
            continue
        existing = session.get(Link, (src, dst))
        if existing is not None:
            existing.count += link.count
            existing.first_seen_at = min(existing.first_seen_at, link.first_seen_at)
            existing.last_seen_at = max(existing.last_seen_at, link.last_seen_at)
        else:
            session.add(Link(src_venue_id=src, dst_venue_id=dst, count=link.count,
                             anchor_text=link.anchor_text, example_url=link.example_url,
                             first_seen_at=link.first_seen_at, last_seen_at=link.last_seen_at))
        session.flush()


def find_venue(session: Session, ref: str) -> Venue | None:
    """A venue by id, key or alias (what an analyst types in the merge box)."""
    ref = (ref or "").strip()
    if not ref:
        return None
    if ref.isdigit():
        found = session.get(Venue, int(ref))
        if found is not None:
            return found
    found = session.scalar(select(Venue).where(Venue.key == ref))
    if found is None:
        alias = session.get(VenueAlias, ref)
        found = session.get(Venue, alias.venue_id) if alias else None
    return found
