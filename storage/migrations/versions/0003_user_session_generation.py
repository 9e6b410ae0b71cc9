"""Sessions the server can end: ``users.session_gen``.

A signed session cookie carries the generation of its user at sign-in; every request compares
it with this column, and sign-out, a password, role or state change raise it, so a copied cookie
stops working at once instead of living out its 10 hours (issue 16, item 5). Existing users start
at 0; their old cookies (which carry no generation) are refused, so everyone signs in once more.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN with a constant default works in place on SQLite and PostgreSQL alike.
    op.add_column("users", sa.Column("session_gen", sa.Integer(), nullable=False,
                                     server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_gen")
