"""Gazetteer and postcode import: every bundled format, merging, beats, broken files."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from geo.beats import import_beats
from geo.gazetteer import assign_beats, detect_format, import_gazetteer, import_postcodes
from geo.gazetteer_merge import merge_places
from geo.gazetteer_readers import PlaceRow
from geo.index import BeatIndex
from geo.osgb import osgb_point, osgb_to_wgs84
from geo.types import GeoDataError
from storage.db import make_engine, session_scope
from storage.ids import stable_id
from storage.models import Beat, Place, Postcode

ROOT = Path(__file__).resolve().parent.parent
GAZ = ROOT / "data" / "gazetteer"
FINE = GAZ / "sussex_fine_gazetteer_combined.csv"
PLACES = GAZ / "sussex_places_combined.csv"
CURATED = GAZ / "brighton_and_hove_area_names_curated.csv"
POSTAL = GAZ / "geonames_postal_sussex.csv"
POSTCODES = ROOT / "data" / "postcodes" / "sussex_postcodes_codepoint_open.csv.gz"
BH_WARDS = ROOT / "data" / "boundaries" / "brighton_and_hove_wards_2013.geojson"
SUSSEX_WARDS = ROOT / "data" / "boundaries" / "sussex_wards_2013.geojson"


@pytest.fixture
def engine(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        import_beats(s, BH_WARDS)
    yield engine
    engine.dispose()


def _places(s, name: str) -> list[Place]:
    return list(s.scalars(select(Place).where(Place.name == name).order_by(Place.prominence.desc())))


def _postcode_sample(n: int = 400) -> list[dict]:
    with gzip.open(POSTCODES, "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return rows[:: len(rows) // n][:n]


def test_detect_bundled_formats():
    assert [detect_format(p) for p in (FINE, PLACES, CURATED, POSTAL, POSTCODES)] == [
        "fine", "places", "curated", "geonames_postal", "codepoint"]


def test_import_everything_on_every_database(any_db):
    engine = make_engine(any_db)
    with session_scope(engine) as s:
        import_beats(s, BH_WARDS)
        report = import_gazetteer(s, [FINE, PLACES, CURATED, POSTAL, POSTCODES])
    assert report.counts["postcodes"] == 49_691
    assert 10_000 < report.created < 15_368  # duplicates across rows and files were folded
    with session_scope(engine) as s:
        kemptown = s.get(Place, stable_id("place", "curated_area_names", "kemptown"))
        assert kemptown.name == "Kemptown" and kemptown.feature_type == "area:neighbourhood"
        assert {"Kemp Town", "Kemp Town village"} <= set(kemptown.alt_names)
        assert kemptown.norm_name == "kemptown"
        assert s.get(Beat, kemptown.beat_id).name == "East Brighton"
        # NaPTAN's locality "Kemp Town" is the same place: folded into the curated entry.
        assert not s.scalars(select(Place).where(Place.norm_name == "kemp town")).all()
        # Coarse GeoNames postal points are never placed in a beat.
        coarse = s.scalars(select(Place).where(Place.coarse.is_(True))).all()
        assert coarse and all(p.beat_id is None for p in coarse)
        assert all(p.feature_type == "postal_place" for p in coarse)
        # Prominence orders kinds sensibly and stays within 0..1.
        lo, hi = s.execute(select(func.min(Place.prominence), func.max(Place.prominence))).one()
        assert 0 <= lo <= hi <= 1
        (brighton,) = [p for p in _places(s, "Brighton") if p.feature_type == "town"]
        assert brighton.prominence > 0.8 and brighton.district == "Brighton and Hove"
        pc = s.get(Postcode, "BN1 1AA")
        assert (pc.outcode, pc.quality) == ("BN1", 10)
        assert s.get(Beat, pc.beat_id).name == "St. Peter's and North Laine"
        # Postcodes outside Brighton & Hove have no beat (only its wards are beats here).
        assert s.get(Postcode, "RH12 1AA") is None or s.get(Postcode, "RH12 1AA").beat_id is None
    with session_scope(engine) as s:  # idempotent: same rows again
        again = import_gazetteer(s, [FINE, PLACES, CURATED, POSTAL])
        assert again.created == 0 and again.updated == report.created
        assert s.scalar(select(func.count()).select_from(Place)) == report.created
    engine.dispose()


def test_postcode_beats_agree_with_the_ward_codes(engine):
    """The bundled file carries each postcode's 2013 ward: our point-in-beat must agree."""
    with session_scope(engine) as s:
        import_postcodes(s, POSTCODES)
        keys = dict(s.execute(select(Beat.id, Beat.key)).all())
        ours = {code: keys.get(beat) for code, beat in s.execute(select(Postcode.postcode,
                                                                        Postcode.beat_id))}
    with gzip.open(POSTCODES, "rt", encoding="utf-8") as fh:
        wards = {r["postcode"]: r["ward_code_2013"] for r in csv.DictReader(fh)
                 if r["lad_name"] == "Brighton and Hove"}
    assert len(wards) > 5000
    assert all(ours[c] in (w, None) for c, w in wards.items())  # never the wrong ward
    missed = sorted(c for c in wards if ours[c] is None)
    assert len(missed) <= 6, missed  # only the pier and marina lie off the generalised wards
    # Strict lookups never pull in the neighbours' postcodes (Adur, Lewes …).
    assert not [c for c, b in ours.items() if b is not None and c not in wards]


