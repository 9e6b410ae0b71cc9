"""The offline HTML map in headless Chromium: it draws beats and venues with no network and
no script errors, and a hostile venue name stays text."""

from __future__ import annotations

from pathlib import Path

import pytest

from beatmap.export import export
from beatmap.export.htmlmap import LEAFLET_DIR
from graph.rank import rank_all
from storage.db import make_engine, session_scope
from tests.test_graph_fixtures import AS_OF, Maker, small_world

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (Debian's chromium)"),
    pytest.mark.skipif(not (LEAFLET_DIR / "leaflet.js").exists(), reason="Leaflet not installed"),
]


def test_html_map_renders_offline(sqlite_db, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    engine = make_engine(sqlite_db)
    with session_scope(engine) as s:
        w = small_world(Maker(s))
        w["blog"].name = HOSTILE
    with session_scope(engine) as s:
        rank_all(s, as_of=AS_OF)
        export(s, "html", tmp_path / "map.html", reason="browser test")
    engine.dispose()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:"))
                    else problems.append(f"network request: {r.url}"))
            page.goto((tmp_path / "map.html").as_uri())
            page.wait_for_selector("body[data-ready=yes]", timeout=10_000)
            assert problems == []
            # Two beat polygons and five venue points, drawn on the canvas renderer.
            assert page.locator("canvas").count() == 1
            items = page.locator("#list li").all_inner_texts()
            assert len(items) == 5 and any(HOSTILE in t for t in items)
            assert page.title() != "pwned" and page.locator("#list img").count() == 0
            page.locator("#list li", has_text="Kemptown Forum").click()
            assert "mentions Eastern Road" in page.locator(".leaflet-popup-content").inner_text()
        finally:
            browser.close()
