"""The area a sample web is generated for: beats, their places and postcodes, from files or the DB."""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select

from storage.db import make_engine, session_scope
from storage.models import Beat, Place, Postcode

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
DEFAULT_BEATS = DATA / "boundaries" / "brighton_and_hove_wards_2013.geojson"
DEFAULT_GAZETTEER = DATA / "gazetteer" / "sussex_fine_gazetteer_combined.csv"
DEFAULT_POSTCODES = DATA / "postcodes" / "sussex_postcodes_codepoint_open.csv.gz"

# Property names tried, in order, when the caller does not say which hold the key and name.
KEY_PROPERTIES = ("ward_code", "key", "id", "code", "neighbourhood_id", "WD13CD")
NAME_PROPERTIES = ("ward_name", "name", "NAME", "neighbourhood", "WD13NM")
# Gazetteer feature types worth writing about. Bus-stop landmark names ("Shops", "Rail Station")
# are too generic for natural sentences, so only named things are used.
USEFUL_TYPES = ("area:", "street", "locality", "pub", "bar")
GENERIC_NAMES = frozenset({
    "shops", "rail station", "railway station", "church", "school", "post office", "car park",
    "co-op", "asda", "tesco", "waitrose", "sainsburys", "hospital", "library", "park", "the green",
    "village", "town centre", "bus station", "level", "lanes", "marina", "steine",
})

COMPANY_SUFFIX = re.compile(r"\b(ltd|limited|plc|llp)\.?$", re.I)


class AreaError(ValueError):
    """The area cannot be loaded (missing file, no beats match, bad GeoJSON)."""


@dataclass(frozen=True)
class AreaPlace:
    name: str
    feature_type: str
    lat: float
    lon: float
    beat: str


@dataclass
class AreaBeat:
    key: str
    name: str
    geometry: BaseGeometry
    places: list[AreaPlace] = field(default_factory=list)
    postcodes: list[str] = field(default_factory=list)


@dataclass
class Area:
    """Beats with their places and postcodes; ``name`` is the district(s) the beats belong to."""

    name: str
    beats: list[AreaBeat]

    def beat(self, key: str) -> AreaBeat:
        for beat in self.beats:
            if beat.key == key:
                return beat
        raise KeyError(key)

    def summary(self) -> dict:
        return {"name": self.name, "beats": [{"key": b.key, "name": b.name} for b in self.beats]}


class BeatLocator:
    """Point-in-beat lookup over prepared polygons; the first beat (by key) wins on borders."""

    def __init__(self, beats: list[AreaBeat]):
        self._beats = sorted(beats, key=lambda b: b.key)
        self._geoms = [b.geometry for b in self._beats]
        for g in self._geoms:
            shapely.prepare(g)
        self._tree = shapely.STRtree(self._geoms)
        self.bounds = shapely.total_bounds(self._geoms)

    def locate_many(self, lons: list[float], lats: list[float]) -> list[str | None]:
        points = shapely.points(lons, lats)
        out: list[str | None] = [None] * len(lons)
        pts_idx, geom_idx = self._tree.query(points, predicate="intersects")
        for p, g in sorted(zip(pts_idx.tolist(), geom_idx.tolist(), strict=True)):
            if out[p] is None:
                out[p] = self._beats[g].key
        return out


def load_area_from_files(beats_path: str | Path = DEFAULT_BEATS, *,
                         where: dict[str, str] | None = None,
                         key_property: str | None = None, name_property: str | None = None,
                         gazetteer_path: str | Path | None = DEFAULT_GAZETTEER,
                         postcodes_path: str | Path | None = DEFAULT_POSTCODES) -> Area:
    """Load beats from a GeoJSON file (filtered by ``where`` property values) and assign the
    gazetteer's places and the postcode file's units to them by point-in-polygon.

    >>> area = load_area_from_files(where={"ward_code": "E05002425"}, postcodes_path=None)
    >>> [b.name for b in area.beats]
    ['Hanover and Elm Grove']
    """
    features = _read_features(Path(beats_path))
    features = [f for f in features if _matches(f.get("properties") or {}, where or {})]
    if not features:
        raise AreaError(f"no beat in {beats_path} matches {where}")
    beats, districts = _beats_from_features(features, Path(beats_path), key_property, name_property)
    locator = BeatLocator(beats)
    by_key = {b.key: b for b in beats}
    if gazetteer_path:
        _assign_places(by_key, locator, _read_csv(Path(gazetteer_path)))
    if postcodes_path:
        _assign_postcodes(by_key, locator, _read_csv(Path(postcodes_path)))
    name = " / ".join(sorted(districts)) if districts else Path(beats_path).stem
    return _finish(Area(name=name, beats=sorted(beats, key=lambda b: b.key)))


def _read_features(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AreaError(f"beats file not found: {path}") from exc
    except json.JSONDecodeError as exc:
        raise AreaError(f"beats file is not JSON: {path}: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise AreaError(f"beats file is not a GeoJSON FeatureCollection: {path}")
    return list(data.get("features") or [])


def _matches(props: dict, where: dict[str, str]) -> bool:
    for key, value in where.items():
        if str(props.get(key, "")).strip().casefold() != value.strip().casefold():
            return False
    return True


def _pick(props: dict, chosen: str | None, candidates: tuple[str, ...], what: str, path: Path) -> str:
    if chosen:
        if chosen not in props:
            raise AreaError(f"{path}: feature has no property {chosen!r} for the beat {what}")
        return str(props[chosen])
    for cand in candidates:
        if props.get(cand) not in (None, ""):
            return str(props[cand])
    raise AreaError(f"{path}: cannot tell which property holds the beat {what}; "
                    f"give it (properties: {', '.join(sorted(props))})")


def _beats_from_features(features: list[dict], path: Path, key_property: str | None,
                         name_property: str | None) -> tuple[list[AreaBeat], set[str]]:
    beats: dict[str, AreaBeat] = {}
    districts: set[str] = set()
    for feature in features:
        props = feature.get("properties") or {}
        key = _pick(props, key_property, KEY_PROPERTIES, "key", path)
        name = _pick(props, name_property, NAME_PROPERTIES, "name", path)
        try:
            geom = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise AreaError(f"{path}: beat {key} has no usable geometry") from exc
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        if props.get("lad_name"):
            districts.add(str(props["lad_name"]))
        beats[key] = AreaBeat(key=key, name=name, geometry=geom)
    return list(beats.values()), districts


def _read_csv(path: Path) -> Iterator[dict]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise AreaError(f"file not found: {path}") from exc
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    yield from csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))


