"""The beats overview, a beat's ranked venues, and that list's data twins (.json/.csv/.xlsx)."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from beatmap.web import context, data, twins
from beatmap.web.auth import current_user, requires, since_last_visit
from beatmap.web.users import has_role
from beatmap.web.venues import clean_reason, grant_sensitive
from storage import audit
from storage.db import utcnow
from storage.models import OUTREACH_STATUSES, VENUE_STATUSES, Venue

logger = logging.getLogger(__name__)

bp = Blueprint("beats", __name__)
FORMATS = ("xlsx", "csv", "json")
SCORE_PARTS = ("locality", "activity", "reach", "topical", "feedback")
MIN_REASON_LENGTH = 5  # "audit", "brief": short, but never empty or a single key press


@bp.route("/beats")
def beats():
    """All beats on a map and in a list; marks this visit for "new since last visit"."""
    session = context.db()
    rows = data.beats_overview(session, since_last_visit())
    features = [{"type": "Feature", "geometry": data.round_geometry(r["geometry"]),
                 "properties": {"key": r["key"], "name": r["name"], "venues": r["venues"],
                                "new": r["new_candidates"]}}
                for r in rows if r.get("geometry")]
    user = current_user()
    user.last_seen_beats_at = utcnow()  # the *next* session counts from here
    session.commit()
    return render_template("beats.html", rows=rows, since=since_last_visit(),
                           map_data={"beats": {"type": "FeatureCollection", "features": features},
                                     "link": "beat"})


def _bars(row: dict) -> list[tuple[str, str, float]]:
    """(part, value as text, bar width 0..100) for each score part of a row: worked out here
    rather than in the template, because the beat page draws five per venue."""
    out = []
    for part in SCORE_PARTS:
        value = row.get(part) or 0.0
        out.append((part, f"{value:.2f}", round(min(max(value, 0.0), 1.0) * 100, 1)))
    return out


def _hidden(session, beat_id: int) -> int:
    """How many sensitive venues are left out of the list: analysts are told (and may open
    one by its place in that count, with a reason: the page carries no id, name or address
    of them); sergeants are not, so the page does not even hint that they exist."""
    if not has_role(current_user().role, "analyst"):
        return 0
    return len(data.sensitive_hidden(session, beat_id))


def _beat_or_404(key: str):
    beat = data.beat_by_key(context.db(), key)
    if beat is None:
        abort(404, description=f"No beat with key {key!r}.")
    return beat


def _map_data(beat, rows: list[dict]) -> dict:
    venues = [{"id": r["venue_id"], "rank": r["rank"], "name": r["name"],
               "lat": r["lat"], "lon": r["lon"]}
              for r in rows if r.get("lat") is not None and r.get("lon") is not None]
    feature = {"type": "Feature", "geometry": data.round_geometry(beat.geometry),
               "properties": {"key": beat.key, "name": beat.name}}
    return {"beats": {"type": "FeatureCollection", "features": [feature]}, "venues": venues}


@bp.route("/beats/<key>")
def beat(key: str):
    """A beat's ranked venues with score parts, reasons, filters, map and downloads."""
    session = context.db()
    beat = _beat_or_404(key)
    filters = data.parse_filters(request.args)
    rows = data.ranking(session, beat, filters)
    return render_template(
        "beat.html", beat=beat, rows=rows, bars=[_bars(r) for r in rows], filters=filters,
        venue_href=url_for("venues.venue", venue_id=0)[:-1],
        choices=data.filter_choices(session, beat.id), statuses=VENUE_STATUSES,
        outreach_statuses=OUTREACH_STATUSES, hidden=_hidden(session, beat.id),
        map_data=_map_data(beat, rows), formats=FORMATS)


@bp.route("/beats/<key>/sensitive", methods=["POST"])
@requires("analyst")
def open_hidden(key: str):
    """Open the n-th sensitive venue hidden from a beat's list, once the analyst has said why
    (audited like the venue page's own reason form); only then is its id in a URL."""
    session = context.db()
    beat = _beat_or_404(key)
    reason = clean_reason(request.form.get("reason"))
    if len(reason) < MIN_REASON_LENGTH:
        abort(400, description="Give the reason you need to see this venue.")
    hidden = data.sensitive_hidden(session, beat.id)
    n = (request.form.get("n") or "").strip()
    if not n.isdigit() or not 1 <= int(n) <= len(hidden):
        abort(400, description="Choose one of the hidden venues listed on the beat page.")
    venue = session.get(Venue, hidden[int(n) - 1])
    grant_sensitive(venue, reason)
    session.commit()
    return redirect(url_for("venues.venue", venue_id=venue.id, beat=beat.key))


@bp.route("/beats/<key>.<fmt>", methods=["GET", "POST"])
def beat_twin(key: str, fmt: str):
    """A data twin of the beat page. GET asks why; POST (with a reason) downloads and audits."""
    if fmt not in FORMATS:
        abort(404, description=f"No {fmt!r} format; use one of {', '.join(FORMATS)}.")
    session = context.db()
    beat = _beat_or_404(key)
    source = request.form if request.method == "POST" else request.args
    filters = data.parse_filters(source)
    reason = " ".join((request.form.get("reason") or "").split())[:500]
    if request.method == "GET" or len(reason) < MIN_REASON_LENGTH:
        error = None if request.method == "GET" else \
            f"Say why you are exporting (at least {MIN_REASON_LENGTH} characters)."
        return render_template("export.html", beat=beat, fmt=fmt, filters=filters,
                               error=error), 200 if error is None else 400
    rows = data.ranking(session, beat, filters)
    user = current_user()
    audit.record(session, actor=user.username, action="export", object_type="beat",
                 object_id=beat.key, reason=reason,
                 detail={"format": fmt, "rows": len(rows), "filters": filters.as_args()})
    session.commit()
    return _download(beat, rows, fmt, filters, reason)


def _download(beat, rows: list[dict], fmt: str, filters: data.Filters, reason: str) -> Response:
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    if fmt == "json":
        body = twins.to_json(rows, {"beat": {"key": beat.key, "name": beat.name},
                                    "filters": filters.as_args(), "exported_at": stamp})
    elif fmt == "csv":
        body = twins.to_csv(beat, rows)
    else:
        body = twins.to_xlsx(beat, rows, reason)
    safe_key = re.sub(r"[^A-Za-z0-9_.-]+", "-", beat.key)
    return Response(body, mimetype=twins.MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="beatmap-{safe_key}-{stamp}.{fmt}"'})
