"""GeoJSON of beats and their ranked venues (RFC 7946: lon, lat order) for QGIS."""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from beatmap.export.tabular import ATTRIBUTION, cell_value

# Venue properties written (lists are joined into text: GIS tools handle arrays poorly).
VENUE_PROPERTIES = ("rank", "venue_id", "venue_key", "name", "platform", "url", "crawlable",
                    "score", "locality", "activity", "reach", "topical", "feedback", "reason",
                    "places", "topics", "posts_90d", "last_post_at", "status", "flags", "state",
                    "outreach_status")


def feature_collection(data) -> dict[str, Any]:
    """A FeatureCollection: one Polygon feature per beat, one Point per (venue, beat)."""
    features: list[dict[str, Any]] = []
    for item in data:
        b = item.beat
        features.append({"type": "Feature", "geometry": b.geometry,
                         "properties": {"kind": "beat", "beat_key": b.key, "beat_name": b.name,
                                        "venues": len(item.rows)}})
        for row in item.rows:
            if row.get("lat") is None or row.get("lon") is None:
                continue
            props = {k: cell_value(row, k) if isinstance(row.get(k), list) else row.get(k)
                     for k in VENUE_PROPERTIES}
            props.update(kind="venue", beat_key=b.key, beat_name=b.name)
            features.append({"type": "Feature",
                             "geometry": {"type": "Point",
                                          "coordinates": [round(row["lon"], 6),
                                                          round(row["lat"], 6)]},
                             "properties": props})
    return {"type": "FeatureCollection", "attribution": ATTRIBUTION, "features": features}


def write_geojson(session: Session | None, data, stream: BinaryIO, **_: Any) -> None:
    stream.write(json.dumps(feature_collection(data), ensure_ascii=False).encode("utf-8"))
