"""Data twins of the beat page: the page's own rows as ``.json``, ``.csv`` and ``.xlsx``.

CSV and XLSX are written by the export area's writers (:func:`beatmap.export.write`) into
memory, so a download from the web UI has the same columns, formula neutralisation and map
image as ``beatmap export``; only the rows differ (those of the page, with its filters).
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from typing import Any

from beatmap.export import BeatRows, write
from storage.models import Beat

MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def to_json(rows: list[dict], meta: dict) -> bytes:
    """The rows as JSON, unflattened (lists stay lists), with the beat and filters."""
    return json.dumps({**meta, "rows": rows}, default=_json_default, ensure_ascii=False,
                      indent=1).encode("utf-8")


def _render(fmt: str, beat: Beat, rows: list[dict], **options: Any) -> bytes:
    stream = io.BytesIO()
    write(fmt, None, [BeatRows(beat, rows)], stream, **options)
    return stream.getvalue()


def to_csv(beat: Beat, rows: list[dict]) -> bytes:
    """The CSV of ``beatmap export --format csv``, with the page's rows."""
    return _render("csv", beat, rows)


def to_xlsx(beat: Beat, rows: list[dict], reason: str) -> bytes:
    """Summary sheet (with the reason given), then the beat's sheet with its map image."""
    return _render("xlsx", beat, rows, reason=reason)
