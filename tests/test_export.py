"""Every export format, opened with the library that reads it, plus audit and sensitivity rules."""

from __future__ import annotations

import csv
import io
import json
import re

import networkx as nx
import openpyxl
import pytest
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import select

from beatmap.cli import cli
from beatmap.export import ExportError, export
from beatmap.export.htmlmap import LEAFLET_DIR
from graph.rank import rank_all
from storage.db import make_engine, session_scope
from storage.models import AuditEntry, Post, Venue
from tests.test_graph_fixtures import AS_OF, Maker, small_world

HOSTILE = "=HYPERLINK(\"http://evil.example\",\"x\")</script><img src=x onerror=alert(1)>"


@pytest.fixture
def db(sqlite_db):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        m = Maker(s)
        w = small_world(m)
        w["blog"].name = HOSTILE
        w["kt"].name = "@Kemptown Forum"
        sens = m.venue("hanover-faith.example", "Hanover Chapel Friends", sensitive=True)
        for i in range(5):
            m.post(sens, days_ago=i + 1, places=[w["elm"], w["qpr"]],
                   text="SECRET POST TEXT by @realhandle")
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
    yield sqlite_db, engine
    engine.dispose()


def do_export(db, fmt, path, *extra):
    url, _ = db
    result = CliRunner().invoke(cli, ["--db", url, "export", "--format", fmt, "--out", str(path),
                                      "--reason", "beat meeting", *extra])
    assert result.exit_code == 0, result.output
    return result


def _no_private_text(text: str) -> None:
    assert "SECRET POST TEXT" not in text and "realhandle" not in text
    assert "Hanover Chapel Friends" not in text


def test_xlsx(db, tmp_path):
    path = tmp_path / "beats.xlsx"
    result = do_export(db, "xlsx", path)
    assert "2 beats, 5 venue rows" in result.output
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Summary", "East Brighton", "Hanover and Elm Grove"]
    ws = wb["Hanover and Elm Grove"]
    header = [c.value for c in ws[1]]
    assert header[:5] == ["rank", "venue", "platform", "URL", "score"]
    assert {"locality", "activity", "reach", "topical", "feedback", "reason", "places",
            "topics", "last active", "status", "flags", "outreach", "contact route"} <= set(header)
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref == "A1:T5"
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [1, 2, 3, 4]
    assert rows[0][1] == "Hanover Residents Association"
    assert rows[0][header.index("contact route")] == "email chair@hanover-ra.example"
    url_cell = ws.cell(row=2, column=header.index("URL") + 1)
    assert url_cell.hyperlink.target == "https://hanover-ra.example/"
    # The hostile name is text, not a formula, anywhere in the book.
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    assert ("'" + HOSTILE) in [r[1] for r in rows]
    assert ws.column_dimensions["K"].width == 70
    # One map image per beat sheet, a real PNG of the right size.
    assert len(ws._images) == 1
    png = Image.open(io.BytesIO(ws._images[0]._data()))
    assert png.format == "PNG" and png.size == (640, 480)
    summary = wb["Summary"]
    cells = [c.value for row in summary.iter_rows() for c in row if c.value]
    assert "beat meeting" in cells and "Hanover and Elm Grove" in cells
    link = next(c for row in summary.iter_rows() for c in row if c.value == "East Brighton")
    assert link.hyperlink.location == "'East Brighton'!A1"
    _no_private_text(json.dumps([[c.value for c in r] for s in wb.worksheets
                                 for r in s.iter_rows()], default=str))


def test_csv(db, tmp_path):
    path = tmp_path / "beats.csv"
    do_export(db, "csv", path, "--beat", "E05002425")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 4 and rows[0]["beat_key"] == "E05002425"
    assert rows[0]["places"] == "Elm Grove; Queen's Park Road"
    for r in rows:
        for key, v in r.items():
            if key not in ("lat", "lon"):  # numbers stay numbers; no text may run
                assert not v.startswith(("=", "+", "-", "@")), (key, v)
    assert ("'" + HOSTILE) in [r["name"] for r in rows]
    _no_private_text(raw.decode("utf-8-sig"))


def test_gexf_and_graphml_read_back(db, tmp_path):
    for fmt, reader in (("gexf", nx.read_gexf), ("graphml", nx.read_graphml)):
        path = tmp_path / f"g.{fmt}"
        do_export(db, fmt, path)
        G = reader(path)
        kinds = {d["kind"] for _, d in G.nodes(data=True)}
        assert kinds == {"venue", "place", "beat", "topic"}
        venues = {d["label"]: d for _, d in G.nodes(data=True) if d["kind"] == "venue"}
        assert "Hanover Residents Association" in venues
        assert "Preston Lancs Chat" not in venues  # listed nowhere
        ra = venues["Hanover Residents Association"]
        assert float(ra["score"]) > 0.5 and ra["best_beat"] == "E05002425"
        weights = [float(d["weight"]) for *_, d in G.edges(data=True) if d["kind"] == "link"]
        assert weights and max(weights) == 3.0
        _no_private_text(path.read_text(encoding="utf-8"))


