"""``beatmap rank`` and ``beatmap export``: the ranked venues of each beat, shown and written."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from sqlalchemy import select

from beatmap.commands.common import get_config
from beatmap.export import BeatRows, export
from beatmap.export.cells import csv_text
from beatmap.export.tabular import CSV_COLUMNS, csv_rows
from graph.queries import beat_ranking, resolve_beat
from graph.rank import rank_all
from storage.audit import cli_actor
from storage.db import open_engine, session_scope
from storage.models import Beat

TABLE_REASON_WIDTH = 70


def parse_as_of(value: str | None) -> datetime | None:
    """``--as-of`` as naive UTC: a date (``2026-06-01``) or an ISO timestamp."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not a date or ISO timestamp: {value!r}",
                                 param_hint="--as-of") from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _table(beat, rows: list[dict]) -> str:
    lines = [f"{beat.name} ({beat.key}): {len(rows)} venues"]
    if not rows:
        return lines[0] + "\n  (no venues: run a crawl and tag, or check the beat)"
    lines.append(f"{'#':>3}  {'score':>5}  {'loc':>4} {'act':>4} {'rch':>4} {'top':>4} "
                 f"{'fb':>4}  {'venue':<34} {'platform':<10} flags")
    for r in rows:
        name = r["name"] if len(r["name"]) <= 34 else r["name"][:33] + "…"
        lines.append(f"{r['rank']:>3}  {r['score']:>5.2f}  {r['locality']:>4.2f} "
                     f"{r['activity']:>4.2f} {r['reach']:>4.2f} {r['topical']:>4.2f} "
                     f"{r['feedback']:>4.2f}  {name:<34} {r['platform'][:10]:<10} "
                     f"{','.join(r['flags'])}")
        reason = r["reason"]
        if len(reason) > TABLE_REASON_WIDTH + 20:
            reason = reason[:TABLE_REASON_WIDTH + 19] + "…"
        lines.append(f"{'':>17}{reason}")
    return "\n".join(lines)


@click.command("rank")
@click.option("--beat", "beat", metavar="KEY|NAME", help="Only this beat (key or name).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="Output format.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Venues per beat to print (default: 10 for the table, all otherwise).")
@click.option("--as-of", "as_of", metavar="DATE",
              help="Judge activity as of this date (default: now, UTC).")
@click.option("--no-recompute", is_flag=True, help="Print the stored ranking without "
              "recomputing it.")
@click.pass_context
def rank_command(ctx: click.Context, beat: str | None, fmt: str, limit: int | None,
                 as_of: str | None, no_recompute: bool) -> None:
    """Score every venue for every beat, store the ranking, and print it.

    Each venue's score is built from named parts (locality, activity, reach, topical fit,
    outreach feedback), each shown, with a one-line reason. Sensitive venues are not printed.
    """
    when = parse_as_of(as_of)
    engine = open_engine(get_config(ctx).db)
    with session_scope(engine) as session:
        target = resolve_beat(session, beat) if beat else None
        if not no_recompute:
            stats = rank_all(session, as_of=when, beats=[target.id] if target else None)
            beats_word = "beat" if stats.beats == 1 else "beats"
            click.echo(f"ranked {stats.venues} venues over {stats.beats} {beats_word} in "
                       f"{stats.seconds:.1f}s ({stats.sensitive} flagged sensitive, not "
                       "shown)", err=True)
    with session_scope(engine) as session:
        beats = [resolve_beat(session, target.id)] if target else list(
            session.scalars(select(Beat).order_by(Beat.name)))
        limit = limit if limit is not None else (10 if fmt == "table" else None)
        results = [(b, beat_ranking(session, b, limit=limit)) for b in beats]
    click.echo(_render(results, fmt))


def _render(results, fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{"beat_key": b.key, "beat_name": b.name, "venues": rows}
                           for b, rows in results], indent=2, ensure_ascii=False)
    if fmt == "csv":  # the rows and columns of `beatmap export --format csv`
        data = [BeatRows(b, rows) for b, rows in results]
        return csv_text(CSV_COLUMNS, csv_rows(data), line_end="\n").rstrip("\n")
    return "\n\n".join(_table(b, rows) for b, rows in results)


@click.command("export")
@click.option("--format", "fmt", required=True,
              type=click.Choice(["xlsx", "csv", "gexf", "graphml", "geojson", "html"]),
              help="File format.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="File to write.")
@click.option("--beat", "beat", metavar="KEY|NAME", help="Only this beat (default: all).")
@click.option("--reason", default=None, help="Why you export, recorded in the audit log "
              "(required unless the export_purpose setting gives a default).")
@click.option("--include-sensitive", is_flag=True,
              help="Also export sensitive venues, named in reasons and graph files too "
              "(needs --reason itself, not the default purpose).")
@click.pass_context
def export_command(ctx: click.Context, fmt: str, out: str, beat: str | None,
                   reason: str | None, include_sensitive: bool) -> None:
    """Write the ranked venues as XLSX, CSV, GEXF, GraphML, GeoJSON or an offline HTML map.

    Uses the stored ranking (run `beatmap rank` first). Every export needs a reason
    (--reason, or the export_purpose setting) and is recorded in the audit log with who,
    when, what and why; sensitive venues are left out, and never named, unless asked.
    """
    config = get_config(ctx)
    source = "given"
    if not (reason or "").strip():
        if include_sensitive:
            raise click.UsageError("--include-sensitive needs its own --reason")
        reason, source = config.get("export_purpose", ""), "export_purpose"
        if not (reason or "").strip():
            raise click.UsageError("say why you export: --reason TEXT (or set the "
                                   "export_purpose setting); it is recorded in the audit log")
    engine = open_engine(config.db)
    with session_scope(engine) as session:
        result = export(session, fmt, out, beat=beat, actor=cli_actor(), reason=reason,
                        include_sensitive=include_sensitive, tile_url=config.tile_url,
                        reason_source=source)
    click.echo(f"wrote {result.path} ({result.format}: {result.beats} beats, "
               f"{result.rows} venue rows)")
    if result.rows == 0:
        click.echo("warning: no ranked venues to export; run `beatmap rank` first", err=True)
