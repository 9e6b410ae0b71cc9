"""Sensitive never disclosed (issue 16, cases 1 and 3, and the CLI export reason).

A venue that the product flags sensitive by itself (``rank_all`` runs ``flag_sensitive``) links
to and is linked from ordinary venues, so before the fix its name sat in their reasons ("linked
from 3 local venues (Hanover Mental Health Peer Support, …)"). After ranking, every page a
sergeant or an analyst (without a logged reason) can reach, every data twin, every export format
and the graph files are searched for its name, key, URL, id and category: none may appear.
The same seeding with ``--include-sensitive`` and a reason does name it (the positive control:
the search would find a leak). Real SQLite database, real Flask app, real CLI.
"""

from __future__ import annotations

import io
import re
import zipfile
from urllib.parse import urlsplit

import networkx as nx
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from beatmap.cli import cli
from beatmap.web.users import add_user
from graph.queries import beat_ranking
from graph.rank import rank_all
from storage.db import make_engine, session_scope
from storage.ids import stable_id
from storage.models import AuditEntry, Venue
from tests.test_graph_fixtures import AS_OF, Maker, small_world
from tests.web_helpers import PASSWORDS, make_app, post, sign_in

SENSITIVE_KEY = "hanover-mh-peer.example"
SENSITIVE_NAME = "Hanover Mental Health Peer Support"
MERGED_KEY = "old-peer-page.example"
BEATS = ("E05002425", "E05002422")
FORMATS = ("csv", "xlsx", "geojson", "gexf", "graphml", "html")
HREF = re.compile(r'href="(/[^"#]*)"')


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One ranked database per module: (url, engine, sensitive venue id, merged venue id)."""
    from storage.db import init_db

    path = tmp_path_factory.mktemp("sensitive") / "beatmap.db"
    url = f"sqlite:///{path}"
    init_db(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        m = Maker(s)
        w = small_world(m)
        # Not flagged by hand: the ranking must flag it from its name.
        sens = m.venue(SENSITIVE_KEY, SENSITIVE_NAME, platform="discourse")
        for i in range(10):
            m.post(sens, days_ago=2 + i * 3, author=f"s{i % 4}", places=[w["elm"], w["qpr"], w["pc"]])
        m.link(sens, w["fb"], 5)   # it links to ordinary venues …
        m.link(sens, w["ra"], 2)
        m.link(w["ra"], sens, 4)   # … and is linked from them
        m.link(w["blog"], sens)
        merged = m.venue(MERGED_KEY, "Old Peer Page")
        merged.merged_into_id = sens.id
        for role, password in PASSWORDS.items():
            add_user(s, f"{role}1", role, password)
        ids = sens.id, merged.id
    with session_scope(engine) as s:
        stats = rank_all(s, as_of=AS_OF)
        assert stats.sensitive >= 1
    with Session(engine) as s:
        v = s.get(Venue, ids[0])
        assert v.sensitive and v.sensitive_reason == "health: mental health"
    yield url, engine, *ids
    engine.dispose()


def forbidden(sens_id: int) -> list[str]:
    """What must never be shown of the sensitive venue (compared case-insensitively)."""
    return [SENSITIVE_NAME, "Mental Health", "Peer Support", SENSITIVE_KEY,
            f"https://{SENSITIVE_KEY}/", str(sens_id), "health: mental"]


def assert_clean(text: str, sens_id: int, where: str) -> None:
    low = text.lower()
    for word in forbidden(sens_id):
        assert word.lower() not in low, f"{word!r} disclosed in {where}"


def file_text(data: bytes) -> str:
    """A file's text; for XLSX (a zip) every member's."""
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return data.decode("utf-8-sig", "replace")


def test_positive_control_reason_would_name_it(world):
    """With leave to see sensitive venues, the linked venue's reason names it: the searches
    below look for something that is really there to leak."""
    url, engine, sens_id, _ = world
    with Session(engine) as s:
        shown = {r["name"]: r for r in beat_ranking(s, BEATS[0], include_sensitive=True)}
        assert SENSITIVE_NAME in shown["Hanover Local Facebook group"]["reason"]
        hidden = {r["name"]: r for r in beat_ranking(s, BEATS[0])}
    reason = hidden["Hanover Local Facebook group"]["reason"]
    assert "linked from 3 local venues" in reason and "1 other" in reason, reason
    assert_clean(reason, sens_id, "stored ranking")


def crawl(client, start: list[str], skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every same-site page reachable by GET links from ``start``: {url: html}."""
    seen: dict[str, str] = {}
    todo = list(start)
    while todo and len(seen) < 400:
        url = todo.pop()
        if url in seen or url.startswith(("/static", "/vendor", "/logout")) or \
                url.startswith(skip):
            continue
        r = client.get(url)
        assert r.status_code in (200, 302, 404), (url, r.status_code)
        html = r.get_data(as_text=True)
        seen[url] = html
        if r.status_code == 302:
            todo.append(urlsplit(r.headers["Location"]).path)
        for href in HREF.findall(html):
            if not re.search(r"\.(json|csv|xlsx)$", urlsplit(href).path):
                todo.append(href.replace("&amp;", "&"))
    return seen


