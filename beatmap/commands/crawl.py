"""Commands of the crawler area: ``beatmap seeds``, ``beatmap crawl``, ``beatmap venues``."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from beatmap.commands.common import get_config, open_db
from beatmap.export.cells import csv_text
from crawler.curation import merge_venues, set_state, venue_by_key
from crawler.distributed import crawl_command
from crawler.run import run_crawl
from crawler.seeds import SeedRow, add_seeds, read_seed_file
from crawler.worker import run_worker
from graph.queries import VENUE_LIST_COLUMNS, UnknownBeat, venue_list
from storage.audit import cli_actor, record
from storage.db import session_scope
from storage.models import CURATION_STATES, Beat, Seed

PROGRESS_EVERY = 2.0  # seconds between progress lines on stderr


# --- seeds ------------------------------------------------------------------------------


@click.group()
def seeds() -> None:
    """Starting URLs for crawls: add, import from CSV/YAML, list."""


@seeds.command("add")
@click.argument("url")
@click.option("--beat", "beat", metavar="KEY", help="Beat this seed serves (its key).")
@click.option("--note", help="Why it is a seed (free text).")
@click.pass_context
def seeds_add(ctx: click.Context, url: str, beat: str | None, note: str | None) -> None:
    """Add one seed URL (refused for platforms beatmap never crawls)."""
    engine = open_db(ctx)
    with session_scope(engine) as session:
        added = add_seeds(session, [SeedRow(url, beat, note)], source="cli")
    click.echo(f"seed {'added' if added else 'updated'}: {url}")


@seeds.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def seeds_import(ctx: click.Context, file: Path) -> None:
    """Import seeds from a CSV (columns url, beat, note) or YAML file, all or nothing."""
    rows = read_seed_file(file)
    engine = open_db(ctx)
    with session_scope(engine) as session:
        added = add_seeds(session, rows, source=file.name)
    click.echo(f"{len(rows)} seeds read from {file.name}, {added} new")


@seeds.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.pass_context
def seeds_list(ctx: click.Context, fmt: str) -> None:
    """List the seeds with their beat and note."""
    engine = open_db(ctx)
    with session_scope(engine) as session:
        rows = [{"url": url, "beat": beat, "note": note, "source": source}
                for url, beat, note, source in session.execute(
                    select(Seed.url, Beat.key, Seed.note, Seed.source)
                    .outerjoin(Beat, Beat.id == Seed.beat_id).order_by(Seed.url))]
    _emit(rows, fmt, ("url", "beat", "note", "source"))


# --- crawl ------------------------------------------------------------------------------


@click.command("crawl")
@click.option("--seeds-only", is_flag=True, help="Crawl only the seeds' venues; record the "
              "venues they link to as candidates without fetching them.")
@click.option("--max-pages", type=int, help="Page budget of this run (setting max_pages).")
@click.option("--purpose", help="Why this crawl is run (setting crawl_purpose); recorded.")
@click.option("--resume", is_flag=True, help="Continue the last interrupted run.")
@click.option("--distributed", is_flag=True, help="Start a distributed run: queue the seeds "
              "in the shared Redis frontier for `beatmap worker` processes (docs/distributed.md).")
@click.option("--status", is_flag=True, help="Show a run's progress (ledger, Redis queue, "
              "workers' heartbeats) from any machine, then exit.")
@click.option("--run", "run_id", type=int, help="With --status: the run to show.")
@click.pass_context
def crawl(ctx: click.Context, seeds_only: bool, max_pages: int | None, purpose: str | None,
          resume: bool, distributed: bool = False, status: bool = False,
          run_id: int | None = None) -> None:
    """Crawl from the seeds, showing progress on stderr; ends with a summary.

    With --distributed the seeds go to the shared frontier and `beatmap worker` processes on
    any machine do the fetching; --status shows progress from anywhere.
    """
    config = get_config(ctx)
    if status or distributed:
        crawl_command(config, status=status, run_id=run_id, max_pages=max_pages,
                      purpose=purpose, seeds_only=seeds_only, resume=resume)
        return
    started = time.monotonic()
    last = {"t": 0.0}
    summary: dict[str, Any] = {}
    live = click.get_text_stream("stderr").isatty()

    def progress(snap: dict[str, Any]) -> None:
        if snap.get("final"):
            summary.update(snap)
            return
        if time.monotonic() - last["t"] < PROGRESS_EVERY:
            return
        last["t"] = time.monotonic()
        line = (f"{snap.get('pages', 0)} pages, {snap.get('posts', 0)} posts, "
                f"{snap.get('venues', 0)} venues found, queue {snap.get('queue', 0)}, "
                f"{snap.get('errors', 0)} errors, {snap.get('rate', 0)} pages/s")
        # On a terminal the line is redrawn in place; into a log or a pipe, one line each time.
        if live:
            click.echo(f"\r{line}   ", err=True, nl=False)
        else:
            click.echo(line, err=True)

    run_id = run_crawl(config, max_pages=max_pages, purpose=purpose, seeds_only=seeds_only,
                       resume=resume, progress=progress)
    if live:
        click.echo("", err=True)
    click.echo(f"crawl {run_id} {summary.get('status', 'finished')} in "
               f"{time.monotonic() - started:.0f}s: {summary.get('pages', 0)} pages, "
               f"{summary.get('posts', 0)} posts, {summary.get('venues', 0)} new venues, "
               f"{summary.get('errors', 0)} errors ({summary.get('blocked', 0)} blocked), "
               f"{summary.get('queue', 0)} still queued")
    if summary.get("status") not in (None, "finished"):
        sys.exit(1)


# --- venues -----------------------------------------------------------------------------


@click.group(invoke_without_command=True)
@click.option("--beat", "beat", metavar="KEY", help="Only venues that speak about this beat.")
@click.option("--state", type=click.Choice(CURATION_STATES), help="Only this curation state.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.pass_context
def venues(ctx: click.Context, beat: str | None, state: str | None, fmt: str) -> None:
    """List venues: platform, URL, crawlable or known-only, status, posts, evidence.

    Subcommands set-state and merge are for the team's review of what discovery found.
    """
    if ctx.invoked_subcommand is not None:
        return
    engine = open_db(ctx)
    with session_scope(engine) as session:
        try:
            rows = venue_list(session, beat=beat, state=state)
        except UnknownBeat as exc:
            raise click.BadParameter(str(exc), param_hint="--beat") from exc
    _emit(rows, fmt, VENUE_LIST_COLUMNS)


@venues.command("set-state")
@click.argument("venue_key")
@click.argument("state", type=click.Choice(CURATION_STATES))
@click.option("--reason", help="Why (recorded in the audit log).")
@click.pass_context
def venues_set_state(ctx: click.Context, venue_key: str, state: str, reason: str | None) -> None:
    """Mark a venue in / out / undecided / candidate (audited)."""
    engine = open_db(ctx)
    with session_scope(engine) as session:
        venue = venue_by_key(session, venue_key)
        before = set_state(session, venue, state)
        record(session, actor=cli_actor(), action="curation", object_type="venue",
               object_id=venue.key, reason=reason,
               detail={"change": "state", "from": before, "to": state})
    click.echo(f"{venue_key}: {before} → {state}")


@venues.command("merge")
@click.argument("venue_key")
@click.argument("into_key")
@click.option("--reason", help="Why (recorded in the audit log).")
@click.pass_context
def venues_merge(ctx: click.Context, venue_key: str, into_key: str, reason: str | None) -> None:
    """Merge a duplicate venue into another: its posts, pages and evidence move (audited)."""
    engine = open_db(ctx)
    with session_scope(engine) as session:
        moved = merge_venues(session, venue_key, into_key)
        record(session, actor=cli_actor(), action="curation", object_type="venue",
               object_id=venue_key, reason=reason,
               detail={"change": "merge", "into": into_key, **moved})
    click.echo(f"merged {venue_key} into {into_key}: {moved['posts']} posts, "
               f"{moved['links']} links moved")


def _emit(rows: list[dict], fmt: str, columns: Sequence[str]) -> None:
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if fmt == "csv":
        click.echo(csv_text(columns, rows), nl=False)
        return
    if not rows:
        click.echo("(none)")
        return
    shown = [c for c in columns if c not in ("known_only_reason", "discovered_via", "sensitive")]
    widths = {c: min(60, max(len(c), *(len(_cell(r.get(c))) for r in rows))) for c in shown}
    click.echo("  ".join(c.ljust(widths[c]) for c in shown))
    for row in rows:
        click.echo("  ".join(_cell(row.get(c))[:widths[c]].ljust(widths[c]) for c in shown))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "known-only" if value is False else ""
    return str(value)


@click.command("worker")
@click.option("--run", "run_id", type=int, help="Run to work on (default: the run announced "
              "in Redis by `beatmap crawl --distributed`).")
@click.option("--name", help="Worker name shown by `beatmap crawl --status` "
              "(default: HOST-PID; must be unique).")
@click.option("--idle-timeout", type=float, default=0.0, show_default=True,
              help="Stop after this many seconds without work (0: only when the run ends).")
@click.pass_context
def worker(ctx: click.Context, run_id: int | None, name: str | None,
           idle_timeout: float) -> None:
    """Fetch from the shared frontier of a distributed crawl until it is done or stopped."""
    config = get_config(ctx)
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    result = run_worker(config, run_id=run_id, name=name, idle_timeout=idle_timeout)
    click.echo(f"worker {result['name']} stopped ({result['reason']}) on run "
               f"{result['run_id']}: {result['pages']} pages, {result['posts']} posts, "
               f"{result['errors']} errors")
    if result["reason"] == "redis_unavailable":
        raise SystemExit(1)
