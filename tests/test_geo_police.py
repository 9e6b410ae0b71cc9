"""data.police.uk client and ``fetch_force`` against a real HTTP server on 127.0.0.1.

The server answers with the recorded responses in ``tests/fixtures/policeuk/`` (UTF-8 BOM
included, as the API sends them), plus errors, empty answers and HTTP 429.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from geo.police import PoliceAPI, PoliceAPIError, fetch_force, load_categories, priority_topic
from geo.types import GeoDataError
from storage.db import make_engine, session_scope
from storage.ids import stable_id
from storage.models import Beat, BeatTopic, Seed

FIX = Path(__file__).parent / "fixtures" / "policeuk"
NET = FIX / "PoliceUK.NET"
KIT = FIX / "police-data-kit"
BOM = b"\xef\xbb\xbf"

Route = tuple[int, dict[str, str], bytes] | Callable[[], tuple[int, dict[str, str], bytes]]


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1:0 answering from a dict of path → response."""

    def __init__(self, routes: dict[str, Route]):
        self.routes = routes
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                outer.requests.append((self.path, dict(self.headers)))
                route = outer.routes.get(self.path.split("?")[0])
                if route is None:
                    status, headers, body = 404, {"Content-Type": "text/html"}, b"<h1>Not found</h1>"
                else:
                    status, headers, body = route() if callable(route) else route
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p.split("?")[0] == path)


def ok(body: bytes | str | list | dict) -> tuple[int, dict[str, str], bytes]:
    if isinstance(body, (list, dict)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    return 200, {"Content-Type": "application/json"}, body


def _shifted_boundary(dlon: float) -> bytes:
    points = json.loads((NET / "NeighbourhoodBoundary.Multiple.json").read_text("utf-8-sig"))
    moved = [{"latitude": p["latitude"], "longitude": f"{float(p['longitude']) + dlon:.10f}"}
             for p in points]
    return BOM + json.dumps(moved).encode()


def police_routes(force: str = "leicestershire") -> dict[str, Route]:
    listing = json.loads((NET / "Neighbourhoods.Multiple.json").read_text("utf-8-sig"))
    listing.append({"id": "C03", "name": "Leake &amp; Keyworth"})  # html in a name, no boundary
    priorities = [json.loads((KIT / f).read_text("utf-8")) for f in
                  ("neighbourhood-priority-html.json", "neighbourhood-priority.json",
                   "neighbourhood-priority-no-action.json")]
    details_c02 = json.loads((KIT / "neighbourhood.json").read_text("utf-8"))
    details_c02["contact_details"] = json.loads((KIT / "contact-details.json").read_text("utf-8"))
    base = f"/api/{force}"
    return {
        f"{base}/neighbourhoods": ok(BOM + json.dumps(listing).encode()),
        f"{base}/C01/boundary": ok((NET / "NeighbourhoodBoundary.Multiple.json").read_bytes()),
        f"{base}/C01": ok((NET / "Neighbourhood.json").read_bytes()),
        f"{base}/C01/priorities": ok(priorities),
        f"{base}/C02/boundary": ok(_shifted_boundary(0.01)),
        f"{base}/C02": ok(details_c02),
        f"{base}/C02/priorities": ok((NET / "EmptyArray.json").read_bytes()),
        f"{base}/C03/boundary": ok((NET / "EmptyArray.json").read_bytes()),
    }


def make_api(server: LoopbackServer, sleeps: list[float] | None = None, **kw) -> PoliceAPI:
    kw.setdefault("min_interval", 0)
    return PoliceAPI(server.url + "/api", user_agent="beatmap-tests/1 (+https://example.org)",
                     sleep=(sleeps.append if sleeps is not None else lambda s: None), **kw)


def test_fetch_force_imports_beats_seeds_and_topics(any_db):
    engine = make_engine(any_db)
    with LoopbackServer(police_routes()) as server, session_scope(engine) as s:
        report = fetch_force(s, make_api(server), "leicestershire")
        assert all(h["User-Agent"].startswith("beatmap-tests/1") for _, h in server.requests)
    assert (report.created, report.skipped) == (2, 1)
    assert "C03 (Leake & Keyworth): no boundary published" in report.warnings[0]
    with session_scope(engine) as s:
        c01 = s.get(Beat, stable_id("beat", "leicestershire/C01"))
        c02 = s.get(Beat, stable_id("beat", "leicestershire/C02"))
        assert (c01.name, c01.force, c01.source) == ("New Parks", "leicestershire", "police.uk")
        assert c01.details["police_uk"]["population"] == "10021"
        assert "<br/>" not in c01.details["police_uk"]["description"]
        channels = {c["url"]: c["channel"] for c in c01.details["channels"]}
        assert channels == {"http://www.example.com": "website", "http://www.example.com/2": "link",
                            "http://www.example.com/3": "link"}
        seeds = {x.url: x for x in s.scalars(select(Seed))}
        assert seeds["https://www.facebook.com/leicspolice"].beat_id == c02.id
        assert seeds["https://www.facebook.com/leicspolice"].note == (
            "police.uk facebook channel of neighbourhood Abbey")
        assert seeds["https://www.forum.com/thepolice"].source == "police.uk"
        assert "police.uk link 'Local Crime'" in seeds["http://www.example.com/3"].note
        # Only web channels become seeds: no telephone numbers or e-mail addresses.
        assert all(u.startswith("http") for u in seeds)
        assert "mailto" not in " ".join(seeds) and "101" not in seeds
        topics = {t.topic: t for t in s.scalars(select(BeatTopic).where(BeatTopic.beat_id == c01.id))}
        assert set(topics) == {"drugs", "anti-social-behaviour"}
        assert topics["drugs"].source == "police.uk"
        assert "<p>" not in topics["drugs"].detail and "Beggars and homeless" in topics["drugs"].detail
        assert s.scalar(select(func.count()).select_from(BeatTopic)
                        .where(BeatTopic.beat_id == c02.id)) == 0


def test_refetch_updates_in_place_and_keeps_team_topics(sqlite_db):
    engine = make_engine(sqlite_db)
    routes = police_routes()
    with LoopbackServer(routes) as server:
        with session_scope(engine) as s:
            fetch_force(s, make_api(server), "leicestershire")
            c01 = stable_id("beat", "leicestershire/C01")
            s.add(BeatTopic(beat_id=c01, topic="parking", weight=2.0, source="team", detail=None))
            # The team had added this URL themselves: a refetch must not take it over.
            seed = s.scalars(select(Seed).where(Seed.url == "http://www.example.com/2")).one()
            seed.source, seed.note, seed.beat_id = "cli", "ours", None
        routes["/api/leicestershire/C01/priorities"] = ok([{"issue": "Speeding on Aikman Avenue"}])
        with session_scope(engine) as s:
            report = fetch_force(s, make_api(server), "leicestershire")
    assert (report.created, report.updated) == (0, 2)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Beat)) == 2
        topics = dict(s.execute(select(BeatTopic.topic, BeatTopic.source)
                                .where(BeatTopic.beat_id == c01)).all())
        assert topics == {"parking": "team", "speeding-on-aikman-avenue": "police.uk"}
        team_seed = s.scalars(select(Seed).where(Seed.url == "http://www.example.com/2")).one()
        assert (team_seed.source, team_seed.note) == ("cli", "ours")


