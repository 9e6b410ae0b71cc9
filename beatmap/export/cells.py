"""Neutralise spreadsheet cells so that scraped text can never run as a formula (CSV/XLSX).

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return,
which some spreadsheets skip before reading a formula) is a formula to Excel, LibreOffice and
Google Sheets: ``=HYPERLINK(...)`` from a hostile venue name would run on a sergeant's
laptop. Such text gets a leading apostrophe, the mark spreadsheets themselves use for
"this is text", and keeps every other character. Full-width look-alikes are treated the same,
and so is a trigger behind leading spaces, because some importers trim them first.
"""

from __future__ import annotations

from typing import Any

# Characters that make a spreadsheet read the cell as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
QUOTE = "'"


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
