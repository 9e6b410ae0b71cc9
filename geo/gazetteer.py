"""Import place names (gazetteer) and postcodes, each placed in the beat its point falls in.

Input formats are detected from the header row (any of them, any area):

==================================  ===========================================================
format                               recognised by
==================================  ===========================================================
fine combined CSV                    ``name, feature_type, lat, lon, locality, source, source_detail``
places combined CSV                  ``name, feature_type, lat, lon, outcode, population, source_id``
curated area names CSV               ``name, aliases, kind, lat, lon`` (aliases ``|``-separated)
GeoNames postal CSV / dump           ``postal_code, place_name, latitude, longitude, accuracy``
                                     (or the 12-column tab-separated GeoNames postal dump)
GeoNames dump (allCountries, …)      19 tab-separated columns, no header (or as CSV with
                                     the readme's column names: ``geonameid, name, …``)
OS Code-Point Open (plain or .gz)    ``postcode`` + ``lat/lon`` or ``easting/northing``, or the
                                     raw 10-column Code-Point rows: see :func:`import_postcodes`
==================================  ===========================================================

``Place.feature_type`` vocabulary (what the tagger and resolver can rely on):

* ``area:<kind>`` – a curated local area name, ``<kind>`` as curated: ``area:neighbourhood``,
  ``area:park``, ``area:landmark``, ``area:shopping street``, ``area:estate``,
  ``area:village`` …, combined kinds joined with ``/`` (``area:neighbourhood/street``);
* ``town`` / ``village`` / ``suburb`` – GeoNames populated places (town: a seat of
  administration or at least ``TOWN_POPULATION`` people; suburb: GeoNames ``PPLX``);
* ``ward`` – an electoral ward name; ``locality`` – a NaPTAN (NPTG) locality;
* ``postal_place`` – a GeoNames postal place name; ``coarse`` when its point is only
  outcode-level (GeoNames accuracy 1 or 3): such a row never gets a beat;
* ``street`` – a street with bus stops; ``bus_stop`` – a stop's common name;
  ``landmark`` – a landmark named by NaPTAN near a stop; ``pub`` – a pub, bar or club;
* ``park``, ``water``, ``hill``, ``admin`` or ``geonames:<class>.<code>`` – other GeoNames rows.

A place or postcode gets the beat its point falls in (or, when asked, the nearest beat if
the point is at most ``snap_metres`` outside every beat: see ``SNAP_METRES``); coarse rows
never get one.

``prominence`` (0..1) says how likely a bare mention means this entry: curated area names
and towns score high, bus stop names low; population (GeoNames) and the number of bus stops
sharing the name (NaPTAN) raise it (see ``BASE_PROMINENCE`` and :func:`geo.gazetteer_readers.prominence`).

The same place seen in several rows or files (same normalised name or a listed alias,
compatible feature types, close points: see :func:`geo.gazetteer_merge.merge_limit`) becomes one row: the
best-ranked row survives and the others' spellings go to its ``alt_names``. Places already
in the database take part in that merge, so importing files one by one gives the same
places as importing them together. Ids are stable (``stable_id("place", source,
source_id)``): re-importing a file updates its rows in place.

This module holds the import entry points and the writing; the parts live beside it:
:mod:`geo.gazetteer_readers` (format detection, one reader per place-name format, prominence),
:mod:`geo.gazetteer_merge` (folding rows that are the same place) and :mod:`geo.codepoint`
(the OS Code-Point Open reader).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from geo.codepoint import PostcodeRows, read_postcode_file
from geo.gazetteer_merge import merge_places
from geo.gazetteer_readers import (
    FINE_TYPES,
    GEONAMES_CLASS_TYPES,
    GEONAMES_TYPES,
    POSTCODE_FORMATS,
    PlaceRow,
    detect_format,
    read_place_file,
)
from geo.index import BeatIndex
from geo.inputs import ImportLimits, ReadBudget
from geo.postcodes import outcode_of
from geo.types import GeoDataError, ImportReport
from storage.db import upsert
from storage.ids import stable_id
from storage.models import Place, Postcode

# The entry points, and the names the docstring above documents (the feature-type vocabulary
# the readers write, and the format detection the CLI reports).
__all__ = ["FINE_TYPES", "GEONAMES_CLASS_TYPES", "GEONAMES_TYPES", "SNAP_METRES", "assign_beats",
           "detect_format", "existing_places", "import_gazetteer", "import_postcodes",
           "place_id", "store_places", "store_postcodes"]

logger = logging.getLogger(__name__)

# Points up to this far outside every beat may go to the nearest beat; off by default.
# Generalised boundary files cut off piers, marinas and strips of coast and border: with all
# 267 bundled Sussex wards as beats, 804 of the 49,691 Sussex postcodes fall outside every
# polygon (up to 555 m) and a 600 m snap gives each the ward ONS gives it. But when the beats
# cover only part of the data's area (the demo: 21 Brighton & Hove wards, Sussex-wide data),
# snapping pulls in the neighbours' points instead (154 postcodes of other districts at
# 600 m, while strict lookups miss only 6 pier and marina postcodes). So: strict by default;
# pass snap_metres (CLI --snap-metres) when the beats tile the whole area of the data.
SNAP_METRES = 0.0


# --- writing ---------------------------------------------------------------------------------

PLACE_UPDATE = ("name", "norm_name", "alt_names", "feature_type", "lat", "lon", "beat_id",
                "locality", "district", "prominence", "coarse")


def _beats_for(index: BeatIndex, rows: Sequence[PlaceRow], snap_metres: float) -> list[int | None]:
    points = np.array([(r.lat, r.lon) for r in rows], dtype=float).reshape(-1, 2)
    beats = index.locate_many(points, snap_metres=snap_metres)
    return [None if r.coarse else b for r, b in zip(rows, beats, strict=True)]


def existing_places(session: Session) -> list[PlaceRow]:
    """Every place in the database as a :class:`PlaceRow` (for merging with new files)."""
    rows = session.execute(select(Place.name, Place.feature_type, Place.lat, Place.lon,
                                  Place.source, Place.source_id, Place.alt_names, Place.locality,
                                  Place.district, Place.prominence, Place.coarse)).all()
    return [PlaceRow(name=r.name, feature_type=r.feature_type, lat=r.lat, lon=r.lon,
                     source=r.source, source_id=r.source_id, alt_names=list(r.alt_names or []),
                     locality=r.locality, district=r.district, prominence=r.prominence,
                     coarse=bool(r.coarse), existing=True, touched=False) for r in rows]


def place_id(row: PlaceRow) -> int:
    """The stable id of a place: the same file row gets the same id on every import.

    >>> hove = PlaceRow("Hove", "town", 50.8279, -0.1688, "geonames", "2646557")
    >>> place_id(hove) == place_id(PlaceRow("Hove", "town", 50.83, -0.17, "geonames", "2646557"))
    True
    >>> place_id(hove) == place_id(PlaceRow("Hove", "town", 50.8279, -0.1688, "osm", "2646557"))
    False
    """
    return stable_id("place", row.source, row.source_id)


def store_places(session: Session, rows: list[PlaceRow], index: BeatIndex,
                 report: ImportReport, *, existing: Iterable[PlaceRow] = (),
                 snap_metres: float = SNAP_METRES) -> None:
    """Write new and changed places with their beats; delete existing rows folded away.

    A deleted row's mentions are unlinked by the foreign key (``ON DELETE SET NULL``) and
    linked to the surviving entry by the next tagging run.
    """
    before = {place_id(r) for r in existing}
    write = [r for r in rows if r.touched]
    beats = _beats_for(index, write, snap_metres)
    values = [{"id": place_id(r), "name": r.name, "norm_name": r.norm, "alt_names": r.alt_names,
               "feature_type": r.feature_type, "lat": r.lat, "lon": r.lon, "beat_id": b,
               "locality": r.locality, "district": r.district, "prominence": r.prominence,
               "coarse": r.coarse, "source": r.source, "source_id": r.source_id}
              for r, b in zip(write, beats, strict=True)]
    upsert(session, Place, values, keys=["id"], update=PLACE_UPDATE, label="places")
    gone = sorted(before - {place_id(r) for r in rows})
    for start in range(0, len(gone), 5_000):
        session.execute(delete(Place).where(Place.id.in_(gone[start:start + 5_000])))
    if gone:
        report.counts["existing entries folded into another"] = len(gone)
    report.updated += sum(1 for v in values if v["id"] in before)
    report.created += sum(1 for v in values if v["id"] not in before)
    report.counts["in a beat"] = report.counts.get("in a beat", 0) + sum(b is not None for b in beats)
    report.counts["coarse"] = report.counts.get("coarse", 0) + sum(r.coarse for r in write)


def import_gazetteer(session: Session, paths: Iterable[str | Path], *,
                     index: BeatIndex | None = None,
                     snap_metres: float = SNAP_METRES,
                     limits: ImportLimits | None = None) -> ImportReport:
    """Import place-name files (and postcode files, handed to :func:`import_postcodes`).

    All files are read and checked before anything is written; the caller's transaction
    makes the import all-or-nothing. ``limits`` caps the bytes read over all the files (the
    ``max_import_*`` settings when not given; see :mod:`geo.inputs`).
    """
    started = time.perf_counter()
    paths = [Path(p) for p in paths]
    if not paths:
        raise GeoDataError("no gazetteer files given")
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise GeoDataError(f"no such file: {missing[0]}")
    report = ImportReport(source=", ".join(p.name for p in paths))
    limits = limits or ImportLimits.from_config()
    budget = ReadBudget(limits)
    index = index or BeatIndex.from_session(session)
    place_rows: list[PlaceRow] = []
    postcode_files: list[tuple[Path, str]] = []
    for path in paths:
        fmt = detect_format(path, limits)
        if fmt in POSTCODE_FORMATS:
            postcode_files.append((path, fmt))
            continue
        rows = read_place_file(path, fmt, budget)
        logger.info("%s: %d rows (%s format)", path.name, len(rows), fmt)
        report.counts[f"rows read ({fmt})"] = len(rows)
        place_rows += rows
    postcode_rows = [read_postcode_file(p, fmt, budget) for p, fmt in postcode_files]
    if place_rows:
        existing = existing_places(session)
        merged, folded = merge_places(place_rows, existing)
        report.counts["rows folded into another entry"] = folded
        store_places(session, merged, index, report, existing=existing,
                     snap_metres=snap_metres)
    for (path, _fmt), rows in zip(postcode_files, postcode_rows, strict=True):
        sub = ImportReport(source=path.name)
        store_postcodes(session, rows, index, sub, snap_metres=snap_metres)
        report.counts["postcodes"] = report.counts.get("postcodes", 0) + sub.total
        report.counts["postcodes in a beat"] = (report.counts.get("postcodes in a beat", 0)
                                                + sub.counts.get("in a beat", 0))
        report.skipped += sub.skipped
        report.warnings += sub.warnings
    report.seconds = time.perf_counter() - started
    logger.info("%s", report.summary(), extra={"summary": True})
    return report


# --- postcodes -------------------------------------------------------------------------------


def store_postcodes(session: Session, rows: PostcodeRows, index: BeatIndex,
                    report: ImportReport, *, snap_metres: float = SNAP_METRES) -> None:
    beats = index.locate_many(np.column_stack([rows.lat, rows.lon]), snap_metres=snap_metres)
    existing = set(session.scalars(select(Postcode.postcode)).all())
    values = [{"postcode": code, "outcode": outcode_of(code), "lat": round(float(la), 6),
               "lon": round(float(lo), 6), "quality": q, "beat_id": b}
              for code, la, lo, q, b in zip(rows.postcodes, rows.lat, rows.lon, rows.quality,
                                            beats, strict=True)]
    upsert(session, Postcode, values, keys=["postcode"],
           update=("outcode", "lat", "lon", "quality", "beat_id"), label="postcodes")
    known = sum(1 for c in set(rows.postcodes) if c in existing)
    report.updated += known
    report.created += len(set(rows.postcodes)) - known
    report.skipped += rows.skipped
    report.warnings += rows.warnings
    report.counts["in a beat"] = sum(b is not None for b in beats)


def import_postcodes(session: Session, path: str | Path, *, index: BeatIndex | None = None,
                     snap_metres: float = SNAP_METRES,
                     limits: ImportLimits | None = None) -> ImportReport:
    """Import an OS Code-Point Open file (CSV or .csv.gz) into ``postcodes`` with beats."""
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise GeoDataError(f"no such file: {path}")
    rows = read_postcode_file(path, budget=ReadBudget(limits))
    report = ImportReport(source=path.name)
    store_postcodes(session, rows, index or BeatIndex.from_session(session), report,
                    snap_metres=snap_metres)
    report.seconds = time.perf_counter() - started
    logger.info("%s", report.summary(), extra={"summary": True})
    return report


# --- after a beats re-import -----------------------------------------------------------------


def assign_beats(session: Session, *, index: BeatIndex | None = None,
                 snap_metres: float = SNAP_METRES) -> dict[str, int]:
    """Recompute ``beat_id`` of every place and postcode (after beats change); counts changed."""
    index = index or BeatIndex.from_session(session)
    changed = {"places": 0, "postcodes": 0}
    places = session.execute(select(Place.id, Place.lat, Place.lon, Place.coarse,
                                    Place.beat_id)).all()
    if places:
        beats = index.locate_many(np.array([(p.lat, p.lon) for p in places]),
                                  snap_metres=snap_metres)
        todo = [{"id": p.id, "beat_id": None if p.coarse else b}
                for p, b in zip(places, beats, strict=True) if (None if p.coarse else b) != p.beat_id]
        if todo:
            session.execute(update(Place), todo)
        changed["places"] = len(todo)
    codes = session.execute(select(Postcode.postcode, Postcode.lat, Postcode.lon,
                                   Postcode.beat_id)).all()
    if codes:
        beats = index.locate_many(np.array([(c.lat, c.lon) for c in codes]),
                                  snap_metres=snap_metres)
        todo = [{"postcode": c.postcode, "beat_id": b}
                for c, b in zip(codes, beats, strict=True) if b != c.beat_id]
        if todo:
            session.execute(update(Postcode), todo)
        changed["postcodes"] = len(todo)
    logger.info("beats reassigned: %d places, %d postcodes changed", changed["places"],
                changed["postcodes"])
    return changed
