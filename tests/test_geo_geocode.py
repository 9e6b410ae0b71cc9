"""Optional Nominatim geocoding through geopy, against a loopback server, with the DB cache."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from geo.geocode import Geocoder, GeocoderConfigError, check_user_agent, parse_answer
from storage.config import Config
from storage.db import make_engine, session_scope
from storage.models import GeocodeCache
from tests.test_geo_police import LoopbackServer

# One place in the shape of Nominatim's /search?format=json answer (documented fields).
NOMINATIM_PLACE = {
    "place_id": 123456, "licence": "Data © OpenStreetMap contributors, ODbL 1.0.",
    "osm_type": "way", "osm_id": 987654, "boundingbox": ["50.8420", "50.8440", "-0.1480", "-0.1450"],
    "lat": "50.8431", "lon": "-0.1468", "display_name": "Preston Park, Brighton, England, BN1, United Kingdom",
    "class": "leisure", "type": "park", "importance": 0.41,
}
UA = "beatmap-tests/1 (+https://example.org/beatmap)"


class Nominatim(LoopbackServer):
    """Answers /search like Nominatim: a JSON list, empty when nothing matches."""

    def __init__(self):
        super().__init__({})
        self.queries: list[dict] = []

        def search():
            path, _headers = self.requests[-1]
            params = parse_qs(urlsplit(path).query)
            self.queries.append(params)
            hit = params.get("q", [""])[0].lower().startswith("preston park")
            return 200, {"Content-Type": "application/json"}, json.dumps(
                [NOMINATIM_PLACE] if hit else []).encode()

        self.routes["/search"] = search


@pytest.fixture
def nominatim():
    with Nominatim() as server:
        yield server


def test_geocode_asks_once_then_uses_the_cache(any_db, nominatim):
    geocoder = Geocoder(nominatim.url, user_agent=UA, min_delay=0)
    engine = make_engine(any_db)
    with session_scope(engine) as s:
        first = geocoder.geocode(s, "Preston Park")
        again = geocoder.geocode(s, "preston  park")  # normalised to the same cache key
        miss = geocoder.geocode(s, "Nowhere In Particular")
        miss_again = geocoder.geocode(s, "nowhere in particular")
    assert first.point.lat == pytest.approx(50.8431) and first.point.lon == pytest.approx(-0.1468)
    assert (first.kind, first.cached, again.cached) == ("leisure:park", False, True)
    assert miss is None and miss_again is None
    assert len(nominatim.queries) == 2  # one per distinct query: misses are cached too
    q = nominatim.queries[0]
    assert q["format"] == ["json"] and q["countrycodes"] == ["gb"] and q["limit"] == ["1"]
    assert all(h["User-Agent"] == UA for _, h in nominatim.requests)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(GeocodeCache)) == 2
        cached = s.scalars(select(GeocodeCache).where(GeocodeCache.response.is_not(None))).one()
        assert cached.provider == "nominatim" and cached.response["osm_id"] == 987654


def test_user_agent_is_required_and_geopy_default_refused():
    for bad in ("", "  ", "geopy/2.5.0", "beatmap/0.1 (+{contact_url})", "beatmap/0.1 (+)"):
        with pytest.raises(GeocoderConfigError):
            check_user_agent(bad)
    with pytest.raises(GeocoderConfigError, match="geopy's default"):
        Geocoder("http://127.0.0.1:9", user_agent="geopy/2.5.0")
    with pytest.raises(GeocoderConfigError, match="must be an http"):
        Geocoder("127.0.0.1:9", user_agent=UA)


def test_off_by_default_and_configured_from_settings(nominatim):
    assert Geocoder.from_config(Config.load(environ={}, path=None)) is None
    on = Config.load({"geocoder": "nominatim", "geocoder_url": nominatim.url,
                      "contact_url": "https://example.org/beatmap"}, environ={})
    geocoder = Geocoder.from_config(on, min_delay=0)
    assert geocoder.user_agent == "beatmap/0.1 (+https://example.org/beatmap)"
    with pytest.raises(GeocoderConfigError, match="set contact_url"):
        Geocoder.from_config(Config.load({"geocoder": "nominatim"}, environ={}))
    with pytest.raises(GeocoderConfigError, match="unknown geocoder 'google'"):
        Geocoder.from_config(Config.load({"geocoder": "google"}, environ={}))


def test_server_errors_are_one_clear_error(sqlite_db):
    with LoopbackServer({"/search": (503, {}, b"busy")}) as server:
        geocoder = Geocoder(server.url, user_agent=UA, min_delay=0)
        engine = make_engine(sqlite_db)
        with pytest.raises(OSError, match="geocoder at 127.0.0.1:.* failed for 'Preston'"):
            with session_scope(engine) as s:
                geocoder.geocode(s, "Preston")
        with session_scope(engine) as s:  # a failure is not cached as "no such place"
            assert s.scalar(select(func.count()).select_from(GeocodeCache)) == 0


def test_parse_answer_is_pure():
    point, name, kind = parse_answer(NOMINATIM_PLACE)
    assert point.as_xy() == (-0.1468, 50.8431) and name.startswith("Preston Park") and kind == "leisure:park"
