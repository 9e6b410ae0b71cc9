"""Web UI with Flask's test client: access rules, CSRF, headers, escaping, twins, outreach,
curation, sensitive venues and audit entries, on a real SQLite database."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from beatmap.web import crawls
from sampleweb.uidata import HOSTILE
from storage.db import init_db, make_engine
from storage.models import (
    AuditEntry,
    Beat,
    CrawlRun,
    Meta,
    Outreach,
    Page,
    Seed,
    User,
    Venue,
    VenueAlias,
)
from tests.crawlsite import MiniWeb
from tests.crawlsite import html as crawl_html
from tests.crawlsite import text as crawl_text
from tests.web_helpers import csrf_of, make_app, make_web_db, post, sign_in

BEAT = "E05002425"  # Hanover and Elm Grove


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One sample database per module; each test works on its own copy of the file."""
    path = tmp_path_factory.mktemp("template") / "beatmap.db"
    init_db(f"sqlite:///{path}")
    engine, info = make_web_db(f"sqlite:///{path}")
    engine.dispose()  # closes the last connection: the WAL is folded into the file
    return path, info


@pytest.fixture
def web(template, tmp_path):
    path = tmp_path / "beatmap.db"
    shutil.copyfile(template[0], path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    app = make_app(url, engine)
    yield app, engine, template[1]
    engine.dispose()


@pytest.fixture
def app(web):
    return web[0]


def client_as(app, role: str | None):
    client = app.test_client()
    if role:
        sign_in(client, role)
    return client


def audit_actions(engine, action: str) -> list[AuditEntry]:
    with Session(engine) as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)))


def a_venue(engine, *, sensitive: bool = False, hostile_ids=()) -> int:
    with Session(engine) as s:
        q = select(Venue.id).where(Venue.sensitive.is_(sensitive))
        if hostile_ids:
            q = q.where(Venue.id.in_(hostile_ids))
        return s.scalars(q.order_by(Venue.key)).first()


# --- access rules -----------------------------------------------------------------------------

# Every route, with a concrete URL and the lowest role that may use it. The completeness test
# below fails when a route is added without a rule here.
def route_table(engine) -> list[tuple[str, str, str, str]]:
    vid = a_venue(engine)
    return [
        ("auth.home", "GET", "/", "sergeant"),
        ("auth.logout", "POST", "/logout", "sergeant"),
        ("beats.beats", "GET", "/beats", "sergeant"),
        ("beats.beat", "GET", f"/beats/{BEAT}", "sergeant"),
        ("beats.beat_twin", "GET", f"/beats/{BEAT}.csv", "sergeant"),
        ("beats.open_hidden", "POST", f"/beats/{BEAT}/sensitive", "analyst"),
        ("venues.venue", "GET", f"/venues/{vid}", "sergeant"),
        ("venues.outreach", "POST", f"/venues/{vid}/outreach", "sergeant"),
        ("venues.view_sensitive", "POST", f"/venues/{vid}/sensitive", "analyst"),
        ("venues.curation", "POST", f"/venues/{vid}/curation", "analyst"),
        ("venues.merge", "POST", f"/venues/{vid}/merge", "analyst"),
        ("team.crawl_page", "GET", "/crawls", "analyst"),
        ("team.add_seed", "POST", "/seeds", "analyst"),
        ("team.start_crawl", "POST", "/crawls/start", "analyst"),
        ("team.users", "GET", "/admin/users", "admin"),
        ("team.retention", "GET", "/admin/retention", "admin"),
        ("team.audit_log", "GET", "/admin/audit", "admin"),
    ]


PUBLIC = {"static", "vendor", "auth.login"}


def test_every_route_has_an_access_rule(web):
    app, engine, _ = web
    covered = {endpoint for endpoint, *_ in route_table(engine)}
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - PUBLIC
    assert endpoints == covered


def test_anonymous_is_sent_to_sign_in(web):
    app, engine, _ = web
    client = app.test_client()
    for _endpoint, method, url, _role in route_table(engine):
        if method == "GET":
            r = client.get(url)
            assert r.status_code == 302, url
            assert r.headers["Location"].startswith("/login?next="), url
        else:
            r = post(client, url)
            assert r.status_code == 401, url
    assert client.get("/login").status_code == 200


