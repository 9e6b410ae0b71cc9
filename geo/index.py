"""Point-in-beat lookup: an STRtree over prepared beat polygons.

Border rule: a point on the boundary shared by several beats (or in an overlap of two badly
drawn beats) belongs to the beat with the **lowest key** (plain string order) among those
that contain or touch it. The rule is arbitrary but stable: the same point always gets the
same beat, whatever the import order. A point outside every beat gets ``None``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from beatmap.models import Beat
from geo.types import LatLon

logger = logging.getLogger(__name__)


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
        self._ids = np.array([e.id for e in self.entries], dtype=np.int64)
        self._tree = shapely.STRtree(self.geometries)
        self._by_id = {e.id: i for i, e in enumerate(self.entries)}

    @classmethod
    def from_session(cls, session: Session) -> BeatIndex:
        """An index over every beat in the database."""
        return cls(session.scalars(select(Beat)).all())

    def __len__(self) -> int:
        return len(self.entries)

    def locate(self, lat: float, lon: float) -> int | None:
        """Id of the beat containing (``lat``, ``lon``), or ``None`` outside every beat."""
        if not self.entries:
            return None
        hits = self._tree.query(shapely.points(lon, lat), predicate="intersects")
        return int(self._ids[hits.min()]) if len(hits) else None

    def locate_point(self, point: LatLon) -> int | None:
        return self.locate(point.lat, point.lon)

    def locate_many(self, points: Sequence[LatLon] | np.ndarray) -> list[int | None]:
        """Beat ids for many points at once (one vectorised tree query), ``None`` outside.

        ``points`` is a sequence of :class:`LatLon` or an ``(n, 2)`` array of lat, lon.
        """
        arr = np.asarray(points, dtype=float).reshape(-1, 2)
        if not len(arr) or not self.entries:
            return [None] * len(arr)
        pts = shapely.points(arr[:, 1], arr[:, 0])
        src, tree_idx = self._tree.query(pts, predicate="intersects")
        best = np.full(len(arr), len(self.entries), dtype=np.int64)
        np.minimum.at(best, src, tree_idx)  # lowest key wins on borders, as in locate()
        found = best < len(self.entries)
        out: list[int | None] = [None] * len(arr)
        for i in np.flatnonzero(found):
            out[i] = int(self._ids[best[i]])
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
