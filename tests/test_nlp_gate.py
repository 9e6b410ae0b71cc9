"""Quality gate: tagging scored against the sample web's ground truth, with pinned floors.

The sample web (seed 1, 2,500 pages, Brighton & Hove wards as beats, the full Sussex
gazetteer) is tagged through the production path. Floors sit a little under the scores
measured when they were pinned (docs/tagging.md), so a real drop fails the tests.
"""

from __future__ import annotations

from datetime import date

import pytest

from storage.db import init_db, make_engine, session_scope

pytestmark = pytest.mark.slow

# measured on 2026-11-26: 0.977, 0.983, 0.978, 0.985, 0.956, topic recall 0.887 (seed 3
# similar). Topic precision (0.57) is reported, not gated: topics may overlap by design
# ("bike stolen" is bicycle theft and theft) while the truth lists only the intended topic.
FLOORS = {
    "topic_recall": 0.85,
    "mention_precision": 0.94,
    "mention_recall": 0.96,
    "post_beat_accuracy": 0.94,
    "venue_beat_accuracy": 0.95,
    "venue_declared_beat_accuracy": 0.93,
}


@pytest.fixture(scope="module")
def quality(tmp_path_factory):
    from geo.beats import import_beats
    from geo.gazetteer import import_gazetteer
    from nlp.tagger import Tagger
    from sampleweb.generate import build
    from sampleweb.tagging_gate import score_sample_web

    folder = tmp_path_factory.mktemp("gate")
    build(folder / "web", seed=1, pages=2500, as_of=date(2026, 11, 1))
    url = f"sqlite:///{folder / 'gate.db'}"
    init_db(url)
    engine = make_engine(url)
    try:
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
            return score_sample_web(s, tagger, folder / "web")
    finally:
        engine.dispose()


@pytest.mark.parametrize("metric", sorted(FLOORS))
def test_quality_floor(quality, metric):
    value = getattr(quality, metric)
    assert value >= FLOORS[metric], f"{metric} fell to {value} (floor {FLOORS[metric]}): " \
        f"{quality.misses[:5]}"


def test_distractor_venues_get_no_beat(quality):
    assert quality.distractors >= 5  # the homonym venues are in the web
    assert quality.distractors_with_a_beat == 0, quality.misses[:5]


def test_the_gate_scored_enough(quality):
    assert quality.counts["true_places"] > 1000
    assert quality.counts["venues_scored"] > 100
