"""``beatmap beats …`` and ``beatmap gazetteer …``: import and check beats, places, postcodes."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.orm import Session

from beatmap.commands.common import get_config, open_db
from geo.beats import import_beats, parse_where
from geo.gazetteer import SNAP_METRES, detect_format, import_gazetteer
from geo.geocode import Geocoder
from geo.index import BeatIndex
from geo.names import normalise
from geo.police import PoliceAPI, fetch_force
from geo.postcodes import lookup, parse_postcode
from geo.types import LatLon
from storage.db import session_scope
from storage.models import Beat, Place, Postcode

logger = logging.getLogger(__name__)
PROGRESS_LOGGERS = ("geo", "storage.db")

LOOKUP_LIMIT = 20  # rows `gazetteer lookup` shows by default


@contextmanager
def _session(ctx: click.Context) -> Iterator[Session]:
    engine = open_db(ctx)
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def _progress_to_stderr() -> Iterator[None]:
    """Show the importers' progress lines (rows read, rows written) on stderr while they run."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    handler.addFilter(lambda record: not getattr(record, "summary", False))  # echoed at the end
    # geo's own messages, and the row counts storage.db.upsert logs for the bulk writes.
    loggers = [logging.getLogger(name) for name in PROGRESS_LOGGERS]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        if lg.getEffectiveLevel() > logging.INFO:
            lg.setLevel(logging.INFO)
        lg.propagate = False  # printed once, here, not again by the root handler
    try:
        yield
    finally:
        for lg, (level, propagate) in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
            lg.propagate = propagate


def _err(text: str) -> None:
    click.echo(text, err=True)


def _echo_report(report) -> None:
    click.echo(report.summary())
    for warning in report.warnings[:20]:
        _err(f"warning: {warning}")
    if len(report.warnings) > 20:
        _err(f"… and {len(report.warnings) - 20} more warnings")


# --- beats -----------------------------------------------------------------------------------


@click.group()
def beats() -> None:
    """Police beats (neighbourhood polygons): import, fetch from data.police.uk, list, locate."""


@beats.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--id-prop", help="Property holding each beat's id (guessed when omitted).")
@click.option("--name-prop", help="Property holding each beat's name (guessed when omitted).")
@click.option("--force", "force_id", metavar="FORCE", help="police.uk force id stored with the beats.")
@click.option("--where", "where", multiple=True, metavar="PROP=VALUE",
              help="Import only features with this property value (repeatable).")
@click.option("--names", type=click.Path(path_type=Path), metavar="JSON",
              help="police.uk neighbourhood list naming beats whose files carry only an id "
                   "(e.g. data/police/sussex_neighbourhoods.json).")
@click.option("--snap-metres", type=click.FloatRange(min=0), default=None, metavar="M",
              help="Places/postcodes up to M metres outside every beat get the nearest "
                   "(default 0; use when the beats tile the whole area of the data).")
@click.pass_context
def beats_import(ctx: click.Context, file: Path, id_prop: str | None, name_prop: str | None,
                 force_id: str | None, where: tuple[str, ...], names: Path | None,
                 snap_metres: float | None) -> None:
    """Import beats from FILE: GeoJSON, KML, police.uk boundary JSON, or a folder/zip of them.

    Re-importing updates beats in place; places and postcodes are re-assigned to beats.
    Example: beatmap beats import data/boundaries/sussex_wards_2013.geojson --where lad_name=Worthing
    """
    _err(f"importing beats from {file} …")
    with _session(ctx) as session, _progress_to_stderr():
        report = import_beats(session, file, id_prop=id_prop, name_prop=name_prop,
                              force=force_id, where=parse_where(where) or None, names=names,
                              snap_metres=snap_metres)
    _echo_report(report)


@beats.command("fetch")
@click.option("--force", "force_id", required=True, metavar="FORCE",
              help="police.uk force id, e.g. sussex, metropolitan.")
@click.option("--limit", type=click.IntRange(min=1), help="Fetch only the first N neighbourhoods.")
@click.option("--neighbourhood", "hoods", multiple=True, metavar="ID",
              help="Fetch only this neighbourhood id (repeatable).")
