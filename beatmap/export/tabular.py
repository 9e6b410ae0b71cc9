"""CSV and XLSX exports of the ranked venues, for neighbourhood teams."""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.drawing.image import Image as XLImage
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from sqlalchemy.orm import Session

from beatmap.export.cells import csv_text, xlsx_cell, xlsx_row
from beatmap.export.mapimage import render_beat_map
from graph.queries import RANKING_COLUMNS
from graph.rank import WEIGHTS
from storage.db import utcnow

logger = logging.getLogger(__name__)

# (header, row key, column width in characters). Widths fit typical content on a laptop.
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("rank", "rank", 6), ("venue", "name", 34), ("platform", "platform", 11),
    ("URL", "url", 36), ("score", "score", 7), ("locality", "locality", 8),
    ("activity", "activity", 8), ("reach", "reach", 7), ("topical", "topical", 8),
    ("feedback", "feedback", 9), ("reason", "reason", 70), ("places", "places", 32),
    ("topics", "topics", 26), ("posts (90 days)", "posts_90d", 9),
    ("last active", "last_post_at", 12), ("status", "status", 9), ("flags", "flags", 16),
    ("curation", "state", 10), ("outreach", "outreach_status", 11),
    ("contact route", "contact", 36),
)
# The CSV of ``beatmap export``, of ``beatmap rank --format csv`` and of the web's .csv twin.
CSV_COLUMNS = ("beat_key", "beat_name", *RANKING_COLUMNS)
HEADER_FILL = PatternFill("solid", fgColor="1F3864")
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
ATTRIBUTION = ("Contains Ordnance Survey data © Crown copyright and database right; Royal Mail "
               "data © Royal Mail copyright and database right; boundaries by Martin Chorley "
               "(CC BY 4.0); place names © GeoNames (CC BY 4.0); police data from "
               "data.police.uk (OGL v3.0). See data/ATTRIBUTION.md.")


def contact_route(contact: dict[str, Any] | None) -> str:
    """A venue's contact details as one readable line.

    >>> contact_route({"email": "chair@ra.example", "contact_page": "https://ra.example/c"})
    'email chair@ra.example; contact page https://ra.example/c'
    >>> contact_route(None)
    ''
    """
    if not contact:
        return ""
    parts = []
    for key, value in contact.items():
        if not value:
            continue
        label = key.replace("_", " ")
        text = ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
        parts.append(f"{label} {text}")
    return "; ".join(parts)


def cell_value(row: dict[str, Any], key: str) -> Any:
    """A row's value flattened for one cell (lists joined, contact as a line)."""
    value = row.get(key)
    if key == "contact":
        return contact_route(value)
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    if value is None:
        return ""
    return value


def csv_rows(data) -> list[list[Any]]:
    """Each exported beat's rows, flattened for ``CSV_COLUMNS`` (the writer neutralises)."""
    out = []
    for item in data:
        for row in item.rows:
            full = dict(row, beat_key=item.beat.key, beat_name=item.beat.name)
            out.append([cell_value(full, c) for c in CSV_COLUMNS])
    return out


def write_csv(session: Session | None, data, stream: BinaryIO, **_: Any) -> None:
    """One CSV of every exported beat's venues (UTF-8 with BOM so Excel reads accents)."""
    stream.write(csv_text(CSV_COLUMNS, csv_rows(data)).encode("utf-8-sig"))