@pytest.mark.parametrize("role", ["sergeant", "analyst"])
def test_no_page_or_twin_discloses_it(world, role):
    url, engine, sens_id, _ = world
    app = make_app(url, engine)
    client = app.test_client()
    sign_in(client, role)
    with Session(engine) as s:
        ordinary = [v.id for v in s.scalars(select(Venue).where(Venue.sensitive.is_(False),
                                                                 Venue.merged_into_id.is_(None)))]
    start = ["/", "/beats", *[f"/beats/{b}?limit=all" for b in BEATS],
             *[f"/venues/{vid}" for vid in ordinary],
             *[f"/venues/{vid}?beat={BEATS[0]}" for vid in ordinary]]
    if role == "analyst":
        start.append("/crawls")
    pages = crawl(client, start, skip=(f"/venues/{sens_id}",))
    assert len(pages) >= len(start) - 1
    for page, html in pages.items():
        assert_clean(html, sens_id, f"{role} page {page}")
    beat = pages[f"/beats/{BEATS[0]}?limit=all"]
    assert ("sensitive venue" in beat) == (role == "analyst")  # analysts are told how many
    for key in BEATS:
        for fmt in ("json", "csv", "xlsx"):
            r = post(client, f"/beats/{key}.{fmt}", {"reason": "ward panel 12 May",
                                                      "limit": "all"})
            assert r.status_code == 200, (key, fmt)
            assert_clean(file_text(r.data), sens_id, f"{role} twin {key}.{fmt}")
    # The venue pages of its neighbours count it without naming it.
    fb_page = pages[f"/venues/{stable_id('venue', 'facebook.com/groups/hanoverlocal')}"]
    assert "and 1 other" in fb_page and "a sensitive venue" in fb_page


def test_every_export_and_the_graph_files(world, tmp_path):
    url, engine, sens_id, merged_id = world
    runner = CliRunner()
    for fmt in FORMATS:
        for beat in ([], ["--beat", BEATS[0]]):
            out = tmp_path / f"x{len(beat)}.{fmt}"
            result = runner.invoke(cli, ["--db", url, "export", "--format", fmt, "--out",
                                         str(out), "--reason", "ward panel", *beat])
            assert result.exit_code == 0, result.output
            assert_clean(file_text(out.read_bytes()), sens_id, f"export {fmt} {beat}")
    for fmt, read in (("gexf", nx.read_gexf), ("graphml", nx.read_graphml)):
        G = read(tmp_path / f"x0.{fmt}")
        assert f"venue:{sens_id}" not in G and f"venue:{merged_id}" not in G
        assert not [e for e in G.edges if f"venue:{sens_id}" in e]
        assert "Hanover Local Facebook group" in {d.get("label") for _, d in G.nodes(data=True)}
    for fmt in ("json", "csv", "table"):
        result = runner.invoke(cli, ["--db", url, "rank", "--no-recompute", "--format", fmt])
        assert result.exit_code == 0, result.output
        assert_clean(result.output, sens_id, f"rank --format {fmt}")
    # Positive control: asked for, with a reason, the export names it.
    out = tmp_path / "with.csv"
    result = runner.invoke(cli, ["--db", url, "export", "--format", "csv", "--out", str(out),
                                 "--reason", "safeguarding review", "--include-sensitive"])
    assert result.exit_code == 0, result.output
    assert SENSITIVE_NAME in out.read_text(encoding="utf-8-sig")
    gexf = tmp_path / "with.gexf"
    runner.invoke(cli, ["--db", url, "export", "--format", "gexf", "--out", str(gexf),
                        "--reason", "safeguarding review", "--include-sensitive"])
    assert f"venue:{sens_id}" in nx.read_gexf(gexf)


