"""Shared helpers of the web UI tests: a sample database with users, and signing in."""

from __future__ import annotations

import re

from beatmap.web import create_app
from beatmap.web.users import add_user
from sampleweb.uidata import build_sample
from storage.config import Config
from storage.db import make_engine, session_scope

PASSWORDS = {"sergeant": "sergeant-pass-1", "analyst": "analyst-pass-1", "admin": "admin-pass-1"}
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_web_db(url: str, *, venues: int = 120, hostile: bool = True):
    """Fill the initialised database at ``url``; returns (engine, SampleInfo)."""
    engine = make_engine(url)
    info = build_sample(engine, venues=venues, hostile=hostile)
    with session_scope(engine) as session:
        for role, password in PASSWORDS.items():
            add_user(session, f"{role}1", role, password)
    return engine, info


def make_app(url: str, engine=None, **settings):
    config = Config.load({"db": url, **settings}, environ={})
    app = create_app(config, engine=engine)
    app.testing = True
    return app


def csrf_of(client) -> str:
    """The CSRF token of the client's session (fetching a form first if it has none)."""
    with client.session_transaction() as sess:
        token = sess.get("csrf")
    if token:
        return token
    page = client.get("/login")
    return CSRF_RE.search(page.get_data(as_text=True)).group(1)


def sign_in(client, role: str):
    token = csrf_of(client)
    response = client.post("/login", data={"username": f"{role}1", "password": PASSWORDS[role],
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def post(client, url: str, data: dict | None = None, **kwargs):
    """POST a form with the session's CSRF token, as the browser does."""
    return client.post(url, data={**(data or {}), "csrf_token": csrf_of(client)}, **kwargs)