@click.pass_context
def beats_fetch(ctx: click.Context, force_id: str, limit: int | None, hoods: tuple[str, ...]) -> None:
    """Import a force's neighbourhoods from data.police.uk (setting police_api_url).

    Each neighbourhood's boundary becomes a beat, its published channels (facebook, twitter,
    forum, blog, rss, website, links) become seeds, and its priorities become beat topics.
    """
    config = get_config(ctx)
    api = PoliceAPI(config.police_api_url, user_agent=_user_agent(config))
    with _session(ctx) as session:
        with click.progressbar(length=1, label="neighbourhoods", file=sys.stderr) as bar:
            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            report = fetch_force(session, api, force_id, neighbourhoods=hoods or None,
                                 limit=limit, progress=progress)
    _echo_report(report)


def _user_agent(config) -> str:
    contact = (config.contact_url or "").strip()
    ua = (config.user_agent or "").replace("{contact_url}", contact)
    return ua if contact else ua.replace(" (+)", "")


@beats.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_context
def beats_list(ctx: click.Context, fmt: str) -> None:
    """List the imported beats with their places and postcodes counts."""
    with _session(ctx) as session:
        places = dict(session.execute(select(Place.beat_id, func.count()).group_by(Place.beat_id)).all())
        codes = dict(session.execute(select(Postcode.beat_id, func.count())
                                     .group_by(Postcode.beat_id)).all())
        rows = [{"id": b.id, "key": b.key, "name": b.name, "force": b.force, "source": b.source,
                 "centre": {"lat": round(b.centre_lat, 6), "lon": round(b.centre_lon, 6)},
                 "places": places.get(b.id, 0), "postcodes": codes.get(b.id, 0),
                 "channels": len((b.details or {}).get("channels", []))}
                for b in session.scalars(select(Beat).order_by(Beat.key))]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no beats yet: run `beatmap beats import FILE` or `beatmap beats fetch --force F`")
        return
    click.echo(f"{'key':<18} {'name':<34} {'places':>7} {'postcodes':>9} {'channels':>8}")
    for r in rows:
        click.echo(f"{r['key'][:18]:<18} {r['name'][:34]:<34} {r['places']:>7} {r['postcodes']:>9} "
                   f"{r['channels']:>8}")
    click.echo(f"{len(rows)} beats")


@beats.command("locate", context_settings={"ignore_unknown_options": True})
@click.argument("lat", type=float)
@click.argument("lon", type=float)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_context
def beats_locate(ctx: click.Context, lat: float, lon: float, fmt: str) -> None:
    """Show the beat containing the point LAT LON (WGS84 degrees, latitude first)."""
    if not LatLon(lat, lon).is_valid():
        raise click.BadParameter(f"{lat}, {lon} is not a latitude/longitude (latitude first)")
    with _session(ctx) as session:
        index = BeatIndex.from_session(session)
        beat_id = index.locate(lat, lon)
        entry = index.entry(beat_id) if beat_id is not None else None
        near = index.nearest(lat, lon) if entry is None and len(index) else None
    nearest = None if near is None else {"id": near[0], "key": index.entry(near[0]).key,
                                         "name": index.entry(near[0]).name,
                                         "metres": round(near[1])}
    if fmt == "json":
        click.echo(json.dumps({"lat": lat, "lon": lon, "beat": None if entry is None else
                               {"id": entry.id, "key": entry.key, "name": entry.name},
                               "nearest_outside": nearest}))
    elif not len(index):
        click.echo("no beats imported yet: run `beatmap beats import FILE` first")
    elif entry is None:
        click.echo(f"{lat}, {lon} is outside every beat ({len(index)} beats imported); the "
                   f"nearest is {nearest['name']} ({nearest['key']}), {nearest['metres']} m away")
    else:
        click.echo(f"{lat}, {lon} is in beat {entry.name} ({entry.key})")


# --- gazetteer -----------------------------------------------------------------------------


@click.group()
def gazetteer() -> None:
    """Place names and postcodes: import them, look them up."""


@gazetteer.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--snap-metres", type=click.FloatRange(min=0), default=None, metavar="M",
              help="Points up to M metres outside every beat get the nearest beat "
                   "(default 0; use when the beats tile the whole area of the data).")
