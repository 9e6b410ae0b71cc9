"""Database access: engines with the right pragmas, sessions, portable upserts, and ``init``."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from storage.models import Base

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_SQL = ROOT / "schema.sql"
# Long enough for a web request to wait out a crawler's commit, short enough to surface a
# stuck writer to the user instead of hanging.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Rows per executemany in upsert(): large enough to amortise, small enough to keep memory flat.
UPSERT_CHUNK = 10_000


class DatabaseError(RuntimeError):
    """The database cannot be reached or used; the message says why."""


def utcnow() -> datetime:
    """Naive UTC now: every timestamp in the database is naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            parent = Path(db).expanduser().resolve().parent
            if not parent.is_dir():
                raise DatabaseError(f"folder for the database does not exist: {parent}")
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                               **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(f"cannot connect to {engine.url.render_as_string()}: {reason}") from exc


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def upsert(session: Session, model: type[Base], rows: Sequence[dict[str, Any]] | Iterable[dict],
           *, keys: Sequence[str], update: Sequence[str] | None = None,
           label: str | None = None) -> None:
    """Insert ``rows``; on a conflict on ``keys`` update ``update`` columns (or do nothing).

    Written with each dialect's native ``ON CONFLICT`` so that running the same upsert twice
    leaves the same rows, on SQLite and PostgreSQL alike.
    """
    rows = list(rows)
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(model.__table__)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in update})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    # One compiled statement run over the rows as an executemany (SQLAlchemy batches it):
    # 50k rows in ~0.3 s, where compiling a multi-VALUES statement per chunk took ~10 s.
    # Rows must share the same keys. Chunks keep memory flat and give ``label``led progress.
    for start in range(0, len(rows), UPSERT_CHUNK):
        session.execute(stmt, rows[start:start + UPSERT_CHUNK])
        if label:
            logger.info("%s: %d/%d rows written", label, min(start + UPSERT_CHUNK, len(rows)),
                        len(rows))


# --- creating and upgrading --------------------------------------------------------------


def alembic_config(url: str):
    # deferred: alembic (and its Mako templates) load only to create or upgrade the schema
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def init_db(url: str) -> str:
    """Create or upgrade the database at ``url`` to the newest schema; return the revision."""
    # deferred: alembic loads only to create or upgrade the schema, not on every command
    from alembic import command
    from alembic.runtime.migration import MigrationContext  # deferred: as above

    engine = make_engine(url)
    check_connection(engine)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() or ""
    finally:
        engine.dispose()


def schema_statements(sql: str | None = None) -> list[str]:
    """The statements of ``schema.sql`` (comments stripped), in order."""
    text = SCHEMA_SQL.read_text(encoding="utf-8") if sql is None else sql
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def open_engine(url: str, *, require_schema: bool = True) -> Engine:
    """Engine for a database that ``beatmap init`` has created (a clear error otherwise)."""
    engine = make_engine(url)
    check_connection(engine)
    if require_schema and "venues" not in table_names(engine):
        engine.dispose()
        raise DatabaseError(f"{url} has no beatmap schema yet; run `beatmap init` first")
    return engine