def sheet_title(name: str, taken: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique in the book.

    >>> sheet_title("Hanover and Elm Grove", set())
    'Hanover and Elm Grove'
    >>> sheet_title("St. Peter's and North Laine: central / west area", {"x"})
    "St. Peter's and North Laine cen"
    """
    base = SHEET_NAME_BAD.sub("", name).strip().strip("'")[:31] or "beat"
    title, n = base, 2
    while title.lower() in {t.lower() for t in taken}:
        suffix = f" ({n})"
        title = base[:31 - len(suffix)] + suffix
        n += 1
    taken.add(title)
    return title


def write_xlsx(session: Session | None, data, stream: BinaryIO, *, reason: str | None = None,
               **_: Any) -> None:
    """Summary sheet, then one sheet per beat with its venues and a map image."""
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    taken = {"Summary"}
    titles = [sheet_title(item.beat.name, taken) for item in data]
    _summary(summary, data, titles, reason)
    for item, title in zip(data, titles, strict=True):
        _beat_sheet(wb.create_sheet(title), item)
    wb.save(stream)


def _header(ws, row: int, headers: list[str]) -> None:
    for col, text in enumerate(headers, start=1):
        cell = ws.cell(row=row, column=col, value=text)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="top", wrap_text=True)


def _summary(ws, data, titles: list[str], reason: str | None) -> None:
    ws.append(["beatmap: where each beat's residents gather online"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["exported", utcnow().strftime("%Y-%m-%d %H:%M UTC")])
    ws.append(["reason given", xlsx_cell(reason or "")])
    weights = ", ".join(f"{k} {w:.2f}" for k, w in WEIGHTS.items())
    ws.append(["score", f"weighted sum of parts in [0, 1]: {weights}; see docs/ranking.md"])
    ws.append(["note", "venues, never people: no post text or author names are exported"])
    ws.append([])
    start = ws.max_row + 1
    headers = ["beat", "key", "venues listed", "top venue", "top score", "engaged",
               "approached", "declined"]
    _header(ws, start, headers)
    for item, title in zip(data, titles, strict=True):
        top = item.rows[0] if item.rows else None
        counts = {s: sum(1 for r in item.rows if r["outreach_status"] == s)
                  for s in ("engaged", "approached", "declined")}
        ws.append(xlsx_row([item.beat.name, item.beat.key, len(item.rows),
                                  top["name"] if top else "", top["score"] if top else None,
                                  counts["engaged"], counts["approached"], counts["declined"]]))
        cell = ws.cell(row=ws.max_row, column=1)
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{title}'!A1")
        cell.font = Font(color="0563C1", underline="single")
    ws.freeze_panes = ws.cell(row=start + 1, column=1)
    ws.auto_filter.ref = f"A{start}:{get_column_letter(len(headers))}{max(ws.max_row, start)}"
    for col, width in enumerate((30, 12, 14, 40, 10, 10, 11, 10), start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.append([])
    ws.append([ATTRIBUTION])


def _beat_sheet(ws, item) -> None:
    _header(ws, 1, [h for h, _, _ in COLUMNS])
    for row in item.rows:
        values = [cell_value(row, key) for _, key, _ in COLUMNS]
        if row.get("last_post_at"):
            values[[k for _, k, _ in COLUMNS].index("last_post_at")] = _date(row["last_post_at"])
        ws.append(xlsx_row(values))
        url_cell = ws.cell(row=ws.max_row, column=[k for _, k, _ in COLUMNS].index("url") + 1)
        if row.get("url", "").startswith(("http://", "https://")):
            url_cell.hyperlink = row["url"]
            url_cell.font = Font(color="0563C1", underline="single")
        ws.cell(row=ws.max_row, column=11).alignment = Alignment(wrap_text=True, vertical="top")
    for col, (_, key, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
        if key in ("score", "locality", "activity", "reach", "topical", "feedback"):
            for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                cell.number_format = "0.00"
    ws.freeze_panes = "C2"
    last = get_column_letter(len(COLUMNS))
    ws.auto_filter.ref = f"A1:{last}{max(ws.max_row, 1)}"
    png = render_beat_map(item.beat, item.rows)
    image = XLImage(io.BytesIO(png))
    ws.add_image(image, f"{get_column_letter(len(COLUMNS) + 2)}2")


def _date(value: str) -> datetime | str:
    try:
        return datetime.fromisoformat(value).replace(microsecond=0)
    except ValueError:
        return value