def _in_bounds(rows: Iterable[dict], bounds, name_field: str) -> list[tuple[dict, float, float]]:
    minx, miny, maxx, maxy = bounds
    kept = []
    for row in rows:
        try:
            lat, lon = float(row["lat"]), float(row["lon"])
        except (KeyError, TypeError, ValueError):
            continue
        if minx <= lon <= maxx and miny <= lat <= maxy and row.get(name_field):
            kept.append((row, lat, lon))
    return kept


def _assign_places(by_key: dict[str, AreaBeat], locator: BeatLocator, rows: Iterable[dict]) -> None:
    kept = [(r, la, lo) for r, la, lo in _in_bounds(rows, locator.bounds, "name")
            if _useful(r["name"], r.get("feature_type", ""))]
    keys = locator.locate_many([k[2] for k in kept], [k[1] for k in kept])
    seen: set[tuple[str, str]] = set()
    for (row, lat, lon), key in zip(kept, keys, strict=True):
        name = row["name"].strip()
        if key is None or (name.casefold(), key) in seen:
            continue
        seen.add((name.casefold(), key))
        by_key[key].places.append(AreaPlace(name, row.get("feature_type", ""), lat, lon, key))


def _useful(name: str, feature_type: str) -> bool:
    name = name.strip()
    if len(name) < 4 or name.casefold() in GENERIC_NAMES or not name[0].isupper():
        return False
    # Licensing-register spellings ("Tattoo Bar M13", "Antidote Bar Ltd", "Hove Place (Wet Sales)")
    # are not what residents write.
    if "(" in name or any(ch.isdigit() for ch in name) or COMPANY_SUFFIX.search(name):
        return False
    return feature_type.startswith(USEFUL_TYPES) or feature_type == "landmark_near_bus_stop"


def _assign_postcodes(by_key: dict[str, AreaBeat], locator: BeatLocator, rows: Iterable[dict]) -> None:
    kept = _in_bounds(rows, locator.bounds, "postcode")
    keys = locator.locate_many([k[2] for k in kept], [k[1] for k in kept])
    for (row, _lat, _lon), key in zip(kept, keys, strict=True):
        if key is not None:
            by_key[key].postcodes.append(" ".join(row["postcode"].split()).upper())


def _finish(area: Area) -> Area:
    for beat in area.beats:
        beat.places.sort(key=lambda p: (p.feature_type, p.name))
        beat.postcodes = sorted(set(beat.postcodes))
    logger.info("area %s: %d beats, %d places, %d postcodes", area.name, len(area.beats),
                sum(len(b.places) for b in area.beats), sum(len(b.postcodes) for b in area.beats))
    return area


def load_area_from_db(url: str, *, beat_keys: Iterable[str] | None = None) -> Area:
    """Load the area from an imported database (``beats import`` and ``gazetteer import``)."""

    engine = make_engine(url)
    wanted = set(beat_keys or ())
    try:
        with session_scope(engine) as session:
            rows = session.execute(select(Beat.id, Beat.key, Beat.name, Beat.geometry,
                                          Beat.force)).all()
            rows = [r for r in rows if not wanted or r.key in wanted]
            if not rows:
                raise AreaError("no beats in the database: run `beatmap beats import` first")
            ids = {r.id: r.key for r in rows}
            beats = {r.key: AreaBeat(r.key, r.name, shape(r.geometry)) for r in rows}
            for p in session.execute(select(Place.name, Place.feature_type, Place.lat, Place.lon,
                                            Place.beat_id).where(Place.beat_id.in_(ids))):
                if _useful(p.name, p.feature_type):
                    beats[ids[p.beat_id]].places.append(
                        AreaPlace(p.name, p.feature_type, p.lat, p.lon, ids[p.beat_id]))
            for pc in session.execute(select(Postcode.postcode, Postcode.beat_id)
                                      .where(Postcode.beat_id.in_(ids))):
                beats[ids[pc.beat_id]].postcodes.append(pc.postcode)
            forces = sorted({r.force for r in rows if r.force})
            # Name the area after the local authority most of its places belong to (the CSV
            # path uses the boundary file's lad_name the same way); the force id otherwise.
            district = session.execute(
                select(Place.district, func.count()).where(Place.beat_id.in_(ids), Place.district.is_not(None))
                .group_by(Place.district).order_by(func.count().desc(), Place.district).limit(1)).first()
    finally:
        engine.dispose()
    for beat in beats.values():
        seen: set[str] = set()
        beat.places = [p for p in beat.places
                       if not (p.name.casefold() in seen or seen.add(p.name.casefold()))]
    name = district[0] if district else (" / ".join(forces) if forces else "imported beats")
    return _finish(Area(name=name, beats=sorted(beats.values(), key=lambda b: b.key)))
