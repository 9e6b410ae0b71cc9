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
sharing the name (NaPTAN) raise it (see ``BASE_PROMINENCE`` and :func:`prominence`).

The same place seen in several rows or files (same normalised name or a listed alias,
compatible feature types, close points: see :func:`merge_limit`) becomes one row: the
best-ranked row survives and the others' spellings go to its ``alt_names``. Places already
in the database take part in that merge, so importing files one by one gives the same
places as importing them together. Ids are stable (``stable_id("place", source,
source_id)``): re-importing a file updates its rows in place.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from geo.index import BeatIndex
from geo.names import normalise
from geo.osgb import osgb_to_wgs84
from geo.postcodes import outcode_of, parse_postcode
from geo.types import GeoDataError, ImportReport
from storage.db import upsert
from storage.ids import stable_id
from storage.models import Place, Postcode

logger = logging.getLogger(__name__)

# A GeoNames "PPL" with at least this many people is a town, below it a village (the usual
# English threshold between a large village and a small town).
TOWN_POPULATION = 10_000
# Base prominence per feature type, chosen so a curated area name outranks a town's bus stop
# of the same name and a town outranks a street; population and stop counts add to it.
BASE_PROMINENCE = {
    "area": 0.7, "town": 0.6, "suburb": 0.5, "village": 0.4, "ward": 0.45, "locality": 0.35,
    "postal_place": 0.3, "street": 0.2, "pub": 0.2, "park": 0.3, "landmark": 0.1,
    "bus_stop": 0.1, "other": 0.1,
}
POSTAL_COARSE_FACTOR = 0.5  # coarse points are worth less: a mention cannot be placed
POPULATION_FULL = 1_000_000  # log-scaled population score reaches 1 here
STOPS_FULL = 50  # log-scaled bus-stop score reaches 1 here (a town centre has ~50 stops)
STOPS_WEIGHT = 0.3
# Merge the same name within one family of types when points are this close (metres). A
# settlement's points (GeoNames centre, NaPTAN stops median, curated point) scatter over a
# kilometre or so; a street's stops over ~400 m; two pub records of one pub over a few dozen
# metres. Coarse postal points sit at an outcode's centre, so they merge into a fine entry of
# the same name up to 5 km away. Ward names never merge (same-named wards are different).
MERGE_METRES = {"area": 1_500, "transport": 400, "pub": 60, "park": 500, "ward": 0, "other": 400}
COARSE_MERGE_METRES = 5_000
# Which rows survive a merge: lower rank wins.
TYPE_RANK = {"area": 0, "town": 1, "suburb": 2, "village": 3, "locality": 4, "ward": 5,
             "postal_place": 6, "park": 7, "street": 8, "pub": 9, "landmark": 10,
             "bus_stop": 11, "other": 12}
FAMILY = {"area": "area", "town": "area", "suburb": "area", "village": "area", "locality": "area",
          "postal_place": "area", "ward": "ward", "street": "transport", "landmark": "transport",
          "bus_stop": "transport", "pub": "pub", "park": "park", "other": "other"}
FINE_TYPES = {"landmark_near_bus_stop": "landmark", "bus_stop_name": "bus_stop", "street": "street",
              "locality": "locality", "pub_bar_club": "pub", "pub": "pub", "bar": "pub"}
