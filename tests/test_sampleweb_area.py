"""The sample web's area: beats, places and postcodes from the bundled files or the database."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import mapping

from sampleweb.area import (
    DATA,
    AreaError,
    load_area_from_db,
    load_area_from_files,
)

SUSSEX_WARDS = DATA / "boundaries" / "sussex_wards_2013.geojson"


@pytest.fixture(scope="module")
def brighton():
    return load_area_from_files()


def test_default_area_is_the_21_brighton_and_hove_wards(brighton):
    assert brighton.name == "Brighton and Hove"
    assert len(brighton.beats) == 21
    hanover = brighton.beat("E05002425")
    assert hanover.name == "Hanover and Elm Grove"
    names = {p.name for p in hanover.places}
    assert "Hanover" in names and "Elm Grove" in names
    assert all(p.beat == "E05002425" for p in hanover.places)
    assert len(hanover.postcodes) > 100 and all(pc.startswith("BN") for pc in hanover.postcodes)


def test_places_and_postcodes_fall_inside_their_beat(brighton):
    from shapely.geometry import Point

    for beat in brighton.beats:
        for place in beat.places[:10]:
            assert beat.geometry.buffer(1e-9).contains(Point(place.lon, place.lat)), place
    # Generic stop names are not used as places to write about.
    assert not any(p.name in ("Shops", "Rail Station") for b in brighton.beats for p in b.places)


def test_worthing_wards_load_from_the_sussex_file_with_a_filter():
    area = load_area_from_files(SUSSEX_WARDS, where={"lad_name": "Worthing"})
    assert area.name == "Worthing"
    assert len(area.beats) == 13
    assert all(b.key.startswith("E0500") for b in area.beats)
    assert sum(len(b.postcodes) for b in area.beats) > 2000
    assert {b.name for b in area.beats} >= {"Broadwater", "Goring", "Durrington"}


def test_filter_matching_nothing_is_a_clear_error():
    with pytest.raises(AreaError, match="no beat .* matches"):
        load_area_from_files(where={"lad_name": "Atlantis"})


def test_bad_beats_files_are_clear_errors(tmp_path):
    with pytest.raises(AreaError, match="not found"):
        load_area_from_files(tmp_path / "missing.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(AreaError, match="not JSON"):
        load_area_from_files(bad)
    odd = tmp_path / "odd.geojson"
    odd.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"colour": "red"},
         "geometry": {"type": "Point", "coordinates": [0, 0]}}]}), encoding="utf-8")
    with pytest.raises(AreaError, match="which property holds the beat key"):
        load_area_from_files(odd, gazetteer_path=None, postcodes_path=None)


def test_explicit_key_and_name_properties(tmp_path):
    area = load_area_from_files(SUSSEX_WARDS, where={"ward_name": "Wish"}, key_property="ward_code_old",
                                name_property="ward_name", postcodes_path=None)
    assert [b.key for b in area.beats] == ["00MLNY"]


def test_area_from_the_database(sqlite_db, brighton):
    from storage.db import make_engine, session_scope, utcnow
    from storage.ids import stable_id
    from storage.models import Beat, Place, Postcode

    engine = make_engine(sqlite_db)
    now = utcnow()
    wanted = [brighton.beat("E05002425"), brighton.beat("E05002431")]
    with session_scope(engine) as s:
        for b in wanted:
            minx, miny, maxx, maxy = b.geometry.bounds
            bid = stable_id("beat", b.key)
            s.add(Beat(id=bid, key=b.key, name=b.name, force="sussex", source="test",
                       geometry=mapping(b.geometry), min_lat=miny, min_lon=minx, max_lat=maxy, max_lon=maxx,
                       centre_lat=(miny + maxy) / 2, centre_lon=(minx + maxx) / 2, details=None,
                       imported_at=now, updated_at=now))
            s.flush()
            for i, p in enumerate(b.places[:20]):
                s.add(Place(id=stable_id("place", b.key, i), name=p.name, norm_name=p.name.lower(), alt_names=[],
                            feature_type=p.feature_type, lat=p.lat, lon=p.lon, beat_id=bid, source="test",
                            source_id=f"{b.key}-{i}"))
            for pc in b.postcodes[:30]:
                s.add(Postcode(postcode=pc, outcode=pc.split()[0], lat=50.8, lon=-0.1, quality=10, beat_id=bid))
    engine.dispose()
    area = load_area_from_db(sqlite_db)
    assert area.name == "sussex"  # no place carries a district here, so the force names it
    assert [b.key for b in area.beats] == ["E05002425", "E05002431"]
    assert len(area.beat("E05002425").postcodes) == 30
    assert {p.name for p in area.beat("E05002425").places} <= {p.name for p in wanted[0].places}


def test_empty_database_is_a_clear_error(sqlite_db):
    with pytest.raises(AreaError, match="beats import"):
        load_area_from_db(sqlite_db)
