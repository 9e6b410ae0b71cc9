"""Neutralise spreadsheet cells so that scraped text can never run as a formula (CSV/XLSX).

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return,
which some spreadsheets skip before reading a formula) is a formula to Excel, LibreOffice and
Google Sheets: ``=HYPERLINK(...)`` from a hostile venue name would run on a sergeant's
laptop. Such text gets a leading apostrophe, the mark spreadsheets themselves use for
"this is text", and keeps every other character. Full-width look-alikes are treated the same,
and so is a trigger behind leading spaces, because some importers trim them first.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

# Characters that make a spreadsheet read the cell as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
QUOTE = "'"
# Spreadsheets (and RFC 4180) end CSV lines with CR LF.
CSV_LINE_END = "\r\n"
# Control characters XML 1.0 forbids, so an XLSX cannot hold them (tab, LF and CR are allowed).
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def is_dangerous(text: str) -> bool:
    """True when ``text`` would be read as a formula.

    >>> is_dangerous("=1+1"), is_dangerous("  @SUM(A1)"), is_dangerous("Hanover RA")
    (True, True, False)
    >>> is_dangerous("")
    False
    """
    if not text:
        return False
    if text[0] in FORMULA_TRIGGERS:
        return True
    stripped = text.lstrip(" ")
    return bool(stripped) and stripped[0] in FORMULA_TRIGGERS


def neutralise(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell; non-strings pass through unchanged.

    >>> neutralise("=HYPERLINK(\\"http://evil\\")")
    '\\'=HYPERLINK("http://evil")'
    >>> neutralise("-5 degrees"), neutralise(-5), neutralise("Elm Grove")
    ("'-5 degrees", -5, 'Elm Grove')
    """
    if isinstance(value, str) and is_dangerous(value):
        return QUOTE + value
    return value


def neutralise_row(row: list[Any]) -> list[Any]:
    """:func:`neutralise` applied to every cell of a row."""
    return [neutralise(v) for v in row]


def xlsx_cell(value: Any) -> Any:
    """A value for an XLSX cell: XML-illegal control characters dropped, then neutralised.

    Dropping first matters: ``"\\x01=1+1"`` would otherwise become a formula once cleaned.

    >>> xlsx_cell("\x01=1+1"), xlsx_cell("bell\x07 ringers"), xlsx_cell(3)
    ("'=1+1", 'bell ringers', 3)
    """
    if isinstance(value, str):
        value = XML_ILLEGAL.sub("", value)
    return neutralise(value)


def xlsx_row(row: list[Any]) -> list[Any]:
    """:func:`xlsx_cell` applied to every cell of a row."""
    return [xlsx_cell(v) for v in row]


def write_csv(stream: TextIO, columns: Sequence[str],
              rows: Iterable[Sequence[Any] | Mapping[str, Any]], *,
              line_end: str = CSV_LINE_END) -> None:
    """The one CSV writer of every command, export and web download: a header row of
    ``columns``, then each row with every cell passed through :func:`neutralise`. A mapping row
    gives its values for ``columns`` (other keys ignored, missing ones empty); ``None`` is
    written as an empty cell.

    >>> buf = io.StringIO()
    >>> write_csv(buf, ["name", "posts"], [{"name": "=cmd|' /C calc'!A0", "posts": 3, "x": 1},
    ...                                     ["Elm Grove, Hanover", None]], line_end="\\n")
    >>> print(buf.getvalue(), end="")
    name,posts
    '=cmd|' /C calc'!A0,3
    "Elm Grove, Hanover",
    """
    writer = csv.writer(stream, quoting=csv.QUOTE_MINIMAL, lineterminator=line_end)
    writer.writerow(columns)
    for row in rows:
        values = [row.get(c) for c in columns] if isinstance(row, Mapping) else row
        writer.writerow(neutralise_row(list(values)))


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any] | Mapping[str, Any]], *,
             line_end: str = CSV_LINE_END) -> str:
    """:func:`write_csv` into a string (for the commands' standard output).

    >>> csv_text(["a", "b"], [[1, "-1"]], line_end="\\n")
    "a,b\\n1,'-1\\n"
    """
    buf = io.StringIO()
    write_csv(buf, columns, rows, line_end=line_end)
    return buf.getvalue()
