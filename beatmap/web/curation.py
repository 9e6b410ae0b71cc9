"""The project team's changes to venues: curation state, merges, and outreach notes."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from crawler import curation
from storage import audit
from storage.db import utcnow
from storage.ids import new_id
from storage.models import (
    OUTREACH_STATUSES,
    Outreach,
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
    old = curation.set_state(session, venue, state)
    audit.record(session, actor=actor, action="curation", object_type="venue",
                 object_id=venue.id, reason=reason or None,
                 detail={"change": "state", "from": old, "to": state, "key": venue.key})


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
                 reason: str | None) -> dict[str, int]:
    """Fold ``source`` into ``target``, as ``beatmap venues merge`` does, plus the web's part.

    The crawler's merge (:func:`crawler.curation.merge_venues`) moves pages, posts, ledger
    entries, seeds and links, and leaves the source's key as an alias; here the outreach log and
    other aliases follow too, and the source's scores go (the next ``beatmap rank`` scores the
    merged venue on all the evidence). The source row stays, with ``merged_into_id``.
    """
    if source.id == target.id:
        raise CurationError("a venue cannot be merged into itself")
    if target.merged_into_id is not None:
        raise CurationError(f"{target.key} was itself merged away; merge into where it went")
    if source.merged_into_id is not None:
        raise CurationError(f"{source.key} is already merged into another venue")
    session.execute(update(VenueAlias).where(VenueAlias.venue_id == source.id)
                    .values(venue_id=target.id))
    moved = curation.merge_venues(session, source.key, target.key)
    moved["outreach"] = session.execute(update(Outreach).where(Outreach.venue_id == source.id)
                                        .values(venue_id=target.id)).rowcount or 0
    session.execute(delete(VenueScore).where(VenueScore.venue_id == source.id))
    # Same action and detail shape as the command line's merge, so the audit reads as one log.
    audit.record(session, actor=actor, action="curation", object_type="venue",
                 object_id=source.id, reason=reason or None,
                 detail={"change": "merge", "into": target.id, "from_key": source.key,
                         "into_key": target.key, **moved})
    return moved


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
