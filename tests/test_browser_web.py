"""The web UI in a real browser: Playwright drives Debian's headless Chromium against the real
app on a real server (127.0.0.1, port 0) over a real SQLite database.

Screenshots of the main pages go to ``test-artifacts/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from storage.db import init_db
from storage.models import AuditEntry, Outreach
from tests.web_helpers import PASSWORDS, make_app, make_web_db

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
BEAT = "E05002425"  # Hanover and Elm Grove
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="no /usr/bin/chromium (install Debian's chromium; `make test` "
                              "does so where it runs as root)"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A demo-sized database served by the real app on a real loopback server."""
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'beatmap.db'}"
    init_db(url)
    engine, info = make_web_db(url, venues=300, hostile=True)
    app = make_app(url, engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", engine, info
    finally:
        server.shutdown()
        engine.dispose()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


class Watch:
    """Console errors, page errors and dialogs: a CSP violation or a script run by scraped
    text shows up here."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def new_page(browser, base: str, role: str, **context_args):
    context = browser.new_context(accept_downloads=True, **context_args)
    page = context.new_page()
    page.set_default_timeout(15_000)
    watch = Watch(page)
    page.goto(base + "/beats")
    assert "/login" in page.url  # anonymous → sign-in
    page.fill("input[name=username]", f"{role}1")
    page.fill("input[name=password]", PASSWORDS[role])
    page.click("button[type=submit]")
    page.wait_for_url(base + "/beats")
    return page, watch


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def wait_for_map(page, polygons: int) -> None:
    page.wait_for_selector("#map[data-ready]")
    assert page.get_attribute("#map", "data-ready") == str(polygons)
    assert page.evaluate("typeof L !== 'undefined' && L.version") == "1.9.4"


def test_sergeant_journey(site, browser, tmp_path):
    base, engine, info = site
    page, watch = new_page(browser, base, "sergeant", viewport={"width": 1280, "height": 900})
    # beats: every ward on the map and in the list
    wait_for_map(page, 21)
    assert page.locator("path.leaflet-interactive").count() == 21
    assert page.locator("table.beats tbody tr").count() == 21
    shot(page, "01-beats")

    # a beat: ranked list, map with its polygon and venues
    page.click("text=Hanover and Elm Grove")
    page.wait_for_url(f"{base}/beats/{BEAT}")
    wait_for_map(page, 1)
    venues = page.locator("ol.ranking li.venue")
    assert venues.count() > 5
    assert page.locator("path.leaflet-interactive").count() > venues.count() // 2  # polygon + markers
    assert "locality" in venues.first.inner_text()
    shot(page, "02-beat")

    # a venue: record an outreach
    first_name = venues.first.locator("a.name").inner_text()
    venues.first.locator("a.name").click()
    page.wait_for_selector("h1")
    assert page.locator("h1").inner_text() == first_name
    page.select_option("select[name=status]", "approached")
    page.fill("textarea[name=note]", "emailed the admin via the contact page")
    page.click("#outreach button[type=submit]")
    page.wait_for_selector("text=Outreach recorded: approached.")
    assert "emailed the admin" in page.locator("ol.log").inner_text()
    shot(page, "03-venue")
    with Session(engine) as s:
        notes = list(s.scalars(select(Outreach.note).where(Outreach.user_id.is_not(None))))
    assert notes == ["emailed the admin via the contact page"]

    # download the XLSX with a reason; it opens and has the page's rows
    page.goto(f"{base}/beats/{BEAT}")
    shown = page.locator("ol.ranking li.venue").count()
    page.fill("form.export input[name=reason]", "neighbourhood panel briefing")
    with page.expect_download() as download:
        page.click("form.export button:has-text('.xlsx')")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".xlsx"
    wb = load_workbook(io.BytesIO(path.read_bytes()))
    assert wb.sheetnames == ["Summary", "Hanover and Elm Grove"]
    assert wb["Hanover and Elm Grove"].max_row - 1 == shown
    with Session(engine) as s:
        reasons = list(s.scalars(select(AuditEntry.reason).where(AuditEntry.action == "export")))
    assert reasons == ["neighbourhood panel briefing"]
    assert watch.errors == [] and watch.dialogs == []


def test_hostile_names_do_not_run(site, browser):
    base, engine, info = site
    page, watch = new_page(browser, base, "analyst", viewport={"width": 1280, "height": 900})
    from storage.models import Beat, VenueScore

    with Session(engine) as s:
        keys = sorted(set(s.scalars(select(Beat.key).join(VenueScore, VenueScore.beat_id == Beat.id)
                                    .where(VenueScore.venue_id.in_(info.hostile_ids)))))
    for key in keys[:4]:
        page.goto(f"{base}/beats/{key}")
        wait_for_map(page, 1)
        # open every marker popup: names go in as text
        page.evaluate("document.querySelectorAll('path.leaflet-interactive')"
                      ".forEach(p => p.dispatchEvent(new MouseEvent('click', {bubbles: true})))")
    page.goto(f"{base}/venues/{info.hostile_ids[0]}")
    assert page.locator("img").count() == 0
    assert watch.dialogs == [] and watch.errors == []


def test_screens_for_the_team_and_on_a_phone(site, browser):
    base, engine, info = site
    page, watch = new_page(browser, base, "admin", viewport={"width": 1280, "height": 900})
    for path, name in (("/crawls", "04-crawls"), ("/admin/audit", "05-audit"),
                       ("/admin/users", "06-users")):
        page.goto(base + path)
        shot(page, name)
    page.goto(f"{base}/venues/{info.sensitive_ids[0]}")
    assert "Why do you need to see it" in page.content()
    page.fill("input[name=reason]", "checking a community tension report")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=This view is audited")
    shot(page, "07-sensitive-venue")
    assert watch.errors == []

    phone, phone_watch = new_page(browser, base, "sergeant", viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True, device_scale_factor=2)
    phone.goto(f"{base}/beats/{BEAT}")
    wait_for_map(phone, 1)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the beat page scrolls sideways on a phone ({width}px)"
    shot(phone, "08-beat-phone")
    phone.goto(f"{base}/beats")
    wait_for_map(phone, 21)
    shot(phone, "09-beats-phone")
    assert phone_watch.errors == []
