"""Import police beats (polygons) from GeoJSON, KML and data.police.uk boundary JSON files.

Supported inputs, detected from the content (not only the file name):

* **GeoJSON** ``FeatureCollection`` / ``Feature`` / bare ``Polygon``/``MultiPolygon`` in WGS84
  (lon, lat). The beat key and name come from ``id_prop``/``name_prop`` or are guessed
  (``ward_code``/``ward_name``, ``id``/``name``, ``code``, ONS ``…CD``/``…NM`` …).
* **KML** as data.police.uk offers it for download (one file per neighbourhood, named by its
  id, holding a ``Placemark`` with a ``Polygon`` or ``MultiGeometry``); files with several
  placemarks use ``id_prop`` (an ``ExtendedData`` field), the placemark id or its name.
  Parsed with lxml with entity expansion, DTD loading and network access switched off.
* **police.uk boundary JSON**: the answer of ``/{force}/{id}/boundary``, a list of
  ``{"latitude": "…", "longitude": "…"}`` strings; the key is the file name (``CC1NH1.json``).
* A **folder** or **.zip** of such files (the data.police.uk download): one beat per file,
  ``force`` taken from the parent folder when not given.

A beat keyed by its file name (a police.uk neighbourhood id) whose force is known gets the key
``{force}/{id}`` (e.g. ``sussex/CC1NH1``), the same key ``beatmap beats fetch`` gives it, so
a KML download and an API fetch update the same beat.

Inputs are read within the ``max_import_bytes`` and ``max_import_ratio`` settings (see
:mod:`geo.inputs`): a zip bomb or an endless file is refused after a few MiB, and JSON nested
more than ``geo.inputs.MAX_JSON_DEPTH`` levels is refused before it is parsed.

Everything is parsed and checked before anything is written, and written in the caller's
transaction, so a broken file imports nothing. Invalid rings are repaired with
``shapely.make_valid`` (counted in the report) or rejected with a message naming the feature.
Re-importing a key updates that beat in place (``Beat.id = stable_id("beat", key)``).
"""

from __future__ import annotations

import html
import io
import json
import logging
import math
import re
import time
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import shapely
from lxml import etree
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from geo.gazetteer import SNAP_METRES, assign_beats
from geo.inputs import (
    ARCHIVE_ERRORS,
    ImportLimits,
    ReadBudget,
    load_json,
    read_file,
    read_zip_member,
)
from geo.types import GeoDataError, ImportReport
from storage.db import utcnow
from storage.ids import stable_id
from storage.models import Beat

logger = logging.getLogger(__name__)

# Property names tried, in order, when the caller does not say which holds the key / name.
# The first entries are the shapes of the files we ship and of police/ONS downloads.
ID_PROPS = ("ward_code", "beat_id", "beat_code", "neighbourhood_id", "neighbourhood_code",
            "id", "code", "key", "ref", "identifier", "objectid")
NAME_PROPS = ("ward_name", "beat_name", "neighbourhood_name", "neighbourhood", "name",
              "title", "label", "description")
_ONS_CODE = re.compile(r"^[a-z]{2,5}\d{2}cd$", re.I)  # WD13CD, LSOA11CD, PFA21CD …
_ONS_NAME = re.compile(r"^[a-z]{2,5}\d{2}nm$", re.I)
# Coordinates beyond this many decimals are below a millimetre: rounding keeps rows small.
COORD_DECIMALS = 7
# Self-crossings an invalid outline may have and still be repaired: real outlines with a defect
# have a handful; make_valid's cost grows with the count (300 random points: 40,000 crossings,
# 27 s; a million: out of memory).
MAX_REPAIR_CROSSINGS = 1_000
KML_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False,
                          dtd_validation=False, huge_tree=False, remove_comments=True)


@dataclass
class BeatFeature:
    """One beat read from a file, before it is checked and written."""

    key: str
    name: str
    geometry: BaseGeometry
    properties: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # where it came from, for messages: "wards.geojson feature 3"
    force: str | None = None
    from_file_name: bool = False  # key is a police.uk neighbourhood id taken from the file name


