"""Point-in-beat lookup: an STRtree over prepared beat polygons.

Border rule: a point on the boundary shared by several beats (or in an overlap of two badly
drawn beats) belongs to the beat with the **lowest key** (plain string order) among those
that contain or touch it. The rule is arbitrary but stable: the same point always gets the
same beat, whatever the import order. A point outside every beat gets ``None``, unless the
caller asks to *snap* points up to ``snap_metres`` outside to the nearest beat (piers,
marinas, and coasts or borders cut off by generalised boundary files); ties again go to the
lowest key.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import shapely.ops
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.types import LatLon
from storage.models import Beat

logger = logging.getLogger(__name__)

METRES_PER_DEGREE = 111_320.0  # of latitude, and of longitude at the equator


@dataclass(frozen=True)
class BeatEntry:
    id: int
    key: str
    name: str


class BeatIndex:
    """Find the beat containing a point.

    Parameters
    ----------
    beats : ``Beat`` rows, or any objects with ``id``, ``key``, ``name`` and a GeoJSON
        ``geometry`` (lon, lat order).

    Examples
    --------
    >>> from types import SimpleNamespace as B
    >>> square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    >>> right = {"type": "Polygon", "coordinates": [[[1, 0], [2, 0], [2, 1], [1, 1], [1, 0]]]}
    >>> index = BeatIndex([B(id=7, key="b", name="B", geometry=right),
    ...                    B(id=3, key="a", name="A", geometry=square)])
    >>> index.locate(0.5, 0.5), index.locate(0.5, 1.5), index.locate(5, 5)
    (3, 7, None)
    >>> index.locate(0.5, 1.0)  # on the shared edge: the lowest key ("a") wins
    3
    """

    def __init__(self, beats: Iterable[Any]):
        rows = sorted(beats, key=lambda b: b.key)  # position order = key order (border rule)
        self.entries: list[BeatEntry] = [BeatEntry(int(b.id), b.key, b.name) for b in rows]
        self.geometries: list[BaseGeometry] = [_geometry(b) for b in rows]
        shapely.prepare(self.geometries)
        self._geom_array = np.array(self.geometries, dtype=object)
        self._ids = np.array([e.id for e in self.entries], dtype=np.int64)
        self._tree = shapely.STRtree(self.geometries)
        self._by_id = {e.id: i for i, e in enumerate(self.entries)}

    @classmethod
    def from_session(cls, session: Session) -> BeatIndex:
        """An index over every beat in the database."""
        return cls(session.scalars(select(Beat)).all())

    def __len__(self) -> int:
        return len(self.entries)

    def locate(self, lat: float, lon: float, *, snap_metres: float = 0.0) -> int | None:
        """Id of the beat containing (``lat``, ``lon``), or ``None`` outside every beat.

        With ``snap_metres`` a point that far or less outside every beat gets the nearest.
        """
        if not self.entries:
            return None
        candidates = self._tree.query(shapely.Point(lon, lat))  # bounding boxes only
        hits = candidates[shapely.intersects_xy(self._geom_array[candidates], lon, lat)]
        if len(hits):
            return int(self._ids[hits.min()])
        if snap_metres > 0:
            found = self.nearest(lat, lon)
            if found is not None and found[1] <= snap_metres:
                return found[0]
        return None

    def nearest(self, lat: float, lon: float) -> tuple[int, float] | None:
        """(id, metres) of the beat nearest to a point (0 m inside one); None without beats."""
        if not self.entries:
            return None
        point = shapely.points(lon, lat)
        candidates = self._tree.query_nearest(point, all_matches=True)
        best = min(candidates, key=lambda i: (round(self._metres(i, lat, lon), 3), i))
        return int(self._ids[best]), self._metres(best, lat, lon)

    def _metres(self, i: int, lat: float, lon: float) -> float:
        """Metres from a point to beat ``i`` (equirectangular: exact enough within a few km)."""
        point = shapely.points(lon, lat)
        if self.geometries[i].intersects(point):
            return 0.0
        near, _ = shapely.ops.nearest_points(self.geometries[i], point)
        dx = (near.x - lon) * math.cos(math.radians(lat))
        return math.hypot(dx, near.y - lat) * METRES_PER_DEGREE

    def locate_point(self, point: LatLon) -> int | None:
        return self.locate(point.lat, point.lon)

    def locate_many(self, points: Sequence[LatLon] | np.ndarray, *,
                    snap_metres: float = 0.0) -> list[int | None]:
        """Beat ids for many points at once (one vectorised tree query), ``None`` outside.

        ``points`` is a sequence of :class:`LatLon` or an ``(n, 2)`` array of lat, lon;
        ``snap_metres`` as in :meth:`locate`.
        """
        arr = np.asarray(points, dtype=float).reshape(-1, 2)
        if not len(arr) or not self.entries:
            return [None] * len(arr)
        pts = shapely.points(arr[:, 1], arr[:, 0])
        # Bounding-box candidates first, then one vectorised exact test on the prepared
        # polygons: about 3x faster than the tree's own predicate query here.
        src, tree_idx = self._tree.query(pts)
        inside = shapely.intersects_xy(self._geom_array[tree_idx], arr[src, 1], arr[src, 0])
        src, tree_idx = src[inside], tree_idx[inside]
        best = np.full(len(arr), len(self.entries), dtype=np.int64)
        np.minimum.at(best, src, tree_idx)  # lowest key wins on borders, as in locate()
        found = best < len(self.entries)
        out: list[int | None] = [None] * len(arr)
        for i in np.flatnonzero(found):
            out[i] = int(self._ids[best[i]])
        if snap_metres > 0:
            for i in np.flatnonzero(~found):  # few: points just off the polygons
                out[i] = self.locate(float(arr[i, 0]), float(arr[i, 1]), snap_metres=snap_metres)
        return out

    def entry(self, beat_id: int) -> BeatEntry | None:
        i = self._by_id.get(beat_id)
        return None if i is None else self.entries[i]

    def geometry(self, beat_id: int) -> BaseGeometry | None:
        i = self._by_id.get(beat_id)
        return None if i is None else self.geometries[i]

    def bounds(self) -> tuple[float, float, float, float] | None:
        """(min_lat, min_lon, max_lat, max_lon) of all beats, or None when empty."""
        if not self.entries:
            return None
        minx, miny, maxx, maxy = shapely.total_bounds(self.geometries)
        return (float(miny), float(minx), float(maxy), float(maxx))


def _geometry(beat: Any) -> BaseGeometry:
    geom = beat.geometry if isinstance(beat.geometry, BaseGeometry) else shape(beat.geometry)
    if not geom.is_valid:  # stored beats are valid; stay robust to hand-edited rows
        geom = shapely.make_valid(geom)
    return geom