@click.pass_context
def gazetteer_import(ctx: click.Context, files: tuple[Path, ...], snap_metres: float | None) -> None:
    """Import place-name and postcode FILES (format detected from each file's header).

    Accepts the combined gazetteer CSVs, curated area names, GeoNames and GeoNames postal
    rows, and OS Code-Point Open postcodes (plain or .gz). The same place in several rows or
    files becomes one entry, whether the files come in one call or one by one.
    """
    for f in files:
        _err(f"{f.name}: {detect_format(f)} format")  # a missing file: "no such file: …" first
    with _session(ctx) as session, _progress_to_stderr():
        report = import_gazetteer(session, files, snap_metres=SNAP_METRES if snap_metres is None
                                  else snap_metres)
    _echo_report(report)


@gazetteer.command("lookup")
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=LOOKUP_LIMIT, show_default=True)
@click.option("--online", is_flag=True,
              help="When nothing matches, ask the configured geocoder (setting geocoder).")
@click.pass_context
def gazetteer_lookup(ctx: click.Context, query: str, fmt: str, limit: int, online: bool) -> None:
    """Look up a place NAME or a POSTCODE in the imported data (to check an import)."""
    with _session(ctx) as session:
        if parse_postcode(query) and not find_places(session, query, 1):
            result = lookup(session, query)
            if fmt == "json":
                click.echo(json.dumps(result.as_dict(), indent=2))
            else:
                click.echo(result.message)
            return
        places = find_places(session, query, limit)
        beat_names = dict(session.execute(select(Beat.id, Beat.name)).all())
        rows = [_place_dict(p, beat_names) for p in places]
        online_answer = None
        if not rows and online:
            online_answer = _online(ctx, session, query)
    if fmt == "json":
        click.echo(json.dumps({"query": query, "places": rows, "online": online_answer}, indent=2))
        return
    if not rows:
        click.echo(f"no place called {query!r} in the gazetteer")
        if online_answer:
            click.echo(f"geocoder: {online_answer['display_name']} at {online_answer['lat']:.5f}, "
                       f"{online_answer['lon']:.5f} ({online_answer['kind']})")
        return
    for r in rows:
        beat = r["beat"] or ("never placed in a beat (point is outcode-level)" if r["coarse"]
                             else "outside every beat")
        alts = f" aka {', '.join(r['alt_names'][:5])}" if r["alt_names"] else ""
        click.echo(f"{r['name']}{alts} [{r['feature_type']}, prominence {r['prominence']:.2f}] "
                   f"{r['lat']:.5f}, {r['lon']:.5f}, {r['district'] or '?'}: {beat}")


def find_places(session: Session, query: str, limit: int) -> list[Place]:
    """Places whose name or an alternative name normalises like ``query``, best first."""
    norm = normalise(query)
    if not norm:
        return []
    word = max(norm.split(), key=len)
    candidates = session.scalars(
        select(Place).where(or_(Place.norm_name == norm,
                                cast(Place.alt_names, Text).ilike(f"%{word}%")))).all()
    hits = [p for p in candidates
            if p.norm_name == norm or any(normalise(a) == norm for a in p.alt_names or [])]
    hits.sort(key=lambda p: (-p.prominence, p.name, p.id))
    return hits[:limit]


def _place_dict(p: Place, beat_names: dict[int, str]) -> dict:
    return {"id": p.id, "name": p.name, "alt_names": p.alt_names or [],
            "feature_type": p.feature_type, "lat": p.lat, "lon": p.lon,
            "prominence": p.prominence, "coarse": p.coarse, "district": p.district,
            "locality": p.locality, "beat_id": p.beat_id, "beat": beat_names.get(p.beat_id),
            "source": p.source}


def _online(ctx: click.Context, session: Session, query: str) -> dict | None:
    geocoder = Geocoder.from_config(get_config(ctx))
    if geocoder is None:
        _err("no online geocoder configured (setting geocoder is empty)")
        return None
    answer = geocoder.geocode(session, query)
    return None if answer is None else answer.as_dict()