def test_snapping_when_beats_tile_the_whole_area():
    """With all Sussex wards as beats, a 600 m snap gives every postcode its ONS ward."""
    import json
    from types import SimpleNamespace

    doc = json.loads(SUSSEX_WARDS.read_text(encoding="utf-8"))
    index = BeatIndex([SimpleNamespace(id=i, key=f["properties"]["ward_code"], name="",
                                       geometry=f["geometry"]) for i, f in enumerate(doc["features"])])
    with gzip.open(POSTCODES, "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    points = np.array([(float(r["lat"]), float(r["lon"])) for r in rows])
    keys = {e.id: e.key for e in index.entries}
    strict = index.locate_many(points)
    snapped = index.locate_many(points, snap_metres=600)
    assert 700 < sum(b is None for b in strict) < 900
    assert all(keys[b] == r["ward_code_2013"] for b, r in zip(snapped, rows, strict=True))


def test_raw_codepoint_rows_with_grid_references(engine, tmp_path):
    sample = _postcode_sample()
    raw = tmp_path / "bn.csv"
    # The raw Code-Point Open layout: no header, 10 columns, 7-character postcodes.
    with raw.open("w", newline="") as fh:
        w = csv.writer(fh)
        for r in sample:
            code = r["postcode"].replace(" ", "").ljust(7) if len(r["postcode"]) < 8 else r["postcode"]
            w.writerow([code, r["positional_quality"], r["easting"], r["northing"], "E92000001",
                        "E19000002", "E18000008", "", "E06000043", "E05002434"])
        w.writerow(["BN1 9ZZ", "90", "0", "0", "E92000001", "", "", "", "", ""])
    assert detect_format(raw) == "codepoint_raw"
    with session_scope(engine) as s:
        report = import_postcodes(s, raw)
        assert report.created == len(sample) and report.skipped == 1
        assert "BN1 9ZZ has no coordinates" in report.warnings[0]
        for r in sample[:50]:
            row = s.get(Postcode, r["postcode"])
            assert abs(row.lat - float(r["lat"])) < 2e-5 and abs(row.lon - float(r["lon"])) < 2e-5


def test_osgb_conversion_matches_published_points():
    rows = _postcode_sample(2000)
    lat, lon = osgb_to_wgs84(np.array([float(r["easting"]) for r in rows]),
                             np.array([float(r["northing"]) for r in rows]))
    want_lat = np.array([float(r["lat"]) for r in rows])
    want_lon = np.array([float(r["lon"]) for r in rows])
    metres = np.hypot((lat - want_lat) * 111_320,
                      (lon - want_lon) * 111_320 * np.cos(np.radians(want_lat)))
    assert metres.max() < 1.0
    assert osgb_point(531040, 104624).lat == pytest.approx(50.826334, abs=1e-5)


def test_gzip_and_plain_postcode_files_and_header_variants(engine, tmp_path):
    plain = tmp_path / "codepoint_with_header.csv"
    plain.write_text("Postcode,Positional_quality_indicator,Eastings,Northings\n"
                     "BN2 1AA,10,531578,104164\nbn21ab,10,531598,104193\nNOT A CODE,10,1,1\n",
                     encoding="utf-8")
    gz = tmp_path / "latlon.csv.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as fh:
        fh.write("\ufeffpostcode,lat,lon,quality\nBN3 1AA,50.8291,-0.1631,10\n")
    with session_scope(engine) as s:
        r1 = import_postcodes(s, plain)
        r2 = import_gazetteer(s, [gz])
        assert r1.created == 2 and r1.skipped == 1 and "'NOT A CODE'" in r1.warnings[0]
        assert r2.counts["postcodes"] == 1
        assert s.get(Postcode, "BN2 1AB").beat_id is not None
        assert s.get(Postcode, "BN3 1AA").outcode == "BN3"


def test_plain_geonames_rows(engine, tmp_path):
    dump = tmp_path / "GB.txt"
    cols = ["2654710", "Brighton", "Brighton", "Brighthelmstone,Брайтон", "50.82838", "-0.13947",
            "P", "PPLA2", "GB", "", "ENG", "E6", "00ML", "", "139001", "", "27", "Europe/London",
            "2020-01-01"]
    park = ["9000001", "Preston Park", "Preston Park", "", "50.8421", "-0.1467", "L", "PRK", "GB",
            "", "ENG", "", "", "", "0", "", "40", "Europe/London", "2020-01-01"]
    dump.write_text("\t".join(cols) + "\n" + "\t".join(park) + "\n", encoding="utf-8")
    postal = tmp_path / "GB_postal.txt"
    postal.write_text("GB\tBN1\tBrighton\tEngland\tENG\t\t\tBrighton and Hove\tE06000043\t"
                      "50.8333\t-0.15\t3\n", encoding="utf-8")
    assert (detect_format(dump), detect_format(postal)) == ("geonames_dump", "geonames_postal_dump")
    with session_scope(engine) as s:
        import_gazetteer(s, [dump, postal])
        brighton = s.get(Place, stable_id("place", "geonames", "2654710"))
        assert brighton.feature_type == "town" and brighton.alt_names == ["Brighthelmstone"]
        assert brighton.beat_id is not None and brighton.prominence > 0.8
        assert s.get(Place, stable_id("place", "geonames", "9000001")).feature_type == "park"
        assert s.get(Place, stable_id("place", "geonames", "9000001")).beat_id is not None
        # The coarse postal "Brighton" folded into the town rather than being a second entry.
        assert s.scalar(select(func.count()).select_from(Place)
                        .where(Place.norm_name == "brighton")) == 1


@pytest.mark.parametrize("content, message", [
    ("name,feature_type,lat,lon,locality,source,source_detail\nX,street,north,0,,s,d\n",
     r"line 2: latitude 'north' is not a number"),
    ("name,feature_type,lat,lon,locality,source,source_detail\nX,street,95,0,,s,d\n",
     r"line 2: point 95.0, 0.0 is outside"),
    ("name,aliases,kind,lat,lon\n,,x,50,0\n", r"line 2: empty name"),
    ("colour,size\nred,3\n", "unknown gazetteer format"),
    ("", "the file is empty"),
    ("a\tb\tc\n", "tab-separated with 3 columns"),
])
def test_broken_gazetteer_files_import_nothing(engine, tmp_path, content, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(GeoDataError, match=message):
        with session_scope(engine) as s:
            import_gazetteer(s, [CURATED, bad])  # a good file first: nothing of it may stay
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Place)) == 0


