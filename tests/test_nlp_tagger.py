"""The tagger on a small hand-made gazetteer: places, postcodes, topics, posts, rescan."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from geo.names import normalise
from nlp.components import PLACE_LABEL, TOPICS_KEY
from nlp.tagger import (
    META_KEY,
    Tagger,
    post_document,
    rescan,
    venue_beat_weights,
    venue_beats,
)
from nlp.topics import beat_topic_keys, sync_topics
from storage.db import make_engine, session_scope, utcnow
from storage.ids import stable_id
from storage.models import (
    Beat,
    BeatTopic,
    Meta,
    Place,
    PlaceMention,
    Post,
    PostBeat,
    Postcode,
    PostTopic,
    Topic,
    Venue,
)

# Beats: small squares around real Brighton & Hove neighbourhoods (lat, lon of the centre).
BEATS = {
    "B-HAN": ("Hanover", 50.8310, -0.1300),
    "B-KEM": ("Kemptown", 50.8200, -0.1230),
    "B-HOV": ("Central Hove", 50.8290, -0.1720),
    "B-PRE": ("Preston Park", 50.8420, -0.1480),
}
HALF = 0.006  # degrees: squares about 1.3 km across

# (name, alt names, feature type, lat, lon, beat key or None, prominence, coarse)
PLACES = [
    ("Hanover", [], "area:neighbourhood", 50.8300, -0.1317, "B-HAN", 0.8, False),
    ("Elm Grove", [], "street", 50.8328, -0.1290, "B-HAN", 0.3, False),
    ("The Level", ["Level"], "area:open space", 50.8304, -0.1322, "B-HAN", 0.7, False),
    ("Kemptown", ["Kemp Town"], "area:neighbourhood", 50.8183, -0.1204, "B-KEM", 0.8, False),
    ("St James's Street", [], "street", 50.8204, -0.1250, "B-KEM", 0.3, False),
    ("Queen's Park", [], "area:park", 50.8215, -0.1221, "B-KEM", 0.7, False),
    ("Church Road", [], "street", 50.8277, -0.1700, "B-HOV", 0.3, False),
    ("Church Road", [], "street", 51.0500, -0.2800, None, 0.2, False),
    ("London Road", [], "street", 50.8303, -0.1361, "B-HAN", 0.3, False),
    ("London Road", [], "street", 50.8450, -0.1500, "B-PRE", 0.3, False),
    ("Preston", [], "area:neighbourhood", 50.8456, -0.1517, "B-PRE", 0.6, False),
    ("Preston Park", [], "area:park", 50.8430, -0.1480, "B-PRE", 0.7, False),
    ("Washington", [], "village", 50.9050, -0.4060, None, 0.4, False),
    ("Worthing", [], "town", 50.8180, -0.3750, None, 0.9, False),
    ("Moulsecoomb", [], "postal_place", 50.8470, -0.1100, "B-PRE", 0.2, True),
    ("Car Park", [], "street", 50.8290, -0.1690, "B-HOV", 0.1, False),
    ("Portslade-by-Sea", [], "town", 50.8340, -0.2140, None, 0.6, False),
    ("St Ann's Well Gardens", [], "area:park", 50.8290, -0.1560, "B-HOV", 0.6, False),
    ("Sussex", [], "pub", 50.8214, -0.1240, "B-KEM", 0.2, False),
    ("The George", [], "pub", 50.8290, -0.1710, "B-HOV", 0.2, False),
]
POSTCODES = [("BN2 3AA", 50.8325, -0.1268, "B-HAN"), ("BN2 1AA", 50.8190, -0.1230, "B-KEM"),
             ("BN3 1AA", 50.8285, -0.1705, "B-HOV"), ("BN1 6AA", 50.8430, -0.1470, "B-PRE")]


def _square(lat: float, lon: float) -> dict:
    ring = [[lon - HALF, lat - HALF], [lon + HALF, lat - HALF], [lon + HALF, lat + HALF],
            [lon - HALF, lat + HALF], [lon - HALF, lat - HALF]]
    return {"type": "Polygon", "coordinates": [ring]}


def make_gazetteer(session) -> dict[str, int]:
    """Insert the small gazetteer; returns beat key → beat id."""
    now = utcnow()
    ids = {}
    for key, (name, lat, lon) in BEATS.items():
        ids[key] = stable_id("beat", key)
        session.add(Beat(id=ids[key], key=key, name=name, force="test", source="test",
                         geometry=_square(lat, lon), min_lat=lat - HALF, min_lon=lon - HALF,
                         max_lat=lat + HALF, max_lon=lon + HALF, centre_lat=lat, centre_lon=lon,
                         details=None, imported_at=now, updated_at=now))
    session.flush()
    for n, (name, alts, ftype, lat, lon, beat, prom, coarse) in enumerate(PLACES):
        session.add(Place(id=stable_id("place", n), name=name, norm_name=normalise(name),
                          alt_names=alts, feature_type=ftype, lat=lat, lon=lon,
                          beat_id=ids[beat] if beat else None, prominence=prom, coarse=coarse,
                          locality=None, district=None, source="test", source_id=str(n)))
    for code, lat, lon, beat in POSTCODES:
        session.add(Postcode(postcode=code, outcode=code.split()[0], lat=lat, lon=lon,
                             quality=10, beat_id=ids[beat]))
    session.flush()
    return ids


@pytest.fixture
def gaz_db(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        make_gazetteer(s)
    yield engine
    engine.dispose()


@pytest.fixture
def tagger(gaz_db, tmp_path):
    with session_scope(gaz_db) as s:
        return Tagger.from_session(s, cache_dir=tmp_path / "cache")


def _place(result, surface):
    hits = [p for p in result.places if p.surface == surface]
    assert hits, f"{surface!r} not found in {[p.surface for p in result.places]}"
    return hits[0]


# --- the spaCy pipeline ------------------------------------------------------------------


def test_pipeline_is_blank_english_with_rule_components(tagger):
    assert tagger.nlp.pipe_names == ["beatmap_places", "beatmap_postcodes", "beatmap_topics"]
    assert tagger.nlp.meta["lang"] == "en"
    doc = tagger.nlp("Burglary and a break-in near Elm Grove, BN2 3AA")
    assert [(e.text, e.label_) for e in doc.ents] == [("Elm Grove", PLACE_LABEL),
                                                     ("BN2 3AA", "POSTCODE")]
    assert doc.ents[0].kb_id_ == "elmgrove"
    assert sorted(s.label_ for s in doc.spans[TOPICS_KEY]) == ["burglary", "burglary"]
    assert not any(tagger.nlp.analyze_pipes()["problems"].values())


def test_pipeline_rebuilds_from_its_config_alone(tagger):
    import spacy

    again = spacy.util.load_model_from_config(tagger.nlp.config, auto_fill=True)
    doc = again("Graffiti on Elm Grove, BN2 3AA")
    assert [(e.text, e.label_) for e in doc.ents] == [("Elm Grove", PLACE_LABEL),
                                                     ("BN2 3AA", "POSTCODE")]
    assert [s.label_ for s in doc.spans[TOPICS_KEY]] == ["graffiti"]


def test_topic_spans_may_overlap(tagger):
    doc = tagger.nlp("Someone reported bike theft and a stolen bike on London Road")
    labels = [s.label_ for s in doc.spans[TOPICS_KEY]]
    assert "bicycle-theft" in labels and "other-theft" in labels
    spans = list(doc.spans[TOPICS_KEY])
    assert any(a.start < b.end and b.start < a.end for a in spans for b in spans if a is not b)


# --- places, variants and noise ------------------------------------------------------------


@pytest.mark.parametrize("surface", ["Kemptown", "Kemp Town", "kemp town", "KEMPTOWN"])
def test_spelling_variants_of_kemptown(tagger, surface):
    hit = _place(tagger.tag(f"Parking in {surface} is awful"), surface)
    assert hit.name == "Kemptown" and hit.beat == "B-KEM" and hit.status == "resolved"


@pytest.mark.parametrize("surface", ["Queen's Park", "Queens Park", "Queen\u2019s Park"])
def test_apostrophe_variants(tagger, surface):
    # a homonym: St James's Street nearby is the local support it needs
    result = tagger.tag(f"Litter in {surface} again, off St James's Street")
    assert _place(result, surface).name == "Queen's Park"


@pytest.mark.parametrize("surface", ["St Ann's Well Gardens", "Saint Anns Well Gardens",
                                     "St. Ann's Well Gardens", "St Anns Well Gardens"])
def test_saint_variants(tagger, surface):
    assert _place(tagger.tag(f"Picnic at {surface}."), surface).name == "St Ann's Well Gardens"


def test_the_level_needs_capitals_but_not_the(tagger):
    result = tagger.tag("Fair on the Level on Saturday. The level of noise was fine. Level crossing.")
    assert [p.surface for p in result.places] == ["the Level", "Level"]
    assert all(p.name == "The Level" for p in result.places)


def test_hyphenated_names_match_with_spaces(tagger):
    result = tagger.tag("Buses from Portslade by Sea and Portslade-by-Sea")
    assert [p.name for p in result.places] == ["Portslade-by-Sea", "Portslade-by-Sea"]


def test_noise_names_are_not_places(tagger):
    result = tagger.tag("Meet at the car park by the Car Park sign")
    assert result.places == []


def test_pub_names_need_capitals_and_their_the(tagger):
    assert tagger.tag("George said the george is shut. THE GEORGE!").places == []
    hit = _place(tagger.tag("Quiz night at The George on Saturday"), "The George")
    assert hit.status == "resolved" and hit.beat == "B-HOV"


def test_one_word_pub_name_needs_support_at_street_distance(tagger):
    # "Sussex" is a pub here, but mostly the county: Elm Grove (1.4 km away) is not enough
    police = tagger.tag("Sussex Police are investigating the burglary on Elm Grove")
    assert _place(police, "Sussex").status == "ambiguous"
    assert set(police.beats) == {"B-HAN"}
    pub = tagger.tag("Drinks at the Sussex, just off St James's Street")
    assert _place(pub, "Sussex").beat == "B-KEM"


def test_offsets_point_at_the_surface(tagger):
    text = "We walked from Elm Grove to Kemp Town \U0001F600 and back."
    for p in tagger.tag(text).places:
        assert text[p.start:p.end] == p.surface


# --- resolution through geo/ --------------------------------------------------------------


def test_hanover_resolves_only_with_support(tagger):
    local = tagger.tag("Hanover street party, starting at Elm Grove")
    assert _place(local, "Hanover").beat == "B-HAN"
    alone = tagger.tag("Hanover summer fair this weekend")
    assert _place(alone, "Hanover").status == "ambiguous" and alone.beats == {}
    away = tagger.tag("Flights to Hanover in Lower Saxony, Germany are cheap")
    assert _place(away, "Hanover").status == "elsewhere" and away.beats == {}


def test_postcode_supports_a_homonym(tagger):
    result = tagger.tag("Hanover residents near BN2 3AA report fly-tipping")
    assert _place(result, "Hanover").status == "resolved"
    assert result.postcodes[0].beat == "B-HAN"


def test_washington_dc_is_elsewhere(tagger):
    result = tagger.tag("Washington DC and the White House")
    assert _place(result, "Washington").status == "elsewhere"


def test_spatial_minimality_picks_the_nearby_london_road(tagger):
    near_hanover = tagger.tag("Traffic on London Road down to Elm Grove")
    assert _place(near_hanover, "London Road").beat == "B-HAN"
    near_preston = tagger.tag("Traffic on London Road by Preston Park")
    assert _place(near_preston, "London Road").beat == "B-PRE"
    alone = tagger.tag("Traffic on London Road")
    assert _place(alone, "London Road").status == "ambiguous"


def test_area_bias_prefers_the_beat_church_road(tagger):
    result = tagger.tag("Parking on Church Road")
    hit = _place(result, "Church Road")
    assert hit.status == "resolved" and hit.beat == "B-HOV"


def test_outside_area_place_resolves_without_beat(tagger):
    result = tagger.tag("Roadworks in Worthing")
    hit = _place(result, "Worthing")
    assert hit.status == "resolved" and hit.beat is None and result.beats == {}


def test_coarse_points_never_give_a_beat(tagger):
    result = tagger.tag("Moulsecoomb bus times")
    hit = _place(result, "Moulsecoomb")
    assert hit.place_id is not None and hit.beat is None and result.beats == {}


# --- postcodes ----------------------------------------------------------------------------


def test_full_and_outward_postcodes(tagger):
    result = tagger.tag("Meeting at bn3 1aa. Everyone in BN2 welcome, not the M23 or A23.")
    assert [(p.postcode, p.kind) for p in result.postcodes] == [("BN3 1AA", "postcode"),
                                                                 ("BN2", "outcode")]
    full, out = result.postcodes
    assert full.beat == "B-HOV" and full.surface == "bn3 1aa"
    assert out.coarse and out.beat is None and "too coarse" in out.note
    assert result.beats == {"B-HOV": pytest.approx(0.95)}


def test_unknown_postcode_is_reported_not_placed(tagger):
    result = tagger.tag("Posted from SW1A 1AA")
    assert result.postcodes[0].found is False and result.beats == {}


# --- robust input -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\U0001F6B2\U0001F6A8", "Достопримечательности Ганновера",
                                  "<p></p>", "&amp;&nbsp;", "\x00\x01"])
def test_odd_texts_pass(tagger, text):
    result = tagger.tag(text)
    assert result.places == [] and result.beats == {}


def test_html_remnants_are_stripped_and_offsets_kept(tagger):
    text = "<div><p>Burglary on <b>Elm&nbsp;Grove</b></p><script>var Kemptown=1</script></div>"
    result = tagger.tag(text)
    assert [p.name for p in result.places] == ["Elm Grove"]
    hit = result.places[0]
    assert text[hit.start:hit.end] == "Elm&nbsp;Grove"
    assert result.topics == {"burglary": 1}


def test_addresses_and_link_labels_are_not_places(tagger):
    text = ("Bins again on Elm Grove. See r/kemptown, mail hanover@elm-grove.example or "
            "https://kemptown.example/elm-grove.\nMore from Friends of the Level: "
            "http://level.example/")
    result = tagger.tag(text)
    assert [(p.surface, p.start) for p in result.places] == [("Elm Grove", 14)]


def test_very_long_text_is_chunked_not_rejected(tagger):
    filler = "Nothing to report this week at all. " * 40_000  # ~1.4 million characters
    text = "Elm Grove burglary. " + filler + "Kemp Town fly-tipping."
    assert len(text) > tagger.nlp.max_length
    result = tagger.tag(text)
    assert [p.name for p in result.places] == ["Elm Grove", "Kemptown"]
    assert text[result.places[1].start:result.places[1].end] == "Kemp Town"


def test_beat_weights_share_confidence(tagger):
    result = tagger.tag("From Kemptown to Elm Grove and back to Kemp Town")
    assert set(result.beats) == {"B-KEM", "B-HAN"}
    assert result.beats["B-KEM"] > result.beats["B-HAN"] > 0
    assert sum(result.beats.values()) == pytest.approx(1.0, abs=1e-3)


# --- pattern cache -------------------------------------------------------------------------


def test_patterns_are_cached_and_rebuilt_on_change(gaz_db, tmp_path):
    cache = tmp_path / "cache"
    with session_scope(gaz_db) as s:
        first = Tagger.from_session(s, cache_dir=cache)
    assert first.patterns_built and first.patterns_path.exists()
    with session_scope(gaz_db) as s:
        again = Tagger.from_session(s, cache_dir=cache)
        digest = s.get(Meta, META_KEY).value.split()[0]
    assert not again.patterns_built and again.patterns_path == first.patterns_path
    assert first.patterns_path.name.startswith(f"places-{digest[:20]}")
    with session_scope(gaz_db) as s:
        s.add(Place(id=stable_id("place", "new"), name="Bristol Estate", norm_name="bristol estate",
                    alt_names=[], feature_type="area:estate", lat=50.8211, lon=-0.1161,
                    beat_id=stable_id("beat", "B-KEM"), prominence=0.7, coarse=False,
                    locality=None, district=None, source="test", source_id="new"))
    with session_scope(gaz_db) as s:
        changed = Tagger.from_session(s, cache_dir=cache)
    assert changed.patterns_built and changed.patterns_path != first.patterns_path
    assert not first.patterns_path.exists()  # the stale file was removed
    assert _place(changed.tag("Bristol Estate news"), "Bristol Estate").beat == "B-KEM"


# --- posts in the database -----------------------------------------------------------------


def _venue_with_posts(session, texts, key="v.example"):
    now = utcnow()
    venue = Venue(id=stable_id("venue", key), key=key, platform="wordpress", url=f"http://{key}/",
                  host=key, discovered_via="seed", first_seen_at=now, updated_at=now)
    session.add(venue)
    session.flush()  # no ORM relationship orders the inserts, so the venue goes first
    posts = []
    for n, (title, text) in enumerate(texts):
        posts.append(Post(id=stable_id("post", key, n), post_fp=f"{key}#{n}", venue_id=venue.id,
                          url=f"http://{key}/{n}", title=title, text=text, created_at=now))
    session.add_all(posts)
    return venue, posts


def test_tag_posts_writes_rows_without_committing(tagger, gaz_db):
    with session_scope(gaz_db) as s:
        venue, posts = _venue_with_posts(s, [("Burglary on Elm Grove", "Near BN2 3AA, again."),
                                              (None, "Fly-tipping in Kemp Town")])
        assert tagger.tag_posts(s, posts) == 2
        assert s.in_transaction()
        s.rollback()  # the caller decides: nothing was committed
    with session_scope(gaz_db) as s:
        assert s.scalar(select(func.count()).select_from(PlaceMention)) == 0


def test_tag_posts_is_idempotent(tagger, gaz_db):
    with session_scope(gaz_db) as s:
        venue, posts = _venue_with_posts(s, [("Burglary on Elm Grove", "Near BN2 3AA, again."),
                                              (None, "Fly-tipping in Kemp Town")])
        tagger.tag_posts(s, posts)
    counts = []
    for _ in range(2):
        with session_scope(gaz_db) as s:
            posts = s.scalars(select(Post).order_by(Post.id)).all()
            tagger.tag_posts(s, posts)
        with session_scope(gaz_db) as s:
            counts.append((s.scalar(select(func.count()).select_from(PlaceMention)),
                           s.scalar(select(func.count()).select_from(PostTopic)),
                           s.scalar(select(func.count()).select_from(PostBeat))))
    assert counts[0] == counts[1] == (3, 2, 2)
    assert tagger.stats["posts/tagged"] == 6 and tagger.stats["places/resolved"] == 6
    assert tagger.stats["postcodes/postcode"] == 3
    with session_scope(gaz_db) as s:
        post = s.get(Post, posts[0].id)
        assert post.tagged_at is not None
        doc = post_document(post.title, post.text)
        mentions = s.scalars(select(PlaceMention).where(PlaceMention.post_id == post.id)
                             .order_by(PlaceMention.start)).all()
        assert [(m.kind, doc[m.start:m.end]) for m in mentions] == [("place", "Elm Grove"),
                                                                    ("postcode", "BN2 3AA")]
        assert mentions[0].id == stable_id(post.id, mentions[0].start, mentions[0].end)
        assert venue_beat_weights(s, venue.id) == {
            stable_id("beat", "B-HAN"): pytest.approx(0.5, abs=0.02),
            stable_id("beat", "B-KEM"): pytest.approx(0.5, abs=0.02)}


def test_venue_context_resolves_a_bare_homonym(tagger, gaz_db):
    texts = [("Elm Grove news", "Bins on Elm Grove."), ("The Level", "Skate park on the Level."),
             ("Elm Grove again", "Parking on Elm Grove."), ("Fair", "Hanover summer fair!")]
    with session_scope(gaz_db) as s:
        venue, posts = _venue_with_posts(s, texts)
        tagger.tag_posts(s, posts)
    with session_scope(gaz_db) as s:
        bare = s.scalars(select(PlaceMention).where(PlaceMention.post_id == posts[3].id)).one()
        assert bare.place_id is not None and bare.beat_id == stable_id("beat", "B-HAN")
        assert venue_beats(s, venue.id) == {stable_id("beat", "B-HAN"): 1.0}


def test_ambiguous_mentions_are_stored_as_such(tagger, gaz_db):
    with session_scope(gaz_db) as s:
        _venue, posts = _venue_with_posts(s, [("Fair", "Hanover summer fair")], key="a.example")
        tagger.tag_posts(s, posts)
    with session_scope(gaz_db) as s:
        m = s.scalars(select(PlaceMention)).one()
        assert m.ambiguous and m.place_id is None and m.beat_id is None
        assert s.scalar(select(func.count()).select_from(PostBeat)) == 0


def test_purged_posts_are_skipped(tagger, gaz_db):
    with session_scope(gaz_db) as s:
        _venue, posts = _venue_with_posts(s, [(None, None)], key="p.example")
        assert tagger.tag_posts(s, posts) == 0


def test_rescan_retags_after_gazetteer_change(gaz_db, tmp_path):
    with session_scope(gaz_db) as s:
        _venue, posts = _venue_with_posts(s, [(None, f"Crime on Bristol Estate {n}")
                                              for n in range(7)])
    seen = []
    with session_scope(gaz_db) as s:
        assert rescan(s, batch=3, progress=lambda d, t: seen.append((d, t))) == 7
    assert seen == [(3, 7), (6, 7), (7, 7)]
    with session_scope(gaz_db) as s:
        assert s.scalar(select(func.count()).select_from(PlaceMention)) == 0
        s.add(Place(id=stable_id("place", "new"), name="Bristol Estate", norm_name="bristol estate",
                    alt_names=[], feature_type="area:estate", lat=50.8211, lon=-0.1161,
                    beat_id=stable_id("beat", "B-KEM"), prominence=0.7, coarse=False,
                    locality=None, district=None, source="test", source_id="new"))
    with session_scope(gaz_db) as s:
        assert rescan(s, batch=5) == 7
        assert s.scalar(select(func.count()).select_from(PostBeat)) == 7
        assert s.scalar(select(func.count()).select_from(Topic)) >= 15


def test_tag_posts_on_each_database(any_db, tmp_path):
    engine = make_engine(any_db)
    try:
        with session_scope(engine) as s:
            make_gazetteer(s)
            tagger = Tagger.from_session(s, cache_dir=tmp_path)
            _venue, posts = _venue_with_posts(s, [("Speeding on Church Road", "BN3 1AA")])
            tagger.tag_posts(s, posts)
            tagger.tag_posts(s, posts)
        with session_scope(engine) as s:
            assert s.scalar(select(func.count()).select_from(PlaceMention)) == 2
            assert s.scalars(select(PostTopic.topic)).all() == ["speeding"]
            assert rescan(s, batch=1, tagger=tagger) == 1
            assert s.scalar(select(func.count()).select_from(PostBeat)) == 1
            assert s.scalar(select(func.count()).select_from(Topic)) >= 15
    finally:
        engine.dispose()


# --- topics --------------------------------------------------------------------------------


def test_sync_topics_and_beat_priorities(gaz_db, tmp_path):
    beat = stable_id("beat", "B-HAN")
    with session_scope(gaz_db) as s:
        s.add(BeatTopic(beat_id=beat, topic="burglary", weight=1.0, source="police.uk", detail=None))
        s.add(BeatTopic(beat_id=beat, topic="cycling-on-pavements", weight=0.5, source="police.uk",
                        detail="Cycling on pavements and speeding e-scooters"))
    with session_scope(gaz_db) as s:
        sync_topics(s)
        sync_topics(s)  # idempotent
    with session_scope(gaz_db) as s:
        topics = {t.key: t for t in s.scalars(select(Topic))}
        assert topics["burglary"].category == "crime" and topics["burglary"].safety
        assert topics["events"].category == "community"
        assert topics["cycling-on-pavements"].label.startswith("Cycling on pavements")
        assert beat_topic_keys(s)[beat] == {"burglary": 1.0, "cycling-on-pavements": 0.5}
        tagger = Tagger.from_session(s, cache_dir=tmp_path)
    result = tagger.tag("More cycling on pavements and e-scooters on Elm Grove")
    assert result.topics.get("cycling-on-pavements") == 2
    assert result.topics.get("speeding") == 1


def test_every_police_uk_category_is_a_topic():
    import json
    from pathlib import Path

    from nlp.rules import topic_defs

    categories = json.loads(Path("data/police/crime_categories.json").read_text())
    keys = {d.key for d in topic_defs() if d.category == "crime"}
    assert {c["url"] for c in categories} - {"all-crime"} == keys


# --- optional statistical NER --------------------------------------------------------------


def test_optional_ner_hook_adds_unknown_places(gaz_db, tmp_path):
    import spacy

    # A tiny stand-in for a statistical pipeline: its "ner" is a rule-based entity ruler, so
    # the loading and merging code runs for real without a large model.
    model = spacy.blank("en")
    ruler = model.add_pipe("entity_ruler", name="ner")
    ruler.add_patterns([{"label": "GPE", "pattern": "Atlantis"},
                        {"label": "GPE", "pattern": "Kemptown"},
                        {"label": "PERSON", "pattern": "Alice"}])
    model.to_disk(tmp_path / "tiny_ner")
    with session_scope(gaz_db) as s:
        tagger = Tagger.from_session(s, cache_dir=tmp_path / "cache",
                                     ner_model=str(tmp_path / "tiny_ner"))
    result = tagger.tag("Alice moved from Atlantis to Kemptown")
    by_surface = {p.surface: p for p in result.places}
    assert set(by_surface) == {"Atlantis", "Kemptown"}  # no PERSON; no duplicate Kemptown
    assert by_surface["Kemptown"].source == "gazetteer"
    atlantis = by_surface["Atlantis"]
    assert atlantis.source == str(tmp_path / "tiny_ner")
    assert atlantis.status == "ambiguous" and atlantis.reason == "not in the gazetteer"
    assert result.beats == {"B-KEM": pytest.approx(0.95)}
