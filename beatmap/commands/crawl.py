"""Commands of the crawler area: ``beatmap seeds``, ``beatmap crawl``, ``beatmap venues``."""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, or_, select, update

from beatmap.commands.common import get_config
from crawler.worker import run_worker
from storage.audit import cli_actor, record
from storage.db import open_engine, session_scope, utcnow
from storage.models import (
    CURATION_STATES,
    Beat,
    LedgerEntry,
    Link,
    Page,
    Post,
    PostBeat,
    Seed,
    Venue,
    VenueAlias,
    VenueScore,
)

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
    from crawler.seeds import SeedRow, add_seeds

    engine = open_engine(get_config(ctx).db)
    with session_scope(engine) as session:
        added = add_seeds(session, [SeedRow(url, beat, note)], source="cli")
    click.echo(f"seed {'added' if added else 'updated'}: {url}")


@seeds.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def seeds_import(ctx: click.Context, file: Path) -> None:
    """Import seeds from a CSV (columns url, beat, note) or YAML file, all or nothing."""
    from crawler.seeds import add_seeds, read_seed_file

    rows = read_seed_file(file)
    engine = open_engine(get_config(ctx).db)
    with session_scope(engine) as session:
        added = add_seeds(session, rows, source=file.name)
    click.echo(f"{len(rows)} seeds read from {file.name}, {added} new")


@seeds.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.pass_context
def seeds_list(ctx: click.Context, fmt: str) -> None:
    """List the seeds with their beat and note."""
    engine = open_engine(get_config(ctx).db)
    with session_scope(engine) as session:
        rows = [{"url": url, "beat": beat, "note": note, "source": source}
                for url, beat, note, source in session.execute(
                    select(Seed.url, Beat.key, Seed.note, Seed.source)
                    .outerjoin(Beat, Beat.id == Seed.beat_id).order_by(Seed.url))]
    _emit(rows, fmt, ["url", "beat", "note", "source"])


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
    from crawler.run import run_crawl

    config = get_config(ctx)
    if status or distributed:
        from crawler.distributed import crawl_command

        crawl_command(config, status=status, run_id=run_id, max_pages=max_pages,
                      purpose=purpose, seeds_only=seeds_only, resume=resume)
        return
    started = time.monotonic()
    last = {"t": 0.0}
    summary: dict[str, Any] = {}

    def progress(snap: dict[str, Any]) -> None:
        if snap.get("final"):
            summary.update(snap)
            return
        if time.monotonic() - last["t"] < PROGRESS_EVERY:
            return
        last["t"] = time.monotonic()
        click.echo(f"\r{snap.get('pages', 0)} pages, {snap.get('posts', 0)} posts, "
                   f"{snap.get('venues', 0)} venues found, queue {snap.get('queue', 0)}, "
                   f"{snap.get('errors', 0)} errors, {snap.get('rate', 0)} pages/s   ",
                   err=True, nl=False)

    run_id = run_crawl(config, max_pages=max_pages, purpose=purpose, seeds_only=seeds_only,
                       resume=resume, progress=progress)
    click.echo("", err=True)
    click.echo(f"crawl {run_id} {summary.get('status', 'finished')} in "
               f"{time.monotonic() - started:.0f}s: {summary.get('pages', 0)} pages, "
               f"{summary.get('posts', 0)} posts, {summary.get('venues', 0)} new venues, "
               f"{summary.get('errors', 0)} errors ({summary.get('blocked', 0)} blocked), "
               f"{summary.get('queue', 0)} still queued")
    if summary.get("status") not in (None, "finished"):
        sys.exit(1)


# --- venues -----------------------------------------------------------------------------

VENUE_COLUMNS = ["key", "platform", "url", "crawlable", "known_only_reason", "state", "status",
                 "sensitive", "posts", "last_post", "linked_from", "link_count", "depth",
                 "discovered_via"]


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
    engine = open_engine(get_config(ctx).db)
    with session_scope(engine) as session:
        rows = venue_rows(session, beat=beat, state=state)
    _emit(rows, fmt, VENUE_COLUMNS)


