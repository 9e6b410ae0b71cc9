"""Gazetteer file readers: detect a place-name file's format and read its rows as ``PlaceRow``.

Files are read as streams within the ``max_import_bytes``/``max_import_ratio`` settings
(:mod:`geo.inputs`), plain or gzip-compressed. A line holding a NUL byte is refused with its
line number: NUL never belongs in a name, it marks a damaged, binary or UTF-16 file, and
PostgreSQL cannot store it (stripping it would store a name the file does not hold).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from geo.inputs import ImportLimits, ReadBudget, is_gzip, open_file, open_gzip
from geo.names import normalise
from geo.postcodes import parse_postcode
from geo.types import GeoDataError

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
# Which rows survive a merge: lower rank wins.
TYPE_RANK = {"area": 0, "town": 1, "suburb": 2, "village": 3, "locality": 4, "ward": 5,
             "postal_place": 6, "park": 7, "street": 8, "pub": 9, "landmark": 10,
             "bus_stop": 11, "other": 12}
FINE_TYPES = {"landmark_near_bus_stop": "landmark", "bus_stop_name": "bus_stop", "street": "street",
              "locality": "locality", "pub_bar_club": "pub", "pub": "pub", "bar": "pub"}
GEONAMES_TYPES = {"L.PRK": "park", "L.RES": "park"}
GEONAMES_CLASS_TYPES = {"H": "water", "T": "hill", "A": "admin", "S": "landmark"}
COARSE_ACCURACY = {"1", "3"}  # GeoNames postal accuracy codes meaning "outcode centroid"
_STOPS = re.compile(r"median of (\d+)(?: \w+)? stops?")
_NPTG = re.compile(r"NPTG (\w+)")
_ALIAS_OF = re.compile(r"^alias of (.+?);")
_PARENTHESIS = re.compile(r"\s*\([^)]*\)")
GEONAMES_DUMP_COLUMNS = 19
GEONAMES_POSTAL_COLUMNS = 12
MAX_HEADER_CHARS = 64 * 1024  # a first line longer than this is no header of ours


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


def parse_float(value: str, what: str, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        shown = value if not isinstance(value, str) or len(value) <= 40 else value[:40] + "…"
        raise GeoDataError(f"{where}: {what} {shown!r} is not a number")
    return number


def _point(lat: str, lon: str, where: str) -> tuple[float, float]:
    la, lo = parse_float(lat, "latitude", where), parse_float(lon, "longitude", where)
    if not (-90 <= la <= 90 and -180 <= lo <= 180):
        raise GeoDataError(f"{where}: point {la}, {lo} is outside latitude/longitude ranges")
    return la, lo


def parse_int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


def non_blank(value: str | None) -> str | None:
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
                       source_id="", locality=non_blank(r.get("locality")),
                       district=non_blank(r.get("lad_name")))
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
        population = parse_int(r.get("population"))
        source_id, coarse = (r.get("source_id") or "").strip(), False
        if raw_type.startswith("geonames_postal"):
            coarse = source_id.removeprefix("accuracy=") in COARSE_ACCURACY
            yield _postal_row(title, r.get("outcode") or "", lat, lon, coarse,
                              non_blank(r.get("lad_name")))
            continue
        if raw_type == "electoral_ward_2013" or raw_type.startswith("electoral_ward"):
            ftype = "ward"
        elif raw_type.startswith("geonames:"):
            ftype = geonames_type(raw_type.removeprefix("geonames:"), population)
        else:
            ftype = raw_type or "other"
        row = PlaceRow(name=title, feature_type=ftype, lat=lat, lon=lon, source=source,
                       source_id=source_id or f"{normalise(title)}@{lat:.5f},{lon:.5f}",
                       district=non_blank(r.get("lad_name")))
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
                       district=non_blank(r.get("lad_name")))
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
        district = non_blank(r.get("lad_name")) or non_blank(r.get("admin_name2"))
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
        population = parse_int(r[14])
        ftype = geonames_type(f"{r[6]}.{r[7]}", population)
        alts = [a for a in r[3].split(",") if a and a.isascii() and normalise(a) != normalise(r[1])]
        row = PlaceRow(name=r[1].strip(), feature_type=ftype, lat=lat, lon=lon,
                       source="geonames", source_id=r[0].strip(), alt_names=alts[:20])
        row.prominence = prominence(row.kind, population=population)
        yield row


# --- format detection ----------------------------------------------------------------------


def open_text(path: Path, budget: ReadBudget | None = None) -> io.TextIOBase:
    """Open a UTF-8 text file, gzip-compressed or not (BOM tolerated), read within ``budget``.

    Without a budget, a fresh one from the ``max_import_*`` settings.
    """
    path = Path(path)
    if not path.is_file():
        raise GeoDataError(f"no such file: {path}")
    budget = budget or ReadBudget()
    stream = open_gzip(path, budget) if is_gzip(path) else open_file(path, budget)
    return io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8-sig", newline="")


def text_lines(fh: Iterable[str], name: str, first_line: int = 1) -> Iterator[str]:
    """The lines of ``fh``, refusing one with a NUL byte (naming the file and line)."""
    for number, line in enumerate(fh, start=first_line):
        if "\x00" in line:
            raise GeoDataError(nul_message(name, number, line))
        yield line


def nul_message(name: str, number: int, line: str) -> str:
    hint = " (a UTF-16 file? save it as UTF-8)" if line.count("\x00") * 3 > len(line) else ""
    return (f"{name} line {number}: a NUL byte in the row; refused, a name cannot hold one"
            f"{hint}")


def detect_format(path: Path, limits: ImportLimits | None = None) -> str:
    """The format of a gazetteer or postcode file, from its first line.

    One of ``fine``, ``places``, ``curated``, ``geonames_postal``, ``geonames_postal_dump``,
    ``geonames_dump``, ``geonames_csv``, ``codepoint``, ``codepoint_raw``.
    """
    with open_text(path, ReadBudget(limits)) as fh:
        try:
            first = fh.readline(MAX_HEADER_CHARS)
        except (UnicodeDecodeError, EOFError, OSError, gzip.BadGzipFile) as exc:
            raise GeoDataError(f"{path.name}: not a readable UTF-8 text file ({exc})") from exc
    if len(first) >= MAX_HEADER_CHARS and not first.endswith(("\n", "\r")):
        raise GeoDataError(f"{path.name}: the first line is longer than "
                           f"{MAX_HEADER_CHARS // 1024} KiB: not a gazetteer or postcode file")
    if "\x00" in first:
        raise GeoDataError(nul_message(path.name, 1, first))
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


def read_place_file(path: Path, fmt: str, budget: ReadBudget | None = None) -> list[PlaceRow]:
    """Every place of one file (a clear error naming the line on bad data)."""
    with open_text(path, budget) as raw:
        fh = text_lines(raw, path.name)
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
