"""Beat import from GeoJSON, KML and police.uk boundary JSON, on real databases."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from geo.beats import import_beats, parse_where, read_beats
from geo.index import BeatIndex
from geo.types import GeoDataError
from storage.db import make_engine, session_scope
from storage.ids import stable_id
from storage.models import Beat

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).parent / "fixtures" / "geo"
BH_WARDS = ROOT / "data" / "boundaries" / "brighton_and_hove_wards_2013.geojson"
SUSSEX_WARDS = ROOT / "data" / "boundaries" / "sussex_wards_2013.geojson"

SQUARE = [[0.0, 50.0], [0.01, 50.0], [0.01, 50.01], [0.0, 50.01], [0.0, 50.0]]


def _write(tmp_path: Path, name: str, doc) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc, encoding="utf-8")
    return path


def _feature(props: dict, geometry: dict) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def _count(url: str) -> int:
    engine = make_engine(url)
    with session_scope(engine) as s:
        n = s.scalar(select(func.count()).select_from(Beat))
    engine.dispose()
    return n


def test_import_bundled_wards_on_every_database(any_db):
    engine = make_engine(any_db)
    with session_scope(engine) as s:
        report = import_beats(s, BH_WARDS)
    assert (report.created, report.updated) == (21, 0)
    with session_scope(engine) as s:
        beat = s.get(Beat, stable_id("beat", "E05002434"))
        assert beat.name == "St. Peter's and North Laine"
        assert beat.geometry["type"] in ("Polygon", "MultiPolygon")
        assert beat.min_lat < beat.centre_lat < beat.max_lat
        assert beat.min_lon < beat.centre_lon < beat.max_lon
        assert beat.details["properties"]["lad_name"] == "Brighton and Hove"
        # The stored centre is inside the beat (a representative point, not a centroid).
        assert BeatIndex.from_session(s).locate(beat.centre_lat, beat.centre_lon) == beat.id
        first_import = beat.imported_at
    with session_scope(engine) as s:  # re-import: same ids, updated in place
        again = import_beats(s, BH_WARDS)
    assert (again.created, again.updated) == (0, 21)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Beat)) == 21
        assert s.get(Beat, stable_id("beat", "E05002434")).imported_at == first_import
    engine.dispose()


def test_where_filter_imports_one_district(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        report = import_beats(s, SUSSEX_WARDS, where=parse_where(["lad_name=Worthing"]))
        names = set(s.scalars(select(Beat.name)))
    assert report.created == 13
    assert {"Central", "Tarring", "Selden"} <= names
    with pytest.raises(GeoDataError, match="no feature matches lad_name=Nowhere"):
        with session_scope(engine) as s:
            import_beats(s, SUSSEX_WARDS, where={"lad_name": "Nowhere"})
    engine.dispose()


def test_explicit_and_guessed_properties(tmp_path):
    doc = _collection(_feature({"WD22CD": "W1", "WD22NM": "Ward One"},
                               {"type": "Polygon", "coordinates": [SQUARE]}))
    (beat,) = read_beats(_write(tmp_path, "ons.geojson", doc))
    assert (beat.key, beat.name) == ("W1", "Ward One")
    doc = _collection(_feature({"ref": "R1", "label": "L", "beat": "B7", "title": "Beat Seven"},
                               {"type": "Polygon", "coordinates": [SQUARE]}))
    (beat,) = read_beats(_write(tmp_path, "x.geojson", doc), id_prop="beat", name_prop="title")
    assert (beat.key, beat.name) == ("B7", "Beat Seven")
    with pytest.raises(GeoDataError, match="property 'nope' .*missing"):
        read_beats(_write(tmp_path, "y.geojson", doc), id_prop="nope")


def test_holes_and_multipolygons(sqlite_db, tmp_path):
    outer = [[0.0, 50.0], [0.1, 50.0], [0.1, 50.1], [0.0, 50.1], [0.0, 50.0]]
    hole = [[0.04, 50.04], [0.06, 50.04], [0.06, 50.06], [0.04, 50.06], [0.04, 50.04]]
    island = [[0.2, 50.0], [0.3, 50.0], [0.3, 50.1], [0.2, 50.1], [0.2, 50.0]]
    doc = _collection(
        _feature({"id": "ring", "name": "Ring"}, {"type": "Polygon", "coordinates": [outer, hole]}),
        _feature({"id": "pair", "name": "Pair"},
                 {"type": "MultiPolygon", "coordinates": [[island], [[[0.4, 50.0], [0.5, 50.0],
                                                                     [0.5, 50.1], [0.4, 50.0]]]]}))
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        import_beats(s, _write(tmp_path, "shapes.geojson", doc))
        index = BeatIndex.from_session(s)
    ring, pair = stable_id("beat", "ring"), stable_id("beat", "pair")
    assert index.locate(50.02, 0.02) == ring
    assert index.locate(50.05, 0.05) is None  # inside the hole
    assert index.locate(50.05, 0.25) == pair
    assert index.locate(50.02, 0.48) == pair
    assert index.locate(50.05, 0.35) is None  # between the two parts
    engine.dispose()


def test_invalid_ring_is_repaired_and_reported(sqlite_db, tmp_path):
    bowtie = [[0.0, 50.0], [0.1, 50.1], [0.1, 50.0], [0.0, 50.1], [0.0, 50.0]]
    doc = _collection(_feature({"id": "bow", "name": "Bow tie"},
                               {"type": "Polygon", "coordinates": [bowtie]}))
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        report = import_beats(s, _write(tmp_path, "bow.geojson", doc))
        index = BeatIndex.from_session(s)
    assert report.repaired == 1
    assert "bow" in report.warnings[0] and "repaired" in report.warnings[0]
    assert index.locate(50.05, 0.02) == stable_id("beat", "bow")  # the left lobe survives
    assert index.locate(50.05, 0.08) == stable_id("beat", "bow")  # and the right one
    engine.dispose()


@pytest.mark.parametrize("doc, message", [
    (_collection(_feature({"id": "flat", "name": "Flat"}, {"type": "Polygon", "coordinates": [
        [[0.0, 50.0], [0.1, 50.0], [0.2, 50.0], [0.0, 50.0]]]})),
     r"feature 1 \(flat\): invalid geometry that cannot be repaired"),
    (_collection(_feature({"id": "pt", "name": "Point"}, {"type": "Point", "coordinates": [0, 50]})),
     r"\(pt\): a beat must be a Polygon or MultiPolygon, not Point"),
    (_collection(_feature({"id": "os", "name": "Grid"}, {"type": "Polygon", "coordinates": [
        [[531000, 104000], [532000, 104000], [532000, 105000], [531000, 104000]]]})),
     r"\(os\): coordinates outside longitude/latitude ranges"),
    (_collection(_feature({"name": "no id"}, {"type": "Polygon", "coordinates": [SQUARE]}),
                 _feature({"name": "no id"}, {"type": "Polygon", "coordinates": [SQUARE]})),
     r"feature 1: no id property found"),
    (_collection(_feature({"id": "a", "name": "A"}, {"type": "Polygon", "coordinates": [SQUARE]}),
                 _feature({"id": "a", "name": "A2"}, {"type": "Polygon", "coordinates": [SQUARE]})),
     r"key 'a' is used twice"),
    (_collection(_feature({"id": "g"}, {"type": "Polygon", "coordinates": [[[0, 50]]]})),
     r"\(g\): unreadable geometry"),
    ({"type": "FeatureCollection", "features": []}, "has no features"),
    ({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:27700"}},
      "features": []}, "EPSG:27700; convert to WGS84"),
    ("{not json", "neither KML nor valid JSON"),
    ("", "the file is empty"),
    ("[]", "boundary list is empty"),
    ('[{"latitude": "x", "longitude": "1"}]', "point 1 is not a latitude/longitude pair"),
])
def test_broken_files_import_nothing(sqlite_db, tmp_path, doc, message):
    good = _feature({"id": "ok", "name": "OK"}, {"type": "Polygon", "coordinates": [SQUARE]})
    if isinstance(doc, dict) and doc.get("features") is not None and doc["features"]:
        doc = _collection(good, *doc["features"])  # a good feature first: it must not stay
        message = message.replace("feature 1", "feature 2")
    path = _write(tmp_path, "broken.geojson", doc)
    engine = make_engine(sqlite_db)
    with pytest.raises(GeoDataError, match=message):
        with session_scope(engine) as s:
            import_beats(s, path)
    engine.dispose()
    assert _count(sqlite_db) == 0


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(GeoDataError, match="no such file or folder"):
        read_beats(tmp_path / "nope.geojson")


def test_police_uk_kml_folder_is_keyed_by_force_and_file(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        report = import_beats(s, FIX / "policeuk_kml")
        beats = {b.key: b for b in s.scalars(select(Beat))}
        index = BeatIndex.from_session(s)
    assert report.created == 2
    assert set(beats) == {"sussex/CC1NH1", "sussex/CC1NH2"}
    assert beats["sussex/CC1NH1"].force == "sussex"
    assert beats["sussex/CC1NH2"].name == "North Laine"
    assert beats["sussex/CC1NH2"].geometry["type"] == "MultiPolygon"
    nh2 = beats["sussex/CC1NH2"].id
    assert index.locate(50.8240, -0.1300) is None  # the hole of the first polygon
    assert index.locate(50.8210, -0.1330) == nh2
    assert index.locate(50.8225, -0.1175) == nh2  # the second polygon
    engine.dispose()


def test_kml_zip_matches_folder(sqlite_db, tmp_path):
    archive = tmp_path / "sussex-neighbourhoods.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in (FIX / "policeuk_kml" / "sussex").iterdir():
            z.write(f, f"sussex/{f.name}")
    features = read_beats(archive)
    assert sorted(f.key for f in features) == ["CC1NH1", "CC1NH2"]
    assert {f.force for f in features} == {"sussex"}
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(GeoDataError, match="not a readable zip"):
        read_beats(tmp_path / "bad.zip")


def test_kml_with_extended_data_ids(tmp_path):
    features = read_beats(FIX / "beats_extended_data.kml", id_prop="beat_code")
    assert [(f.key, f.name) for f in features] == [("SD1", "Seven Dials"), ("PV1", "Prestonville")]
    assert features[0].properties["team"] == "Brighton Central"
    guessed = read_beats(FIX / "beats_extended_data.kml")  # no id_prop: beat_code is guessed
    assert [f.key for f in guessed] == ["SD1", "PV1"]
    bare = (FIX / "beats_extended_data.kml").read_text().replace("beat_code", "other")
    ids = read_beats(_write(tmp_path, "bare.kml", bare))  # then the placemark ids
    assert [f.key for f in ids] == ["pm-1", "pm-2"]


def test_kml_entities_are_not_expanded(tmp_path):
    (beat,) = read_beats(FIX / "xxe.kml")
    host = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "\0"
    assert host not in beat.name and "lollol" not in beat.name
    assert beat.key == "xxe"


@pytest.mark.parametrize("text, message", [
    ("<kml><Placemark><name>x</name></Placemark></kml>", "no Placemark with a Polygon"),
    ("<kml><Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>0,50 1,50"
     "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>",
     "a ring needs at least 3 points"),
    ("<kml><Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>0,50 a,b 1,51 0,50"
     "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>",
     "bad KML coordinate 'a,b'"),
    ("<kml><Placemark>", "not well-formed KML"),
])
def test_broken_kml(tmp_path, text, message):
    with pytest.raises(GeoDataError, match=message):
        read_beats(_write(tmp_path, "b.kml", text))


def test_police_boundary_json_with_bom(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        import_beats(s, FIX / "CC1NH9.json", force="sussex")
        beat = s.scalars(select(Beat)).one()
    assert (beat.key, beat.force, beat.source) == ("sussex/CC1NH9", "sussex", "CC1NH9.json")
    assert beat.geometry["type"] == "Polygon"
    (plain,) = read_beats(FIX / "CC1NH9.json")  # without a force the key is the file name
    assert plain.key == "CC1NH9"
    engine.dispose()


def test_shared_border_has_one_answer(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        import_beats(s, FIX / "policeuk_kml")
        index = BeatIndex.from_session(s)
    # CC1NH1 and CC1NH2 share the meridian -0.1350: the lowest key wins, every time.
    on_edge = [index.locate(lat, -0.1350) for lat in (50.8201, 50.8240, 50.8279)]
    assert on_edge == [stable_id("beat", "sussex/CC1NH1")] * 3
    assert index.locate_many([(50.8240, -0.1350)]) == on_edge[:1]
    engine.dispose()


def test_names_from_a_police_uk_neighbourhood_list(sqlite_db, tmp_path):
    listing = tmp_path / "sussex_neighbourhoods.json"
    listing.write_bytes(b"\xef\xbb\xbf" + json.dumps(
        [{"id": "CC1NH1", "name": "Regency Business"}, {"id": "CC1NH9", "name": "Queen&#039;s Park"}]
    ).encode())
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        import_beats(s, FIX / "policeuk_kml", names=listing)
        import_beats(s, FIX / "CC1NH9.json", force="sussex", names=listing)
        names = dict(s.execute(select(Beat.key, Beat.name)).all())
    assert names == {"sussex/CC1NH1": "Regency Business",  # the KML only had the id
                     "sussex/CC1NH2": "North Laine",  # its own placemark name is kept
                     "sussex/CC1NH9": "Queen's Park"}
    listing.write_text("{}", encoding="utf-8")
    with pytest.raises(GeoDataError, match="expected a list"):
        with session_scope(engine) as s:
            import_beats(s, FIX / "policeuk_kml", names=listing)
    engine.dispose()


def test_altitudes_and_geometry_collections(tmp_path):
    from geo.beats import clean_geometry

    with_z = [[x, y, 12.5] for x, y in SQUARE]
    collection = {"type": "GeometryCollection", "geometries": [
        {"type": "Point", "coordinates": [0, 50]}, {"type": "Polygon", "coordinates": [SQUARE]}]}
    doc = _collection(_feature({"id": "z", "name": "Z"}, {"type": "Polygon", "coordinates": [with_z]}),
                      _feature({"id": "gc", "name": "GC"}, collection))
    z, gc = read_beats(_write(tmp_path, "z.geojson", doc))
    assert not clean_geometry(z)[0].has_z
    assert clean_geometry(gc)[0].geom_type == "Polygon"
