"""Render ``schema.sql`` from the models (``make schema``); the schema test keeps them equal."""

from __future__ import annotations

import re
import sys

from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from storage.models import Base

HEADER = """\
-- beatmap database schema: one DDL accepted by SQLite (3.35+) and PostgreSQL (13+).
-- Generated from storage/models.py by `make schema`; tests/test_schema.py checks that the
-- two agree and that `beatmap init` (Alembic) produces exactly this.
-- Ids are BIGINT made by the application (storage/ids.py): no sequences, so one DDL fits both.
"""


def render() -> str:
    dialect = postgresql.dialect()
    parts = [HEADER]
    for table in Base.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect)).strip()
        ddl = ddl.replace("TIMESTAMP WITHOUT TIME ZONE", "TIMESTAMP")
        ddl = re.sub(r"\n\s*\n", "\n", ddl).replace("\t", "    ")
        ddl = re.sub(r"[ ]+\n", "\n", ddl)
        parts.append(ddl + ";\n")
        for index in sorted(table.indexes, key=lambda i: i.name):
            parts.append(str(CreateIndex(index).compile(dialect=dialect)).strip() + ";\n")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
