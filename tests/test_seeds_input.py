"""Bad seed files get one clear line naming the problem, and nothing is stored."""

from __future__ import annotations

import csv
import io
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from beatmap.cli import cli
from storage.db import make_engine, session_scope, utcnow
from storage.models import Beat, Seed


def run(db: str, *args: str):
    return CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)


def _beat(db: str) -> None:
    engine = make_engine(db)
    now = utcnow()
    with session_scope(engine) as s:
        s.add(Beat(id=1, key="E05002436", name="Heene", source="test",
                   geometry={"type": "Point", "coordinates": [0, 0]}, min_lat=0, min_lon=0,
                   max_lat=0, max_lon=0, centre_lat=0, centre_lon=0, imported_at=now,
                   updated_at=now))
    engine.dispose()


def _seed_count(db: str) -> int:
    engine = make_engine(db)
    with session_scope(engine) as s:
        count = s.scalar(select(func.count()).select_from(Seed))
    engine.dispose()
    return count


def _refused(db: str, path, *needles: str) -> None:
    out = run(db, "seeds", "import", str(path))
    assert out.exit_code == 1, out.output
    assert "Traceback" not in out.output and len(out.output.strip().splitlines()) == 1, out.output
    for needle in needles:
        assert needle in out.output, out.output
    assert _seed_count(db) == 0


def test_csv_row_with_an_extra_cell(sqlite_db, tmp_path):
    path = tmp_path / "seeds.csv"
    path.write_text("url,beat,note\nhttp://a.example/,,fine\nhttp://b.example/,,tea, cake\n")
    _refused(sqlite_db, path, "seeds.csv:3", "more cells", "double quotes")


def test_nul_bytes_are_refused_with_the_row(sqlite_db, tmp_path):
    path = tmp_path / "seeds.csv"
    path.write_text("url,beat,note\nhttp://a.example/,,bad\x00note\n")
    _refused(sqlite_db, path, "seeds.csv:2", "NUL")
    yml = tmp_path / "seeds.yaml"
    yml.write_text('- url: http://a.example/\n  note: "bad\\0note"\n')
    _refused(sqlite_db, yml, "seed 1", "NUL")


@pytest.mark.parametrize("note, kind", [("{a: 1}", "mapping"), ("[1, 2]", "list")])
def test_yaml_note_that_is_not_text(sqlite_db, tmp_path, note, kind):
    path = tmp_path / "seeds.yaml"
    path.write_text(f"- url: http://a.example/\n  note: {note}\n")
    _refused(sqlite_db, path, "seed 1", f"note must be text, not a {kind}")


def test_yaml_alias_bomb_is_refused_at_once(sqlite_db, tmp_path):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        refs = ",".join(f"*a{level - 1}" for _ in range(9))
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append("seeds:\n  - url: http://a.example/\n    note: *a9")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    _refused(sqlite_db, path, "aliases", "not allowed")
    assert time.monotonic() - started < 10  # refused while parsing, never expanded


def test_seed_beat_by_key_or_name(sqlite_db, tmp_path):
    _beat(sqlite_db)
    by_name = run(sqlite_db, "seeds", "add", "http://a.example/", "--beat", "Heene")
    assert by_name.exit_code == 0, by_name.output
    by_lower = run(sqlite_db, "seeds", "add", "http://b.example/", "--beat", "heene")
    assert by_lower.exit_code == 0, by_lower.output
    path = tmp_path / "seeds.csv"
    path.write_text("url,beat,note\nhttp://c.example/,E05002436,key\n")
    assert run(sqlite_db, "seeds", "import", str(path)).exit_code == 0
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        beats = set(s.scalars(select(Seed.beat_id)))
    engine.dispose()
    assert beats == {1}
    unknown = run(sqlite_db, "seeds", "add", "http://d.example/", "--beat", "Atlantis")
    assert unknown.exit_code == 1 and "unknown beat 'Atlantis'" in unknown.output


def test_seeds_list_csv_neutralises_formula_cells(sqlite_db, tmp_path):
    path = tmp_path / "seeds.csv"
    path.write_text('url,beat,note\n'
                    'http://a.example/,,"=HYPERLINK(""http://evil.example"",""x"")"\n'
                    'http://b.example/,,+1+1\n'
                    'http://c.example/,,@SUM(1)\n'
                    'http://d.example/,,-2+3\n')
    assert run(sqlite_db, "seeds", "import", str(path)).exit_code == 0
    out = run(sqlite_db, "seeds", "list", "--format", "csv")
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    notes = sorted(row["note"] for row in rows)
    assert notes == ["'+1+1", "'-2+3", "'=HYPERLINK(\"http://evil.example\",\"x\")", "'@SUM(1)"]