def test_429_is_waited_out_with_retry_after(sqlite_db):
    routes = police_routes()
    answers = [(429, {"Retry-After": "2"}, b""), (429, {"Retry-After": "120"}, b"")]

    def flaky():
        return answers.pop(0) if answers else routes["/api/leicestershire/neighbourhoods#ok"]

    routes["/api/leicestershire/neighbourhoods#ok"] = routes["/api/leicestershire/neighbourhoods"]
    routes["/api/leicestershire/neighbourhoods"] = flaky
    sleeps: list[float] = []
    engine = make_engine(sqlite_db)
    with LoopbackServer(routes) as server, session_scope(engine) as s:
        report = fetch_force(s, make_api(server, sleeps, max_wait=30), "leicestershire",
                             limit=1)
        assert server.hits("/api/leicestershire/neighbourhoods") == 3
    assert sleeps == [2.0, 30.0]  # Retry-After honoured, capped at max_wait
    assert report.created == 1


def test_endless_429_fails_cleanly_and_writes_nothing(sqlite_db):
    routes = police_routes()
    routes["/api/leicestershire/C02/boundary"] = (429, {"Retry-After": "1"}, b"Too Many Requests")
    sleeps: list[float] = []
    engine = make_engine(sqlite_db)
    with LoopbackServer(routes) as server:
        with pytest.raises(PoliceAPIError, match=r"rate limit \(HTTP 429\).*after 3 retries"):
            with session_scope(engine) as s:
                fetch_force(s, make_api(server, sleeps), "leicestershire")
        assert server.hits("/api/leicestershire/C02/boundary") == 4
    assert sleeps == [1.0, 1.0, 1.0]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Beat)) == 0
        assert s.scalar(select(func.count()).select_from(Seed)) == 0


