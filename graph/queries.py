"""The read queries every output shares: the CLI, each export and the web UI show the same rows.

``beat_ranking`` is the one list of a beat's venues. It reads the scores ``beatmap rank`` wrote
(``venue_scores``) and joins the venue's *current* curation, sensitivity and outreach, so a
venue marked "out" or sensitive disappears from every list at once, without re-ranking.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from geo.names import normalise
from graph.reasons import reason as render_reason
from storage.models import (
    OUTREACH_STATUSES,
    Beat,
    Link,
    Outreach,
    Post,
    PostBeat,
    PostTopic,
    Seed,
    Venue,
    VenueScore,
)

logger = logging.getLogger(__name__)

# Columns of one ranking row, in the order exports write them.
RANKING_COLUMNS: tuple[str, ...] = (
    "rank", "venue_id", "venue_key", "name", "platform", "url", "crawlable", "score",
    "locality", "activity", "reach", "topical", "feedback", "reason", "places", "topics",
    "posts_90d", "last_post_at", "status", "flags", "state", "outreach_status", "contact",
    "lat", "lon",
)
# Columns of one row of the venue list (``beatmap venues``), in the order it prints them.
VENUE_LIST_COLUMNS: tuple[str, ...] = (
    "key", "platform", "url", "crawlable", "known_only_reason", "state", "status", "sensitive",
    "posts", "last_post", "linked_from", "link_count", "depth", "discovered_via",
)
# Statuses that the crawler or the ranking sets and that make a venue a poor first contact.
BAD_STATUSES = ("dormant", "gone", "hijacked")


class UnknownBeat(LookupError, ValueError):
    """No beat matches the key, id or name given."""


def resolve_beat(session: Session, beat: Beat | int | str) -> Beat:
    """The beat meant by ``beat``: a :class:`Beat`, its id, its key, or its name (any case)."""
    if isinstance(beat, Beat):
        return beat
    if isinstance(beat, int):
        found = session.get(Beat, beat)
        if found is None:
            raise UnknownBeat(f"no beat with id {beat}")
        return found
    text = str(beat).strip()
    found = session.scalar(select(Beat).where(Beat.key == text))
    if found is not None:
        return found
    wanted = normalise(text)
    matches = [b for b in session.scalars(select(Beat)) if normalise(b.name) == wanted]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        keys = ", ".join(sorted(b.key for b in matches))
        raise UnknownBeat(f"beat name {text!r} is ambiguous; use one of the keys {keys}")
    if text.isdigit():
        return resolve_beat(session, int(text))
    raise UnknownBeat(f"no beat with key or name {text!r} (see `beatmap beats list`)")


def latest_outreach(session: Session, venue_ids: list[int], beat_id: int | None = None
                    ) -> dict[int, str]:
    """The newest outreach status of each venue (for ``beat_id``, or recorded without a beat)."""
    if not venue_ids:
        return {}
    stmt = select(Outreach.venue_id, Outreach.status, Outreach.beat_id).order_by(
        Outreach.created_at, Outreach.id)
    if len(venue_ids) <= 5000:
        stmt = stmt.where(Outreach.venue_id.in_(venue_ids))
    wanted = set(venue_ids)
    out: dict[int, str] = {}
    for venue_id, status, row_beat in session.execute(stmt):
        if venue_id in wanted and (beat_id is None or row_beat in (None, beat_id)):
            out[venue_id] = status
    return out


def _flags(venue: Venue, evidence: dict[str, Any]) -> list[str]:
    flags = [f for f in evidence.get("flags", []) if f not in ("sensitive",)]
    if venue.status in BAD_STATUSES and venue.status not in flags:
        flags.append(venue.status)
    if not venue.crawlable and "known-only" not in flags:
        flags.append("known-only")
    if venue.sensitive:
        flags.append("sensitive")
    return flags


def _effective_status(venue: Venue, flags: list[str]) -> str:
    for status in BAD_STATUSES:
        if status in flags:
            return status
    return venue.status


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if value else None


def _row(score: VenueScore, venue: Venue, outreach: str | None) -> dict[str, Any]:
    evidence = score.evidence or {}
    flags = _flags(venue, evidence)
    return {
        "rank": score.rank,
        "venue_id": venue.id,
        "venue_key": venue.key,
        "name": venue.name or venue.key,
        "platform": venue.platform,
        "url": venue.url,
        "crawlable": bool(venue.crawlable),
        "score": round(score.score, 4),
        "locality": round(score.locality, 4),
        "activity": round(score.activity, 4),
        "reach": round(score.reach, 4),
        "topical": round(score.topical, 4),
        "feedback": round(score.feedback, 4),
        "reason": score.reason,
        "places": [p[0] if isinstance(p, list) else p for p in evidence.get("places", [])],
        "topics": [t[0] if isinstance(t, list) else t for t in evidence.get("topics", [])],
        "posts_90d": int(evidence.get("posts_90d", 0)),
        "last_post_at": _iso(venue.last_post_at) or evidence.get("last_post_at"),
        "status": _effective_status(venue, flags),
        "flags": flags,
        "state": venue.state,
        "outreach_status": outreach,
        "contact": dict(venue.contact or {}),
        "lat": evidence.get("lat"),
        "lon": evidence.get("lon"),
    }


def _names_and_flags(session: Session, venue_ids: set[int]) -> dict[int, tuple[str, bool]]:
    """``{venue id: (name as the graph labels it, sensitive now)}``."""
    out: dict[int, tuple[str, bool]] = {}
    ids = sorted(venue_ids)
    for i in range(0, len(ids), 5000):
        stmt = select(Venue.id, Venue.name, Venue.key, Venue.sensitive).where(
            Venue.id.in_(ids[i:i + 5000]))
        for vid, name, key, sensitive in session.execute(stmt):
            out[vid] = (name or key, bool(sensitive))
    return out


def _names_linkers(evidence: dict[str, Any]) -> bool:
    """Whether the reason of this evidence names linking venues (see graph.reasons.reason)."""
    return bool(evidence.get("inherited") and evidence.get("local_linkers"))


def shown_linkers(evidence: dict[str, Any], known: dict[int, tuple[str, bool]], *,
                  reveal: bool = False, own: int | None = None) -> list[str]:
    """The names of the venues linking to this one that this reader may see, best first.

    A sensitive venue is named only when ``reveal`` (an analyst or export that gave a reason
    to see sensitive venues) or when it is the venue being read (``own``). Sensitivity is the
    venue's *current* flag (``known``: :func:`_names_and_flags`), so a venue flagged after the
    ranking is hidden at once. Evidence stored before linker ids were kept cannot be checked:
    it names no one unless ``reveal``.
    """
    ids = evidence.get("linker_ids")
    if ids is None:
        return list(evidence.get("linked_from", [])) if reveal else []
    names = []
    for vid in ids:
        if vid in known and (reveal or not known[vid][1] or vid == own):
            names.append(known[vid][0])
    return names


def fill_reasons(session: Session, items: list[tuple[dict[str, Any], dict[str, Any]]], *,
                 reveal: bool = False, own: int | None = None) -> None:
    """Set ``row["reason"]`` for each (row, evidence) whose reason names linking venues, from
    the evidence, naming only the linkers this reader may see (:func:`shown_linkers`); the
    others are counted. Every list, page, twin and export reads its reasons through here."""
    wanted = [(row, ev) for row, ev in items if ev and _names_linkers(ev)]
    if not wanted:
        return
    known = _names_and_flags(session, {vid for _, ev in wanted
                                       for vid in ev.get("linker_ids") or ()})
    for row, ev in wanted:
        names = shown_linkers(ev, known, reveal=reveal, own=own)
        row["reason"] = render_reason({**ev, "linked_from": names})


def link_names(session: Session, venue_ids: list[int]) -> dict[int, str]:
    """For venues without a name: the anchor text most links to them use (known-only venues
    are named by the pages that link to them: "Bevendean Community Noticeboard (Facebook)")."""
    best: dict[int, tuple[int, str]] = {}
    for i in range(0, len(venue_ids), 5000):
        stmt = select(Link.dst_venue_id, Link.anchor_text, Link.count).where(
            Link.dst_venue_id.in_(venue_ids[i:i + 5000]), Link.anchor_text.is_not(None))
        for vid, anchor, count in session.execute(stmt):
            text = " ".join((anchor or "").split())[:120]
            if len(text) >= 3 and (vid not in best or (count or 0) > best[vid][0]):
                best[vid] = (count or 0, text)
    return {vid: text for vid, (_, text) in best.items()}


def _name_unnamed(session: Session, rows: list[dict[str, Any]]) -> None:
    unnamed = [r["venue_id"] for r in rows if r["name"] == r["venue_key"]]
    names = link_names(session, unnamed) if unnamed else {}
    for r in rows:
        if r["venue_id"] in names:
            r["name"] = names[r["venue_id"]]


def beat_ranking(session: Session, beat: Beat | int | str, *, limit: int | None = None,
                 platform: str | None = None, topic: str | None = None,
                 status: str | None = None, crawlable: bool | None = None,
                 include_sensitive: bool = False) -> list[dict[str, Any]]:
    """The ranked venues of ``beat``: one dict per venue with the keys of ``RANKING_COLUMNS``.

    Venues curated "out" and venues merged into another are never listed; sensitive venues
    only with ``include_sensitive`` (the caller audits that view). ``rank`` numbers the venues
    so listed 1..n (hidden venues leave no gap); the filters (AND) then keep those ranks, so a
    filtered list shows each venue's place in the beat's full list.
    """
    target = resolve_beat(session, beat)
    shown = [VenueScore.beat_id == target.id, Venue.state != "out", Venue.merged_into_id.is_(None)]
    if not include_sensitive:
        shown.append(Venue.sensitive.is_(False))
    # Each venue's place in the beat's full visible list, numbered in SQL so that a page of
    # the top 50 out of thousands builds 50 rows, not thousands.
    position = func.row_number().over(order_by=(VenueScore.rank, Venue.id))
    visible = (select(VenueScore.venue_id.label("venue_id"), position.label("pos"))
               .join(Venue, Venue.id == VenueScore.venue_id).where(*shown).subquery())
    stmt = (select(VenueScore, Venue, visible.c.pos)
            .join(Venue, Venue.id == VenueScore.venue_id)
            .join(visible, visible.c.venue_id == VenueScore.venue_id)
            .where(VenueScore.beat_id == target.id).order_by(visible.c.pos))
    if platform:
        stmt = stmt.where(Venue.platform == platform)
    if crawlable is not None:
        stmt = stmt.where(Venue.crawlable.is_(bool(crawlable)))
    if limit is not None and not (status or topic):
        stmt = stmt.limit(limit)  # status and topic are read from the built rows below
    found = session.execute(stmt).all()
    outreach = latest_outreach(session, [v.id for _, v, _ in found], target.id)
    rows = []
    evidence = []
    for score, venue, pos in found:
        row = _row(score, venue, outreach.get(venue.id))
        row["rank"] = pos  # hidden venues leave no gaps that hint at them
        rows.append(row)
        evidence.append((row, score.evidence or {}))
    # A reason names linking venues: sensitive ones only for a reader who may see them.
    fill_reasons(session, evidence, reveal=include_sensitive)
    _name_unnamed(session, rows)
    if status:
        rows = [r for r in rows if r["status"] == status or status in r["flags"]]
    if topic:
        rows = [r for r in rows if topic in r["topics"]]
    return rows[:limit] if limit is not None else rows


def venue_detail(session: Session, venue_id: int, *,
                 reveal_sensitive: bool = False) -> dict[str, Any]:
    """Everything a person needs about one venue: the facts, why it ranks, who links to it.

    Raises ``LookupError`` for an unknown id. The caller decides whether this venue may be
    shown when it is sensitive (and audits it); the ``sensitive`` key says which it is. Other
    sensitive venues (linking to it, linked from it, named in its reasons) are counted, never
    named, unless ``reveal_sensitive``.
    """
    venue = session.get(Venue, venue_id)
    if venue is None:
        raise LookupError(f"no venue with id {venue_id}")
    scores = session.execute(
        select(VenueScore, Beat).join(Beat, Beat.id == VenueScore.beat_id)
        .where(VenueScore.venue_id == venue_id).order_by(VenueScore.score.desc())).all()
    beats = [{"beat_id": b.id, "beat_key": b.key, "beat_name": b.name, "rank": s.rank,
              "score": round(s.score, 4), "locality": round(s.locality, 4),
              "activity": round(s.activity, 4), "reach": round(s.reach, 4),
              "topical": round(s.topical, 4), "feedback": round(s.feedback, 4),
              "reason": s.reason, "places": (s.evidence or {}).get("places", [])}
             for s, b in scores]
    fill_reasons(session, [(row, s.evidence or {}) for row, (s, _) in zip(beats, scores,
                                                                          strict=True)],
                 reveal=reveal_sensitive, own=venue_id)
    first = scores[0][0].evidence if scores else {}
    return {
        "venue_id": venue.id, "venue_key": venue.key, "name": venue.name or venue.key,
        "platform": venue.platform, "url": venue.url, "host": venue.host,
        "description": venue.description, "crawlable": bool(venue.crawlable),
        "known_only_reason": venue.known_only_reason, "state": venue.state,
        "status": venue.status, "sensitive": bool(venue.sensitive),
        "sensitive_reason": venue.sensitive_reason, "contact": dict(venue.contact or {}),
        "member_count": venue.member_count, "post_count": venue.post_count,
        "discovered_via": venue.discovered_via, "first_seen_at": _iso(venue.first_seen_at),
        "last_post_at": _iso(venue.last_post_at), "last_crawled_at": _iso(venue.last_crawled_at),
        "merged_into_id": venue.merged_into_id,
        "flags": _flags(venue, first or {}),
        "beats": beats,
        "topics": _venue_topics(session, venue_id),
        "activity_by_month": _activity_by_month(session, venue_id),
        "linked_from": _links(session, venue_id, incoming=True, reveal=reveal_sensitive),
        "links_to": _links(session, venue_id, incoming=False, reveal=reveal_sensitive),
        "outreach": _outreach_log(session, venue_id),
    }


def _venue_topics(session: Session, venue_id: int) -> list[dict[str, Any]]:
    stmt = (select(PostTopic.topic, func.count(PostTopic.post_id))
            .join(Post, Post.id == PostTopic.post_id).where(Post.venue_id == venue_id)
            .group_by(PostTopic.topic)
            .order_by(func.count(PostTopic.post_id).desc(), PostTopic.topic))
    return [{"topic": t, "posts": n} for t, n in session.execute(stmt)]


def _activity_by_month(session: Session, venue_id: int) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    stmt = select(Post.published_at).where(Post.venue_id == venue_id,
                                           Post.published_at.is_not(None))
    for (published,) in session.execute(stmt):
        month = published.strftime("%Y-%m")
        counts[month] = counts.get(month, 0) + 1
    return [{"month": m, "posts": counts[m]} for m in sorted(counts)]


# What a link to or from a sensitive venue shows a reader who may not see it: that there is
# one, and how often; not its name, id, address, the anchor text (which names it) or the
# example page (which is on it, or points at it).
HIDDEN_LINK = {"venue_id": None, "name": None, "url": None, "anchor_text": None,
               "example_url": None, "sensitive": True}


def _links(session: Session, venue_id: int, *, incoming: bool,
           reveal: bool = False) -> list[dict[str, Any]]:
    other = Link.src_venue_id if incoming else Link.dst_venue_id
    mine = Link.dst_venue_id if incoming else Link.src_venue_id
    stmt = (select(Link, Venue).join(Venue, Venue.id == other).where(mine == venue_id)
            .order_by(Link.count.desc(), Venue.id))
    out = []
    for link, v in session.execute(stmt):
        if v.sensitive and not reveal and v.id != venue_id:
            out.append({**HIDDEN_LINK, "count": link.count})
            continue
        out.append({"venue_id": v.id, "name": v.name or v.key, "url": v.url, "count": link.count,
                    "anchor_text": link.anchor_text, "example_url": link.example_url,
                    "sensitive": bool(v.sensitive)})
    return out


def _outreach_log(session: Session, venue_id: int) -> list[dict[str, Any]]:
    stmt = select(Outreach).where(Outreach.venue_id == venue_id).order_by(Outreach.created_at)
    return [{"id": o.id, "status": o.status, "beat_id": o.beat_id, "user_id": o.user_id,
             "note": o.note, "revisit_on": o.revisit_on.isoformat() if o.revisit_on else None,
             "created_at": _iso(o.created_at)} for o in session.scalars(stmt)]


def beats_overview(session: Session, *, since: datetime | None = None) -> list[dict[str, Any]]:
    """One row per beat: listed venues, new candidates since ``since``, outreach counts.

    "Listed" counts what :func:`beat_ranking` shows by default (not out, not merged, not
    sensitive). ``new_candidates`` counts listed venues still in state "candidate" first seen
    at or after ``since`` (all candidates when ``since`` is None).
    """
    beats = list(session.scalars(select(Beat).order_by(Beat.name)))
    stmt = (select(VenueScore.beat_id, Venue.id, Venue.state, Venue.first_seen_at, VenueScore.rank)
            .join(Venue, Venue.id == VenueScore.venue_id)
            .where(Venue.state != "out", Venue.merged_into_id.is_(None),
                   Venue.sensitive.is_(False)))
    per_beat: dict[int, list[tuple[int, str, datetime]]] = {}
    for beat_id, vid, state, first_seen, _rank in session.execute(stmt):
        per_beat.setdefault(beat_id, []).append((vid, state, first_seen))
    # Newest status per (venue, beat) and per venue without a beat, with its time, so each
    # beat takes the newer of the two (what latest_outreach gives one beat's list).
    per_pair: dict[tuple[int, int | None], tuple[datetime, int, str]] = {}
    for vid, row_beat, status, created, oid in session.execute(
            select(Outreach.venue_id, Outreach.beat_id, Outreach.status, Outreach.created_at,
                   Outreach.id)):
        key = (vid, row_beat)
        if key not in per_pair or (created, oid) > per_pair[key][:2]:
            per_pair[key] = (created, oid, status)
    out = []
    for beat in beats:
        listed = per_beat.get(beat.id, [])
        counts = {s: 0 for s in OUTREACH_STATUSES}
        for vid, _, _ in listed:
            found = [r for r in (per_pair.get((vid, beat.id)), per_pair.get((vid, None))) if r]
            if found:
                status = max(found)[2]
                counts[status] = counts.get(status, 0) + 1
        new = sum(1 for _, state, first in listed
                  if state == "candidate" and (since is None or (first and first >= since)))
        out.append({"beat_id": beat.id, "key": beat.key, "name": beat.name,
                    "venues": len(listed), "new_candidates": new, "outreach": counts,
                    "centre_lat": beat.centre_lat, "centre_lon": beat.centre_lon})
    return out


def venue_list(session: Session, *, beat: str | None = None,
               state: str | None = None) -> list[dict[str, Any]]:
    """Every venue found, crawlable first, with its evidence (``VENUE_LIST_COLUMNS``).

    ``beat`` (a key) keeps the venues that speak about that beat, are scored for it or were
    seeded for it; ``state`` keeps one curation state. Merged venues are left out (see their
    target). Raises :class:`UnknownBeat` for an unknown beat key.
    """
    evidence = (select(Link.dst_venue_id.label("vid"), func.count().label("sources"),
                       func.sum(Link.count).label("links"))
                .group_by(Link.dst_venue_id).subquery())
    query = (select(Venue, evidence.c.sources, evidence.c.links)
             .outerjoin(evidence, evidence.c.vid == Venue.id)
             .where(Venue.merged_into_id.is_(None)))
    if state:
        query = query.where(Venue.state == state)
    if beat:
        beat_id = session.execute(select(Beat.id).where(Beat.key == beat)).scalar_one_or_none()
        if beat_id is None:
            raise UnknownBeat(f"unknown beat {beat!r}")
        talking = select(Post.venue_id).join(PostBeat, PostBeat.post_id == Post.id) \
            .where(PostBeat.beat_id == beat_id)
        scored = select(VenueScore.venue_id).where(VenueScore.beat_id == beat_id)
        seeded = select(Seed.venue_id).where(Seed.beat_id == beat_id)
        query = query.where(or_(Venue.id.in_(talking), Venue.id.in_(scored),
                                Venue.id.in_(seeded)))
    query = query.order_by(Venue.crawlable.desc(), Venue.post_count.desc(), Venue.key)
    rows = []
    for venue, sources, links in session.execute(query):
        rows.append({"key": venue.key, "platform": venue.platform, "url": venue.url,
                     "crawlable": venue.crawlable, "known_only_reason": venue.known_only_reason,
                     "state": venue.state, "status": venue.status, "sensitive": venue.sensitive,
                     "posts": venue.post_count,
                     "last_post": venue.last_post_at.date().isoformat()
                     if venue.last_post_at else None,
                     "linked_from": sources or 0, "link_count": int(links or 0),
                     "depth": venue.depth, "discovered_via": venue.discovered_via})
    return rows