def test_geojson(db, tmp_path):
    path = tmp_path / "beats.geojson"
    do_export(db, "geojson", path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    beats = [f for f in data["features"] if f["properties"]["kind"] == "beat"]
    venues = [f for f in data["features"] if f["properties"]["kind"] == "venue"]
    assert len(beats) == 2 and len(venues) == 5
    for f in beats:
        assert f["geometry"]["type"] == "Polygon"
        ring = f["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1]
    for f in venues:
        lon, lat = f["geometry"]["coordinates"]
        assert f["geometry"]["type"] == "Point"
        assert -1 < lon < 0 and 50 < lat < 51  # lon first (RFC 7946), Brighton
        assert isinstance(f["properties"]["places"], str)
    _no_private_text(path.read_text(encoding="utf-8"))


@pytest.mark.skipif(not (LEAFLET_DIR / "leaflet.js").exists(), reason="Leaflet not installed")
def test_html_is_offline_and_escaped(db, tmp_path):
    path = tmp_path / "map.html"
    do_export(db, "html", path)
    page = path.read_text(encoding="utf-8")
    assert "L.map(" in page and ".leaflet-container" in page  # Leaflet inlined
    # No CDN or remote asset: no script, stylesheet or image is loaded from anywhere.
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", page)
    assert "@import" not in page
    assert "tile.openstreetmap" not in page and "L.tileLayer(data.tile_url" in page
    data_block = page.split('id="beatmap-data">', 1)[1].split("</script>", 1)[0]
    assert "</script" not in data_block and "<img" not in data_block
    data = json.loads(data_block)
    assert data["tile_url"] == ""
    assert HOSTILE in [v["name"] for b in data["beats"] for v in b["venues"]]
    _no_private_text(data_block)


def test_audit_entry_for_every_export(db, tmp_path):
    url, engine = db
    for fmt in ("csv", "geojson"):
        do_export(db, fmt, tmp_path / f"x.{fmt}", "--beat", "Hanover and Elm Grove")
    with session_scope(engine) as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "export")
                                 .order_by(AuditEntry.id)))
    assert [e.detail["format"] for e in entries] == ["csv", "geojson"]
    e = entries[0]
    assert e.actor.startswith("cli:") and e.reason == "beat meeting"
    assert e.object_type == "beat" and e.object_id == "E05002425"
    assert e.detail["rows"] == 4 and e.detail["include_sensitive"] is False
    assert e.detail["path"].endswith("x.csv")


def test_sensitive_only_with_reason(db, tmp_path):
    url, engine = db
    with session_scope(engine) as s:
        with pytest.raises(ExportError, match="needs a reason"):
            export(s, "csv", tmp_path / "s.csv", include_sensitive=True)
    assert not (tmp_path / "s.csv").exists()
    do_export(db, "csv", tmp_path / "s.csv", "--include-sensitive")
    text = (tmp_path / "s.csv").read_text(encoding="utf-8-sig")
    assert "Hanover Chapel Friends" in text and "sensitive" in text
    assert "SECRET POST TEXT" not in text
    with session_scope(engine) as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
        assert entry.detail["include_sensitive"] is True


def test_bad_requests_are_clear_and_leave_nothing(db, tmp_path):
    url, engine = db
    runner = CliRunner()
    missing = tmp_path / "nope" / "x.xlsx"
    result = runner.invoke(cli, ["--db", url, "export", "--format", "xlsx", "--out", str(missing),
                                 "--reason", "beat meeting"])
    assert result.exit_code == 1 and "folder for the export does not exist" in result.output
    result = runner.invoke(cli, ["--db", url, "export", "--format", "pdf", "--out", "x.pdf"])
    assert result.exit_code == 2 and "Invalid value for '--format'" in result.output
    result = runner.invoke(cli, ["--db", url, "export", "--format", "csv", "--beat", "Nowhere",
                                 "--out", str(tmp_path / "n.csv"), "--reason", "beat meeting"])
    assert result.exit_code == 1 and "no beat with key or name 'Nowhere'" in result.output
    assert not list(tmp_path.glob("*.csv")) and not list(tmp_path.glob(".export-*"))
    with session_scope(engine) as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "export")).first() is None


def test_posts_untouched_by_export(db, tmp_path):
    """Exports read; they never change venues or posts."""
    url, engine = db
    with session_scope(engine) as s:
        before = (s.scalar(select(Post.id).order_by(Post.id).limit(1)),
                  [v.state for v in s.scalars(select(Venue).order_by(Venue.id))])
    do_export(db, "xlsx", tmp_path / "a.xlsx")
    with session_scope(engine) as s:
        after = (s.scalar(select(Post.id).order_by(Post.id).limit(1)),
                 [v.state for v in s.scalars(select(Venue).order_by(Venue.id))])
    assert before == after


def test_export_before_ranking_warns(sqlite_db, tmp_path):
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        Maker(s).beat("B1", "Beat one")
    engine.dispose()
    result = CliRunner().invoke(cli, ["--db", sqlite_db, "export", "--format", "geojson",
                                      "--out", str(tmp_path / "e.geojson"),
                                      "--reason", "beat meeting"])
    assert result.exit_code == 0
    assert "no ranked venues to export; run `beatmap rank` first" in result.output
    data = json.loads((tmp_path / "e.geojson").read_text())
    assert [f["properties"]["kind"] for f in data["features"]] == ["beat"]
