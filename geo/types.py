"""Shared geo types: the one coordinate order (``LatLon``), import reports and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class LatLon(NamedTuple):
    """A WGS84 point, latitude first. GeoJSON and shapely are (lon, lat): convert at the edges.

    >>> p = LatLon(50.8225, -0.1372)
    >>> p.as_xy()
    (-0.1372, 50.8225)
    >>> LatLon.from_xy(-0.1372, 50.8225) == p
    True
    """

    lat: float
    lon: float

    def as_xy(self) -> tuple[float, float]:
        """The (x, y) = (lon, lat) order GeoJSON and shapely use."""
        return (self.lon, self.lat)

    @classmethod
    def from_xy(cls, x: float, y: float) -> LatLon:
        return cls(float(y), float(x))

    def is_valid(self) -> bool:
        """True when both parts are finite and within the WGS84 range."""
        return -90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0


class GeoDataError(ValueError):
    """A geographic input file or answer cannot be used; the message names what and where."""


@dataclass
class ImportReport:
    """What an import did: counts by outcome and human-readable warnings."""

    source: str
    created: int = 0
    updated: int = 0
    skipped: int = 0
    repaired: int = 0
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.created + self.updated

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def summary(self) -> str:
        """One line for people: ``beats.geojson: 21 imported (3 new, 18 updated), 1 repaired``."""
        parts = [f"{self.total} imported ({self.created} new, {self.updated} updated)"]
        if self.repaired:
            parts.append(f"{self.repaired} repaired")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        parts += [f"{v} {k}" for k, v in sorted(self.counts.items())]
        return f"{self.source}: " + ", ".join(parts) + f" in {self.seconds:.1f}s"

    def as_dict(self) -> dict:
        return {"source": self.source, "created": self.created, "updated": self.updated,
                "skipped": self.skipped, "repaired": self.repaired, "counts": dict(self.counts),
                "warnings": list(self.warnings), "seconds": round(self.seconds, 3)}
