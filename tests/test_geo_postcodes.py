"""Postcode parsing, finding in text, and lookups against the imported Code-Point data."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.beats import import_beats
from geo.gazetteer import import_postcodes
from geo.postcodes import POSTCODE_PATTERN, find_postcodes, lookup, parse_postcode
from storage.db import make_engine, session_scope
from storage.ids import stable_id

ROOT = Path(__file__).resolve().parent.parent
BH_WARDS = ROOT / "data" / "boundaries" / "brighton_and_hove_wards_2013.geojson"
POSTCODES = ROOT / "data" / "postcodes" / "sussex_postcodes_codepoint_open.csv.gz"


@pytest.mark.parametrize("text, expected", [
    ("BN2 9AA", "BN2 9AA"), ("bn2 9aa", "BN2 9AA"), ("BN29AA", "BN2 9AA"), ("  bn2  9aa ", "BN2 9AA"),
    ("BN2-9AA", "BN2 9AA"), ("BN41 1AA", "BN41 1AA"), ("RH10 1AA", "RH10 1AA"),
    ("EC1A 1BB", "EC1A 1BB"), ("W1A 0AX", "W1A 0AX"), ("M1 1AE", "M1 1AE"), ("CR2 6XH", "CR2 6XH"),
    ("BN2", "BN2"), ("bn2", "BN2"), ("BN41", "BN41"), ("SW1A", "SW1A"),
    # nonsense
    ("", None), ("hello", None), ("A23", None), ("QQ1 1AA", None), ("BN2 9CA", None),
    ("BN2 9AAA", None), ("BN 9AA", None), ("12345", None), ("BN2 9AA extra", None), (None, None),
])
def test_parse_postcode(text, expected):
    assert parse_postcode(text) == expected


def test_pattern_finds_postcodes_in_running_text():
    text = ("Drop-in at the library, BN2 9aa, Thursday. Anyone else in BN2 or bn3? "
            "Traffic on the M23 and the A23 again; my old place was SW1A1AA.")
    at = text.index
    assert find_postcodes(text) == [(at("BN2 9aa"), at("BN2 9aa") + 7, "BN2 9AA"),
                                    (at("BN2 or"), at("BN2 or") + 3, "BN2"),
                                    (at("SW1A1AA"), at("SW1A1AA") + 7, "SW1A 1AA")]
    m = POSTCODE_PATTERN.search("post to BN1 1AA please")
    assert (m["outward"], m["inward"]) == ("BN1", "1AA")
    assert POSTCODE_PATTERN.search("XBN1 1AA") is None
    assert POSTCODE_PATTERN.search("ABN11AA2") is None


@pytest.fixture(scope="module")
def postcode_db(tmp_path_factory):
    from storage.db import init_db

    url = f"sqlite:///{tmp_path_factory.mktemp('pc') / 'pc.db'}"
    init_db(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        import_beats(s, BH_WARDS)
        import_postcodes(s, POSTCODES)
    yield engine
    engine.dispose()


def test_lookup_full_postcode(postcode_db):
    with session_scope(postcode_db) as s:
        r = lookup(s, "bn1 1aa")
    assert (r.kind, r.postcode, r.found, r.too_coarse_for_beat) == ("unit", "BN1 1AA", True, False)
    assert r.beat_id == stable_id("beat", "E05002434")
    assert r.beat_name == "St. Peter's and North Laine"
    assert r.point.lat == pytest.approx(50.826334)
    assert "BN1 1AA is in beat St. Peter's and North Laine" in r.message


def test_lookup_postcode_outside_every_beat(postcode_db):
    with session_scope(postcode_db) as s:
        r = lookup(s, "BN11 1AA")  # Worthing: imported, but no Worthing beats here
    assert r.found and r.beat_id is None and "outside every beat" in r.message


def test_lookup_outward_code_is_too_coarse(postcode_db):
    with session_scope(postcode_db) as s:
        r = lookup(s, "BN2")
    assert (r.kind, r.found, r.too_coarse_for_beat, r.beat_id) == ("outward", True, True, None)
    assert r.unit_count > 1000
    assert len(r.beats) >= 3 and sum(r.beats.values()) <= r.unit_count
    assert "too coarse" in r.message and "beats" in r.message
    assert r.as_dict()["point"]["lat"] == pytest.approx(r.point.lat)


def test_lookup_unknown_and_garbage(postcode_db):
    with session_scope(postcode_db) as s:
        unknown, garbage, far = lookup(s, "BN2 9ZZ"), lookup(s, "not a postcode"), lookup(s, "AB10")
    assert unknown.kind == "unit" and not unknown.found
    assert "not in the imported postcode data" in unknown.message
    assert garbage.postcode is None and garbage.kind is None
    assert "is not a UK postcode" in garbage.message
    assert far.kind == "outward" and not far.found and far.too_coarse_for_beat