# --- reading ---------------------------------------------------------------------------------


def read_beats(path: str | Path, *, id_prop: str | None = None, name_prop: str | None = None,
               where: Mapping[str, str] | None = None,
               limits: ImportLimits | None = None) -> list[BeatFeature]:
    """Read every beat in ``path`` (file, folder or zip) without touching the database.

    ``limits`` caps the bytes read (the ``max_import_*`` settings when not given).
    """
    path = Path(path)
    if not path.exists():
        raise GeoDataError(f"no such file or folder: {path}")
    budget = ReadBudget(limits)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".kml", ".json", ".geojson"))
        if not files:
            raise GeoDataError(f"{path}: no .kml, .json or .geojson files in this folder")
        found = []
        for f in files:
            data = read_file(f, budget, label=f"{path.name}/{f.relative_to(path)}")
            found += _with_force(read_beat_bytes(data, f.name, id_prop=id_prop,
                                                 name_prop=name_prop), f.parent.name)
    elif path.suffix.lower() == ".zip":
        found = _read_zip(path, budget, id_prop=id_prop, name_prop=name_prop)
    else:
        found = read_beat_bytes(read_file(path, budget), path.name, id_prop=id_prop,
                                name_prop=name_prop)
    return _filter(found, where, str(path))


def _read_zip(path: Path, budget: ReadBudget, **kwargs: Any) -> list[BeatFeature]:
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise GeoDataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    found: list[BeatFeature] = []
    with raw:
        try:
            archive = zipfile.ZipFile(raw)
        except (*ARCHIVE_ERRORS, ValueError) as exc:
            raise GeoDataError(f"{path}: not a readable zip file") from exc
        with archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                name = PurePosixPath(info.filename)
                if info.is_dir() or name.suffix.lower() not in (".kml", ".json", ".geojson"):
                    continue
                data = read_zip_member(archive, info, budget, f"{path.name}: {name}", raw)
                parent = name.parent.name or None
                found += _with_force(read_beat_bytes(data, str(name), **kwargs), parent)
    if not found:
        raise GeoDataError(f"{path}: no .kml, .json or .geojson files in this zip")
    return found


def _with_force(features: list[BeatFeature], folder: str | None) -> list[BeatFeature]:
    for f in features:
        f.force = f.force or folder or None
    return features


def _filter(features: list[BeatFeature], where: Mapping[str, str] | None,
            label: str) -> list[BeatFeature]:
    if not where:
        return features
    kept = [f for f in features
            if all(str(f.properties.get(k, "")).casefold() == str(v).casefold()
                   for k, v in where.items())]
    if not kept:
        cond = ", ".join(f"{k}={v}" for k, v in where.items())
        raise GeoDataError(f"{label}: no feature matches {cond}")
    return kept


