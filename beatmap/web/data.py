"""The queries behind the pages: beats overview, a beat's ranking, a venue's evidence.

The ranked rows and the venue facts come from :mod:`graph.queries`, the read queries every
output shares, so the web page, its data twins, the CLI and the exports list the same venues.
This module adds what only the pages need (polygons, filter choices, place counts, the chart).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from graph import queries
from storage.db import utcnow
from storage.models import (
    Beat,
    Place,
    PlaceMention,
    Post,
    Topic,
    User,
    Venue,
    VenueAlias,
    VenueScore,
)

logger = logging.getLogger(__name__)

# How far back the venue page's activity chart looks, in months: two years shows both a
# seasonal pattern and whether a venue has gone quiet.
ACTIVITY_MONTHS = 24
# Coordinates sent to the browser are rounded to 5 decimals (about 1 m): the beat polygons of a
# whole force then stay a few hundred kilobytes.
COORD_DECIMALS = 5
TOP_EVIDENCE = 25  # places / topics / links listed on a venue page
# Venues on a beat page before "show all": more than a team can approach in a quarter, and
# the page stays quick to draw on a phone (the 10k benchmark's render time is per row).
PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """The beat page's filters; the same object feeds the page and its data twins."""

    platform: str | None = None
    topic: str | None = None
    status: str | None = None
    crawlable: bool | None = None
    outreach: str | None = None  # latest outreach status, or "none"
    limit: int | None = PAGE_SIZE

    def as_args(self) -> dict[str, str]:
        """The filters as query-string arguments (for links and forms)."""
        args = {"platform": self.platform, "topic": self.topic, "status": self.status,
                "outreach": self.outreach,
                "crawlable": {True: "crawlable", False: "known"}.get(self.crawlable),
                "limit": "all" if self.limit is None else str(self.limit)}
        return {k: v for k, v in args.items() if v}


def parse_filters(args: Any, default_limit: int = PAGE_SIZE) -> Filters:
    """Filters from request arguments; unknown values are ignored rather than refused."""
    crawlable = {"crawlable": True, "known": False}.get(args.get("crawlable", ""))
    raw_limit = (args.get("limit") or "").strip()
    limit: int | None = default_limit
    if raw_limit == "all":
        limit = None
    elif raw_limit.isdigit() and int(raw_limit) > 0:
        limit = min(int(raw_limit), 100_000)
    return Filters(platform=args.get("platform") or None, topic=args.get("topic") or None,
                   status=args.get("status") or None, crawlable=crawlable,
                   outreach=args.get("outreach") or None, limit=limit)


# --- beats -------------------------------------------------------------------------------


def round_geometry(geometry: dict) -> dict:
    """A GeoJSON geometry with its coordinates rounded to ``COORD_DECIMALS``.

    >>> round_geometry({"type": "Point", "coordinates": [-0.1234567, 50.8234567]})
    {'type': 'Point', 'coordinates': [-0.12346, 50.82346]}
    """
    def walk(c):
        if isinstance(c, (int, float)):
            return round(c, COORD_DECIMALS)
        return [walk(x) for x in c]

    return {"type": geometry.get("type"), "coordinates": walk(geometry.get("coordinates", []))}


def beats_overview(session: Session, since: datetime | None) -> list[dict]:
    """Every beat with venue count, new candidates since ``since``, outreach and polygon."""
    geometry = dict(session.execute(select(Beat.id, Beat.geometry)).all())
    rows = queries.beats_overview(session, since=since)
    for row in rows:
        row["geometry"] = geometry.get(row["beat_id"])
        row["outreach_total"] = sum(row["outreach"].values())
    return rows


def beat_by_key(session: Session, key: str) -> Beat | None:
    return session.scalar(select(Beat).where(Beat.key == key))


# --- a beat's ranking ------------------------------------------------------------------------


def ranking(session: Session, beat: Beat, filters: Filters, *,
            include_sensitive: bool = False) -> list[dict]:
    """The ranked venues of ``beat`` under ``filters``: THE query of the beat page and twins."""
    rows = queries.beat_ranking(
        session, beat, limit=None if filters.outreach else filters.limit,
        platform=filters.platform, topic=filters.topic, status=filters.status,
        crawlable=filters.crawlable, include_sensitive=include_sensitive)
    if filters.outreach:  # a web-only filter: applied to the ranked rows, then limited
        wanted = None if filters.outreach == "none" else filters.outreach
        rows = [r for r in rows if r.get("outreach_status") == wanted]
        if filters.limit is not None:
            rows = rows[:filters.limit]
    return rows


def sensitive_hidden(session: Session, beat_id: int) -> list[int]:
    """Ids of a beat's scored venues hidden from its list because they are sensitive."""
    return list(session.scalars(
        select(Venue.id).join(VenueScore, VenueScore.venue_id == Venue.id)
        .where(VenueScore.beat_id == beat_id, Venue.sensitive.is_(True), Venue.state != "out",
               Venue.merged_into_id.is_(None)).order_by(VenueScore.rank)))


