"""``beatmap tag``: see which places, postcodes, topics and beats a text counts for."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from beatmap.commands.common import get_config
from nlp.tagger import Tagger
from nlp.tagger import rescan as run_rescan
from storage.db import open_engine, session_scope

logger = logging.getLogger(__name__)


@click.command("tag")
@click.argument("text", required=False)
@click.option("--file", "file_", type=click.Path(dir_okay=False, path_type=Path),
              help="Tag the whole text of this file.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Readable table, or JSON (one object per input line).")
@click.option("--rescan", is_flag=True,
              help="Re-tag every stored post (after a gazetteer or topic change).")
@click.option("--only-untagged", is_flag=True, help="With --rescan: only posts never tagged.")
@click.option("--batch", type=click.IntRange(1, 100_000), default=500, show_default=True,
              help="With --rescan: posts per transaction.")
@click.option("--ner", "ner_model", metavar="PACKAGE",
              help="Also run the ner of this installed spaCy pipeline (optional extra).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where generated place patterns are cached (default: next to the database).")
@click.pass_context
def tag(ctx: click.Context, text: str | None, file_: Path | None, fmt: str, rescan: bool,
        only_untagged: bool, batch: int, ner_model: str | None, cache_dir: Path | None) -> None:
    """Tag TEXT (or --file F, or JSON Lines {"id":…, "text":…} on standard input).

    Prints each place (surface text, character offsets, gazetteer id and name, lat/lon, beat,
    confidence, or why it stayed unresolved), postcodes, topics and the resulting beat
    weights. With --rescan, re-tags all stored posts instead, with progress.
    """
    config = get_config(ctx)
    engine = open_engine(config.db)
    try:
        with session_scope(engine) as session:
            tagger = Tagger.from_session(session, cache_dir=cache_dir,
                                         ner_model=ner_model or config.get("ner_model") or None)
            if rescan:
                done = run_rescan(session, batch=batch, tagger=tagger, only_untagged=only_untagged,
                                  progress=lambda d, t: click.echo(f"tagged {d}/{t} posts", err=True))
                click.echo(f"re-tagged {done} posts")
                return
            for record_id, body in _inputs(text, file_):
                result = tagger.tag(body)
                if fmt == "json":
                    data = result.as_dict()
                    if record_id is not _NO_ID:
                        data = {"id": record_id, **data}
                    click.echo(json.dumps(data, ensure_ascii=False))
                else:
                    if record_id is not _NO_ID:
                        click.echo(f"== {record_id}")
                    click.echo(render_table(result))
    finally:
        engine.dispose()


_NO_ID = object()  # marks a text given as an argument or file: no record id to echo


def _inputs(text: str | None, file_: Path | None) -> Iterator[tuple[object, str]]:
    if text is not None and file_ is not None:
        raise click.UsageError("give TEXT or --file, not both")
    if text is not None:
        yield _NO_ID, text
        return
    if file_ is not None:
        try:
            yield _NO_ID, file_.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise click.UsageError(f"cannot read {file_}: {exc.strerror or exc}") from exc
        return
    if sys.stdin is None or sys.stdin.isatty():
        raise click.UsageError('give TEXT, --file F, or JSON Lines {"id":…, "text":…} on stdin')
    yield from read_jsonl_records(sys.stdin)


def read_jsonl_records(lines) -> Iterator[tuple[object, str]]:
    """(id, text) per JSON Lines record; a bad line stops with its line number."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise click.UsageError(f"stdin line {number}: not JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise click.UsageError(f'stdin line {number}: expected {{"id": …, "text": "…"}}')
        yield record.get("id"), record["text"]


def render_table(result) -> str:
    """The readable form of a TagResult."""
    lines: list[str] = []
    if result.places:
        lines.append("places:")
        lines.append(f"  {'surface':<24} {'chars':>11}  {'status':<9} {'conf':>4}  "
                     f"{'gazetteer id':>19}  {'name':<24} {'lat, lon':<19}  beat")
        for p in result.places:
            where = f"{p.lat:.5f}, {p.lon:.5f}" if p.lat is not None else ""
            beat = p.beat_name or ("-" if p.status == "resolved" else f"({p.reason})")
            lines.append(f"  {p.surface[:24]:<24} {f'{p.start}-{p.end}':>11}  {p.status:<9} "
                         f"{p.confidence:>4.2f}  {p.place_id or '':>19}  {(p.name or '')[:24]:<24} "
                         f"{where:<19}  {beat}")
    else:
        lines.append("places: none")
    if result.postcodes:
        lines.append("postcodes:")
        for pc in result.postcodes:
            where = f"{pc.lat:.5f}, {pc.lon:.5f}" if pc.lat is not None else ""
            beat = pc.beat_name or pc.note or "-"
            lines.append(f"  {pc.postcode:<9} {f'{pc.start}-{pc.end}':>11}  {pc.kind:<8} "
                         f"{where:<19}  {beat}")
    topics = ", ".join(f"{k} ×{n}" for k, n in sorted(result.topics.items(), key=lambda kv: -kv[1]))
    lines.append(f"topics: {topics or 'none'}")
    beats = ", ".join(f"{result.beat_names.get(k, k)} {w:.2f}"
                      for k, w in sorted(result.beats.items(), key=lambda kv: -kv[1]))
    lines.append(f"beats: {beats or 'none'}")
    return "\n".join(lines)
