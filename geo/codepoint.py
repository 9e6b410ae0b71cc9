"""OS Code-Point Open reader: postcode rows with their WGS84 points (lat/lon or OS grid)."""

from __future__ import annotations

import csv
import gzip
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geo.gazetteer_readers import (
    POSTCODE_FORMATS,
    detect_format,
    non_blank,
    open_text,
    parse_float,
    parse_int,
    text_lines,
)
from geo.inputs import ReadBudget
from geo.osgb import osgb_to_wgs84
from geo.postcodes import parse_postcode
from geo.types import GeoDataError

logger = logging.getLogger(__name__)


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


def read_postcode_file(path: Path, fmt: str | None = None,
                       budget: ReadBudget | None = None) -> PostcodeRows:
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
    with open_text(path, budget) as raw:
        fh = text_lines(raw, path.name)
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
                    lat.append(parse_float(la, "latitude", f"{path.name} line {i}"))
                    lon.append(parse_float(lo, "longitude", f"{path.name} line {i}"))
                    grid.append((math.nan, math.nan))
                else:
                    lat.append(math.nan)
                    lon.append(math.nan)
                    grid.append((parse_float(e, "easting", f"{path.name} line {i}"),
                                 parse_float(n, "northing", f"{path.name} line {i}")))
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
        return non_blank(row[i]) if i is not None and i < len(row) else None

    def pick(row: list[str]) -> tuple:
        la, lo = cell(row, "lat"), cell(row, "lon")
        if la is None or lo is None:
            la = lo = None
        return (cell(row, "postcode"), parse_int(cell(row, "quality")), la, lo,
                cell(row, "easting"), cell(row, "northing"))
    return pick


def _codepoint_raw(r: list[str]) -> tuple:
    # Code-Point Open column order: Postcode, Positional_quality_indicator, Eastings,
    # Northings, Country_code, NHS regional HA, NHS HA, Admin county, district, ward.
    if len(r) < 4:
        return (r[0] if r else "", None, None, None, None, None)
    return r[0], parse_int(r[1]), None, None, non_blank(r[2]), non_blank(r[3])
