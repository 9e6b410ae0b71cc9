"""``beatmap rank`` through click's CliRunner on a real SQLite database."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from beatmap.cli import cli
from storage.db import make_engine, session_scope
from tests.test_graph_fixtures import Maker, small_world


@pytest.fixture
def db(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        m = Maker(s)
        w = small_world(m)
        w["blog"].name = "=HYPERLINK(\"http://evil.example\",\"click\")"
    engine.dispose()
    return sqlite_db


def run(db, *args):
    return CliRunner().invoke(cli, ["--db", db, "rank", "--as-of", "2026-06-01", *args])


def test_rank_table(db):
    result = run(db)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "ranked 5 venues over 2 beats" in out
    assert "Hanover and Elm Grove (E05002425): 4 venues" in out
    assert "East Brighton (E05002422): 1 venues" in out
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if "Hanover Residents Association" in line)
    assert lines[first].split()[:2] == ["1", "0.83"]
    assert lines[first + 1].strip().startswith("mentions Elm Grove, Queen's Park Road")
    assert "known-only" in out and "dormant" in out


def test_rank_json_one_beat_by_name(db):
    result = run(db, "--beat", "hanover and elm grove", "--format", "json", "--limit", "2")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [b["beat_key"] for b in data] == ["E05002425"]
    venues = data[0]["venues"]
    assert [v["rank"] for v in venues] == [1, 2]
    assert set(venues[0]) >= {"score", "locality", "activity", "reach", "topical", "feedback",
                              "reason", "places", "topics", "flags", "contact", "lat", "lon"}


def test_rank_csv_neutralises_formulas(db):
    result = run(db, "--format", "csv", "--beat", "E05002425")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 4
    names = [r["name"] for r in rows]
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in names
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values())


def test_rank_no_recompute_reads_stored(db):
    assert run(db).exit_code == 0
    result = CliRunner().invoke(cli, ["--db", db, "rank", "--no-recompute", "--format", "json"])
    assert result.exit_code == 0
    assert "ranked" not in result.output
    assert len(json.loads(result.output)) == 2


@pytest.mark.parametrize("args,message", [
    (["--beat", "Atlantis"], "Error: no beat with key or name 'Atlantis'"),
    (["--as-of", "yesterday"], "not a date or ISO timestamp: 'yesterday'"),
    (["--limit", "0"], "Invalid value for '--limit'"),
])
def test_rank_errors_are_one_line(db, args, message):
    result = CliRunner().invoke(cli, ["--db", db, "rank", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_rank_without_schema(tmp_path):
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'none.db'}", "rank"])
    assert result.exit_code == 1
    assert "run `beatmap init` first" in result.output
