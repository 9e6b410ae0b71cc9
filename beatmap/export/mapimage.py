"""A static PNG map of one beat and its venues, drawn with Pillow (no tiles, no network)."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from typing import Any

from PIL import Image, ImageDraw, ImageFont

# Image size in pixels: readable beside the venue table in a spreadsheet.
WIDTH, HEIGHT = 640, 480
MARGIN = 36
# Venues numbered on the map (the rest are drawn as small dots).
NUMBERED = 10
BACKGROUND = (247, 247, 242)
BEAT_FILL = (214, 228, 240)
BEAT_LINE = (31, 56, 100)
POINT_TOP = (192, 57, 43)
POINT_REST = (120, 120, 120)


def rings(geometry: dict[str, Any] | None) -> Iterator[list[tuple[float, float]]]:
    """Every ring of a GeoJSON Polygon or MultiPolygon, as (lon, lat) tuples.

    >>> g = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    >>> [len(r) for r in rings(g)]
    [4]
    """
    if not geometry:
        return
    kind = geometry.get("type")
    polys = ([geometry.get("coordinates", [])] if kind == "Polygon"
             else geometry.get("coordinates", []) if kind == "MultiPolygon" else [])
    for poly in polys:
        for ring in poly:
            yield [(float(p[0]), float(p[1])) for p in ring]


class Projection:
    """Equirectangular projection of a lon/lat box into the image, north up, true aspect."""

    def __init__(self, lons: list[float], lats: list[float]):
        self.min_lon, self.max_lon = min(lons), max(lons)
        self.min_lat, self.max_lat = min(lats), max(lats)
        # A degree of longitude is shorter than one of latitude by cos(latitude).
        self.kx = math.cos(math.radians((self.min_lat + self.max_lat) / 2))
        span_x = max((self.max_lon - self.min_lon) * self.kx, 1e-9)
        span_y = max(self.max_lat - self.min_lat, 1e-9)
        self.scale = min((WIDTH - 2 * MARGIN) / span_x, (HEIGHT - 2 * MARGIN) / span_y)
        self.off_x = (WIDTH - span_x * self.scale) / 2
        self.off_y = (HEIGHT - span_y * self.scale) / 2

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        x = self.off_x + (lon - self.min_lon) * self.kx * self.scale
        y = HEIGHT - (self.off_y + (lat - self.min_lat) * self.scale)
        return x, y


def render_beat_map(beat: Any, rows: list[dict[str, Any]]) -> bytes:
    """PNG bytes: the beat polygon, its venues as points (the top ones numbered by rank)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    beat_rings = list(rings(beat.geometry))
    points = [(r["lon"], r["lat"], r["rank"]) for r in rows
              if r.get("lat") is not None and r.get("lon") is not None]
    lons = [p[0] for ring in beat_rings for p in ring] + [p[0] for p in points]
    lats = [p[1] for ring in beat_rings for p in ring] + [p[1] for p in points]
    if not lons:
        lons, lats = [beat.centre_lon - 0.01, beat.centre_lon + 0.01], [beat.centre_lat - 0.01,
                                                                         beat.centre_lat + 0.01]
    project = Projection(lons, lats)
    for ring in beat_rings:
        xy = [project(lon, lat) for lon, lat in ring]
        if len(xy) >= 3:
            draw.polygon(xy, fill=BEAT_FILL, outline=BEAT_LINE, width=2)
    for lon, lat, rank in sorted(points, key=lambda p: -p[2]):
        x, y = project(lon, lat)
        if rank <= NUMBERED:
            draw.ellipse((x - 9, y - 9, x + 9, y + 9), fill=POINT_TOP, outline=(255, 255, 255))
            draw.text((x, y), str(rank), fill=(255, 255, 255), font=font, anchor="mm")
        else:
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=POINT_REST)
    draw.text((10, 8), f"{beat.name} ({beat.key}): {len(rows)} venues", fill=BEAT_LINE,
              font=font)
    draw.text((10, HEIGHT - 18), "numbers = rank; position = weighted place evidence",
              fill=(90, 90, 90), font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
