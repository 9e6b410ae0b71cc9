"""``beatmap beats …`` and ``beatmap gazetteer …`` through click's CliRunner on a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from beatmap.cli import cli
from tests.test_geo_police import LoopbackServer, police_routes

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).parent / "fixtures" / "geo"
BH_WARDS = ROOT / "data" / "boundaries" / "brighton_and_hove_wards_2013.geojson"
SUSSEX_WARDS = ROOT / "data" / "boundaries" / "sussex_wards_2013.geojson"
CURATED = ROOT / "data" / "gazetteer" / "brighton_and_hove_area_names_curated.csv"
POSTAL = ROOT / "data" / "gazetteer" / "geonames_postal_sussex.csv"
POSTCODES = ROOT / "data" / "postcodes" / "sussex_postcodes_codepoint_open.csv.gz"


@pytest.fixture
def run(sqlite_db, monkeypatch):
    monkeypatch.delenv("BEATMAP_POLICE_API_URL", raising=False)

    def invoke(*args: str, env: dict | None = None):
        return CliRunner().invoke(cli, ["--db", sqlite_db, *args], env=env, catch_exceptions=False)
    return invoke


def test_import_list_locate(run):
    result = run("beats", "import", str(SUSSEX_WARDS), "--where", "lad_name=Worthing")
    assert result.exit_code == 0, result.output
    assert "13 imported (13 new, 0 updated)" in result.output
    listed = json.loads(run("beats", "list", "--format", "json").output)
    assert len(listed) == 13 and {"key", "name", "places", "postcodes", "centre"} <= set(listed[0])
    table = run("beats", "list").output
    assert "Tarring" in table and "13 beats" in table
    inside = run("beats", "locate", "50.8179", "-0.3729")
    assert inside.exit_code == 0 and "is in beat Central (E05007696)" in inside.output
    outside = run("beats", "locate", "50.82", "-0.14")
    assert "outside every beat (13 beats imported)" in outside.output
    as_json = json.loads(run("beats", "locate", "50.8179", "-0.3729", "--format", "json").output)
    assert as_json["beat"]["key"] == "E05007696"
    assert json.loads(run("beats", "locate", "0", "0", "--format", "json").output)["beat"] is None


def test_import_errors_are_one_line(run, tmp_path):
    bad = tmp_path / "broken.geojson"
    bad.write_text("{oops", encoding="utf-8")
    for args, message in [
        (("beats", "import", str(bad)), "broken.geojson: neither KML nor valid JSON"),
        (("beats", "import", str(tmp_path / "none.kml")), "no such file or folder"),
        (("beats", "import", str(BH_WARDS), "--where", "lad_name"), "--where wants PROPERTY=VALUE"),
        (("gazetteer", "import", str(bad)), "unknown gazetteer format"),
        (("beats", "locate", "95", "1"), "is not a latitude/longitude"),
    ]:
        result = run(*args)
        assert result.exit_code != 0
        assert message in result.output, result.output
        assert "Traceback" not in result.output


def test_empty_database_messages(run):
    assert "no beats yet" in run("beats", "list").output
    assert "no beats imported yet" in run("beats", "locate", "50.8", "-0.1").output


def _bn_postcodes(tmp_path: Path) -> Path:
    """The BN1/BN2 rows of the bundled Code-Point file: enough for lookups, quick to import."""
    import gzip

    with gzip.open(POSTCODES, "rt", encoding="utf-8") as fh:
        lines = [line for i, line in enumerate(fh) if i == 0 or line.startswith(("BN1 ", "BN2 "))]
    out = tmp_path / "bn_postcodes.csv.gz"
    with gzip.open(out, "wt", encoding="utf-8") as fh:
        fh.writelines(lines)
    return out


def test_gazetteer_import_and_lookup(run, tmp_path):
    assert run("beats", "import", str(BH_WARDS)).exit_code == 0
    postcodes = _bn_postcodes(tmp_path)
    result = run("gazetteer", "import", str(CURATED), str(POSTAL), str(postcodes))
    assert result.exit_code == 0, result.output
    assert "curated format" in result.output and "codepoint format" in result.output
    assert "postcodes: " in result.output  # progress lines while writing
    kemp = run("gazetteer", "lookup", "Kemp Town").output
    assert "Kemptown aka Kemp Town" in kemp and "East Brighton" in kemp
    data = json.loads(run("gazetteer", "lookup", "queens park", "--format", "json").output)
    assert data["places"][0]["name"] == "Queen's Park" and data["places"][0]["beat"]
    assert "BN1 1AA is in beat St. Peter's and North Laine" in run("gazetteer", "lookup", "bn1 1aa").output
    coarse = run("gazetteer", "lookup", "BN2").output
    assert "too coarse to place in one beat" in coarse
    pc = json.loads(run("gazetteer", "lookup", "BN2", "--format", "json").output)
    assert pc["too_coarse_for_beat"] is True and pc["beat_id"] is None
    assert "no place called 'Atlantis'" in run("gazetteer", "lookup", "Atlantis").output
    off = run("gazetteer", "lookup", "Atlantis", "--online")
    assert "no online geocoder configured" in off.output


def test_beats_fetch_from_loopback_api(run):
    with LoopbackServer(police_routes("sussex")) as server:
        result = run("beats", "fetch", "--force", "sussex", "--limit", "2",
                     env={"BEATMAP_POLICE_API_URL": server.url + "/api"})
    assert result.exit_code == 0, result.output
    assert "police.uk/sussex: 2 imported (2 new, 0 updated)" in result.output
    listed = json.loads(run("beats", "list", "--format", "json").output)
    assert {b["key"] for b in listed} == {"sussex/C01", "sussex/C02"}
    assert all(b["channels"] > 0 for b in listed)


def test_beats_fetch_error_is_one_line(run):
    with LoopbackServer({}) as server:
        result = run("beats", "fetch", "--force", "sussex",
                     env={"BEATMAP_POLICE_API_URL": server.url + "/api"})
    assert result.exit_code == 1
    assert "does not know the force 'sussex'" in result.output and "Traceback" not in result.output


def test_find_places_by_name_or_alias_on_every_database(any_db):
    from beatmap.commands.geo import find_places
    from geo.gazetteer import import_gazetteer
    from storage.db import make_engine, session_scope

    engine = make_engine(any_db)
    with session_scope(engine) as s:
        import_gazetteer(s, [CURATED])
        assert [p.name for p in find_places(s, "Kemp Town", 5)] == ["Kemptown"]
        assert [p.name for p in find_places(s, "the amex", 5)] == ["Amex Stadium"]
        assert [p.name for p in find_places(s, "St. Anns Well Gardens", 5)] == ["St Ann's Well Gardens"]
        assert find_places(s, "   ", 5) == [] and find_places(s, "Atlantis", 5) == []
    engine.dispose()


def test_lookup_online_uses_the_configured_geocoder(run):
    from tests.test_geo_geocode import Nominatim

    with Nominatim() as server:
        env = {"BEATMAP_GEOCODER": "nominatim", "BEATMAP_GEOCODER_URL": server.url,
               "BEATMAP_CONTACT_URL": "https://example.org/beatmap"}
        first = run("gazetteer", "lookup", "Preston Park", "--online", env=env)
        again = json.loads(run("gazetteer", "lookup", "Preston Park", "--online", "--format",
                               "json", env=env).output)
    assert "no place called 'Preston Park' in the gazetteer" in first.output
    assert "geocoder: Preston Park, Brighton" in first.output and "50.84310, -0.14680" in first.output
    assert again["online"]["cached"] is True and len(server.queries) == 1
