"""Data twins of the beat page: the page's own rows as ``.json``, ``.csv`` and ``.xlsx``.

CSV and XLSX are written by the export area's writers (:mod:`beatmap.export.tabular`), so a
download from the web UI has the same columns, formula neutralisation and map image as
``beatmap export``; only the rows differ (those of the page, with its filters).
"""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from beatmap.export import BeatRows, tabular
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


def _through_file(write, beat: Beat, rows: list[dict], suffix: str, **kwargs: Any) -> bytes:
    # The export writers write files (atomically, for the CLI); a private temporary folder
    # gives them one and is gone with its contents afterwards.
    with tempfile.TemporaryDirectory(prefix="beatmap-twin-") as tmp:
        path = Path(tmp) / f"twin{suffix}"
        write(None, [BeatRows(beat, rows)], path, **kwargs)
        return path.read_bytes()


def to_csv(beat: Beat, rows: list[dict]) -> bytes:
    return _through_file(tabular.write_csv, beat, rows, ".csv")


def to_xlsx(beat: Beat, rows: list[dict], reason: str) -> bytes:
    """Summary sheet (with the reason given), then the beat's sheet with its map image."""
    return _through_file(tabular.write_xlsx, beat, rows, ".xlsx", reason=reason)