@pytest.mark.parametrize("route, error, message", [
    (None, GeoDataError, "does not know the force 'leicestershire'"),
    (ok(b""), GeoDataError, "does not know the force"),
    (ok((NET / "EmptyArray.json").read_bytes()), GeoDataError, "lists no neighbourhoods"),
    (ok(b"<html>maintenance</html>"), PoliceAPIError, "did not answer JSON"),
    ((500, {}, b"oops"), PoliceAPIError, "answered HTTP 500"),
    ((403, {}, b"no"), PoliceAPIError, "answered HTTP 403"),
])
def test_listing_errors(sqlite_db, route, error, message):
    routes = police_routes()
    if route is None:
        del routes["/api/leicestershire/neighbourhoods"]
    else:
        routes["/api/leicestershire/neighbourhoods"] = route
    engine = make_engine(sqlite_db)
    with LoopbackServer(routes) as server:
        with pytest.raises(error, match=message):
            with session_scope(engine) as s:
                fetch_force(s, make_api(server), "leicestershire")


def test_no_usable_boundary_at_all(sqlite_db):
    routes = police_routes()
    for hood in ("C01", "C02"):
        routes[f"/api/leicestershire/{hood}/boundary"] = ok(b"[]")
    engine = make_engine(sqlite_db)
    with LoopbackServer(routes) as server:
        with pytest.raises(GeoDataError, match="none of the 3 neighbourhoods .* usable boundary"):
            with session_scope(engine) as s:
                fetch_force(s, make_api(server), "leicestershire")


def test_selected_neighbourhoods_and_bad_input(sqlite_db):
    engine = make_engine(sqlite_db)
    with LoopbackServer(police_routes()) as server:
        with session_scope(engine) as s:
            report = fetch_force(s, make_api(server), "leicestershire", neighbourhoods=["C02"])
            assert report.created == 1 and server.hits("/api/leicestershire/C01/boundary") == 0
        with pytest.raises(GeoDataError, match="not neighbourhoods of leicestershire: X9"):
            with session_scope(engine) as s:
                fetch_force(s, make_api(server), "leicestershire", neighbourhoods=["X9"])
        with pytest.raises(GeoDataError, match="not a police.uk force id"):
            with session_scope(engine) as s:
                fetch_force(s, make_api(server), "../etc")


def test_client_refuses_bad_settings_and_unreachable_hosts():
    with pytest.raises(PoliceAPIError, match="User-Agent is required"):
        PoliceAPI("https://data.police.uk/api", user_agent=" ")
    with pytest.raises(PoliceAPIError, match="must be an http"):
        PoliceAPI("ftp://x/api", user_agent="ua")
    # A closed port on loopback: a clear network error, not a traceback.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = PoliceAPI(f"http://127.0.0.1:{port}/api", user_agent="ua", timeout=2)
    with pytest.raises(PoliceAPIError, match="cannot reach"):
        api.neighbourhoods("sussex")


def test_priority_topics_use_crime_categories():
    cats = load_categories()
    assert "all-crime" not in cats and "burglary" in cats
    assert priority_topic("Reduce ASB in the park", cats) == "anti-social-behaviour"
    assert priority_topic("Burglaries in Hove", cats) == "burglary"
    assert priority_topic("Cycle theft at the station", cats) == "bicycle-theft"
    assert priority_topic("Speeding in Ditchling Road", cats) == "speeding-in-ditchling-road"


def test_a_channel_listed_by_several_neighbourhoods_is_not_tied_to_one(sqlite_db):
    routes = police_routes()
    details = json.loads(routes["/api/leicestershire/C02"][2])
    details["contact_details"]["website"] = "http://www.example.com"  # also C01's website
    routes["/api/leicestershire/C02"] = ok(details)
    engine = make_engine(sqlite_db)
    with LoopbackServer(routes) as server, session_scope(engine) as s:
        fetch_force(s, make_api(server), "leicestershire")
        shared = s.scalars(select(Seed).where(Seed.url == "http://www.example.com")).one()
        assert shared.beat_id is None
        assert shared.note == ("police.uk website channel shared by 2 neighbourhoods: "
                               "Abbey, New Parks")
        for beat in s.scalars(select(Beat)):  # still listed as a channel of both beats
            assert "http://www.example.com" in {c["url"] for c in beat.details["channels"]}


def test_requests_are_paced_under_the_rate_limit():
    import time

    with LoopbackServer(police_routes()) as server:
        api = make_api(server, min_interval=0.05)
        started = time.monotonic()
        for _ in range(5):
            api.neighbourhoods("leicestershire")
        assert time.monotonic() - started >= 0.2  # four gaps of at least 50 ms


def test_retry_after_forms():
    import email.utils
    import time

    from geo.police import Response

    api = PoliceAPI("http://127.0.0.1:9/api", user_agent="ua", max_wait=30)
    wait = api._retry_wait
    assert wait(Response(429, {"retry-after": "5"}, b"")) == 5.0
    soon = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 5 < wait(Response(429, {"retry-after": soon}, b"")) <= 10.5
    assert wait(Response(429, {"retry-after": "soon, please"}, b"")) == 1.0
    assert wait(Response(429, {}, b"")) == 1.0
    assert wait(Response(429, {"retry-after": "3600"}, b"")) == 30.0