GEONAMES_TYPES = {"L.PRK": "park", "L.RES": "park"}
GEONAMES_CLASS_TYPES = {"H": "water", "T": "hill", "A": "admin", "S": "landmark"}
COARSE_ACCURACY = {"1", "3"}  # GeoNames postal accuracy codes meaning "outcode centroid"
_STOPS = re.compile(r"median of (\d+)(?: \w+)? stops?")
_NPTG = re.compile(r"NPTG (\w+)")
_ALIAS_OF = re.compile(r"^alias of (.+?);")
_PARENTHESIS = re.compile(r"\s*\([^)]*\)")
# Points up to this far outside every beat may go to the nearest beat; off by default.
# Generalised boundary files cut off piers, marinas and strips of coast and border: with all
# 267 bundled Sussex wards as beats, 804 of the 49,691 Sussex postcodes fall outside every
# polygon (up to 555 m) and a 600 m snap gives each the ward ONS gives it. But when the beats
# cover only part of the data's area (the demo: 21 Brighton & Hove wards, Sussex-wide data),
# snapping pulls in the neighbours' points instead (154 postcodes of other districts at
# 600 m, while strict lookups miss only 6 pier and marina postcodes). So: strict by default;
# pass snap_metres (CLI --snap-metres) when the beats tile the whole area of the data.
SNAP_METRES = 0.0
GEONAMES_DUMP_COLUMNS = 19
GEONAMES_POSTAL_COLUMNS = 12
CODEPOINT_RAW_COLUMNS = 10
PROGRESS_EVERY = 10_000  # rows between progress log lines on long imports


@dataclass
class PlaceRow:
    """A place read from a file, before merging and beat assignment."""

    name: str
    feature_type: str
    lat: float
    lon: float
    source: str
    source_id: str
    alt_names: list[str] = field(default_factory=list)
    locality: str | None = None
    district: str | None = None
    prominence: float = 0.0
    coarse: bool = False
    existing: bool = False  # read back from the database, not from a file
    touched: bool = True  # changed by this import (an untouched existing row is not rewritten)

    @property
    def norm(self) -> str:
        return normalise(self.name)

    @property
    def kind(self) -> str:
        """The feature type's family key in ``BASE_PROMINENCE``/``TYPE_RANK``."""
        base = self.feature_type.split(":", 1)[0]
        return base if base in TYPE_RANK else "other"


# --- prominence ------------------------------------------------------------------------------


def prominence(kind: str, *, population: int | None = None, stops: int | None = None,
               coarse: bool = False) -> float:
    """Prominence 0..1 from the feature kind, population and number of bus stops.

    >>> prominence("town", population=230_000) > prominence("village", population=1_000)
    True
    >>> prominence("bus_stop", stops=1) < prominence("street", stops=1) < prominence("area")
    True
    """
    score = BASE_PROMINENCE.get(kind, BASE_PROMINENCE["other"])
    if population and population > 0:
        score = max(score, min(1.0, math.log10(population) / math.log10(POPULATION_FULL)))
    if stops and stops > 0:
        score += STOPS_WEIGHT * min(1.0, math.log10(1 + stops) / math.log10(1 + STOPS_FULL))
    if coarse:
        score *= POSTAL_COARSE_FACTOR
    return round(min(1.0, score), 4)


def _stops(detail: str) -> int | None:
    m = _STOPS.search(detail or "")
    return int(m.group(1)) if m else None