def _headers(response) -> list[tuple[str, str]]:
    """The headers, with a re-issued session cookie reduced to its name and attribute names
    (its signed value and Expires carry the second it was made, which may tick between the
    two requests)."""
    out = []
    for name, value in response.headers.items():
        if name.lower() == "set-cookie":
            cookie, *attrs = value.split(";")
            value = cookie.split("=", 1)[0] + ";" + ";".join(
                sorted(a.split("=", 1)[0].strip().lower() for a in attrs))
        out.append((name, value))
    return sorted(out)


def _same_404(a, b, a_id: int, b_id: int) -> None:
    assert a.status_code == b.status_code == 404
    assert a.get_data(as_text=True).replace(str(a_id), "ID") == \
        b.get_data(as_text=True).replace(str(b_id), "ID")
    assert _headers(a) == _headers(b)


def test_sensitive_venue_is_a_plain_404_for_a_sergeant(world):
    url, engine, sens_id, merged_id = world
    app = make_app(url, engine)
    client = app.test_client()
    sign_in(client, "sergeant")
    unknown = sens_id + 1 if len(str(sens_id + 1)) == len(str(sens_id)) else sens_id - 1
    with Session(engine) as s:
        assert s.get(Venue, unknown) is None
    _same_404(client.get(f"/venues/{sens_id}"), client.get(f"/venues/{unknown}"),
              sens_id, unknown)
    _same_404(post(client, f"/venues/{sens_id}/outreach", {"status": "engaged"}),
              post(client, f"/venues/{unknown}/outreach", {"status": "engaged"}),
              sens_id, unknown)
    # A venue merged into it does not redirect there (the Location would carry its id).
    r = client.get(f"/venues/{merged_id}")
    assert r.status_code == 404 and str(sens_id) not in r.get_data(as_text=True)
    # An analyst is asked for a reason instead, and the beat page opens it by number only.
    analyst = app.test_client()
    sign_in(analyst, "analyst")
    assert "Why do you need to see it" in analyst.get(f"/venues/{sens_id}").get_data(
        as_text=True)
    assert post(analyst, f"/beats/{BEATS[0]}/sensitive", {"n": "1"}).status_code == 400
    assert post(client, f"/beats/{BEATS[0]}/sensitive",
                {"n": "1", "reason": "just looking"}).status_code == 403
    r = post(analyst, f"/beats/{BEATS[0]}/sensitive", {"n": "1", "reason": "safeguarding"})
    assert r.status_code == 302 and r.headers["Location"].startswith(f"/venues/{sens_id}")
    html = analyst.get(f"/venues/{sens_id}").get_data(as_text=True)
    assert SENSITIVE_NAME in html and "This view is audited" in html
    with Session(engine) as s:
        given = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "venue.sensitive_reason")).all()
        assert [(e.object_id, e.reason) for e in given][-1] == (str(sens_id), "safeguarding")


def test_cli_export_needs_a_reason(world, tmp_path):
    url, engine, _, _ = world
    runner = CliRunner()
    with Session(engine) as s:
        before = len(s.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all())
    out = tmp_path / "x.csv"
    base = ["--db", url, "export", "--format", "csv", "--out", str(out)]
    result = runner.invoke(cli, base, env={"BEATMAP_EXPORT_PURPOSE": None})
    assert result.exit_code == 2 and "--reason" in result.output and not out.exists()
    result = runner.invoke(cli, [*base, "--reason", "x"])
    assert result.exit_code == 1 and "needs a reason" in result.output and not out.exists()
    result = runner.invoke(cli, [*base, "--include-sensitive"],
                           env={"BEATMAP_EXPORT_PURPOSE": "monthly ward report"})
    assert result.exit_code == 2 and "--include-sensitive needs its own --reason" in \
        result.output and not out.exists()
    result = runner.invoke(cli, base, env={"BEATMAP_EXPORT_PURPOSE": "monthly ward report"})
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, [*base, "--reason", "ward panel 12 May"])
    assert result.exit_code == 0, result.output
    with Session(engine) as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "export")
                            .order_by(AuditEntry.id)).all()[before:]
    assert [(e.reason, e.detail["reason_source"]) for e in entries] == [
        ("monthly ward report", "export_purpose"), ("ward panel 12 May", "given")]
    assert all(e.actor.startswith("cli:") for e in entries)