def test_binary_and_missing_files(engine, tmp_path):
    junk = tmp_path / "junk.csv.gz"
    junk.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(GeoDataError, match="junk.csv.gz"):
        with session_scope(engine) as s:
            import_gazetteer(s, [junk])
    with pytest.raises(GeoDataError, match="no such file"):
        with session_scope(engine) as s:
            import_gazetteer(s, [tmp_path / "missing.csv"])
    with pytest.raises(GeoDataError, match="no gazetteer files"):
        with session_scope(engine) as s:
            import_gazetteer(s, [])


def test_assign_beats_after_beats_change(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        import_beats(s, SUSSEX_WARDS, where={"lad_name": "Worthing"})
        import_gazetteer(s, [PLACES, POSTCODES])
        worthing = [p for p in _places(s, "Worthing") if p.feature_type == "town"][0]
        assert worthing.beat_id == stable_id("beat", "E05007696")  # Central ward
        assert s.get(Postcode, "BN1 1AA").beat_id is None
    with session_scope(engine) as s:
        report = import_beats(s, BH_WARDS)  # beats change: places and postcodes follow
        assert report.counts["postcodes moved to another beat"] > 5000
        assert s.get(Postcode, "BN1 1AA").beat_id == stable_id("beat", "E05002434")
        assert assign_beats(s) == {"places": 0, "postcodes": 0}  # nothing left to move
    engine.dispose()


def _row(name: str, ftype: str, lat: float, lon: float, source: str = "s", **kw) -> PlaceRow:
    return PlaceRow(name=name, feature_type=ftype, lat=lat, lon=lon, source=source,
                    source_id=kw.pop("source_id", f"{name}@{lat},{lon}@{ftype}"), **kw)


def test_merge_rules():
    rows = [
        _row("Hanover", "area:neighbourhood", 50.8300, -0.1317, prominence=0.8,
             alt_names=["Hanover area"]),
        _row("Hanover Area", "bus_stop", 50.8301, -0.1318, prominence=0.1),  # alias, nearby
        _row("Hanover", "landmark", 50.8302, -0.1317, prominence=0.1),  # same name, nearby
        _row("Hanover", "pub", 50.8300, -0.1316, prominence=0.2),  # a pub stays a pub
        _row("Hanover", "ward", 50.8310, -0.1300, prominence=0.45),  # wards never fold
        _row("Hanover", "landmark", 50.9000, -0.3000, prominence=0.1),  # far away: another place
        _row("Hanover", "postal_place", 50.8500, -0.1500, coarse=True),  # coarse, 3 km: folds
        _row("St Ann's Well", "street", 50.8286, -0.1560),
        _row("Saint Anns Well", "bus_stop", 50.8287, -0.1561),  # spelling variant, same stop
    ]
    merged, folded = merge_places(rows)
    kinds = sorted((r.name, r.feature_type) for r in merged)
    assert kinds == [("Hanover", "area:neighbourhood"), ("Hanover", "landmark"),
                     ("Hanover", "pub"), ("Hanover", "ward"), ("St Ann's Well", "street")]
    assert folded == 4
    area = next(r for r in merged if r.feature_type == "area:neighbourhood")
    assert area.alt_names == ["Hanover area"]  # case variants are not repeated
    street = next(r for r in merged if r.feature_type == "street")
    assert street.alt_names == ["Saint Anns Well"]


def test_coarse_rows_never_get_a_beat(engine):
    with session_scope(engine) as s:
        import_gazetteer(s, [POSTAL])
        index = BeatIndex.from_session(s)
        coarse = s.scalars(select(Place).where(Place.coarse.is_(True),
                                               Place.district == "Brighton and Hove")).all()
        assert coarse
        # Their points do fall inside Brighton beats, but the point is only outcode-level.
        assert any(index.locate(p.lat, p.lon) is not None for p in coarse)
        assert all(p.beat_id is None for p in coarse)
        fine = s.scalars(select(Place).where(Place.coarse.is_(False),
                                             Place.district == "Brighton and Hove")).all()
        assert fine and all(p.beat_id is not None for p in fine)


def test_text_stream_with_bom_is_read(engine, tmp_path):
    path = tmp_path / "curated_bom.csv"
    buf = io.StringIO()
    buf.write("\ufeffname,aliases,kind,lat,lon\nThe Level,Level|the Level|Levels (park),open space,"
              "50.8303,-0.1322\n")
    path.write_text(buf.getvalue(), encoding="utf-8")
    with session_scope(engine) as s:
        import_gazetteer(s, [path])
        (level,) = s.scalars(select(Place)).all()
        assert level.alt_names == ["Level", "Levels"]  # a repeat of the name is dropped
        assert level.feature_type == "area:open space" and level.norm_name == "level"


def _snapshot(engine) -> dict[int, tuple]:
    with session_scope(engine) as s:
        return {p.id: (p.name, p.feature_type, p.beat_id, p.coarse, sorted(p.alt_names))
                for p in s.scalars(select(Place))}


def test_files_imported_one_by_one_merge_like_one_call(sqlite_db, tmp_path):
    together = make_engine(sqlite_db)
    with session_scope(together) as s:
        import_beats(s, BH_WARDS)
        import_gazetteer(s, [FINE, PLACES, CURATED, POSTAL])
    want = _snapshot(together)
    together.dispose()
    from storage.db import init_db

    url = f"sqlite:///{tmp_path / 'apart.db'}"
    init_db(url)
    apart = make_engine(url)
    with session_scope(apart) as s:
        import_beats(s, BH_WARDS)
    for path in (POSTAL, PLACES, FINE, CURATED):
        with session_scope(apart) as s:
            import_gazetteer(s, [path])
    got = _snapshot(apart)
    assert set(got) == set(want)
    names_differ = [i for i in want if got[i][:4] != want[i][:4]]
    assert not names_differ
    # Spellings may arrive in another order, but the same ones arrive.
    assert all(set(got[i][4]) == set(want[i][4]) for i in want)
    with session_scope(apart) as s:  # and once more: nothing changes
        again = import_gazetteer(s, [PLACES])
        assert again.created == 0
    assert _snapshot(apart) == got
    apart.dispose()


def test_geonames_saved_as_csv_with_header(engine, tmp_path):
    path = tmp_path / "geonames.csv"
    path.write_text("geonameid,name,asciiname,alternatenames,latitude,longitude,feature class,"
                    "feature code,country code,population\n"
                    "2647138,Hove,Hove,,50.8309,-0.1703,P,PPL,GB,91900\n", encoding="utf-8")
    assert detect_format(path) == "geonames_csv"
    with session_scope(engine) as s:
        import_gazetteer(s, [path])
        hove = s.get(Place, stable_id("place", "geonames", "2647138"))
        assert (hove.feature_type, hove.beat_id is not None) == ("town", True)