@pytest.mark.parametrize("role", ["sergeant", "analyst", "admin"])
def test_roles_reach_only_their_pages(web, role):
    app, engine, _ = web
    client = client_as(app, role)
    levels = {"sergeant": 0, "analyst": 1, "admin": 2}
    for _endpoint, method, url, needed in route_table(engine):
        if url == "/logout":
            continue
        r = client.get(url) if method == "GET" else post(client, url, {})
        if levels[role] < levels[needed]:
            assert r.status_code == 403, (role, url, r.status_code)
        else:
            assert r.status_code in (200, 302, 400), (role, url, r.status_code)


def test_post_without_csrf_token_is_refused(web):
    app, engine, info = web
    client = client_as(app, "admin")
    vid = a_venue(engine)
    with Session(engine) as s:
        before = s.scalar(select(func.count()).select_from(Outreach))
    for _endpoint, method, url, _role in route_table(engine):
        if method != "POST":
            continue
        r = client.post(url, data={"status": "engaged", "state": "out", "url": "https://x.test/"})
        assert r.status_code == 400, url
        assert "CSRF" in r.get_data(as_text=True)
        r = client.post(url, data={"status": "engaged", "csrf_token": "forged"})
        assert r.status_code == 400, url
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Outreach)) == before
        assert s.get(Venue, vid).state != "out"
    # the sign-in form is protected too
    assert app.test_client().post("/login", data={"username": "admin1",
                                                  "password": "admin-pass-1"}).status_code == 400


# --- sign-in, sessions, headers ------------------------------------------------------------------


def test_sign_in_sets_safe_cookie_and_audits(web):
    app, engine, _ = web
    client = app.test_client()
    r = sign_in(client, "sergeant")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert r.headers["Location"] == "/beats"
    entries = audit_actions(engine, "login")
    assert [e.actor for e in entries] == ["sergeant1"]
    assert client.get("/beats").status_code == 200


def test_secure_cookie_setting(sqlite_db):
    engine, _ = make_web_db(sqlite_db, venues=5)
    app = make_app(sqlite_db, engine, web_secure_cookies="yes")
    client = app.test_client()
    r = sign_in(client, "sergeant")
    assert "Secure" in r.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in r.headers


def test_wrong_password_and_throttling(web):
    app, engine, _ = web
    client = app.test_client()
    for _ in range(5):
        r = client.post("/login", data={"username": "sergeant1", "password": "nope-nope-nope",
                                         "csrf_token": csrf_of(client)})
        assert r.status_code == 401
        assert "Wrong user name or password" in r.get_data(as_text=True)
    r = client.post("/login", data={"username": "sergeant1", "password": "sergeant-pass-1",
                                     "csrf_token": csrf_of(client)})
    assert r.status_code == 429 and "Too many failed sign-ins" in r.get_data(as_text=True)
    assert len(audit_actions(engine, "login.failed")) == 5
    assert len(audit_actions(engine, "login.throttled")) == 1
    # another user from the same address is not locked out by these five
    sign_in(client, "analyst")


def test_throttle_window_expires():
    from beatmap.web.security import LoginThrottle

    now = [1000.0]
    throttle = LoginThrottle(per_pair=2, per_ip=10, window=60, clock=lambda: now[0])
    throttle.failed("a", "1.2.3.4")
    assert throttle.retry_after("a", "1.2.3.4") == 0
    throttle.failed("a", "1.2.3.4")
    assert 0 < throttle.retry_after("a", "1.2.3.4") <= 61
    assert throttle.retry_after("a", "5.6.7.8") == 0
    now[0] += 61
    assert throttle.retry_after("a", "1.2.3.4") == 0


