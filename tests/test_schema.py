"""The models, schema.sql and the Alembic migrations describe one and the same database."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import inspect, select, text

from storage import db as dbmod
from storage.ids import stable_id
from storage.models import Base, Topic
from storage.schemagen import render


def describe(url: str) -> dict:
    """Tables, columns (generic type, nullability), keys and indexes, as comparable data."""
    engine = dbmod.make_engine(url)
    insp = inspect(engine)
    out = {}
    for table in sorted(t for t in insp.get_table_names() if t != "alembic_version"):
        cols = {c["name"]: (type(c["type"].as_generic()).__name__, c["nullable"])
                for c in insp.get_columns(table)}
        pk = tuple(insp.get_pk_constraint(table)["constrained_columns"])
        fks = sorted((tuple(f["constrained_columns"]), f["referred_table"],
                      tuple(f["referred_columns"])) for f in insp.get_foreign_keys(table))
        uniques = sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table))
        indexes = sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                         for i in insp.get_indexes(table))
        out[table] = {"columns": cols, "pk": pk, "fks": fks, "uniques": uniques,
                      "indexes": indexes}
    engine.dispose()
    return out


def build_from_models(url: str) -> None:
    engine = dbmod.make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()


def build_from_schema_sql(url: str) -> None:
    engine = dbmod.make_engine(url)
    with engine.begin() as conn:
        for statement in dbmod.schema_statements():
            conn.execute(text(statement))
    engine.dispose()


def test_schema_sql_is_rendered_from_models():
    assert dbmod.SCHEMA_SQL.read_text(encoding="utf-8") == render(), "run `make schema`"


# 0001_initial.sql was a copy of schema.sql until the schema changed by migration (0003 adds
# users.session_gen); since then it is frozen: databases made by 0001 exist and are upgraded by
# the later revisions. That 0001 + the later revisions build exactly schema.sql is checked by
# test_models_schema_sql_and_migrations_agree.
INITIAL_SQL_SHA256 = "f6079d5463d241a1c7b553fdde9a908acc95bab8e81104bb5f1077393b3edfe2"


def test_initial_migration_sql_is_frozen():
    frozen = dbmod.ROOT / "storage/migrations/versions/0001_initial.sql"
    assert hashlib.sha256(frozen.read_bytes()).hexdigest() == INITIAL_SQL_SHA256, (
        "0001_initial.sql changed: never edit a released migration, add a new revision")


@pytest.fixture(params=["sqlite", "postgresql"])
def three_dbs(request, tmp_path):
    if request.param == "sqlite":
        return [f"sqlite:///{tmp_path / n}.db" for n in ("models", "sql", "migrated")]
    return [request.getfixturevalue("pg_url") for _ in range(1)] + [
        _another_pg(request) for _ in range(2)]


def _another_pg(request):
    # pg_url is function-scoped and yields one database; make more with the same machinery.
    import uuid

    from sqlalchemy.engine import make_url

    from tests.conftest import PG_ADMIN_URL

    name = "beatmap_t_" + uuid.uuid4().hex[:12]
    admin = dbmod.make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    request.addfinalizer(drop)
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def test_models_schema_sql_and_migrations_agree(three_dbs):
    models_url, sql_url, migrated_url = three_dbs
    build_from_models(models_url)
    build_from_schema_sql(sql_url)
    dbmod.init_db(migrated_url)
    from_models, from_sql, migrated = describe(models_url), describe(sql_url), describe(migrated_url)
    assert len(from_models) == len(Base.metadata.tables)
    assert from_models == from_sql
    assert migrated == from_sql


def test_init_twice_is_harmless(any_db):
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(dbmod.alembic_config(any_db)).get_current_head()
    assert dbmod.init_db(any_db) == head
    engine = dbmod.open_engine(any_db)
    assert set(Base.metadata.tables) <= dbmod.table_names(engine)
    engine.dispose()


def test_upsert_is_idempotent(any_db):
    engine = dbmod.open_engine(any_db)
    rows = [{"key": "burglary", "label": "Burglary", "category": "crime", "safety": True},
            {"key": "bins", "label": "Bins", "category": "community", "safety": False}]
    for _ in range(2):
        with dbmod.session_scope(engine) as s:
            dbmod.upsert(s, Topic, rows, keys=["key"], update=["label", "category", "safety"])
    with dbmod.session_scope(engine) as s:
        dbmod.upsert(s, Topic, [{**rows[0], "label": "Burglary (renamed)"}], keys=["key"],
                     update=["label"])
        got = dict(s.execute(select(Topic.key, Topic.label)).all())
    assert got == {"burglary": "Burglary (renamed)", "bins": "Bins"}
    engine.dispose()


def test_sqlite_pragmas(sqlite_db):
    engine = dbmod.open_engine(sqlite_db)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == dbmod.SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()


def test_schema_change_in_models_alone_is_caught(tmp_path):
    """The comparison would notice a column that only the models have."""
    from sqlalchemy import Column, MetaData, Table, Text

    a, b = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    build_from_schema_sql(a)
    build_from_schema_sql(b)
    engine = dbmod.make_engine(b)
    meta = MetaData()
    Table("venues", meta, Column("extra", Text)).c.extra  # noqa: B018
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE venues ADD COLUMN extra TEXT"))
    engine.dispose()
    assert describe(a) != describe(b)


def test_stable_ids_are_positive_bigint():
    assert 0 < stable_id("venue", "x") < 2**63
