"""The Flask application factory: database per request, sign-in gate, CSRF, headers."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask import Flask, render_template, request, send_from_directory
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from beatmap.assets import LEAFLET_DIR
from beatmap.web import auth, beats, filters, security, team, venues
from beatmap.web.auth import LOGIN_THROTTLE_KEY, check_access, current_user, load_user
from beatmap.web.context import close_db
from beatmap.web.security import LoginThrottle, csrf_token
from storage.config import Config
from storage.db import open_engine, utcnow
from storage.models import Meta

logger = logging.getLogger(__name__)

# One working shift: a sergeant signs in once per shift, a forgotten laptop does not stay in.
SESSION_HOURS = 10
SECRET_META_KEY = "web_secret_key"
TRUE_WORDS = frozenset({"1", "yes", "true", "on"})


def secret_key(config: Config, engine: Engine) -> str:
    """The ``secret_key`` setting, else the key stored in ``meta`` (made on first start)."""
    if config.get("secret_key"):
        return config.secret_key
    with Session(engine) as session:
        row = session.get(Meta, SECRET_META_KEY)
        if row is None:
            row = Meta(key=SECRET_META_KEY, value=secrets.token_urlsafe(48), updated_at=utcnow())
            session.add(row)
            session.commit()
            logger.info("generated the web session key into the database (meta.%s)",
                        SECRET_META_KEY)
        return row.value


def cookie_secure(config: Config) -> bool:
    """``web_secure_cookies``: yes when users reach the UI over HTTPS (e.g. behind a proxy)."""
    return str(config.get("web_secure_cookies", "") or "").strip().lower() in TRUE_WORDS


def create_app(config: Config | None = None, *, engine: Engine | None = None) -> Flask:
    """Build the web app over ``config.db`` (or the given engine)."""
    config = config or Config.load()
    engine = engine or open_engine(config.db)
    app = Flask(__name__)
    secure = cookie_secure(config)
    app.config.update(
        SECRET_KEY=secret_key(config, engine),
        SESSION_COOKIE_NAME="beatmap_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        MAX_CONTENT_LENGTH=1_000_000,  # forms only: nothing big is ever posted
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.extensions["beatmap"] = {"config": config, "engine": engine,
                                 LOGIN_THROTTLE_KEY: LoginThrottle(), "crawls": {}}
    # The client address (sign-in throttle, audit) from X-Forwarded-For only when configured.
    app.wsgi_app = security.wrap_trusted_proxies(app.wsgi_app,  # type: ignore[method-assign]
                                                 config.get("web_trusted_proxies"))
    csp = security.content_security_policy(config.get("tile_url") or "")
    _register_hooks(app, csp=csp, hsts=secure)
    _register_blueprints(app)
    _register_filters(app)
    return app


def _register_hooks(app: Flask, *, csp: str, hsts: bool) -> None:
    @app.before_request
    def _gate():
        if request.endpoint in ("static", "vendor"):
            return None
        load_user()
        security.check_csrf()
        return check_access(app)

    @app.after_request
    def _headers(response):
        return security.add_security_headers(response, csp=csp, hsts=hsts)

    app.teardown_request(close_db)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return render_template("error.html", error=exc), exc.code or 500

    @app.context_processor
    def _globals():
        return {"csrf_token": csrf_token, "me": current_user(),
                "tile_url": app.extensions["beatmap"]["config"].get("tile_url") or "",
                "leaflet": LEAFLET_DIR.is_dir()}

    @app.route("/vendor/leaflet/<path:filename>", endpoint="vendor")
    def _leaflet(filename: str):
        # Leaflet ships in the package (or npm's copy in a clone) and is served by us: no CDN.
        return send_from_directory(LEAFLET_DIR, filename, max_age=86400)


def _register_blueprints(app: Flask) -> None:
    for module in (auth, beats, venues, team):
        app.register_blueprint(module.bp)


def _register_filters(app: Flask) -> None:
    for name in filters.__all__:
        app.add_template_filter(getattr(filters, name), name)