def test_disabled_user_and_password_change_end_sessions(web):
    app, engine, _ = web
    client = client_as(app, "sergeant")
    from beatmap.web.users import set_password

    with Session(engine) as s:
        set_password(s, "sergeant1", "another-password-2")
        s.commit()
    assert client.get("/beats").status_code == 302
    from beatmap.web.users import set_disabled, set_role

    analyst, admin = client_as(app, "analyst"), client_as(app, "admin")
    with admin.session_transaction() as sess:
        assert sess["uid"] and "$argon2" not in str(dict(sess))  # no hash in the cookie
    with Session(engine) as s:
        set_disabled(s, "analyst1", True)
        set_role(s, "admin1", "sergeant")
        s.commit()
    assert analyst.get("/beats").status_code == 302
    assert admin.get("/admin/users").status_code == 302  # signed out, not just demoted


def test_open_redirect_refused(web):
    app, _, _ = web
    client = app.test_client()
    r = client.post("/login", data={"username": "sergeant1", "password": "sergeant-pass-1",
                                     "next": "//evil.example/", "csrf_token": csrf_of(client)})
    assert r.headers["Location"] == "/beats"


def test_security_headers_and_no_inline_script(web):
    app, engine, info = web
    client = client_as(app, "admin")
    vid = a_venue(engine)
    for url in ("/beats", f"/beats/{BEAT}", f"/venues/{vid}", "/crawls", "/admin/users",
                "/admin/audit", "/admin/retention", "/login"):
        r = client.get(url)
        assert r.status_code == 200, url
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["Cache-Control"] == "no-store"
        html = r.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (url, tag)
        assert " style=" not in html and "<style" not in html, url
        assert re.search(r"\son[a-z]+=", html) is None, url


def test_tile_url_is_allowed_by_the_policy(sqlite_db):
    engine, _ = make_web_db(sqlite_db, venues=5)
    app = make_app(sqlite_db, engine, tile_url="https://{s}.tiles.example/{z}/{x}/{y}.png")
    r = client_as(app, "sergeant").get(f"/beats/{BEAT}")
    assert "img-src 'self' data: https://*.tiles.example" in r.headers["Content-Security-Policy"]
    assert 'data-tiles="https://{s}.tiles.example/{z}/{x}/{y}.png"' in r.get_data(as_text=True)


def test_leaflet_is_served_by_the_app(app):
    r = app.test_client().get("/vendor/leaflet/leaflet.js")
    assert r.status_code == 200 and b"Leaflet" in r.data[:2000]
    assert app.test_client().get("/vendor/leaflet/../../package.json").status_code == 404


def test_web_and_export_find_leaflet_the_same_way(tmp_path):
    """One LEAFLET_DIR for the web UI and the HTML export: the package's copy (what a wheel
    carries) before the clone's node_modules."""
    from beatmap import assets
    from beatmap.export import htmlmap
    from beatmap.web import app as web_app

    assert web_app.LEAFLET_DIR == htmlmap.LEAFLET_DIR == assets.LEAFLET_DIR
    package, clone = tmp_path / "package", tmp_path / "clone"
    for folder in (package, clone):
        folder.mkdir()
        (folder / "leaflet.js").write_text("// Leaflet", encoding="utf-8")
    assert assets.find_leaflet(package, clone) == package
    (package / "leaflet.js").unlink()
    assert assets.find_leaflet(package, clone) == clone


def test_downloads_are_made_in_memory():
    """The data twins are written to a stream, never through a temporary folder."""
    from pathlib import Path

    import beatmap.web

    sources = {p.name: p.read_text(encoding="utf-8")
               for p in Path(beatmap.web.__file__).parent.glob("*.py")}
    assert not [name for name, text in sources.items() if "tempfile" in text]


def test_secret_key_is_generated_once_and_kept(sqlite_db):
    engine, _ = make_web_db(sqlite_db, venues=2)
    first = make_app(sqlite_db, engine).secret_key
    second = make_app(sqlite_db, engine).secret_key
    assert first == second and len(first) > 40
    with Session(engine) as s:
        assert s.get(Meta, "web_secret_key").value == first
    assert make_app(sqlite_db, engine, secret_key="from-settings").secret_key == "from-settings"