def _float(value: str, what: str, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GeoDataError(f"{where}: {what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise GeoDataError(f"{where}: {what} {value!r} is not a number")
    return number


def _point(lat: str, lon: str, where: str) -> tuple[float, float]:
    la, lo = _float(lat, "latitude", where), _float(lon, "longitude", where)
    if not (-90 <= la <= 90 and -180 <= lo <= 180):
        raise GeoDataError(f"{where}: point {la}, {lo} is outside latitude/longitude ranges")
    return la, lo


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


# --- readers, one per format -----------------------------------------------------------------


def read_fine(rows: Iterable[dict], name: str) -> Iterator[PlaceRow]:
    """Rows of the fine combined gazetteer (curated names, NaPTAN, pubs)."""
    for i, r in enumerate(rows, start=2):
        where = f"{name} line {i}"
        title = (r.get("name") or "").strip()
        if not title:
            raise GeoDataError(f"{where}: empty name")
        lat, lon = _point(r.get("lat"), r.get("lon"), where)
        source, detail = r.get("source") or name, r.get("source_detail") or ""
        raw_type = (r.get("feature_type") or "").strip()
        ftype = raw_type if raw_type.startswith("area:") else FINE_TYPES.get(raw_type, raw_type or "other")
        row = PlaceRow(name=title, feature_type=ftype, lat=lat, lon=lon, source=source,
                       source_id="", locality=_blank(r.get("locality")),
                       district=_blank(r.get("lad_name")))
        alias = _ALIAS_OF.match(detail)
        if source == "curated_area_names":
            canonical = alias.group(1).strip() if alias else title
            row.source_id = normalise(canonical)
            if alias:  # an alias row: fold into the canonical place
                row.alt_names, row.name = clean_aliases(title, canonical), canonical
        elif _NPTG.search(detail):
            row.source_id = _NPTG.search(detail).group(1)
        elif source == "open_pubs" and detail.startswith("fas_id "):
            row.source_id = detail.split(";", 1)[0].removeprefix("fas_id ").strip()
        elif source.startswith("osm") and detail:
            row.source_id = detail.strip()
        else:
            row.source_id = f"{normalise(title)}@{lat:.5f},{lon:.5f}"
        row.prominence = prominence(row.kind, stops=_stops(detail))
        yield row


def read_places(rows: Iterable[dict], name: str) -> Iterator[PlaceRow]:
    """Rows of the places combined CSV (GeoNames towns, postal places, ward names)."""
    for i, r in enumerate(rows, start=2):
        where = f"{name} line {i}"
        title = (r.get("name") or "").strip()
        if not title:
            raise GeoDataError(f"{where}: empty name")
        lat, lon = _point(r.get("lat"), r.get("lon"), where)
        raw_type, source = (r.get("feature_type") or "").strip(), r.get("source") or name
        population = _int(r.get("population"))
        source_id, coarse = (r.get("source_id") or "").strip(), False
        if raw_type.startswith("geonames_postal"):
            coarse = source_id.removeprefix("accuracy=") in COARSE_ACCURACY
            yield _postal_row(title, r.get("outcode") or "", lat, lon, coarse,
                              _blank(r.get("lad_name")))
            continue
        if raw_type == "electoral_ward_2013" or raw_type.startswith("electoral_ward"):
            ftype = "ward"
        elif raw_type.startswith("geonames:"):
            ftype = geonames_type(raw_type.removeprefix("geonames:"), population)
        else:
            ftype = raw_type or "other"
        row = PlaceRow(name=title, feature_type=ftype, lat=lat, lon=lon, source=source,
                       source_id=source_id or f"{normalise(title)}@{lat:.5f},{lon:.5f}",
                       district=_blank(r.get("lad_name")))
        row.prominence = prominence(row.kind, population=population)
        yield row


def geonames_type(code: str, population: int | None) -> str:
    """Our feature type for a GeoNames ``class.code`` such as ``P.PPL``.

    >>> geonames_type("P.PPL", 99_000), geonames_type("P.PPL", 900), geonames_type("P.PPLX", 0)
    ('town', 'village', 'suburb')
    >>> geonames_type("L.PRK", None), geonames_type("S.CSTL", None)
    ('park', 'landmark')
    """
    cls, _, fcode = code.partition(".")
    if cls == "P":
        if fcode == "PPLX":
            return "suburb"
        if fcode.startswith(("PPLA", "PPLC")) or (population or 0) >= TOWN_POPULATION:
            return "town"
        return "village"
    if code in GEONAMES_TYPES:
        return GEONAMES_TYPES[code]
    return GEONAMES_CLASS_TYPES.get(cls, f"geonames:{code}")


def _postal_row(title: str, outcode: str, lat: float, lon: float, coarse: bool,
                district: str | None) -> PlaceRow:
    outcode = outcode.strip().upper()
    row = PlaceRow(name=title, feature_type="postal_place", lat=lat, lon=lon,
                   source="geonames_postal_GB", source_id=f"{outcode}:{normalise(title)}",
                   district=district, coarse=coarse)  # the outcode is in source_id
    row.prominence = prominence("postal_place", coarse=coarse)
    return row


def read_curated(rows: Iterable[dict], name: str) -> Iterator[PlaceRow]:
    """Rows of a curated area-names CSV: name, ``|``-separated aliases, kind, point."""
    for i, r in enumerate(rows, start=2):
        where = f"{name} line {i}"
        title = (r.get("name") or "").strip()
        if not title:
            raise GeoDataError(f"{where}: empty name")
        lat, lon = _point(r.get("lat"), r.get("lon"), where)
        kind = (r.get("kind") or "").strip() or "neighbourhood"
        row = PlaceRow(name=title, feature_type=f"area:{kind}", lat=lat, lon=lon,
                       source="curated_area_names", source_id=normalise(title),
                       alt_names=clean_aliases(r.get("aliases") or "", title),
                       district=_blank(r.get("lad_name")))
        row.prominence = prominence("area", stops=_stops(r.get("coord_derivation") or ""))
        yield row


def clean_aliases(text: str, name: str) -> list[str]:
    """Split ``a|b`` aliases, drop notes in brackets and repeats of ``name``.

    >>> clean_aliases("Preston Park (the park)|Preston Pk|the Level", "Preston Park")
    ['Preston Pk', 'the Level']
    """
    out: list[str] = []
    seen = {name.casefold()}
    for alias in text.split("|"):
        alias = _PARENTHESIS.sub("", alias).strip()
        if alias and alias.casefold() not in seen:
            seen.add(alias.casefold())
            out.append(alias)
    return out


def read_geonames_postal(rows: Iterable[dict], name: str) -> Iterator[PlaceRow]:
    """GeoNames postal rows; accuracy 1 or 3 makes a row coarse (outcode-level point)."""
    for i, r in enumerate(rows, start=2):
        where = f"{name} line {i}"
        title = (r.get("place_name") or "").strip()
        if not title:
            continue  # postal rows without a place name carry nothing to match
        lat, lon = _point(r.get("latitude"), r.get("longitude"), where)
        coarse = (r.get("accuracy") or "").strip() in COARSE_ACCURACY
        district = _blank(r.get("lad_name")) or _blank(r.get("admin_name2"))
        yield _postal_row(title, r.get("postal_code") or "", lat, lon, coarse, district)


GEONAMES_POSTAL_HEADER = ("country_code", "postal_code", "place_name", "admin_name1",
                          "admin_code1", "admin_name2", "admin_code2", "admin_name3",
                          "admin_code3", "latitude", "longitude", "accuracy")


def read_geonames_dump(rows: Iterable[list[str]], name: str) -> Iterator[PlaceRow]:
    """Rows of a GeoNames main dump (``allCountries.txt``, ``GB.txt``, ``cities1000.txt``)."""
    for i, r in enumerate(rows, start=1):
        if len(r) < GEONAMES_DUMP_COLUMNS:
            raise GeoDataError(f"{name} line {i}: {len(r)} columns, a GeoNames dump row has "
                               f"{GEONAMES_DUMP_COLUMNS}")
        where = f"{name} line {i}"
        lat, lon = _point(r[4], r[5], where)
        population = _int(r[14])
        ftype = geonames_type(f"{r[6]}.{r[7]}", population)
        alts = [a for a in r[3].split(",") if a and a.isascii() and normalise(a) != normalise(r[1])]
        row = PlaceRow(name=r[1].strip(), feature_type=ftype, lat=lat, lon=lon,
                       source="geonames", source_id=r[0].strip(), alt_names=alts[:20])
        row.prominence = prominence(row.kind, population=population)
        yield row


# --- format detection ----------------------------------------------------------------------


def open_text(path: Path) -> io.TextIOBase:
    """Open a UTF-8 text file, gzip-compressed or not (BOM tolerated)."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(2)
        if magic == b"\x1f\x8b":
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise GeoDataError(f"cannot read {path}: {exc.strerror or exc}") from exc


def detect_format(path: Path) -> str:
    """The format of a gazetteer or postcode file, from its first line.

    One of ``fine``, ``places``, ``curated``, ``geonames_postal``, ``geonames_postal_dump``,
    ``geonames_dump``, ``geonames_csv``, ``codepoint``, ``codepoint_raw``.
    """
    with open_text(path) as fh:
        try:
            first = fh.readline()
        except (UnicodeDecodeError, EOFError, OSError, gzip.BadGzipFile) as exc:
            raise GeoDataError(f"{path.name}: not a readable UTF-8 text file ({exc})") from exc
    if not first.strip():
        raise GeoDataError(f"{path.name}: the file is empty")
    if "\t" in first:
        cols = first.rstrip("\r\n").split("\t")
        if len(cols) == GEONAMES_DUMP_COLUMNS:
            return "geonames_dump"
        if len(cols) == GEONAMES_POSTAL_COLUMNS:
            return "geonames_postal_dump"
        raise GeoDataError(f"{path.name}: tab-separated with {len(cols)} columns: not a "
                           "GeoNames dump (19) or GeoNames postal dump (12)")
    header = {c.strip().strip('"').lower() for c in next(csv.reader([first]))}
    if {"name", "aliases", "kind", "lat", "lon"} <= header:
        return "curated"
    if {"name", "feature_type", "lat", "lon", "source_detail"} <= header:
        return "fine"
    if {"name", "feature_type", "lat", "lon", "source_id"} <= header:
        return "places"
    if {"postal_code", "place_name", "latitude", "longitude"} <= header:
        return "geonames_postal"
    if {"geonameid", "name", "latitude", "longitude", "feature class"} <= header:
        return "geonames_csv"
    if "postcode" in header and ({"lat", "lon"} <= header or {"easting", "northing"} <= header
                                 or {"eastings", "northings"} <= header):
        return "codepoint"
    cells = next(csv.reader([first]))
    if len(cells) >= 4 and parse_postcode(cells[0]) and cells[2].strip().isdigit():
        return "codepoint_raw"
    raise GeoDataError(f"{path.name}: unknown gazetteer format (header: {first.strip()[:120]})")


PLACE_READERS = {"fine": read_fine, "places": read_places, "curated": read_curated,
                 "geonames_postal": read_geonames_postal}
# Column order of the GeoNames main dump, as named in its readme (for CSVs with a header).
GEONAMES_COLUMNS = ("geonameid", "name", "asciiname", "alternatenames", "latitude", "longitude",
                    "feature class", "feature code", "country code", "cc2", "admin1 code",
                    "admin2 code", "admin3 code", "admin4 code", "population", "elevation", "dem",
                    "timezone", "modification date")
POSTCODE_FORMATS = ("codepoint", "codepoint_raw")


def read_place_file(path: Path, fmt: str) -> list[PlaceRow]:
    """Every place of one file (a clear error naming the line on bad data)."""
    with open_text(path) as fh:
        try:
            if fmt == "geonames_csv":  # a GeoNames dump saved as CSV with a header
                reader = csv.DictReader(fh)
                reader.fieldnames = [f.strip().lower() for f in reader.fieldnames or []]
                rows = ([r.get(c) or "" for c in GEONAMES_COLUMNS] for r in reader)
                return list(read_geonames_dump(rows, path.name))
            if fmt in PLACE_READERS:
                return list(PLACE_READERS[fmt](csv.DictReader(fh), path.name))
            rows = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            if fmt == "geonames_dump":
                return list(read_geonames_dump(rows, path.name))
            dicts = (dict(zip(GEONAMES_POSTAL_HEADER, r, strict=False)) for r in rows)
            return list(read_geonames_postal(dicts, path.name))
        except (UnicodeDecodeError, csv.Error, EOFError, gzip.BadGzipFile) as exc:
            raise GeoDataError(f"{path.name}: unreadable ({exc})") from exc


# --- merging ---------------------------------------------------------------------------------


def _metres(a: PlaceRow, b: PlaceRow) -> float:
    # Equirectangular distance: within a few km it is as exact as a great circle, and cheap.
    x = math.radians(b.lon - a.lon) * math.cos(math.radians((a.lat + b.lat) / 2))
    y = math.radians(b.lat - a.lat)
    return 6_371_000 * math.hypot(x, y)


def _absorb(keep: PlaceRow, other: PlaceRow) -> None:
    seen = {n.casefold() for n in (keep.name, *keep.alt_names)}
    for alt in (other.name, *other.alt_names):
        alt = alt.strip()
        if alt and alt.casefold() not in seen:
            seen.add(alt.casefold())
            keep.alt_names.append(alt)
    keep.prominence = max(keep.prominence, other.prominence)
    keep.locality = keep.locality or other.locality
    keep.district = keep.district or other.district
    keep.touched = keep.touched or other.touched or other.existing


def _replace(old: PlaceRow, new: PlaceRow) -> PlaceRow:
    """An entry in the database read again from its file: the file's values win, but
    spellings folded in earlier (from other files) are kept."""
    fresh = PlaceRow(**{**new.__dict__, "alt_names": list(new.alt_names)})
    _absorb(fresh, PlaceRow(**{**old.__dict__, "name": new.name, "existing": False,
                               "touched": False}))
    fresh.prominence, fresh.locality, fresh.district = new.prominence, new.locality, new.district
    fresh.existing, fresh.touched = True, True
    return fresh


def merge_places(rows: Iterable[PlaceRow],
                 existing: Iterable[PlaceRow] = ()) -> tuple[list[PlaceRow], int]:
    """Fold rows that are the same place; return the survivors and how many were folded.

    Rows with the same ``(source, source_id)`` always fold (curated alias rows, the same
    postal place in two files). Otherwise a row folds into a better-ranked row with the same
    normalised name (or listing its name as an alias) when :func:`merge_limit` allows it.
    ``existing`` rows (already in the database) take part too, so files imported in
    separate calls end up merged as if imported together; an existing row read again from
    its file takes the file's values.
    """
    by_id: dict[tuple[str, str], PlaceRow] = {}
    for row in existing:
        by_id[(row.source, row.source_id)] = row
    folded = 0
    for row in rows:
        key = (row.source, row.source_id)
        current = by_id.get(key)
        if current is None:
            by_id[key] = PlaceRow(**{**row.__dict__, "alt_names": list(row.alt_names)})
        elif current.existing and not current.touched:
            by_id[key] = _replace(current, row)
        else:
            _absorb(current, row)
            folded += 1
    groups: dict[str, list[PlaceRow]] = defaultdict(list)
    for row in by_id.values():
        groups[row.norm].append(row)
    survivors: list[PlaceRow] = []
    for group in groups.values():
        group.sort(key=_rank)
        kept: list[PlaceRow] = []
        for row in group:
            home = next((k for k in kept if _mergeable(k, row)), None)
            if home is None:
                kept.append(row)
            else:
                _absorb(home, row)
                folded += 1
        survivors += kept
    survivors, by_alias = _fold_aliases(survivors)
    survivors.sort(key=lambda r: (r.source, r.source_id))
    return survivors, folded + by_alias


def merge_limit(keep: PlaceRow, other: PlaceRow) -> float | None:
    """How close (metres) ``other`` must be to fold into the better-ranked ``keep``; None: never.

    Same family: ``MERGE_METRES`` of the family (a coarse ``other``: ``COARSE_MERGE_METRES``).
    A stop, street or landmark named like an area or park folds into it within the
    transport distance (NaPTAN's "The Level" stop is the Level). Wards and pubs only ever
    fold into their own kind ("The Brunswick" pub is not Brunswick).
    """
    fk, fo = FAMILY[keep.kind], FAMILY[other.kind]
    if keep.coarse and not other.coarse:
        return None
    if fk == fo:
        return COARSE_MERGE_METRES if other.coarse and not keep.coarse else MERGE_METRES[fk]
    if fk in ("area", "park") and fo in ("transport", "park") and not other.coarse:
        return MERGE_METRES["transport"]
    return None


def _mergeable(keep: PlaceRow, other: PlaceRow) -> bool:
    limit = merge_limit(keep, other)
    return limit is not None and _metres(keep, other) <= limit


def _rank(row: PlaceRow) -> tuple:
    return (row.coarse, TYPE_RANK[row.kind], -row.prominence, row.source, row.source_id)


def _fold_aliases(rows: list[PlaceRow]) -> tuple[list[PlaceRow], int]:
    """Fold a row into a better one nearby that lists its name as an alias.

    E.g. NaPTAN's locality "Kemp Town" into the curated "Kemptown" (alias "Kemp Town").
    Repeated until nothing more folds, so that importing the result again changes nothing.
    """
    total = 0
    for _ in range(10):  # converges in one or two rounds on the Sussex data
        rows, folded = _fold_aliases_once(rows)
        total += folded
        if not folded:
            break
    return rows, total


def _fold_aliases_once(rows: list[PlaceRow]) -> tuple[list[PlaceRow], int]:
    by_name: dict[str, list[PlaceRow]] = defaultdict(list)
    for row in rows:
        by_name[row.norm].append(row)
    gone: set[int] = set()
    for row in sorted((r for r in rows if r.alt_names), key=_rank):
        if id(row) in gone:
            continue
        i = 0
        while i < len(row.alt_names):  # grows as rows fold in: follow their names too
            alt, i = row.alt_names[i], i + 1
            for other in by_name.get(normalise(alt), []):
                if (other is not row and id(other) not in gone and _rank(other) > _rank(row)
                        and _mergeable(row, other)):
                    _absorb(row, other)
                    gone.add(id(other))
    return [r for r in rows if id(r) not in gone], len(gone)


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
                     snap_metres: float = SNAP_METRES) -> ImportReport:
    """Import place-name files (and postcode files, handed to :func:`import_postcodes`).

    All files are read and checked before anything is written; the caller's transaction
    makes the import all-or-nothing.
    """
    started = time.perf_counter()
    paths = [Path(p) for p in paths]
    if not paths:
        raise GeoDataError("no gazetteer files given")
    report = ImportReport(source=", ".join(p.name for p in paths))
    index = index or BeatIndex.from_session(session)
    place_rows: list[PlaceRow] = []
    postcode_files: list[tuple[Path, str]] = []
    for path in paths:
        if not path.is_file():
            raise GeoDataError(f"no such file: {path}")
        fmt = detect_format(path)
        if fmt in POSTCODE_FORMATS:
            postcode_files.append((path, fmt))
            continue
        rows = read_place_file(path, fmt)
        logger.info("%s: %d rows (%s format)", path.name, len(rows), fmt)
        report.counts[f"rows read ({fmt})"] = len(rows)
        place_rows += rows
    postcode_rows = [read_postcode_file(p, fmt) for p, fmt in postcode_files]
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


@dataclass
class PostcodeRows:
    postcodes: list[str]
    lat: np.ndarray
    lon: np.ndarray
    quality: list[int | None]
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)


# Code-Point positional quality 90 means "no coordinates" (the row has 0, 0).
NO_COORDINATES_QUALITY = 90
MAX_WARNINGS = 20  # keep reports readable: count the rest


def read_postcode_file(path: Path, fmt: str | None = None) -> PostcodeRows:
    """Read OS Code-Point Open rows: with lat/lon, or easting/northing converted to WGS84."""
    fmt = fmt or detect_format(path)
    if fmt not in POSTCODE_FORMATS:
        raise GeoDataError(f"{path.name}: not a Code-Point Open postcode file ({fmt} format)")
    codes: list[str] = []
    lat: list[float] = []
    lon: list[float] = []
    grid: list[tuple[float, float]] = []
    quality: list[int | None] = []
    out = PostcodeRows([], np.empty(0), np.empty(0), [])
    with open_text(path) as fh:
        try:
            if fmt == "codepoint":
                reader = csv.reader(fh)
                pick = _codepoint_columns(next(reader))
                rows = ((i, pick(r)) for i, r in enumerate(reader, start=2))
            else:
                rows = ((i, _codepoint_raw(r)) for i, r in enumerate(csv.reader(fh), start=1))
            for i, (code_text, q, la, lo, e, n) in rows:
                code = parse_postcode(code_text or "")
                if code is None or " " not in code:
                    _skip(out, f"{path.name} line {i}: {code_text!r} is not a full postcode")
                    continue
                if q == NO_COORDINATES_QUALITY or (la is None and not e and not n):
                    _skip(out, f"{path.name} line {i}: {code} has no coordinates")
                    continue
                codes.append(code)
                quality.append(q)
                if la is not None:
                    lat.append(_float(la, "latitude", f"{path.name} line {i}"))
                    lon.append(_float(lo, "longitude", f"{path.name} line {i}"))
                    grid.append((math.nan, math.nan))
                else:
                    lat.append(math.nan)
                    lon.append(math.nan)
                    grid.append((_float(e, "easting", f"{path.name} line {i}"),
                                 _float(n, "northing", f"{path.name} line {i}")))
        except (UnicodeDecodeError, csv.Error, EOFError, gzip.BadGzipFile, OSError) as exc:
            raise GeoDataError(f"{path.name}: unreadable ({exc})") from exc
    if not codes:
        raise GeoDataError(f"{path.name}: no postcode rows with coordinates")
    out.postcodes, out.quality = codes, quality
    out.lat, out.lon = np.array(lat), np.array(lon)
    _convert_grid(out, np.array(grid))
    logger.info("%s: %d postcodes read (%s format), %d skipped", path.name, len(codes), fmt,
                out.skipped)
    return out


def _skip(out: PostcodeRows, message: str) -> None:
    out.skipped += 1
    if len(out.warnings) < MAX_WARNINGS:
        out.warnings.append(message)


def _convert_grid(out: PostcodeRows, grid: np.ndarray) -> None:
    todo = np.isnan(out.lat)
    if todo.any():
        lat, lon = osgb_to_wgs84(grid[todo, 0], grid[todo, 1])
        out.lat[todo], out.lon[todo] = lat, lon
    bad = (out.lat < -90) | (out.lat > 90) | (out.lon < -180) | (out.lon > 180)
    if bad.any():
        first = out.postcodes[int(np.flatnonzero(bad)[0])]
        raise GeoDataError(f"postcode {first}: point outside latitude/longitude ranges")


# Header names of a Code-Point file with a header row (ours, or OS's own with a header).
CODEPOINT_HEADERS = {
    "postcode": ("postcode",),
    "quality": ("positional_quality", "positional_quality_indicator", "quality"),
    "lat": ("lat", "latitude"), "lon": ("lon", "longitude"),
    "easting": ("easting", "eastings"), "northing": ("northing", "northings"),
}


def _codepoint_columns(header: list[str]) -> Callable[[list[str]], tuple]:
    """A function picking (postcode, quality, lat, lon, easting, northing) from a row."""
    names = [h.strip().lower() for h in header]
    at = {key: next((names.index(c) for c in choices if c in names), None)
          for key, choices in CODEPOINT_HEADERS.items()}

    def cell(row: list[str], key: str) -> str | None:
        i = at[key]
        return _blank(row[i]) if i is not None and i < len(row) else None

    def pick(row: list[str]) -> tuple:
        la, lo = cell(row, "lat"), cell(row, "lon")
        if la is None or lo is None:
            la = lo = None
        return (cell(row, "postcode"), _int(cell(row, "quality")), la, lo,
                cell(row, "easting"), cell(row, "northing"))
    return pick


def _codepoint_raw(r: list[str]) -> tuple:
    # Code-Point Open column order: Postcode, Positional_quality_indicator, Eastings,
    # Northings, Country_code, NHS regional HA, NHS HA, Admin county, district, ward.
    if len(r) < 4:
        return (r[0] if r else "", None, None, None, None, None)
    return r[0], _int(r[1]), None, None, _blank(r[2]), _blank(r[3])


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
                     snap_metres: float = SNAP_METRES) -> ImportReport:
    """Import an OS Code-Point Open file (CSV or .csv.gz) into ``postcodes`` with beats."""
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise GeoDataError(f"no such file: {path}")
    rows = read_postcode_file(path)
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
