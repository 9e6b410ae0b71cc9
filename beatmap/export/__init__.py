"""Exports of the ranked venues: XLSX and CSV for teams, GEXF/GraphML, GeoJSON and an HTML map.

Every export reads the same rows as the CLI and the web UI (:func:`graph.queries.beat_ranking`),
leaves out sensitive venues unless asked (with a reason), writes the file atomically, and
records who exported what, when and why in the audit log. No export carries post text or
author handles: only venue facts, place and topic names, and the one-line reasons.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from beatmap.export import geojson, htmlmap, network, tabular
from graph.queries import beat_ranking, resolve_beat
from storage import audit
from storage.models import Beat

logger = logging.getLogger(__name__)

FORMATS = ("xlsx", "csv", "gexf", "graphml", "geojson", "html")
# The shortest reason an export accepts: the web's twins ask the same ("audit", "brief").
MIN_REASON_LENGTH = 5


class ExportError(ValueError):
    """An export cannot be made as asked; the message says why."""


@dataclass
class ExportResult:
    path: Path
    format: str
    beats: int
    rows: int


@dataclass
class BeatRows:
    """One beat and its ranked rows, as every writer receives them."""

    beat: Beat
    rows: list[dict[str, Any]]


def gather(session: Session, beat: str | int | None = None, *,
           include_sensitive: bool = False) -> list[BeatRows]:
    """The beats to export (one, or all by name) with their ranking rows."""
    beats = ([resolve_beat(session, beat)] if beat is not None
             else list(session.scalars(select(Beat).order_by(Beat.name))))
    return [BeatRows(b, beat_ranking(session, b, include_sensitive=include_sensitive))
            for b in beats]


def _write_atomic(path: Path, fill: Callable[[BinaryIO], None]) -> None:
    """Write through a temporary file in the same folder, then rename: never a half file."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ExportError(f"folder for the export does not exist: {path.parent}")
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            fill(stream)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clean_reason(text: str | None) -> str:
    """A reason as given, on one line, at most 500 characters (as the web keeps it).

    >>> clean_reason("  ward panel \t 12 May ")
    'ward panel 12 May'
    """
    return " ".join((text or "").split())[:500]


def export(session: Session, fmt: str, out: str | Path, *, beat: str | int | None = None,
           actor: str | None = None, reason: str | None = None,
           include_sensitive: bool = False, tile_url: str = "",
           reason_source: str = "given") -> ExportResult:
    """Write the export ``fmt`` to ``out`` and add its audit entry to ``session``.

    Every export needs a ``reason`` (at least ``MIN_REASON_LENGTH`` characters), recorded in
    the audit log as the web's downloads are. Sensitive venues are included only with
    ``include_sensitive``; then, and only then, reasons and graph files name them too.
    ``reason_source`` says where the reason came from ("given", or "export_purpose" for the
    configured default) and is kept in the audit entry.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    reason = clean_reason(reason)
    if include_sensitive and not reason:
        raise ExportError("including sensitive venues needs a reason (--reason)")
    if len(reason) < MIN_REASON_LENGTH:
        raise ExportError(f"an export needs a reason of at least {MIN_REASON_LENGTH} characters "
                          "(--reason, or the export_purpose setting), recorded in the audit log")
    data = gather(session, beat, include_sensitive=include_sensitive)
    path = Path(out)
    _write_atomic(path, lambda stream: write(fmt, session, data, stream, reason=reason,
                                             include_sensitive=include_sensitive,
                                             tile_url=tile_url))
    rows = sum(len(d.rows) for d in data)
    audit.record(session, actor=actor or audit.cli_actor(), action="export",
                 object_type="beat" if beat is not None else "beats",
                 object_id=data[0].beat.key if beat is not None and data else None,
                 reason=reason,
                 detail={"format": fmt, "path": str(path.resolve()), "beats": len(data),
                         "rows": rows, "include_sensitive": include_sensitive,
                         "reason_source": reason_source})
    logger.info("exported %s (%d beats, %d rows) to %s", fmt, len(data), rows, path)
    return ExportResult(path=path, format=fmt, beats=len(data), rows=rows)


# Each format's writer: (session, beats with their rows, binary stream, **options).
WRITERS: dict[str, Callable[..., None]] = {
    "xlsx": tabular.write_xlsx, "csv": tabular.write_csv,
    "gexf": network.write_gexf, "graphml": network.write_graphml,
    "geojson": geojson.write_geojson, "html": htmlmap.write_html,
}


def write(fmt: str, session: Session | None, data: list[BeatRows], stream: BinaryIO,
          **options: Any) -> None:
    """Write ``data`` as ``fmt`` to a binary ``stream`` (a file, or memory for a download).

    >>> import io, json
    >>> stream = io.BytesIO()
    >>> write("geojson", None, [], stream)
    >>> json.loads(stream.getvalue())["type"]
    'FeatureCollection'
    """
    WRITERS[fmt](session, data, stream, **options)
