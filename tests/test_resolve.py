"""geo.resolve: the resolver on hand-made candidates, then on the full Sussex gazetteer."""

from __future__ import annotations

import pytest

from geo.resolve import (
    STATUS_AMBIGUOUS,
    STATUS_ELSEWHERE,
    STATUS_RESOLVED,
    Anchor,
    Candidate,
    HomonymCues,
    Mention,
    Resolver,
    distance_km,
)
from storage.db import make_engine, session_scope


def cand(pid, lat, lon, beat=1, ftype="street", prominence=0.0, coarse=False, name="x"):
    return Candidate(place_id=pid, name=name, lat=lat, lon=lon, beat_id=beat, feature_type=ftype,
                     prominence=prominence, coarse=coarse)


def mention(key, text, start=None):
    start = text.find(key) if start is None else start
    return Mention(key=key, surface=key, start=max(0, start), end=max(0, start) + len(key))


def test_area_bias_prefers_the_candidate_in_a_beat():
    r = Resolver({"mill": [cand(1, 51.2, -0.9, beat=None), cand(2, 50.83, -0.13, beat=7)]})
    (res,) = r.resolve([mention("mill", "mill")])
    assert res.status == STATUS_RESOLVED and res.place.place_id == 2 and res.beat_id == 7


def test_feature_type_outranks_a_bus_stop_of_the_same_name():
    r = Resolver({"patcham": [cand(1, 50.80, -0.30, beat=3, ftype="bus_stop"),
                              cand(2, 50.864, -0.145, beat=4, ftype="area:neighbourhood")]})
    (res,) = r.resolve([mention("patcham", "patcham")])
    assert res.place.place_id == 2


def test_equal_far_apart_candidates_stay_ambiguous():
    r = Resolver({"highstreet": [cand(1, 50.80, -0.30), cand(2, 51.00, 0.10, beat=2)]})
    (res,) = r.resolve([mention("highstreet", "highstreet")])
    assert res.status == STATUS_AMBIGUOUS and res.place is None and res.beat_id is None
    assert res.candidates == 2 and "nothing to choose" in res.reason


def test_spatial_minimality_chooses_the_tight_combination():
    # two names, each with a site in town A and in town B (40 km apart): together they mean B
    a, b = (50.82, -0.14), (50.95, 0.40)
    r = Resolver({"stationroad": [cand(1, *a, beat=1), cand(2, *b, beat=2)],
                  "millane": [cand(3, a[0] + 0.3, a[1], beat=3), cand(4, b[0] + 0.005, b[1], beat=2)]})
    text = "stationroad and millane"
    res = r.resolve([mention("stationroad", text), mention("millane", text)])
    assert [x.place.place_id for x in res] == [2, 4]
    assert all(x.status == STATUS_RESOLVED for x in res)


def test_anchor_supports_the_nearby_site():
    r = Resolver({"churchroad": [cand(1, 50.83, -0.17, beat=1), cand(2, 50.95, -0.13, beat=2)]})
    (res,) = r.resolve([mention("churchroad", "churchroad")], anchors=[Anchor(50.951, -0.131)])
    assert res.place.place_id == 2 and res.reason == "supported by places nearby"


def test_coarse_point_never_gives_a_beat():
    r = Resolver({"bn": [cand(1, 50.83, -0.13, beat=5, ftype="postal_place", coarse=True)]})
    (res,) = r.resolve([mention("bn", "bn")])
    assert res.place.place_id == 1 and res.beat_id is None


def test_homonym_needs_support_and_cues_send_it_elsewhere():
    cues = HomonymCues({"hanover": ("lower saxony",)}, shared=("germany",))
    r = Resolver({"hanover": [cand(1, 50.830, -0.1317, ftype="area:neighbourhood")],
                  "elmgrove": [cand(2, 50.8328, -0.129)]}, cues=cues)
    alone = "hanover fair"
    assert r.resolve([mention("hanover", alone)])[0].status == STATUS_AMBIGUOUS
    local = "hanover fair by elmgrove"
    res = r.resolve([mention("hanover", local), mention("elmgrove", local)], text=local)
    assert res[0].status == STATUS_RESOLVED and res[0].confidence >= 0.7
    away = "hanover in lower saxony"
    res = r.resolve([mention("hanover", away)], text=away)
    assert res[0].status == STATUS_ELSEWHERE and res[0].place is None
    # a cue far from the name only makes the whole text doubtful: unconfirmed, not elsewhere
    far = "hanover is lovely. " + "x " * 200 + "we visited germany"
    res = r.resolve([mention("hanover", far)], text=far)
    assert res[0].status == STATUS_AMBIGUOUS and res[0].reason == "the text points elsewhere"


def test_cue_inside_another_place_name_does_not_count():
    cues = HomonymCues({"queenspark": ("london",)})
    r = Resolver({"queenspark": [cand(1, 50.8266, -0.1221, ftype="area:park")],
                  "londonroad": [cand(2, 50.8303, -0.1361)]}, cues=cues)
    text = "queenspark and londonroad"
    res = r.resolve([mention("queenspark", text), mention("londonroad", text)], text=text)
    assert res[0].status == STATUS_RESOLVED