def read_beat_bytes(data: bytes, name: str, *, id_prop: str | None = None,
                    name_prop: str | None = None) -> list[BeatFeature]:
    """Parse one file's bytes, detecting KML, GeoJSON or police.uk boundary JSON."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not head:
        raise GeoDataError(f"{name}: the file is empty")
    if head == b"<":
        return read_kml(data, name, id_prop=id_prop, name_prop=name_prop)
    try:
        doc = load_json(data, name)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GeoDataError(f"{name}: neither KML nor valid JSON ({exc})") from exc
    if isinstance(doc, list):
        feature = police_boundary_feature(doc, stem_of(name), label=name)
        feature.from_file_name = True
        return [feature]
    if isinstance(doc, dict):
        return read_geojson(doc, name, id_prop=id_prop, name_prop=name_prop)
    raise GeoDataError(f"{name}: JSON is neither GeoJSON nor a police.uk boundary list")


def stem_of(name: str) -> str:
    """``sussex/CC1NH1.kml`` → ``CC1NH1``."""
    return PurePosixPath(name.replace("\\", "/")).stem


# GeoJSON


def read_geojson(doc: dict, name: str, *, id_prop: str | None = None,
                 name_prop: str | None = None) -> list[BeatFeature]:
    """Beats of a GeoJSON document (FeatureCollection, Feature or bare polygon geometry)."""
    _check_crs(doc, name)
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise GeoDataError(f"{name}: FeatureCollection without a 'features' list")
    elif kind == "Feature":
        features = [doc]
    elif kind in ("Polygon", "MultiPolygon"):
        features = [{"type": "Feature", "properties": {}, "geometry": doc}]
    else:
        raise GeoDataError(f"{name}: not GeoJSON (type {kind!r}); expected a FeatureCollection")
    if not features:
        raise GeoDataError(f"{name}: the FeatureCollection has no features")
    single = len(features) == 1
    return [_geojson_feature(f, i, name, id_prop, name_prop, single)
            for i, f in enumerate(features, start=1)]


def _check_crs(doc: dict, name: str) -> None:
    crs = ((doc.get("crs") or {}).get("properties") or {}).get("name", "")
    if crs and not re.search(r"(CRS84|EPSG:+4326|WGS ?84)$", str(crs), re.I):
        raise GeoDataError(f"{name}: coordinates are in {crs}; convert to WGS84 (EPSG:4326) first")


def _geojson_feature(feat: Any, index: int, name: str, id_prop: str | None,
                     name_prop: str | None, single: bool) -> BeatFeature:
    label = f"{name} feature {index}"
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        raise GeoDataError(f"{label}: not a GeoJSON Feature")
    props = feat.get("properties") or {}
    if not isinstance(props, dict):
        raise GeoDataError(f"{label}: 'properties' is not an object")
    key = _pick(props, id_prop, ID_PROPS, _ONS_CODE, label, "id")
    if key is None and feat.get("id") not in (None, ""):
        key = str(feat["id"])
    from_name = key is None and single
    if from_name:
        key = stem_of(name)
    if key is None:
        raise GeoDataError(f"{label}: no id property found (tried {', '.join(ID_PROPS)}); "
                           "name one with --id-prop")
    title = _pick(props, name_prop, NAME_PROPS, _ONS_NAME, label, "name") or key
    label = f"{name} feature {index} ({key})"
    geom_doc = feat.get("geometry")
    if not isinstance(geom_doc, dict):
        raise GeoDataError(f"{label}: has no geometry")
    try:
        geom = shape(geom_doc)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError,
            shapely.errors.GEOSException) as exc:
        raise GeoDataError(f"{label}: unreadable geometry ({exc})") from exc
    return BeatFeature(key=key, name=title, geometry=geom, properties=dict(props), label=label,
                       from_file_name=from_name)


def _pick(props: Mapping[str, Any], wanted: str | None, guesses: Iterable[str],
          pattern: re.Pattern[str], label: str, what: str) -> str | None:
    if wanted:
        value = props.get(wanted)
        if value in (None, ""):
            raise GeoDataError(f"{label}: property {wanted!r} (the {what}) is missing or empty")
        return str(value).strip()
    lowered = {k.lower(): k for k in props}
    for guess in guesses:
        original = lowered.get(guess)
        if original is not None and props[original] not in (None, ""):
            return str(props[original]).strip()
    for k, v in props.items():
        if pattern.match(k) and v not in (None, ""):
            return str(v).strip()
    return None


# police.uk boundary JSON


def police_boundary_feature(points: Any, key: str, *, name: str | None = None,
                            label: str = "") -> BeatFeature:
    """A beat from a police.uk boundary answer: ``[{"latitude": "..", "longitude": ".."}, …]``."""
    label = label or key
    if not isinstance(points, list) or not points:
        raise GeoDataError(f"{label}: the police.uk boundary list is empty")
    ring = []
    for i, p in enumerate(points, start=1):
        try:
            ring.append((float(p["longitude"]), float(p["latitude"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise GeoDataError(f"{label}: point {i} is not a latitude/longitude pair") from exc
    if len(ring) < 3:
        raise GeoDataError(f"{label}: a boundary needs at least 3 points, got {len(ring)}")
    try:
        geom = Polygon(ring)
    except (ValueError, shapely.errors.GEOSException) as exc:
        raise GeoDataError(f"{label}: cannot make a polygon ({exc})") from exc
    return BeatFeature(key=key, name=name or key, geometry=geom, label=label)


# KML


def read_kml(data: bytes, name: str, *, id_prop: str | None = None,
             name_prop: str | None = None) -> list[BeatFeature]:
    """Beats of a KML document: one per Placemark holding polygons."""
    parser = etree.XMLParser(**KML_PARSER_OPTIONS)
    try:
        root = etree.parse(io.BytesIO(data), parser).getroot()
    except etree.XMLSyntaxError as exc:
        raise GeoDataError(f"{name}: not well-formed KML ({exc})") from exc
    placemarks = [pm for pm in root.iter("{*}Placemark", "Placemark")
                  if next(pm.iter("{*}Polygon", "Polygon"), None) is not None]
    if not placemarks:
        raise GeoDataError(f"{name}: the KML has no Placemark with a Polygon")
    single = len(placemarks) == 1
    return [_kml_feature(pm, i, name, id_prop, name_prop, single)
            for i, pm in enumerate(placemarks, start=1)]


def _kml_text(el: etree._Element, tag: str) -> str | None:
    found = el.find(f"{{*}}{tag}")
    if found is None:
        found = el.find(tag)
    return found.text.strip() if found is not None and found.text and found.text.strip() else None


def _kml_extended(pm: etree._Element) -> dict[str, str]:
    props: dict[str, str] = {}
    for data in pm.iter("{*}Data", "Data"):
        value = _kml_text(data, "value")
        if data.get("name") and value is not None:
            props[data.get("name")] = value
    for data in pm.iter("{*}SimpleData", "SimpleData"):
        if data.get("name") and data.text:
            props[data.get("name")] = data.text.strip()
    return props


def _kml_feature(pm: etree._Element, index: int, name: str, id_prop: str | None,
                 name_prop: str | None, single: bool) -> BeatFeature:
    label = f"{name} placemark {index}"
    props = _kml_extended(pm)
    pm_name = _kml_text(pm, "name")
    if pm_name:
        props.setdefault("name", pm_name)
    from_name = single and not id_prop
    if id_prop:
        key = _pick(props, id_prop, (), _ONS_CODE, label, "id")
    elif single:
        key = stem_of(name)  # data.police.uk: one file per neighbourhood, named by its id
    else:
        key = _pick(props, None, ID_PROPS, _ONS_CODE, label, "id") or pm.get("id") or pm_name
    if not key:
        raise GeoDataError(f"{label}: no id (set --id-prop to an ExtendedData field)")
    title = _pick(props, name_prop, NAME_PROPS, _ONS_NAME, label, "name") or key
    label = f"{name} placemark {index} ({key})"
    polygons = [_kml_polygon(poly, label) for poly in pm.iter("{*}Polygon", "Polygon")]
    geom = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    return BeatFeature(key=str(key), name=title, geometry=geom, properties=props, label=label,
                       from_file_name=from_name)


def _kml_polygon(poly: etree._Element, label: str) -> Polygon:
    outer = [_kml_ring(r, label) for b in poly.iter("{*}outerBoundaryIs", "outerBoundaryIs")
             for r in b.iter("{*}coordinates", "coordinates")]
    inner = [_kml_ring(r, label) for b in poly.iter("{*}innerBoundaryIs", "innerBoundaryIs")
             for r in b.iter("{*}coordinates", "coordinates")]
    if len(outer) != 1:
        raise GeoDataError(f"{label}: a Polygon needs exactly one outer ring, found {len(outer)}")
    try:
        return Polygon(outer[0], inner)
    except (ValueError, shapely.errors.GEOSException) as exc:
        raise GeoDataError(f"{label}: cannot make a polygon ({exc})") from exc


def _kml_ring(el: etree._Element, label: str) -> list[tuple[float, float]]:
    points = []
    for tup in (el.text or "").split():
        parts = tup.split(",")
        try:
            points.append((float(parts[0]), float(parts[1])))
        except (IndexError, ValueError) as exc:
            raise GeoDataError(f"{label}: bad KML coordinate {tup!r}") from exc
    if len(points) < 3:
        raise GeoDataError(f"{label}: a ring needs at least 3 points, got {len(points)}")
    return points


# --- checking ----------------------------------------------------------------------------------


def clean_geometry(feature: BeatFeature) -> tuple[BaseGeometry, bool]:
    """Return a valid (Multi)Polygon for ``feature`` and whether it had to be repaired.

    Raises :class:`GeoDataError` naming the feature when the geometry is not polygonal, lies
    outside WGS84 ranges (projected coordinates) or cannot be repaired.
    """
    geom = shapely.force_2d(feature.geometry)  # KML and some GeoJSON carry altitudes
    if geom.geom_type == "GeometryCollection":
        geom = _polygonal_part(geom)  # keep the polygons, drop stray points and lines
    if geom.is_empty:
        raise GeoDataError(f"{feature.label}: the geometry is empty")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise GeoDataError(f"{feature.label}: a beat must be a Polygon or MultiPolygon, "
                           f"not {geom.geom_type}")
    minx, miny, maxx, maxy = geom.bounds
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise GeoDataError(f"{feature.label}: coordinates are not finite numbers")
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise GeoDataError(f"{feature.label}: coordinates outside longitude/latitude ranges "
                           "(projected data such as OSGB eastings? convert to WGS84)")
    if geom.is_valid:
        return geom, False
    reason = shapely.is_valid_reason(geom)
    crossings = count_crossings(geom, limit=MAX_REPAIR_CROSSINGS)
    if crossings > MAX_REPAIR_CROSSINGS:
        raise GeoDataError(f"{feature.label}: the outline crosses itself more than "
                           f"{MAX_REPAIR_CROSSINGS} times ({reason}); too broken to repair "
                           "safely here: repair it in a GIS first")
    repaired = _polygonal_part(shapely.make_valid(geom))
    if repaired.is_empty or repaired.area <= 0:
        raise GeoDataError(f"{feature.label}: invalid geometry that cannot be repaired ({reason})")
    logger.info("repaired %s: %s", feature.label, reason)
    return repaired, True


def count_crossings(geom: BaseGeometry, *, limit: int) -> int:
    """Pairs of non-adjacent edges of ``geom``'s rings that meet, counted up to ``limit + 1``.

    ``make_valid`` nodes every crossing, so its time and memory grow with their number: a
    ring of a few hundred random points crosses itself tens of thousands of times and takes
    minutes; a real outline with a defect crosses itself a handful of times. Counting stops
    as soon as the limit is passed, so a hostile ring costs little here.

    >>> count_crossings(Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]), limit=10)  # a bow tie
    1
    >>> count_crossings(Polygon([(0, 0), (1, 0), (1, 1), (0, 1)]), limit=10)
    0
    """
    coords: list[list[tuple[float, float]]] = []
    closing: dict[int, int] = {}  # first edge of a ring → its last edge (they share a point)
    for ring in _rings(geom):
        edges = _ring_segments(ring)
        if edges:
            closing[len(coords)] = len(coords) + len(edges) - 1
            coords.extend(edges)
    if not coords:
        return 0
    segments = shapely.linestrings(coords)
    tree = shapely.STRtree(segments)
    found = 0
    for i, segment in enumerate(segments):
        hits = tree.query(segment, predicate="intersects")
        # Only later, non-adjacent edges: each pair once, shared end points not counted.
        later = hits[hits > i + 1]
        found += len(later) - int(closing.get(i, -1) in later)
        if found > limit:
            break
    return found


def _rings(geom: BaseGeometry) -> list:
    polygons = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    return [ring for p in polygons for ring in (p.exterior, *p.interiors)]


def _ring_segments(ring) -> list[list[tuple[float, float]]]:
    points = list(ring.coords)
    return [[points[k], points[k + 1]] for k in range(len(points) - 1)]


def _polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    polys = [p for g in parts for p in (g.geoms if g.geom_type == "MultiPolygon" else [g])]
    if not polys:
        return Polygon()
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def geometry_to_geojson(geom: BaseGeometry) -> dict:
    """GeoJSON dict (lists, rounded coordinates) for storage in ``Beat.geometry``."""
    rounded = shapely.set_precision(geom, 10 ** -COORD_DECIMALS)  # keeps the result valid
    return json.loads(json.dumps(mapping(rounded)))


# --- writing ----------------------------------------------------------------------------------


def import_beats(session: Session, path: str | Path, *, id_prop: str | None = None,
                 name_prop: str | None = None, force: str | None = None,
                 where: Mapping[str, str] | None = None, names: str | Path | None = None,
                 reassign: bool = True, snap_metres: float | None = None,
                 limits: ImportLimits | None = None) -> ImportReport:
    """Import or update the beats in ``path`` (GeoJSON, KML, police.uk JSON, folder or zip).

    Parameters
    ----------
    session : an open session; the caller commits (everything or nothing).
    path : file, folder or zip of beat files.
    id_prop, name_prop : property holding the beat key / name (guessed when omitted).
    force : police force id stored with each beat (e.g. ``sussex``).
    where : keep only features whose properties equal these values (``{"lad_name": "Worthing"}``).
    names : a police.uk neighbourhood list (``[{"id", "name"}]``, the ``/{force}/neighbourhoods``
        answer) naming beats keyed by file name, whose files carry only the id.
    reassign : afterwards recompute the beat of every place and postcode already imported.
    snap_metres : for that, how far outside every beat a point may be and still get the
        nearest (``geo.gazetteer.SNAP_METRES`` when None).
    limits : caps on the bytes read (settings ``max_import_bytes``/``max_import_ratio``
        when None): see :mod:`geo.inputs`.
    """
    started = time.perf_counter()
    path = Path(path)
    limits = limits or ImportLimits.from_config()
    features = read_beats(path, id_prop=id_prop, name_prop=name_prop, where=where, limits=limits)
    titles = read_neighbourhood_names(Path(names), limits) if names else {}
    for f in features:
        f.force = force or f.force
        if f.from_file_name:
            if f.name in (f.key, "") and f.key in titles:
                f.name = titles[f.key]
            if f.force:
                f.key = police_key(f.force, f.key)
    report = ImportReport(source=path.name)
    cleaned = _check_all(features, report)
    store_beats(session, cleaned, source=path.name, force=force, report=report)
    if reassign:
        reassign_places(session, report, snap_metres=snap_metres)
    report.seconds = time.perf_counter() - started
    logger.info("%s", report.summary(), extra={"summary": True})
    return report


def read_neighbourhood_names(path: Path, limits: ImportLimits | None = None) -> dict[str, str]:
    """``{id: name}`` from a police.uk neighbourhood list file (BOM and HTML entities allowed)."""
    if not path.is_file():
        raise GeoDataError(f"no such file: {path}")
    try:
        doc = load_json(read_file(path, ReadBudget(limits)), path.name)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GeoDataError(f"{path.name}: not a JSON neighbourhood list ({exc})") from exc
    if not isinstance(doc, list) or not all(isinstance(d, dict) and "id" in d for d in doc):
        raise GeoDataError(f"{path.name}: expected a list of {{\"id\", \"name\"}} objects")
    return {str(d["id"]): html.unescape(str(d.get("name") or d["id"])).strip() for d in doc}


def _check_all(features: list[BeatFeature], report: ImportReport) -> list[tuple[BeatFeature, BaseGeometry]]:
    seen: dict[str, str] = {}
    out = []
    for f in features:
        if f.key in seen:
            raise GeoDataError(f"{f.label}: key {f.key!r} is used twice (also {seen[f.key]}); "
                               "choose another --id-prop")
        seen[f.key] = f.label
        if _has_nul([f.key, f.name, f.properties]):
            raise GeoDataError(f"{f.label}: a NUL character (\\u0000) in its id, name or "
                               "properties; refused (not text a database can store)")
        geom, repaired = clean_geometry(f)
        if repaired:
            report.repaired += 1
            report.warn(f"{f.label}: invalid geometry repaired")
        out.append((f, geom))
    return out


def _has_nul(value: Any) -> bool:
    """True when a NUL character is in any string of ``value`` (PostgreSQL refuses them).

    >>> _has_nul(["a", {"b": ["c\\x00"]}]), _has_nul({"k": 1})
    (True, False)
    """
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            todo += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            todo += item
    return False


def store_beats(session: Session, items: list[tuple[BeatFeature, BaseGeometry]], *, source: str,
                force: str | None, report: ImportReport,
                details: Mapping[str, dict] | None = None) -> list[int]:
    """Create or update beats; keeps ``imported_at`` and merges ``details`` on update."""
    now = utcnow()
    ids = []
    for feature, geom in items:
        beat_id = stable_id("beat", feature.key)
        beat = session.get(Beat, beat_id)
        values = beat_values(feature, geom, source=source, force=force or feature.force)
        extra = {"properties": feature.properties} if feature.properties else {}
        extra.update((details or {}).get(feature.key, {}))
        if beat is None:
            beat = Beat(id=beat_id, key=feature.key, imported_at=now, updated_at=now,
                        details=extra or None, **values)
            session.add(beat)
            report.created += 1
        else:
            for k, v in values.items():
                setattr(beat, k, v)
            beat.details = {**(beat.details or {}), **extra} or None
            beat.updated_at = now
            report.updated += 1
        ids.append(beat_id)
    session.flush()
    return ids


def reassign_places(session: Session, report: ImportReport, *,
                    snap_metres: float | None = None) -> None:
    """Beats changed: recompute places' and postcodes' beats, noting changes in ``report``."""
    changed = assign_beats(session, snap_metres=SNAP_METRES if snap_metres is None else snap_metres)
    for what, n in changed.items():
        if n:
            report.counts[f"{what} moved to another beat"] = n


def beat_values(feature: BeatFeature, geom: BaseGeometry, *, source: str,
                force: str | None) -> dict[str, Any]:
    """Column values of a beat: GeoJSON geometry (lon, lat), bbox and a point inside it."""
    minx, miny, maxx, maxy = geom.bounds
    centre = geom.representative_point()  # always inside, unlike a centroid of a crescent
    return {"name": feature.name, "force": force, "source": source,
            "geometry": geometry_to_geojson(geom), "min_lat": miny, "min_lon": minx,
            "max_lat": maxy, "max_lon": maxx, "centre_lat": centre.y, "centre_lon": centre.x}


def police_key(force: str, neighbourhood: str) -> str:
    """Beat key of a police.uk neighbourhood: ids are unique only within a force.

    >>> police_key("sussex", "CC1NH1")
    'sussex/CC1NH1'
    """
    return f"{force}/{neighbourhood}"


def parse_where(pairs: Iterable[str]) -> dict[str, str]:
    """``["lad_name=Worthing"]`` → ``{"lad_name": "Worthing"}`` (for ``--where``).

    >>> parse_where(["lad_name=Worthing", "county = West Sussex"])
    {'lad_name': 'Worthing', 'county': 'West Sussex'}
    """
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise GeoDataError(f"--where wants PROPERTY=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out
