"""The spreadsheet cell neutraliser, property-tested with Hypothesis and checked in real files."""

from __future__ import annotations

import csv
import io

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from beatmap.export.cells import (
    FORMULA_TRIGGERS,
    QUOTE,
    is_dangerous,
    neutralise,
    neutralise_row,
    xlsx_row,
)

TRIGGERS = sorted(FORMULA_TRIGGERS)
any_text = st.text(max_size=60)
hostile = st.builds(lambda pad, t, rest: pad + t + rest, st.sampled_from(["", " ", "   "]),
                    st.sampled_from(TRIGGERS), any_text)


@given(any_text)
def test_result_is_never_a_formula(text):
    assert not is_dangerous(neutralise(text))


@given(any_text)
def test_only_a_quote_is_ever_added(text):
    out = neutralise(text)
    assert out == text or out == QUOTE + text


@given(any_text)
def test_idempotent(text):
    assert neutralise(neutralise(text)) == neutralise(text)


@given(hostile)
def test_every_trigger_is_caught(text):
    assert neutralise(text) == QUOTE + text


@given(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=40))
def test_ordinary_text_is_unchanged(text):
    if text[0] not in FORMULA_TRIGGERS:
        assert neutralise(text) == text


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.none(), st.booleans()))
def test_non_text_passes_through(value):
    assert neutralise(value) is value or neutralise(value) == value


@settings(max_examples=40, deadline=None)
@given(st.lists(hostile, min_size=1, max_size=5))
def test_openpyxl_never_stores_a_formula(values):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(xlsx_row(values))
    buf = io.BytesIO()
    wb.save(buf)
    ws = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active
    for cell in ws[1]:
        assert cell.data_type != "f"


@given(st.lists(hostile, min_size=1, max_size=5))
def test_csv_round_trip_keeps_the_guard(values):
    buf = io.StringIO()
    csv.writer(buf).writerow(neutralise_row(values))
    (row,) = csv.reader(io.StringIO(buf.getvalue()))
    assert all(cell.startswith(QUOTE) for cell in row)
    assert [cell[1:] for cell in row] == values
