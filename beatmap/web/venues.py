"""A venue's page, its outreach log, and (for analysts) curation, merges and sensitive views."""

from __future__ import annotations

import logging
import time
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from sqlalchemy import select

from beatmap.web import context, data
from beatmap.web.auth import current_user, requires
from beatmap.web.curation import (
    CURATION_CHOICES,
    CurationError,
    find_venue,
    merge_venues,
    record_outreach,
    set_state,
)
from beatmap.web.users import has_role
from storage import audit
from storage.models import OUTREACH_STATUSES, Beat, Venue

logger = logging.getLogger(__name__)

bp = Blueprint("venues", __name__)
# An analyst who gave a reason may look at that sensitive venue for this long without being
# asked again (each page view is still audited, with the reason given).
SENSITIVE_GRANT_SECONDS = 30 * 60
MIN_REASON_LENGTH = 5


def _not_found(venue_id: int):
    """The one answer for an unknown venue and for a sensitive venue the user may not see:
    same status, body and headers, so ids (computable from venue keys) tell nothing."""
    abort(404, description=f"No venue with id {venue_id}.")


def _venue_or_404(venue_id: int) -> Venue:
    """The venue, if it exists and this user may know it exists: a sensitive venue is, for
    anyone below analyst, exactly as absent as an unknown id."""
    venue = context.db().get(Venue, venue_id)
    if venue is None or (venue.sensitive and not has_role(current_user().role, "analyst")):
        _not_found(venue_id)
    return venue


def _grant(venue_id: int) -> str | None:
    """The reason given for viewing this sensitive venue, while the grant lasts."""
    grant = (session.get("sensitive") or {}).get(str(venue_id))
    if grant and grant[0] > time.time():
        return grant[1]
    return None


def _may_see(venue: Venue) -> bool:
    """Sensitive venues: analysts only, and only after giving a reason (others get the 404 of
    an unknown id, from :func:`_venue_or_404`)."""
    if not venue.sensitive:
        return True
    if not has_role(current_user().role, "analyst"):
        _not_found(venue.id)
    return _grant(venue.id) is not None


def grant_sensitive(venue: Venue, reason: str) -> None:
    """Let this analyst see ``venue`` for ``SENSITIVE_GRANT_SECONDS`` and audit the reason
    (the caller commits)."""
    grants = {k: v for k, v in (session.get("sensitive") or {}).items() if v[0] > time.time()}
    grants[str(venue.id)] = [time.time() + SENSITIVE_GRANT_SECONDS, reason]
    session["sensitive"] = grants
    audit.record(context.db(), actor=current_user().username, action="venue.sensitive_reason",
                 object_type="venue", object_id=venue.id, reason=reason)


def clean_reason(text: str | None) -> str:
    """A reason as typed, on one line, at most 500 characters."""
    return " ".join((text or "").split())[:500]


@bp.route("/venues/<int:venue_id>")
def venue(venue_id: int):
    db = context.db()
    venue = _venue_or_404(venue_id)
    if venue.merged_into_id:
        target = data.resolve_venue(db, venue_id)
        if target.sensitive and not has_role(current_user().role, "analyst"):
            _not_found(venue_id)  # the redirect would give away the sensitive venue's id
        flash(f"That venue was merged into this one (it was {venue.key}).")
        return redirect(url_for("venues.venue", venue_id=target.id))
    if not _may_see(venue):
        return render_template("sensitive.html", venue_id=venue.id,
                               reason_hint=venue.sensitive_reason)
    if venue.sensitive:
        audit.record(db, actor=current_user().username, action="venue.view_sensitive",
                     object_type="venue", object_id=venue.id, reason=_grant(venue.id))
        db.commit()
    detail = data.venue_page(db, venue)
    beats = [(b.id, b.name, b.key) for b in db.scalars(select(Beat).order_by(Beat.name))]
    beat_key = request.args.get("beat", "")
    # Outreach is recorded for the beat the sergeant came from, else the venue's best beat.
    selected = next((bid for bid, _, key in beats if key == beat_key),
                    detail["beats"][0]["beat_id"] if detail["beats"] else None)
    return render_template(
        "venue.html", v=detail, venue=venue, chart=data.activity_bars(detail["activity"]),
        outreach_statuses=OUTREACH_STATUSES, curation_choices=CURATION_CHOICES,
        beats=[(bid, name) for bid, name, _ in beats], selected_beat=selected,
        beat_key=beat_key if any(key == beat_key for _, _, key in beats) else "",
        beat_name=next((name for _, name, key in beats if key == beat_key), ""),
        today=date.today().isoformat())