def filter_choices(session: Session, beat_id: int) -> dict[str, list[str]]:
    """Values offered by the filter drop-downs of a beat page."""
    base = (select(Venue.platform).join(VenueScore, VenueScore.venue_id == Venue.id)
            .where(VenueScore.beat_id == beat_id).distinct())
    platforms = sorted(p for p in session.scalars(base) if p)
    topics = list(session.execute(select(Topic.key, Topic.label).order_by(Topic.label)).all())
    return {"platforms": platforms, "topics": topics}


# --- a venue ---------------------------------------------------------------------------------


def resolve_venue(session: Session, venue_id: int) -> Venue | None:
    """The venue, following merges to the venue it now lives in."""
    venue = session.get(Venue, venue_id)
    seen = set()
    while venue is not None and venue.merged_into_id and venue.id not in seen:
        seen.add(venue.id)
        venue = session.get(Venue, venue.merged_into_id)
    return venue


def venue_page(session: Session, venue: Venue, *, now: datetime | None = None) -> dict[str, Any]:
    """``graph.queries.venue_detail`` plus what the page shows besides: place counts, the
    zero-filled activity of the last ``ACTIVITY_MONTHS``, named outreach authors, aliases.

    Other sensitive venues (links, reasons, merged-in venues) are never named on a page."""
    detail = queries.venue_detail(session, venue.id)
    labels = dict(session.execute(select(Topic.key, Topic.label)).all())
    detail["topic_counts"] = [(labels.get(t["topic"], t["topic"]), t["posts"])
                              for t in detail["topics"][:TOP_EVIDENCE]]
    detail["place_counts"] = _place_counts(session, venue.id)
    by_month = {m["month"]: m["posts"] for m in detail["activity_by_month"]}
    detail["activity"] = [(k, by_month.get(k, 0)) for k in month_keys(now or utcnow(),
                                                                        ACTIVITY_MONTHS)]
    users = dict(session.execute(select(User.id, User.username)).all())
    beats = dict(session.execute(select(Beat.id, Beat.name)).all())
    detail["outreach_log"] = [{**o, "user": users.get(o["user_id"]), "beat": beats.get(o["beat_id"])}
                              for o in reversed(detail["outreach"])]
    merged = list(session.scalars(
        select(Venue).where(Venue.merged_into_id == venue.id).order_by(Venue.key)))
    # A sensitive venue merged into this one is not named here, by name or by its old key.
    hidden_keys = {v.key for v in merged if v.sensitive}
    detail["aliases"] = [a for a in session.scalars(
        select(VenueAlias.alias).where(VenueAlias.venue_id == venue.id).order_by(VenueAlias.alias))
        if a not in hidden_keys]
    detail["merged_away"] = [(v.id, v.name or v.key) for v in merged if not v.sensitive]
    detail["linked_from"] = detail["linked_from"][:TOP_EVIDENCE]
    detail["links_to"] = detail["links_to"][:TOP_EVIDENCE]
    return detail


def _place_counts(session: Session, venue_id: int) -> list[tuple[str, int]]:
    label = func.coalesce(Place.name, PlaceMention.postcode, PlaceMention.surface)
    return list(session.execute(
        select(label, func.count()).select_from(PlaceMention)
        .join(Post, Post.id == PlaceMention.post_id)
        .outerjoin(Place, Place.id == PlaceMention.place_id)
        .where(Post.venue_id == venue_id, or_(PlaceMention.place_id.is_not(None),
                                              PlaceMention.postcode.is_not(None)))
        .group_by(label).order_by(func.count().desc(), label).limit(TOP_EVIDENCE)).all())


def month_keys(end: datetime, months: int) -> list[str]:
    """The ``months`` month labels ending with ``end``'s month, oldest first.

    >>> month_keys(datetime(2026, 2, 10), 3)
    ['2025-12', '2026-01', '2026-02']
    """
    year, month = end.year, end.month
    keys = []
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys[::-1]


def activity_bars(activity: list[tuple[str, int]], *, width: int = 480, height: int = 90) -> dict:
    """Bar geometry for the server-rendered SVG chart (numbers only: nothing to escape).

    >>> bars = activity_bars([("2026-01", 0), ("2026-02", 4)], width=100, height=50)
    >>> [(b["h"], b["label"]) for b in bars["bars"]]
    [(0.0, '2026-01'), (38.0, '2026-02')]
    """
    top = max((n for _, n in activity), default=0) or 1
    plot = height - 12  # room for the axis labels
    step = width / max(len(activity), 1)
    bars = []
    for i, (label, n) in enumerate(activity):
        h = round(plot * n / top, 1)
        bars.append({"x": round(i * step + 1, 1), "y": round(plot - h, 1),
                     "w": round(max(step - 2, 1), 1), "h": h, "n": n, "label": label})
    return {"width": width, "height": height, "max": top, "bars": bars, "baseline": plot}