def venue_rows(session, *, beat: str | None = None, state: str | None = None) -> list[dict]:
    """The rows of ``beatmap venues`` (merged venues are left out: see their target)."""
    evidence = (select(Link.dst_venue_id.label("vid"), func.count().label("sources"),
                       func.sum(Link.count).label("links"))
                .group_by(Link.dst_venue_id).subquery())
    query = (select(Venue, evidence.c.sources, evidence.c.links)
             .outerjoin(evidence, evidence.c.vid == Venue.id)
             .where(Venue.merged_into_id.is_(None)))
    if state:
        query = query.where(Venue.state == state)
    if beat:
        beat_id = session.execute(select(Beat.id).where(Beat.key == beat)).scalar_one_or_none()
        if beat_id is None:
            raise click.BadParameter(f"unknown beat {beat!r}", param_hint="--beat")
        talking = select(Post.venue_id).join(PostBeat, PostBeat.post_id == Post.id) \
            .where(PostBeat.beat_id == beat_id)
        scored = select(VenueScore.venue_id).where(VenueScore.beat_id == beat_id)
        seeded = select(Seed.venue_id).where(Seed.beat_id == beat_id)
        query = query.where(or_(Venue.id.in_(talking), Venue.id.in_(scored),
                                Venue.id.in_(seeded)))
    query = query.order_by(Venue.crawlable.desc(), Venue.post_count.desc(), Venue.key)
    rows = []
    for venue, sources, links in session.execute(query):
        rows.append({"key": venue.key, "platform": venue.platform, "url": venue.url,
                     "crawlable": venue.crawlable, "known_only_reason": venue.known_only_reason,
                     "state": venue.state, "status": venue.status, "sensitive": venue.sensitive,
                     "posts": venue.post_count,
                     "last_post": venue.last_post_at.date().isoformat()
                     if venue.last_post_at else None,
                     "linked_from": sources or 0, "link_count": int(links or 0),
                     "depth": venue.depth, "discovered_via": venue.discovered_via})
    return rows


@venues.command("set-state")
@click.argument("venue_key")
@click.argument("state", type=click.Choice(CURATION_STATES))
@click.option("--reason", help="Why (recorded in the audit log).")
@click.pass_context
def venues_set_state(ctx: click.Context, venue_key: str, state: str, reason: str | None) -> None:
    """Mark a venue in / out / undecided / candidate (audited)."""
    engine = open_engine(get_config(ctx).db)
    with session_scope(engine) as session:
        venue = _venue(session, venue_key)
        before = venue.state
        venue.state = state
        venue.updated_at = utcnow()
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
    engine = open_engine(get_config(ctx).db)
    with session_scope(engine) as session:
        moved = merge_venues(session, venue_key, into_key)
        record(session, actor=cli_actor(), action="curation", object_type="venue",
               object_id=venue_key, reason=reason,
               detail={"change": "merge", "into": into_key, **moved})
    click.echo(f"merged {venue_key} into {into_key}: {moved['posts']} posts, "
               f"{moved['links']} links moved")


def _venue(session, key: str) -> Venue:
    venue = session.execute(select(Venue).where(Venue.key == key)).scalar_one_or_none()
    if venue is None:
        alias = session.execute(select(VenueAlias.venue_id)
                                .where(VenueAlias.alias == key)).scalar_one_or_none()
        venue = session.get(Venue, alias) if alias is not None else None
    if venue is None:
        raise ValueError(f"no venue with key {key!r} (see `beatmap venues`)")
    return venue


def merge_venues(session, key: str, into_key: str) -> dict[str, int]:
    """Move everything of venue ``key`` to ``into_key`` and leave an alias behind."""
    from crawler.discovery import add_alias, record_links
    from crawler.pipelines.store import _refresh_venue

    src, dst = _venue(session, key), _venue(session, into_key)
    if src.id == dst.id:
        raise ValueError(f"{key} and {into_key} are already the same venue")
    posts = session.execute(update(Post).where(Post.venue_id == src.id)
                            .values(venue_id=dst.id)).rowcount
    session.execute(update(Page).where(Page.venue_id == src.id).values(venue_id=dst.id))
    session.execute(update(LedgerEntry).where(LedgerEntry.venue_id == src.id)
                    .values(venue_id=dst.id))
    session.execute(update(Seed).where(Seed.venue_id == src.id).values(venue_id=dst.id))
    links = 0
    for link in session.execute(select(Link).where(or_(Link.src_venue_id == src.id,
                                                       Link.dst_venue_id == src.id))).scalars():
        a = dst.id if link.src_venue_id == src.id else link.src_venue_id
        b = dst.id if link.dst_venue_id == src.id else link.dst_venue_id
        if a != b:
            record_links(session, a, link.example_url or "",
                         {b: (link.count, link.anchor_text or "")})
        session.delete(link)
        links += 1
    session.flush()
    src.merged_into_id = dst.id
    src.updated_at = utcnow()
    add_alias(session, src.key, dst.id, "merge")
    _refresh_venue(session, dst.id)
    src.post_count = 0
    return {"posts": posts or 0, "links": links}


def _emit(rows: list[dict], fmt: str, columns: list[str]) -> None:
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buf.getvalue(), nl=False)
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