@bp.route("/venues/<int:venue_id>/sensitive", methods=["POST"])
@requires("analyst")
def view_sensitive(venue_id: int):
    """An analyst states why they need to see a sensitive venue; the reason is audited."""
    venue = _venue_or_404(venue_id)
    reason = clean_reason(request.form.get("reason"))
    if len(reason) < MIN_REASON_LENGTH:
        return render_template("sensitive.html", venue_id=venue.id,
                               reason_hint=venue.sensitive_reason,
                               error="Give the reason you need to see this venue."), 400
    grant_sensitive(venue, reason)
    context.db().commit()
    return redirect(url_for("venues.venue", venue_id=venue.id))


def _parse_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CurationError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def _back(venue: Venue, error: CurationError | None = None):
    if error is not None:
        flash(str(error), "error")
    beat_key = request.form.get("from_beat") or None  # keep the way back to the beat
    return redirect(url_for("venues.venue", venue_id=venue.id, beat=beat_key))


@bp.route("/venues/<int:venue_id>/outreach", methods=["POST"])
def outreach(venue_id: int):
    """Record approached / engaged / declined / revisit-on-date with a note."""
    db = context.db()
    venue = _venue_or_404(venue_id)
    if not _may_see(venue):
        abort(403, description="Give a reason to view this sensitive venue first.")
    beat_id = request.form.get("beat_id") or None
    user = current_user()
    try:
        if beat_id is not None and (not beat_id.isdigit() or db.get(Beat, int(beat_id)) is None):
            raise CurationError("unknown beat")
        record_outreach(db, venue, status=request.form.get("status", ""), actor=user.username,
                        user_id=user.id, beat_id=int(beat_id) if beat_id else None,
                        note=request.form.get("note"),
                        revisit_on=_parse_date(request.form.get("revisit_on")))
    except CurationError as exc:
        db.rollback()
        return _back(venue, exc)
    db.commit()
    flash(f"Outreach recorded: {request.form.get('status')}.")
    return _back(venue)


@bp.route("/venues/<int:venue_id>/curation", methods=["POST"])
@requires("analyst")
def curation(venue_id: int):
    db = context.db()
    venue = _venue_or_404(venue_id)
    if not _may_see(venue):
        abort(403, description="Give a reason to view this sensitive venue first.")
    try:
        set_state(db, venue, request.form.get("state", ""), actor=current_user().username,
                  reason=(request.form.get("reason") or "").strip()[:500])
    except CurationError as exc:
        db.rollback()
        return _back(venue, exc)
    db.commit()
    flash(f"Curation set to {venue.state}.")
    return _back(venue)


@bp.route("/venues/<int:venue_id>/merge", methods=["POST"])
@requires("analyst")
def merge(venue_id: int):
    """Merge this venue into another (given by id, key or alias)."""
    db = context.db()
    venue = _venue_or_404(venue_id)
    if not _may_see(venue):
        abort(403, description="Give a reason to view this sensitive venue first.")
    target = find_venue(db, request.form.get("into", ""))
    try:
        if target is None:
            raise CurationError(f"no venue with id, key or alias {request.form.get('into', '')!r}")
        merge_venues(db, venue, target, actor=current_user().username,
                     reason=(request.form.get("reason") or "").strip()[:500])
    except CurationError as exc:
        db.rollback()
        return _back(venue, exc)
    db.commit()
    flash(f"Merged {venue.key} into this venue.")
    return redirect(url_for("venues.venue", venue_id=target.id))
