"""What every command module shares: the settings of this invocation and the one-line error."""

from __future__ import annotations

import click
from sqlalchemy import Engine

from storage.config import Config
from storage.db import open_engine


class UserError(click.ClickException):
    """An error the user can fix: printed as one line, exit status 1."""


def get_config(ctx: click.Context) -> Config:
    """The settings loaded by the root ``beatmap`` group (file, environment, ``--db``)."""
    return ctx.find_root().obj["config"]


def open_db(ctx: click.Context) -> Engine:
    """An engine on the configured database (``db`` setting)."""
    return open_engine(get_config(ctx).db)
