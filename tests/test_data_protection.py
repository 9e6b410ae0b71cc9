"""Retention purge, sensitive-venue flags and the append-only audit log, on real databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from beatmap.cli import cli
from storage import audit
from storage.db import open_engine, session_scope, utcnow
from storage.ids import new_id, stable_id
from storage.models import AuditEntry, Beat, Link, PlaceMention, Post, PostBeat, PostTopic, Venue
from storage.retention import purge
from storage.sensitive import classify, flag_sensitive

NOW = utcnow()


def _venue(session, key, name="A venue", description=None):
    v = Venue(id=stable_id("venue", key), key=key, platform="wordpress", name=name,
              description=description, url=f"http://{key}/", host=key, discovered_via="seed",
              first_seen_at=NOW, updated_at=NOW)
    session.add(v)
    return v


def _fill(url):
    engine = open_engine(url)
    with session_scope(engine) as s:
        beat = Beat(id=1, key="B1", name="Beat one", source="t", geometry={"type": "Point"},
                    min_lat=0, min_lon=0, max_lat=1, max_lon=1, centre_lat=0.5, centre_lon=0.5,
                    imported_at=NOW, updated_at=NOW)
        s.add(beat)
        a, b = _venue(s, "a.example"), _venue(s, "b.example")
        s.flush()
        for i, age in enumerate((10, 400, 800)):
            post = Post(id=100 + i, post_fp=f"fp{i}", venue_id=a.id, url=f"http://a.example/{i}",
                        title=f"title {i}", text=f"Elm Grove post {i}",
                        published_at=NOW - timedelta(days=age), created_at=NOW)
            s.add(post)
            s.flush()
            s.add(PlaceMention(id=200 + i, post_id=post.id, kind="place", surface="Elm Grove",
                               start=0, end=9, confidence=0.9, beat_id=1))
            s.add(PostTopic(post_id=post.id, topic="burglary", count=1))
            s.add(PostBeat(post_id=post.id, beat_id=1, weight=1.0))
        s.add(Link(src_venue_id=a.id, dst_venue_id=b.id, count=2, anchor_text="our friends",
                   example_url="http://a.example/1", first_seen_at=NOW - timedelta(days=900),
                   last_seen_at=NOW - timedelta(days=700)))
        s.add(AuditEntry(id=new_id(), at=NOW - timedelta(days=3000), actor="old", action="login"))
        s.add(AuditEntry(id=new_id(), at=NOW - timedelta(days=3), actor="new", action="login"))
    return engine


def test_purge_erases_old_text_and_tags_and_is_idempotent(any_db):
    engine = _fill(any_db)
    with session_scope(engine) as s:
        first = purge(s, post_days=365, audit_days=2190, actor="test")
    assert (first.posts_erased, first.mentions_deleted, first.links_cleared,
            first.audit_deleted) == (2, 2, 1, 1)
    with session_scope(engine) as s:
        second = purge(s, post_days=365, audit_days=2190, actor="test")
        assert not second.anything
        texts = dict(s.execute(select(Post.id, Post.text)).all())
        assert texts == {100: "Elm Grove post 0", 101: None, 102: None}
        assert s.scalar(select(func.count()).select_from(PlaceMention)) == 1
        assert s.scalar(select(func.count()).select_from(PostTopic)) == 1
        assert s.scalar(select(func.count()).select_from(PostBeat)) == 1
        assert s.scalar(select(Link.anchor_text)) is None
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions.count("retention.purge") == 2 and "login" in actions
    engine.dispose()


def test_purge_dry_run_changes_nothing(sqlite_db):
    engine = _fill(sqlite_db)
    with session_scope(engine) as s:
        report = purge(s, post_days=365, audit_days=2190, actor="t", dry_run=True)
    assert report.posts_erased == 2
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Post).where(Post.text.is_(None))) == 0


def test_purge_cli(sqlite_db):
    _fill(sqlite_db).dispose()
    result = CliRunner().invoke(cli, ["--db", sqlite_db, "purge"])
    assert result.exit_code == 0, result.output
    assert "erased: text of 2 posts" in result.output
    again = CliRunner().invoke(cli, ["--db", sqlite_db, "purge"])
    assert "erased: text of 0 posts" in again.output


def test_purge_rejects_nonsense_period(sqlite_db):
    result = CliRunner().invoke(cli, ["--db", sqlite_db, "purge", "--post-days", "0"])
    assert result.exit_code == 1
    assert "at least one day" in result.output and "Traceback" not in result.output


def test_audit_log_is_append_only_in_postgresql(pg_db):
    engine = open_engine(pg_db)
    with session_scope(engine) as s:
        audit.record(s, actor="sgt", action="export", reason="team meeting")
    for statement in ("UPDATE audit_log SET reason = 'forged'", "DELETE FROM audit_log",
                      "TRUNCATE audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            with session_scope(engine) as s:
                s.execute(text(statement))
    with session_scope(engine) as s:
        assert s.scalar(select(AuditEntry.reason)) == "team meeting"
    engine.dispose()


@pytest.mark.parametrize("name,description,expected", [
    ("Hanover Residents' Association", "Streets around Elm Grove", None),
    ("St Luke's Church Hall Group", None, "faith"),
    ("Kemptown Mental Health Support Group", None, "health"),
    ("Brighton Trans Social", None, "sexuality"),
    ("Hove Green Party branch", None, "politics"),
    ("Transport for Brighton users", None, None),  # "trans" only as a whole word
])
def test_classify(name, description, expected):
    reason = classify(name, description)
    assert (reason.split(":")[0] if reason else None) == expected


def test_flag_sensitive_keeps_manual_flags(sqlite_db):
    engine = open_engine(sqlite_db)
    with session_scope(engine) as s:
        _venue(s, "mosque.example", name="Preston Road Mosque")
        manual = _venue(s, "quiet.example", name="Quiet group")
        manual.sensitive, manual.sensitive_reason = True, "manual: health, set by analyst"
        _venue(s, "ra.example", name="Round Hill Residents")
    with session_scope(engine) as s:
        assert flag_sensitive(s) == 2
        flags = dict(s.execute(select(Venue.key, Venue.sensitive)).all())
    assert flags == {"mosque.example": True, "quiet.example": True, "ra.example": False}