def test_unknown_name_stays_open():
    (res,) = Resolver({}).resolve([mention("atlantis", "atlantis")])
    assert res.status == STATUS_AMBIGUOUS and res.reason == "not in the gazetteer"


def test_distance_is_close_to_geodesic():
    from geopy.distance import geodesic

    for a, b in [((50.82, -0.14), (50.85, -0.10)), ((50.83, -0.17), (50.95, 0.10))]:
        assert distance_km(*a, *b) == pytest.approx(geodesic(a, b).km, rel=0.005)


# --- the full Sussex gazetteer (Brighton & Hove wards as beats) -------------------------


@pytest.fixture(scope="module")
def sussex(tmp_path_factory):
    from geo.beats import import_beats
    from geo.gazetteer import import_gazetteer
    from nlp.tagger import Tagger
    from storage.db import init_db

    folder = tmp_path_factory.mktemp("sussex")
    url = f"sqlite:///{folder / 'sussex.db'}"
    init_db(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        import_beats(s, "data/boundaries/brighton_and_hove_wards_2013.geojson")
    with session_scope(engine) as s:
        import_gazetteer(s, ["data/gazetteer/sussex_fine_gazetteer_combined.csv",
                             "data/gazetteer/sussex_places_combined.csv",
                             "data/gazetteer/brighton_and_hove_area_names_curated.csv",
                             "data/gazetteer/geonames_postal_sussex.csv",
                             "data/postcodes/sussex_postcodes_codepoint_open.csv.gz"])
    with session_scope(engine) as s:
        tagger = Tagger.from_session(s, cache_dir=folder / "cache")
    yield tagger
    engine.dispose()


def _hit(tagger, text, surface):
    result = tagger.tag(text)
    hits = [p for p in result.places if p.surface == surface]
    assert hits, f"{surface!r} not among {[p.surface for p in result.places]}"
    return hits[0]


HOMONYM_CASES = [
    # (text, surface, expected status, expected ward name or None)
    ("Hanover summer fair on Saturday", "Hanover", "ambiguous", None),
    ("Hanover summer fair, starting from Elm Grove", "Hanover", "resolved", "Hanover and Elm Grove"),
    ("Hanover residents: fly-tipping near BN2 3AA", "Hanover", "resolved", "Hanover and Elm Grove"),
    ("Moving to Hanover in Lower Saxony next spring", "Hanover", "elsewhere", None),
    ("The Hannover Messe makes Hanover busy", "Hanover", "elsewhere", None),
    ("Preston North End lost again at Deepdale, Preston", "Preston", "elsewhere", None),
    ("Preston, Lancashire: traffic on Fishergate", "Preston", "elsewhere", None),
    ("Old Preston, up the hill from Withdean", "Preston", "resolved", "Withdean"),
    ("Washington DC is far from here", "Washington", "elsewhere", None),
    ("Washington in Tyne and Wear: buses to Sunderland", "Washington", "elsewhere", None),
    ("Washington village fete", "Washington", "ambiguous", None),
    ("Westbourne in Bournemouth has new parking bays", "Westbourne", "elsewhere", None),
    ("Westbourne traders on Portland Road, Hove", "Westbourne", "resolved", "Westbourne"),
    ("Queen's Park NW6, Kilburn", "Queen's Park", "elsewhere", None),
    ("Queen's Park playground, up from Albion Hill", "Queen's Park", "resolved", "Queen's Park"),
    ("Queens Park playground", "Queens Park", "ambiguous", None),
    ("Brunswick in Melbourne: trams on Sydney Road", "Brunswick", "elsewhere", None),
    ("Brunswick Town residents on Western Road", "Brunswick Town", "resolved",
     "Brunswick and Adelaide"),
    ("Brunswick festival next to Western Road", "Brunswick", "resolved", "Brunswick and Adelaide"),
]


@pytest.mark.parametrize(("text", "surface", "status", "ward"), HOMONYM_CASES)
def test_homonyms_on_the_sussex_gazetteer(sussex, text, surface, status, ward):
    hit = _hit(sussex, text, surface)
    assert hit.status == status, hit.reason
    assert hit.beat_name == ward


@pytest.mark.parametrize(("text", "surface", "name"), [
    ("Parking in Kemp Town", "Kemp Town", "Kemptown"),
    ("Parking in Kemptown", "Kemptown", "Kemptown"),
    ("Skate park on the Level", "the Level", "The Level"),
    ("Picnic in Saint Anns Well Gardens", "Saint Anns Well Gardens", "St Ann's Well Gardens"),
    ("Poets Corner street party", "Poets Corner", "Poets' Corner"),
    ("Coffee at Seven Dials", "Seven Dials", "Seven Dials"),
])
def test_spelling_variants_on_the_sussex_gazetteer(sussex, text, surface, name):
    hit = _hit(sussex, text, surface)
    assert hit.status == "resolved" and hit.name == name and hit.beat is not None


def test_outward_code_is_a_district_not_a_beat(sussex):
    result = sussex.tag("Anyone else in BN2 had a burglary?")
    (pc,) = result.postcodes
    assert pc.kind == "outcode" and pc.coarse and pc.beat is None and pc.found
    assert result.beats == {}