# --- hostile scraped text -------------------------------------------------------------------------


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's parser sees them."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _assert_inert(html: str) -> None:
    for bad in HOSTILE[:3]:
        assert bad not in html
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag != "img", attrs  # our pages have no images: any img came from scraped text
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript:"), attrs
        if tag == "script":
            assert attrs.get("src") or attrs.get("type") == "application/json", attrs
    # the JSON data block cannot be closed early by a name, and parses
    for block in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S):
        assert "<" not in block
        json.loads(block)


def test_hostile_text_is_escaped_everywhere(web):
    app, engine, info = web
    client = client_as(app, "admin")
    pages = ["/beats", "/admin/audit"]
    with Session(engine) as s:
        beats = {b.id: b.key for b in s.scalars(select(Beat))}
        from storage.models import VenueScore
        hostile_beats = {beats[b] for b in s.scalars(
            select(VenueScore.beat_id).where(VenueScore.venue_id.in_(info.hostile_ids)))}
    pages += [f"/beats/{k}" for k in sorted(hostile_beats)]
    pages += [f"/venues/{vid}" for vid in info.hostile_ids]
    seen_escaped = 0
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        _assert_inert(html)
        seen_escaped += "&lt;script&gt;" in html or "&#34;&gt;&lt;img" in html
    assert seen_escaped >= 3  # the hostile text is shown, as text


def test_hostile_text_in_twins_is_inert(web):
    app, engine, info = web
    client = client_as(app, "sergeant")
    key = _beat_with_hostile(engine, info)
    data = post(client, f"/beats/{key}.csv", {"reason": "check csv", "limit": "all"}).data
    text = data.decode("utf-8-sig")
    for row in csv.DictReader(io.StringIO(text)):
        for column in ("name", "reason", "places", "topics", "contact", "url", "flags"):
            assert not row[column].startswith(("=", "+", "-", "@")), row[column]
    assert "'=HYPERLINK" in text  # shown, as text
    wb = load_workbook(io.BytesIO(post(client, f"/beats/{key}.xlsx",
                                       {"reason": "=check xlsx", "limit": "all"}).data))
    names = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.value
                names.append(str(cell.value))
    assert any("HYPERLINK" in n and n.startswith("'=") for n in names)  # shown, as text


def _beat_with_hostile(engine, info) -> str:
    from storage.models import VenueScore

    with Session(engine) as s:
        beat_id = s.scalars(select(VenueScore.beat_id).where(
            VenueScore.venue_id == info.hostile_ids[-1])).first()
        return s.get(Beat, beat_id).key


# --- data twins ---------------------------------------------------------------------------------


def page_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<li class="venue[^"]*" id="v(\d+)"', html)]


@pytest.mark.parametrize("query", [{}, {"crawlable": "known"}, {"platform": "?"},
                                   {"topic": "?", "limit": "5"}, {"outreach": "none"}])
