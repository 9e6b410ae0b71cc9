"""Neutralise spreadsheet cells so that scraped text can never run as a formula (CSV/XLSX).

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return,
which some spreadsheets skip before reading a formula) is a formula to Excel, LibreOffice and
Google Sheets: ``=HYPERLINK(...)`` from a hostile venue name would run on a sergeant's
laptop. Such text gets a leading apostrophe, the mark spreadsheets themselves use for
"this is text", and keeps every other character. Full-width look-alikes are treated the same,
and so is a trigger behind leading spaces, because some importers trim them first.
"""

from __future__ import annotations

import re
from typing import Any

# Characters that make a spreadsheet read the cell as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
QUOTE = "'"
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
