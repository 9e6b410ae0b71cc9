"""Signing in and out, the current user, and who may open which page (default: signed in)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from beatmap.web import users as accounts
from beatmap.web.context import db
from storage import audit
from storage.db import utcnow
from storage.models import User

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)
LOGIN_THROTTLE_KEY = "login_throttle"
F = TypeVar("F", bound=Callable)


# --- access rules ---------------------------------------------------------------------------


def public(view: F) -> F:
    """Mark a view as open to anonymous visitors (only the sign-in page is)."""
    view.beatmap_public = True  # type: ignore[attr-defined]
    return view


def requires(role: str) -> Callable[[F], F]:
    """Mark a view as needing ``role`` or a higher one; every other view needs a sign-in."""
    def mark(view: F) -> F:
        view.beatmap_role = role  # type: ignore[attr-defined]
        return view
    return mark


def check_access(app: Flask):
    """Before each request: anonymous → sign-in page; too low a role → 403."""
    view = app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "beatmap_public", False):
        return None
    user = current_user()
    if user is None:
        if request.method == "GET":
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(401, description="Sign in first.")
    needed = getattr(view, "beatmap_role", "sergeant")
    if not accounts.has_role(user.role, needed):
        abort(403, description=f"This page is for the {needed} role and above.")
    return None


def current_user() -> User | None:
    return g.get("user")


def load_user() -> None:
    """Put the signed-in user on ``g``. A session is refused (and cleared) once its user is gone
    or disabled, or its generation is behind ``users.session_gen`` (sign-out, a new password or
    role), or the password or role it was issued with has changed."""
    g.user = None
    uid = session.get("uid")
    if uid is None:
        return
    user = db().get(User, uid)
    if user is None or user.disabled or session.get("gen") != user.session_gen \
            or session.get("pw") != _hash_tag(user):
        session.clear()
        return
    g.user = user


def _hash_tag(user: User) -> str:
    # Belt and braces with the generation: a changed password (or role) ends every existing
    # session of that user, and so does removing the account and adding one of the same name.
    # A digest, not a piece of the password hash itself, goes into the (signed, readable) cookie.
    return hashlib.sha256(f"{user.password_hash}\x1f{user.role}".encode()).hexdigest()[:20]


def since_last_visit() -> datetime | None:
    raw = session.get("since")
    return datetime.fromisoformat(raw) if raw else None


def client_ip() -> str:
    # The peer address, or the client address taken from X-Forwarded-For when the setting
    # `web_trusted_proxies` names the proxy in front (applied in app.py; off by default, since
    # the header is forgeable by anyone who reaches the server directly).
    return request.remote_addr or "unknown"


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirect).

    >>> safe_next("/beats/E05002441"), safe_next("//evil.example/"), safe_next("https://x/")
    ('/beats/E05002441', '/beats', '/beats')
    """
    if not target:
        return "/beats"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return "/beats"
    return target


# --- views ---------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """The sign-in form; throttled per user name and (user name, address) with backoff, and per
    address for unknown user names; every attempt audited."""
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    username = (request.form.get("username") or "").strip().lower()[:64]
    password = request.form.get("password") or ""
    ip = client_ip()
    throttle = current_app.extensions["beatmap"][LOGIN_THROTTLE_KEY]
    wait = throttle.retry_after(username, ip)
    session_db = db()
    if wait:
        audit.record(session_db, actor=username or "-", action="login.throttled",
                     detail={"ip": ip, "retry_after": wait, "scope": "user"})
        session_db.commit()
        return _refused(wait)
    user, known = accounts.check_credentials(session_db, username, password)
    if user is None:
        address_wait = throttle.address_wait(ip)  # over the limit before this failure
        throttle.failed(username, ip, known=known)
        audit.record(session_db, actor=username or "-", action="login.failed",
                     detail={"ip": ip, "known": known})
        if address_wait:
            # Too many unknown user names from this address: every failure from it gets the
            # same "too many" answer, so the answer does not tell which names are accounts.
            audit.record(session_db, actor=username or "-", action="login.throttled",
                         detail={"ip": ip, "retry_after": address_wait, "scope": "address"})
        session_db.commit()
        if address_wait:
            return _refused(address_wait)
        return render_template("login.html", next=request.form.get("next", ""),
                               error="Wrong user name or password."), 401
    throttle.succeeded(username, ip)
    previous_visit = user.last_seen_beats_at
    user.last_login_at = utcnow()
    audit.record(session_db, actor=user.username, action="login", detail={"ip": ip})
    session_db.commit()
    session.clear()  # a fresh session (and CSRF token) at each sign-in: no fixation
    session.permanent = True
    session.update(uid=user.id, gen=user.session_gen, pw=_hash_tag(user),
                   since=previous_visit.isoformat() if previous_visit else None)
    return redirect(safe_next(request.form.get("next")))


def _refused(wait: int):
    return render_template("login.html", next=request.form.get("next", ""),
                           error=f"Too many failed sign-ins. Try again in "
                                 f"{max(1, -(-wait // 60))} minute(s)."), 429


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out: the user's session generation is raised, so this cookie (and any copy of it,
    and the user's sessions on other machines) is refused from now on."""
    user = current_user()
    if user is not None:
        accounts.end_sessions(user)
        audit.record(db(), actor=user.username, action="logout")
        db().commit()
    session.clear()
    flash("Signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/")
def home():
    return redirect(url_for("beats.beats"))