def test_twins_have_the_page_rows(web, query):
    app, engine, _ = web
    client = client_as(app, "sergeant")
    if "?" in query.values():  # filter on a value the beat's top venue has
        top = json.loads(post(client, f"/beats/{BEAT}.json", {"reason": "pick a filter"}).data)
        top = top["rows"][0]
        query = {k: (top[k + "s"][0] if k == "topic" else top[k]) if v == "?" else v
                 for k, v in query.items()}
    html = client.get(f"/beats/{BEAT}", query_string=query).get_data(as_text=True)
    ids = page_ids(html)
    assert ids, "the sample beat has venues"
    form = {**query, "reason": "ward panel meeting"}
    doc = json.loads(post(client, f"/beats/{BEAT}.json", form).data)
    assert [r["venue_id"] for r in doc["rows"]] == ids
    rows = list(csv.DictReader(io.StringIO(post(client, f"/beats/{BEAT}.csv", form)
                                           .data.decode("utf-8-sig"))))
    assert [int(r["venue_id"]) for r in rows] == ids
    wb = load_workbook(io.BytesIO(post(client, f"/beats/{BEAT}.xlsx", form).data))
    assert wb.sheetnames == ["Summary", "Hanover and Elm Grove"]
    ws = wb["Hanover and Elm Grove"]
    header = [c.value for c in ws[1]]
    by_url = {r["url"]: r["venue_id"] for r in doc["rows"]}
    urls = [r[header.index("URL")] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [by_url[u] for u in urls] == ids
    assert ws.cell(row=2, column=header.index("URL") + 1).hyperlink is not None
    if query.get("crawlable") == "known":
        assert all(r["crawlable"] is False for r in doc["rows"])


def test_export_needs_a_reason_and_is_audited(web):
    app, engine, _ = web
    client = client_as(app, "sergeant")
    form = client.get(f"/beats/{BEAT}.xlsx")
    assert form.status_code == 200 and "Why are you exporting" in form.get_data(as_text=True)
    r = post(client, f"/beats/{BEAT}.xlsx", {"reason": " "})
    assert r.status_code == 400
    assert audit_actions(engine, "export") == []
    r = post(client, f"/beats/{BEAT}.xlsx", {"reason": "ward panel 12 May", "platform": "reddit"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["Content-Disposition"]
    (entry,) = audit_actions(engine, "export")
    assert entry.actor == "sergeant1" and entry.reason == "ward panel 12 May"
    assert entry.object_id == BEAT and entry.detail["format"] == "xlsx"
    assert entry.detail["filters"]["platform"] == "reddit"
    assert client.get(f"/beats/{BEAT}.exe").status_code == 404


def test_sensitive_venues_hidden_from_lists_and_twins(web):
    app, engine, info = web
    client = client_as(app, "admin")
    sergeant = client_as(app, "sergeant")
    for key in _beats_of(engine, info.sensitive_ids):
        html = client.get(f"/beats/{key}").get_data(as_text=True)
        assert not set(page_ids(html)) & set(info.sensitive_ids)
        assert "sensitive venue" in html  # analysts and admins are told how many (no ids)
        assert "sensitive venue" not in sergeant.get(f"/beats/{key}").get_data(as_text=True)
        doc = json.loads(post(client, f"/beats/{key}.json", {"reason": "check hidden"}).data)
        assert not {r["venue_id"] for r in doc["rows"]} & set(info.sensitive_ids)


def _beats_of(engine, venue_ids) -> set[str]:
    from storage.models import VenueScore

    with Session(engine) as s:
        return set(s.scalars(select(Beat.key).join(VenueScore, VenueScore.beat_id == Beat.id)
                             .where(VenueScore.venue_id.in_(venue_ids))))


# --- pages ---------------------------------------------------------------------------------------


def test_beats_page_counts_new_candidates_since_last_visit(web):
    app, engine, _ = web
    client = client_as(app, "sergeant")
    html = client.get("/beats").get_data(as_text=True)
    assert "first visit" in html and "Hanover and Elm Grove" in html
    assert 'id="map-data"' in html
    with Session(engine) as s:
        assert s.scalar(select(User.last_seen_beats_at).where(User.username == "sergeant1"))
    # next session: nothing is new since the visit just made
    client2 = client_as(app, "sergeant")
    html2 = client2.get("/beats").get_data(as_text=True)
    assert "since your last visit" in html2
    assert 'class="badge new"' not in html2


def test_beat_page_shows_parts_reasons_and_filters(web):
    app, engine, _ = web
    client = client_as(app, "sergeant")
    html = client.get(f"/beats/{BEAT}").get_data(as_text=True)
    for part in ("locality", "activity", "reach", "topical", "feedback"):
        assert part in html
    assert "mentions " in html and "posts this quarter" in html
    assert 'name="platform"' in html and 'name="topic"' in html and 'name="crawlable"' in html
    known = client.get(f"/beats/{BEAT}?crawlable=known").get_data(as_text=True)
    assert "known-only" in known
    assert client.get("/beats/NOPE").status_code == 404


def test_venue_page_and_outreach(web):
    app, engine, _ = web
    client = client_as(app, "sergeant")
    vid = a_venue(engine)
    html = client.get(f"/venues/{vid}?beat={BEAT}").get_data(as_text=True)
    for heading in ("About", "Activity", "Places mentioned", "Topics", "Beats it serves",
                    "Who links to it", "Outreach"):
        assert heading in html
    assert '<svg class="chart"' in html and "Curation" not in html  # sergeants do not curate
    with Session(engine) as s:
        beat_id = s.scalar(select(Beat.id).where(Beat.key == BEAT))
    r = post(client, f"/venues/{vid}/outreach", {"status": "revisit", "note": "chair away",
                                                 "beat_id": str(beat_id)})
    assert r.status_code == 302
    assert "give the date to revisit" in client.get(f"/venues/{vid}").get_data(as_text=True)
    r = post(client, f"/venues/{vid}/outreach", {"status": "revisit", "note": "chair <away>",
                                                 "revisit_on": "2027-01-15",
                                                 "beat_id": str(beat_id)})
    assert r.status_code == 302
    with Session(engine) as s:
        rows = list(s.scalars(select(Outreach).where(Outreach.venue_id == vid,
                                                     Outreach.user_id.is_not(None))))
    assert len(rows) == 1 and rows[0].status == "revisit" and str(rows[0].revisit_on) == "2027-01-15"
    html = client.get(f"/venues/{vid}").get_data(as_text=True)
    assert "chair &lt;away&gt;" in html and "revisit on 2027-01-15" in html
    (entry,) = audit_actions(engine, "outreach")
    assert entry.actor == "sergeant1" and entry.object_id == str(vid)
    r = post(client, f"/venues/{vid}/outreach", {"status": "bribed"})
    assert "outreach status must be one of" in client.get(f"/venues/{vid}").get_data(as_text=True)


def test_outreach_status_shows_on_the_beat_page(web):
    app, engine, _ = web
    client = client_as(app, "sergeant")
    ids = page_ids(client.get(f"/beats/{BEAT}").get_data(as_text=True))
    with Session(engine) as s:
        beat_id = s.scalar(select(Beat.id).where(Beat.key == BEAT))
    post(client, f"/venues/{ids[0]}/outreach", {"status": "engaged", "beat_id": str(beat_id)})
    engaged = client.get(f"/beats/{BEAT}?outreach=engaged").get_data(as_text=True)
    assert ids[0] in page_ids(engaged)
    assert ids[0] not in page_ids(client.get(f"/beats/{BEAT}?outreach=none")
                                  .get_data(as_text=True))


def test_curation_and_merge(web):
    app, engine, _ = web
    client = client_as(app, "analyst")
    ids = page_ids(client.get(f"/beats/{BEAT}").get_data(as_text=True))
    first, second, third = ids[:3]
    r = post(client, f"/venues/{first}/curation", {"state": "out", "reason": "spam"})
    assert r.status_code == 302
    assert first not in page_ids(client.get(f"/beats/{BEAT}").get_data(as_text=True))
    (entry,) = audit_actions(engine, "curation")
    assert entry.detail["change"] == "state" and entry.detail["to"] == "out"
    assert entry.reason == "spam"
    with Session(engine) as s:
        second_key = s.get(Venue, second).key
    r = post(client, f"/venues/{second}/merge", {"into": str(third), "reason": "same forum"})
    assert r.headers["Location"] == f"/venues/{third}"
    with Session(engine) as s:
        assert s.get(Venue, second).merged_into_id == third
        assert s.get(VenueAlias, second_key).venue_id == third
    assert client.get(f"/venues/{second}").headers["Location"] == f"/venues/{third}"
    merge = audit_actions(engine, "curation")[-1]
    assert merge.detail["change"] == "merge" and merge.detail["into"] == third
    assert merge.detail["posts"] == 6 and merge.reason == "same forum"
    with Session(engine) as s:
        from storage.models import Post
        assert s.scalar(select(func.count()).select_from(Post)
                        .where(Post.venue_id == second)) == 0
    post(client, f"/venues/{third}/merge", {"into": str(third)})
    assert "cannot be merged into itself" in client.get(f"/venues/{third}").get_data(as_text=True)
    post(client, f"/venues/{third}/curation", {"state": "hidden"})
    assert "curation must be one of" in client.get(f"/venues/{third}").get_data(as_text=True)


def test_sensitive_venue_needs_analyst_and_reason(web):
    app, engine, info = web
    vid = info.sensitive_ids[0]
    sergeant = client_as(app, "sergeant")
    # For a sergeant a sensitive venue is exactly an unknown id (issue 16, case 3).
    assert sergeant.get(f"/venues/{vid}").status_code == 404
    assert post(sergeant, f"/venues/{vid}/outreach", {"status": "engaged"}).status_code == 404
    analyst = client_as(app, "analyst")
    gate = analyst.get(f"/venues/{vid}").get_data(as_text=True)
    assert "Why do you need to see it" in gate and "Mosque" not in gate
    assert post(analyst, f"/venues/{vid}/sensitive", {"reason": ""}).status_code == 400
    r = post(analyst, f"/venues/{vid}/sensitive", {"reason": "community tension briefing"})
    assert r.status_code == 302
    html = analyst.get(f"/venues/{vid}").get_data(as_text=True)
    assert "Mosque" in html and "This view is audited" in html
    (given,) = audit_actions(engine, "venue.sensitive_reason")
    assert given.reason == "community tension briefing" and given.actor == "analyst1"
    (view,) = audit_actions(engine, "venue.view_sensitive")
    assert view.reason == "community tension briefing"


def test_seeds_and_crawls(web):
    app, engine, _ = web
    client = client_as(app, "analyst")
    html = client.get("/crawls").get_data(as_text=True)
    assert "Add a seed" in html and "Recent runs" in html
    assert "<strong>4210</strong> pages" in html  # a run's headline figures
    assert 'class="stat bad">fetch/error/Timeout 17' in html  # and what went wrong
    assert "connection refused" in html  # failed ledger entries of the run
    r = post(client, "/seeds", {"url": "HTTPS://New-Residents.example/?utm_source=x",
                                "note": "from the ward panel", "beat": BEAT})
    assert r.status_code == 302
    with Session(engine) as s:
        seed = s.scalar(select(Seed).where(Seed.source == "web:analyst1"))
        assert seed.url == "https://new-residents.example/"
        assert s.get(Beat, seed.beat_id).key == BEAT
        assert s.get(Venue, seed.venue_id).discovered_via == "seed"
    assert audit_actions(engine, "seed.add")[0].object_id == seed.url
    post(client, "/seeds", {"url": "ftp://nope.example/"})
    assert "not an http(s) URL" in client.get("/crawls").get_data(as_text=True)
    post(client, "/seeds", {"url": "https://www.facebook.com/groups/hanover"})
    assert "beatmap never crawls" in client.get("/crawls").get_data(as_text=True)
    post(client, "/seeds", {"url": "https://new-residents.example/"})
    assert "already a seed" in client.get("/crawls").get_data(as_text=True)
    post(client, "/crawls/start", {"purpose": ""})
    assert "State the purpose" in client.get("/crawls").get_data(as_text=True)


@pytest.mark.slow
def test_crawl_start_runs_the_crawler_in_the_background(template, tmp_path):
    """The web UI hands the crawl to ``crawler.run.run_crawl`` in a thread: a real crawl of a
    loopback site, recorded with the analyst as actor and the purpose they typed."""
    path = tmp_path / "beatmap.db"
    shutil.copyfile(template[0], path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with Session(engine) as s:
        s.execute(delete(Seed))
        s.commit()
    site = {"hanover-news.example": {
        "/robots.txt": crawl_text("User-agent: *\nAllow: /\n"),
        "/": crawl_html("<p>Spring clean on Elm Grove on Saturday.</p>", title="Hanover news")}}
    with MiniWeb(site) as loopback:
        app = make_app(url, engine, contact_url="https://police.example/crawler",
                       proxy=loopback.proxy_url, allow_private_hosts="127.0.0.1",
                       download_delay=0.0)
        client = client_as(app, "analyst")
        post(client, "/seeds", {"url": "http://hanover-news.example/", "note": "from a tip"})
        post(client, "/crawls/start", {"purpose": "find residents groups in Hanover"})
        for thread in list(app.extensions["beatmap"]["crawls"].values()):
            thread.join(180)
        assert not crawls.active(app)
        assert "/" in loopback.requested("hanover-news.example")
    with Session(engine) as s:
        run = s.scalars(select(CrawlRun).where(
            CrawlRun.purpose == "find residents groups in Hanover")).one()
        assert (run.actor, run.status) == ("analyst1", "finished")
        assert s.scalar(select(Page.url).where(Page.url == "http://hanover-news.example/"))
    assert audit_actions(engine, "crawl.start")[0].reason == "find residents groups in Hanover"
    engine.dispose()


def test_admin_manages_users_and_reads_audit(web):
    app, engine, _ = web
    client = client_as(app, "admin")
    r = post(client, "/admin/users", {"action": "add", "username": "PC.Jones",
                                      "role": "sergeant", "password": "long-enough-pw"})
    assert r.status_code == 302
    assert "pc.jones" in client.get("/admin/users").get_data(as_text=True)
    post(client, "/admin/users", {"action": "add", "username": "x", "role": "sergeant",
                                  "password": "short"})
    assert "user name" in client.get("/admin/users").get_data(as_text=True)
    post(client, "/admin/users", {"action": "disable", "username": "admin1"})
    assert "cannot disable your own" in client.get("/admin/users").get_data(as_text=True)
    post(client, "/admin/users", {"action": "disable", "username": "pc.jones"})
    with Session(engine) as s:
        assert s.scalar(select(User.disabled).where(User.username == "pc.jones"))
    audit = client.get("/admin/audit?action=user").get_data(as_text=True)
    assert "user.add" in audit and "user.disable" in audit and "login" not in audit.split("<tbody>")[1]
    assert "Due for erasure now" in client.get("/admin/retention").get_data(as_text=True)


def test_logout(web):
    app, engine, _ = web
    client = client_as(app, "sergeant")
    assert post(client, "/logout").status_code == 302
    assert client.get("/beats").status_code == 302
    assert audit_actions(engine, "logout")[0].actor == "sergeant1"


def test_crawl_start_refused_without_contact_url(web):
    """The real crawler's readiness check runs before any thread starts, so the analyst sees
    why (no contact_url configured here) instead of a crawl that silently never happens."""
    app, engine, _ = web
    assert app.extensions["beatmap"]["config"].contact_url == ""
    client = client_as(app, "analyst")
    post(client, "/crawls/start", {"purpose": "find residents groups"})
    html = client.get("/crawls").get_data(as_text=True)
    assert "cannot start the crawl: set contact_url" in html
    assert not any(t.is_alive() for t in app.extensions["beatmap"]["crawls"].values())


@pytest.mark.parametrize("module", ["beatmap.web.data", "beatmap.web.filters",
                                    "beatmap.web.security", "beatmap.web.users",
                                    "beatmap.web.auth"])
def test_doctests(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.postgres
def test_pages_exports_and_outreach_on_postgresql(pg_db):
    engine, info = make_web_db(pg_db, venues=60)
    try:
        app = make_app(pg_db, engine)
        client = client_as(app, "admin")
        vid = a_venue(engine)
        for url in ("/beats", f"/beats/{BEAT}", f"/venues/{vid}", "/crawls", "/admin/users",
                    "/admin/audit?action=login", "/admin/retention"):
            assert client.get(url).status_code == 200, url
        ids = page_ids(client.get(f"/beats/{BEAT}").get_data(as_text=True))
        doc = json.loads(post(client, f"/beats/{BEAT}.json", {"reason": "pg check"}).data)
        assert [r["venue_id"] for r in doc["rows"]] == ids
        assert post(client, f"/venues/{vid}/outreach", {"status": "engaged"}).status_code == 302
        assert post(client, f"/venues/{ids[0]}/merge", {"into": str(ids[1])}).status_code == 302
        assert [e.detail["change"] for e in audit_actions(engine, "curation")] == ["merge"]
    finally:
        engine.dispose()
