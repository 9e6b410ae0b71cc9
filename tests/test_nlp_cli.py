"""``beatmap tag``: text, --file, JSON Lines on stdin, --format json, --rescan, errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from beatmap.cli import cli
from storage.db import make_engine, session_scope
from storage.models import PostBeat
from tests.test_nlp_tagger import _venue_with_posts, make_gazetteer


@pytest.fixture
def db(sqlite_db, tmp_path, monkeypatch):
    monkeypatch.setenv("BEATMAP_CACHE_DIR", str(tmp_path / "cache"))
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        make_gazetteer(s)
    engine.dispose()
    return sqlite_db


def run(db, *args, input=None):
    return CliRunner().invoke(cli, ["--db", db, "tag", *args], input=input)


def test_tag_text_prints_a_table(db):
    res = run(db, "Burglary on Elm Grove near BN2 3AA")
    assert res.exit_code == 0, res.output
    out = res.output
    assert "Elm Grove" in out and "12-21" in out and "50.83280, -0.12900" in out
    assert "BN2 3AA" in out and "topics: burglary ×1" in out
    assert "beats: Hanover 1.00" in out


def test_tag_table_says_why_a_name_stayed_open(db):
    res = run(db, "Hanover fair")
    assert res.exit_code == 0, res.output
    assert "ambiguous" in res.output and "no local place or postcode nearby" in res.output
    assert "beats: none" in res.output


def test_tag_json_for_one_text(db):
    res = run(db, "--format", "json", "Fly-tipping in Kemp Town")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    (place,) = data["places"]
    assert (place["surface"], place["start"], place["end"]) == ("Kemp Town", 15, 24)
    assert place["name"] == "Kemptown" and place["beat"] == "B-KEM"
    assert place["place_id"] and place["lat"] and place["confidence"] > 0.5
    assert data["topics"] == {"bins-fly-tipping": 1}
    assert data["beats"] == [{"beat": "Kemptown", "key": "B-KEM", "weight": 0.95}]


def test_tag_jsonl_stdin_gives_one_object_per_line(db):
    lines = [{"id": 1, "text": "Speeding on Church Road"}, {"id": "x", "text": ""},
             {"id": None, "text": "Washington DC"}]
    res = run(db, "--format", "json", input="\n".join(json.dumps(x) for x in lines) + "\n")
    assert res.exit_code == 0, res.output
    out = [json.loads(line) for line in res.output.splitlines()]
    assert [o["id"] for o in out] == [1, "x", None]
    assert out[0]["beats"][0]["beat"] == "Central Hove"
    assert out[1]["places"] == [] and out[1]["beats"] == []
    assert out[2]["places"][0]["status"] == "elsewhere"


def test_tag_jsonl_table_has_record_headers(db):
    res = run(db, input='{"id": 7, "text": "Kemptown"}\n')
    assert res.exit_code == 0 and res.output.startswith("== 7\n")


def test_tag_file(db, tmp_path):
    path = tmp_path / "post.txt"
    path.write_text("<p>Graffiti on St James&#39;s Street</p>", encoding="utf-8")
    res = run(db, "--file", str(path), "--format", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["places"][0]["name"] == "St James's Street" and "graffiti" in data["topics"]


@pytest.mark.parametrize(("args", "stdin", "message"), [
    ((), '{"id": 1, "text": "ok"}\nnot json\n', "stdin line 2: not JSON"),
    ((), '{"id": 1}\n', 'stdin line 1: expected {"id": …, "text": "…"}'),
    (("--file", "/nonexistent/post.txt"), None, "cannot read /nonexistent/post.txt"),
    (("TEXT", "--file", "x"), None, "give TEXT or --file, not both"),
    (("--cache-dir", "/proc/no/such/dir", "Kemptown"), None, "cannot write place patterns to"),
])
def test_bad_input_is_one_line(db, args, stdin, message):
    res = run(db, *args, input=stdin)
    assert res.exit_code != 0
    assert message in res.output
    assert "Traceback" not in res.output


def test_missing_ner_model_is_a_clear_error(db):
    res = run(db, "--ner", "no_such_pipeline_xyz", "Kemptown")
    assert res.exit_code == 1
    assert "not installed; it is optional" in res.output and "Traceback" not in res.output


def test_rescan(db):
    engine = make_engine(db)
    with session_scope(engine) as s:
        _venue_with_posts(s, [(None, f"Parking on Elm Grove {n}") for n in range(5)])
    res = run(db, "--rescan", "--batch", "2")
    assert res.exit_code == 0, res.output
    assert "tagged 2/5 posts" in res.output and "re-tagged 5 posts" in res.output
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(PostBeat)) == 5
    engine.dispose()
