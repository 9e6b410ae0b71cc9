"""Shared fixtures: real SQLite and PostgreSQL databases, real Redis, and skips with reasons."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from storage.db import init_db, make_engine

PG_ADMIN_URL = os.environ.get("BEATMAP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BEATMAP_TEST_REDIS", "redis://127.0.0.1:6379/15")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_available() -> bool:
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN_URL)
    return _port_open(url.host or "127.0.0.1", url.port or 5432)


def redis_available() -> bool:
    return _port_open("127.0.0.1", 6379)


requires_postgres = pytest.mark.skipif(
    not postgres_available(), reason="no PostgreSQL server answers at " + PG_ADMIN_URL)
requires_redis = pytest.mark.skipif(
    not redis_available(), reason="no Redis server answers at 127.0.0.1:6379")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'beatmap.db'}"


@pytest.fixture
def sqlite_db(sqlite_url) -> str:
    """URL of a fresh SQLite database with the schema applied by `beatmap init`."""
    init_db(sqlite_url)
    return sqlite_url


@pytest.fixture
def pg_url() -> str:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests, but no server answers")
        pytest.skip("no PostgreSQL server answers at " + PG_ADMIN_URL)
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = "beatmap_t_" + uuid.uuid4().hex[:12]
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_db(pg_url) -> str:
    init_db(pg_url)
    return pg_url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request) -> str:
    """A fresh initialised database of each dialect in turn."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_db")
    return request.getfixturevalue("pg_db")


@pytest.fixture
def redis_url() -> str:
    if not redis_available():
        if os.environ.get("CI"):
            pytest.fail("CI must run the Redis tests, but no server answers")
        pytest.skip("no Redis server answers at 127.0.0.1:6379")
    import redis

    db = redis.Redis.from_url(REDIS_URL)
    db.flushdb()
    yield REDIS_URL
    db.flushdb()
