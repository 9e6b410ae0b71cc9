"""Project-team pages: seeds and crawls (analysts); users, retention and audit (admins)."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from beatmap.web import context, crawls
from beatmap.web import users as accounts
from beatmap.web.auth import current_user, requires
from crawler.run import check_seed
from crawler.seeds import SeedRow, add_seeds
from storage import audit
from storage.db import utcnow
from storage.models import (
    ROLES,
    AuditEntry,
    Beat,
    CrawlRun,
    LedgerEntry,
    Seed,
    Venue,
)
from storage.retention import purge

logger = logging.getLogger(__name__)

bp = Blueprint("team", __name__)
RUNS_SHOWN = 30
AUDIT_PAGE = 100
ERRORS_PER_RUN = 10


# --- seeds and crawls -------------------------------------------------------------------------


@bp.route("/crawls")
@requires("analyst")
def crawl_page():
    """Seeds, the start-a-crawl form, and recent runs with their stats and errors."""
    db = context.db()
    seeds = db.execute(select(Seed, Beat.name).outerjoin(Beat, Beat.id == Seed.beat_id)
                       .order_by(Seed.created_at.desc()).limit(500)).all()
    runs = list(db.scalars(select(CrawlRun).order_by(CrawlRun.started_at.desc())
                           .limit(RUNS_SHOWN)))
    errors = {run.id: list(db.execute(
        select(LedgerEntry.url, LedgerEntry.state, LedgerEntry.last_error)
        .where(LedgerEntry.run_id == run.id, LedgerEntry.state.in_(("failed", "blocked")))
        .order_by(LedgerEntry.fetched_at.desc()).limit(ERRORS_PER_RUN)).all()) for run in runs}
    beats = [(b.key, b.name) for b in db.scalars(select(Beat).order_by(Beat.name))]
    return render_template("crawls.html", seeds=seeds, runs=runs, errors=errors, beats=beats,
                           active=crawls.active(current_app),
                           command=crawls.command_line(context.config()),
                           purpose=context.config().get("crawl_purpose") or "")


@bp.route("/seeds", methods=["POST"])
@requires("analyst")
def add_seed():
    """Add one seed through the crawler's own seed rules (canonical URL, no deny-listed
    platform, its venue created), as ``beatmap seeds add`` does."""
    db = context.db()
    user = current_user()
    row = SeedRow(url=(request.form.get("url") or "").strip(),
                  beat=request.form.get("beat") or None,
                  note=(request.form.get("note") or "").strip()[:500] or None)
    try:
        url = check_seed(row.url) if row.url else ""
        added = add_seeds(db, [row], source=f"web:{user.username}")
    except ValueError as exc:
        db.rollback()
        flash(str(exc), "error")
        return redirect(url_for("team.crawl_page"))
    audit.record(db, actor=user.username, action="seed.add", object_type="seed", object_id=url,
                 detail={"new": bool(added), "beat": row.beat})
    db.commit()
    flash(f"Seed added: {url}" if added else f"{url} was already a seed (beat and note updated).")
    return redirect(url_for("team.crawl_page"))


@bp.route("/crawls/start", methods=["POST"])
@requires("analyst")
def start_crawl():
    purpose = " ".join((request.form.get("purpose") or "").split())[:500]
    if len(purpose) < 5:
        flash("State the purpose of the crawl (it is recorded with the run).", "error")
        return redirect(url_for("team.crawl_page"))
    user = current_user()
    db = context.db()
    audit.record(db, actor=user.username, action="crawl.start", reason=purpose,
                 detail={"via": "web"})
    db.commit()
    try:
        crawls.start(current_app, context.config(), actor=user.username, purpose=purpose)
    except crawls.CrawlStartError as exc:
        flash(str(exc), "error")
    else:
        flash("Crawl started; its run appears below (reload to follow it).")
    return redirect(url_for("team.crawl_page"))


# --- admin ----------------------------------------------------------------------------------


@bp.route("/admin/users", methods=["GET", "POST"])
@requires("admin")
def users():
    """List users; add one, change a role, disable/enable, or set a new password."""
    db = context.db()
    if request.method == "POST":
        _user_action(db)
        return redirect(url_for("team.users"))
    return render_template("users.html", users=accounts.list_users(db), roles=ROLES,
                           min_password=accounts.MIN_PASSWORD_LENGTH)


def _user_action(db) -> None:
    me = current_user()
    action = request.form.get("action", "")
    name = request.form.get("username", "")
    try:
        if action == "add":
            accounts.add_user(db, name, request.form.get("role", ""),
                              request.form.get("password", ""))
        elif action == "role":
            accounts.set_role(db, name, request.form.get("role", ""))
        elif action in ("disable", "enable"):
            if name == me.username:
                raise accounts.UserError("you cannot disable your own account")
            accounts.set_disabled(db, name, action == "disable")
        elif action == "password":
            accounts.set_password(db, name, request.form.get("password", ""))
        else:
            raise accounts.UserError(f"unknown action {action!r}")
    except accounts.UserError as exc:
        db.rollback()
        flash(str(exc), "error")
        return
    audit.record(db, actor=me.username, action=f"user.{action}", object_type="user",
                 object_id=name.strip().lower(),
                 detail={"role": request.form.get("role")} if action in ("add", "role") else None)
    db.commit()
    flash(f"User {name.strip().lower()}: {action} done.")


@bp.route("/admin/retention")
@requires("admin")
def retention():
    """The retention settings and what a purge would erase now (a dry run; nothing changes)."""
    config = context.config()
    db = context.db()
    report = purge(db, post_days=config.retention_post_days,
                   audit_days=config.retention_audit_days, actor=current_user().username,
                   dry_run=True)
    db.rollback()
    counts = {"venues": db.scalar(select(func.count()).select_from(Venue)),
              "sensitive": db.scalar(select(func.count()).select_from(Venue)
                                     .where(Venue.sensitive.is_(True)))}
    return render_template("retention.html", config=config, report=report, counts=counts)


@bp.route("/admin/audit")
@requires("admin")
def audit_log():
    """The append-only audit log, newest first, filtered by action, actor and days."""
    db = context.db()
    action = (request.args.get("action") or "").strip()
    actor = (request.args.get("actor") or "").strip()
    before = request.args.get("before", "")
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE + 1)
    if action:
        q = q.where(AuditEntry.action.like(action.replace("%", "") + "%"))
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if before.isdigit():
        q = q.where(AuditEntry.id < int(before))
    days = request.args.get("days", "")
    if days.isdigit():
        q = q.where(AuditEntry.at >= utcnow() - timedelta(days=int(days)))
    entries = list(db.scalars(q))
    more = entries[AUDIT_PAGE].id if len(entries) > AUDIT_PAGE else None
    actions = list(db.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
    return render_template("audit.html", entries=entries[:AUDIT_PAGE], more=more,
                           actions=actions, action=action, actor=actor, days=days)

