"""Point-in-beat lookup: agreement with a brute-force reference, borders, outside points."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from geo.index import BeatIndex
from geo.types import LatLon

ROOT = Path(__file__).resolve().parent.parent
SUSSEX_WARDS = ROOT / "data" / "boundaries" / "sussex_wards_2013.geojson"


def _beats_from_file(path: Path) -> list[SimpleNamespace]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [SimpleNamespace(id=i + 1, key=f["properties"]["ward_code"],
                            name=f["properties"]["ward_name"], geometry=f["geometry"])
            for i, f in enumerate(doc["features"])]


@pytest.fixture(scope="module")
def sussex():
    beats = _beats_from_file(SUSSEX_WARDS)
    for b in beats:
        b.shape = shape(b.geometry)
    return beats, BeatIndex(beats)


def _reference(beats, lat: float, lon: float) -> int | None:
    """Slow and obvious: test every polygon, keep the lowest key that intersects the point."""
    point = shapely.Point(lon, lat)
    hits = sorted((b.key, b.id) for b in beats if b.shape.intersects(point))
    return hits[0][1] if hits else None


def test_agrees_with_brute_force_on_random_points(sussex):
    beats, index = sussex
    assert len(index) == 267
    rng = np.random.default_rng(7)
    min_lat, min_lon, max_lat, max_lon = index.bounds()
    pts = np.column_stack([rng.uniform(min_lat, max_lat, 300), rng.uniform(min_lon, max_lon, 300)])
    expected = [_reference(beats, lat, lon) for lat, lon in pts]
    assert [index.locate(lat, lon) for lat, lon in pts] == expected
    assert index.locate_many(pts) == expected
    assert index.locate_many([LatLon(*p) for p in pts[:10]]) == expected[:10]
    assert 0 < sum(e is None for e in expected) < 300  # the bbox holds sea and Surrey too


def test_shared_vertices_and_edges_get_the_lowest_key(sussex):
    beats, index = sussex
    geoms = {b.key: b.shape for b in beats}
    # Find vertices that lie on the boundary of two or more wards.
    checked = 0
    for b in beats[:40]:
        ring = np.asarray(shapely.get_coordinates(geoms[b.key]))
        for lon, lat in ring[::25]:
            pt = shapely.Point(lon, lat)
            touching = sorted(k for k, g in geoms.items() if g.intersects(pt))
            if len(touching) >= 2:
                want = next(x.id for x in beats if x.key == touching[0])
                assert index.locate(lat, lon) == want
                assert index.locate_many([(lat, lon)]) == [want]
                checked += 1
    assert checked > 20


def test_outside_and_empty():
    empty = BeatIndex([])
    assert empty.locate(50.8, -0.1) is None and empty.locate_many([(50.8, -0.1)]) == [None]
    assert empty.bounds() is None
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    index = BeatIndex([SimpleNamespace(id=1, key="a", name="A", geometry=square)])
    assert index.locate(2, 2) is None
    assert index.locate_many(np.empty((0, 2))) == []
    assert index.locate_point(LatLon(0.5, 0.5)) == 1
    assert index.entry(1).name == "A" and index.entry(99) is None
    assert index.geometry(1).area == 1


def test_latlon_order_is_explicit():
    # A beat near Brighton: swapping lat and lon must not find it.
    ring = [[-0.15, 50.82], [-0.13, 50.82], [-0.13, 50.84], [-0.15, 50.84], [-0.15, 50.82]]
    index = BeatIndex([SimpleNamespace(id=5, key="k", name="K",
                                       geometry={"type": "Polygon", "coordinates": [ring]})])
    assert index.locate(50.83, -0.14) == 5
    assert index.locate(-0.14, 50.83) is None
    assert LatLon(50.83, -0.14).as_xy() == (-0.14, 50.83)
    assert not LatLon(95, 0).is_valid()


def test_snapping_points_just_outside():
    square = {"type": "Polygon", "coordinates": [[[0, 50], [0.01, 50], [0.01, 50.01], [0, 50.01],
                                                  [0, 50]]]}
    east = {"type": "Polygon", "coordinates": [[[0.02, 50], [0.03, 50], [0.03, 50.01],
                                                [0.02, 50.01], [0.02, 50]]]}
    index = BeatIndex([SimpleNamespace(id=1, key="a", name="A", geometry=square),
                       SimpleNamespace(id=2, key="b", name="B", geometry=east)])
    # 0.001 degrees of latitude south of "a": about 111 m.
    assert index.locate(49.999, 0.005) is None
    assert index.locate(49.999, 0.005, snap_metres=150) == 1
    assert index.locate(49.999, 0.005, snap_metres=100) is None
    beat, metres = index.nearest(49.999, 0.005)
    assert beat == 1 and metres == pytest.approx(111.3, abs=0.5)
    assert index.nearest(50.005, 0.005) == (1, 0.0)
    # Half-way between the two squares (equidistant): the lowest key, as on borders.
    assert index.locate(50.005, 0.015, snap_metres=1000) == 1
    assert index.locate_many([(49.999, 0.005), (50.005, 0.025), (40, 0)], snap_metres=150) == \
        [1, 2, None]
    assert BeatIndex([]).nearest(0, 0) is None
