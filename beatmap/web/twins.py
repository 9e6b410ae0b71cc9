"""Data twins of the beat page: the same ranked rows as ``.json``, ``.csv`` and ``.xlsx``."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any

# Columns of the CSV and XLSX twins, in order (the JSON twin keeps every field, unflattened).
COLUMNS = ("rank", "name", "platform", "url", "crawlable", "score", "locality", "activity",
           "reach", "topical", "feedback", "reason", "places", "topics", "posts_90d",
           "last_post_at", "status", "flags", "state", "outreach_status", "contact",
           "venue_key", "venue_id")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
EXACT_INT_LIMIT = 2**53  # the largest integer a double (a spreadsheet number) holds exactly
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralise(value: str) -> str:
    """Make text that a spreadsheet would run as a formula inert by prefixing a quote.

    >>> neutralise("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise("Elm Grove")
    'Elm Grove'
    """
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def flat(value: Any) -> Any:
    """One cell's value: lists and dicts joined into readable text, times as ISO text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and abs(value) >= EXACT_INT_LIMIT:
        return str(value)  # ids are 63-bit: a spreadsheet's doubles would round them
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ", timespec="minutes") if isinstance(value, datetime) \
            else value.isoformat()
    if isinstance(value, dict):
        return neutralise("; ".join(f"{k}: {flat(v)}" for k, v in value.items() if v))
    if isinstance(value, (list, tuple)):
        return neutralise("; ".join(str(flat(v)) for v in value))
    return neutralise(str(value))


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def to_json(rows: list[dict], meta: dict) -> bytes:
    return json.dumps({**meta, "rows": rows}, default=_json_default, ensure_ascii=False,
                      indent=1).encode("utf-8")


def to_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([flat(row.get(c)) for c in COLUMNS])
    # A byte-order mark so that Excel on a police laptop reads the UTF-8 place names right.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict], title: str) -> bytes:
    """One sheet: frozen header, auto-filter, URL cells as hyperlinks, no formula cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_title(title)
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    url_col = COLUMNS.index("url") + 1
    for i, row in enumerate(rows, start=2):
        ws.append([flat(row.get(c)) for c in COLUMNS])
        cell = ws.cell(row=i, column=url_col)
        url = str(row.get("url") or "")
        if url.startswith(("http://", "https://")):
            cell.hyperlink = url
            cell.font = Font(color="0563C1", underline="single")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    widths = {"name": 34, "url": 40, "reason": 60, "places": 30, "topics": 24, "contact": 30}
    for idx, name in enumerate(COLUMNS, start=1):
        ws.column_dimensions[ws.cell(row=1, column=idx).column_letter].width = widths.get(name, 12)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _sheet_title(title: str) -> str:
    """A valid worksheet name (31 characters, none of ``[]:*?/\\``).

    >>> _sheet_title("Queen's Park: east/west")
    "Queen's Park east west"
    """
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title)
    return " ".join(cleaned.split())[:31] or "beat"
