"""The default-area import used by ``make demo``: complete, idempotent, works for other areas."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.demo import DATA, import_default_area
from geo.index import BeatIndex
from storage.db import make_engine, session_scope


def test_default_area_then_a_quick_second_run(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        first = import_default_area(s)
    assert not first["skipped"]
    assert first["beats"] == 21 and first["postcodes"] == 49_691
    assert 1_000 < first["places_in_beats"] < first["places"]
    assert 5_000 < first["postcodes_in_beats"] < 49_691
    with session_scope(engine) as s:
        second = import_default_area(s)
    assert second["skipped"] and second["reports"] == []
    assert {k: second[k] for k in ("beats", "places", "postcodes")} == \
        {k: first[k] for k in ("beats", "places", "postcodes")}
    assert second["seconds"] < 1
    engine.dispose()


def test_another_area_from_the_sussex_wards(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        summary = import_default_area(
            s, beats_file=DATA / "boundaries" / "sussex_wards_2013.geojson",
            where={"lad_name": "Worthing"},
            gazetteer_files=[DATA / "gazetteer" / "sussex_places_combined.csv"])
        index = BeatIndex.from_session(s)
    assert summary["beats"] == 13
    assert index.entry(index.locate(50.8179, -0.3729)).name == "Central"  # Worthing centre
    assert index.locate(50.8225, -0.1372) is None  # Brighton is not part of this area
    engine.dispose()


def test_missing_demo_file_is_a_clear_error(sqlite_db, tmp_path):
    engine = make_engine(sqlite_db)
    with pytest.raises(FileNotFoundError, match="demo data missing: .*nope.geojson"):
        with session_scope(engine) as s:
            import_default_area(s, beats_file=tmp_path / "nope.geojson")
    engine.dispose()


def test_feature_type_vocabulary_is_documented():
    """The tagger builds on feature types: every one we write is named in the docstring."""
    import geo.gazetteer as g

    doc = g.__doc__
    written = set(g.FINE_TYPES.values()) | set(g.GEONAMES_TYPES.values()) | \
        set(g.GEONAMES_CLASS_TYPES.values()) | {"town", "village", "suburb", "ward", "postal_place"}
    assert all(f"``{t}``" in doc for t in written), sorted(t for t in written if f"``{t}``" not in doc)
    assert Path(g.__file__).name == "gazetteer.py"
