"""The sensitive-venue classifier: the special categories of UK GDPR Art. 9 / DPA 2018 s.35 and
the project's own, as data, matched on a venue's name, description and topics."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import select

from storage.db import init_db, open_engine, session_scope
from storage.ids import stable_id
from storage.models import Post, PostTopic, Topic, Venue
from storage.sensitive import TERMS_FILE, categories, classify, classify_venue, flag_sensitive

NOW = datetime(2026, 12, 1)
ART9 = {"faith", "health", "sexuality", "politics", "trade union", "ethnicity"}
PROJECT = {"refugees", "victims", "addiction", "children"}


@pytest.mark.parametrize("name, category", [
    ("Brighton and Hove Interfaith Forum", "faith"),  # the sample web's own, sensitive in its truth
    ("Churches Together in Hove", "faith"),
    ("Hove Mosques Open Day", "faith"),
    ("Sussex Quakers", "faith"),
    ("Muslim Women's Network", "faith"),
    ("St Mary's Catholic Parish", "faith"),
    ("Hanover Methodist Hall", "faith"),
    ("Eglwys Gymraeg Brighton", "faith"),
    ("Refugees and Migrants Forum", "refugees"),
    ("Hove Asylum Seekers Drop-in", "refugees"),
    ("LGBTQIA+ Book Club", "sexuality"),
    ("Deaf Club Brighton", "health"),
    ("Kemptown Mental Health Peer Support", "health"),
    ("Unison Brighton Branch", "trade union"),
    ("Polish Community Centre", "ethnicity"),
    ("Domestic Abuse Survivors Circle", "victims"),
    ("Narcotics Anonymous Thursday", "addiction"),
    ("Care Leavers Network", "children"),
])
def test_obvious_groups_are_flagged(name, category):
    reason = classify(name)
    assert reason is not None and reason.split(":")[0] == category, reason


@pytest.mark.parametrize("name", [
    "Hanover Residents' Association", "Transport for Brighton users", "Seven Dials Traders",
    "Friends of the Level", "Elm Grove Neighbourhood Watch", "North Laine Allotment Society",
    "Bird Sanctuary Volunteers", "Portslade Local History Society",
])
def test_ordinary_groups_are_not(name):
    assert classify(name) is None


def test_the_terms_are_data_with_a_basis_for_every_category():
    data = json.loads(TERMS_FILE.read_text(encoding="utf-8"))["categories"]
    assert set(data) == ART9 | PROJECT
    for key, category in categories().items():
        assert category["terms"] and category["label"]
        expected = "UK GDPR Art. 9(1)" if key in ART9 else "project"
        assert category["basis"] == expected, key


def test_description_and_topics_count_too():
    assert classify_venue("Tuesday Group", "A peer support group for carers") == "health: peer support"
    assert classify_venue("Tuesday Group", None, ["Refugee support"]) == "refugees: refugee"
    assert classify_venue("Tuesday Group", None, ["Parking", "Events"]) is None


def test_flag_sensitive_reads_the_venue_topics(tmp_path):
    url = f"sqlite:///{tmp_path / 'b.db'}"
    init_db(url)
    engine = open_engine(url)
    with session_scope(engine) as s:
        venue = Venue(id=stable_id("venue", "t.example"), key="t.example", platform="wordpress",
                      name="Tuesday Group", url="http://t.example/", host="t.example",
                      discovered_via="seed", first_seen_at=NOW, updated_at=NOW)
        s.add(venue)
        s.add(Topic(key="faith-events", label="Prayer meetings", category="community"))
        s.flush()
        s.add(Post(id=1, post_fp="t.example/1", venue_id=venue.id, url="http://t.example/1",
                   created_at=NOW))
        s.flush()
        s.add(PostTopic(post_id=1, topic="faith-events"))
    with session_scope(engine) as s:
        assert flag_sensitive(s) == 1
        assert s.scalar(select(Venue.sensitive_reason)) == "faith: prayer"
    engine.dispose()
