"""The ``beatmap`` command: thin click commands over importable functions.

Each area's commands live in their own module under :mod:`beatmap.commands` and are added to
the root group below. Errors a user can cause are one clear line and exit status 1;
tracebacks are for bugs only (shown with ``--debug``).
"""

from __future__ import annotations

import logging
import sys

import click
from sqlalchemy.engine import make_url

from beatmap import __version__
from beatmap.commands import crawl, geo, purge, rank, tag, web
from beatmap.commands.common import UserError, get_config
from storage.config import Config, ConfigError
from storage.db import DatabaseError, init_db

logger = logging.getLogger(__name__)

# Exceptions that carry a message meant for the user; anything else is a bug.
USER_ERRORS: tuple[type[BaseException], ...] = (ConfigError, DatabaseError, OSError, ValueError)


class BeatmapGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except USER_ERRORS as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise UserError(_one_line(exc)) from exc


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0]


@click.group(cls=BeatmapGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="URL", help="Database URL (setting `db`, env BEATMAP_DB).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="beatmap")
@click.pass_context
def cli(ctx: click.Context, db: str | None, verbose: int, debug: bool) -> None:
    """beatmap: where each police beat's residents gather online, ranked and explained.

    Typical order: init → beats import → gazetteer import → seeds add → crawl → rank →
    export / serve. Every command has --help.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        config = Config.load({"db": db})
    except ConfigError as exc:
        raise UserError(str(exc)) from exc
    ctx.obj = {"config": config, "debug": debug}


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the database, or upgrade it to the newest schema (safe to run again)."""
    config = get_config(ctx)
    revision = init_db(config.db)
    click.echo(f"database ready at {_safe_url(config.db)} (schema revision {revision})")


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


for command in (
    purge.purge_command,
    rank.rank_command, rank.export_command,
    web.serve, web.users,
    tag.tag,
    crawl.seeds, crawl.crawl, crawl.venues, crawl.worker,
    geo.beats, geo.gazetteer,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="beatmap")
