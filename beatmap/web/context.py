"""The request's database session and settings, for the views (from ``flask.g``/``current_app``)."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from sqlalchemy.orm import Session

from storage.config import Config


def state() -> dict[str, Any]:
    """What the app factory put in ``app.extensions["beatmap"]`` (engine, settings, …)."""
    return current_app.extensions["beatmap"]


def config() -> Config:
    """The settings the app was made with."""
    return state()["config"]


def db() -> Session:
    """The request's database session (closed when the request ends: :func:`close_db`)."""
    if "db" not in g:
        g.db = Session(state()["engine"], expire_on_commit=False)
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    """Close the request's session, if it opened one (a ``teardown_request`` hook)."""
    session = g.pop("db", None)
    if session is not None:
        session.close()
