"""Initial schema: the statements of 0001_initial.sql (a frozen copy of schema.sql).

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from pathlib import Path

from alembic import op

from storage.db import schema_statements

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQL = Path(__file__).with_suffix(".sql")


def upgrade() -> None:
    for statement in schema_statements(SQL.read_text(encoding="utf-8")):
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("beatmap does not downgrade below its first schema")
