"""The hazards of the real web, served on the hazard hub and recorded in the ground truth."""

from __future__ import annotations

import gzip
import zlib
from functools import cache
from typing import Any

from sampleweb.platforms.common import HTML, Req, Resp, e, redirect

HUGE_BYTES = 12 * 1024 * 1024  # well over the crawler's 5 MB default response limit
BOMB_MEMBER_BYTES = 10 * 1024 * 1024  # each gzip member inflates to 10 MB of spaces
BOMB_MEMBERS = 20  # 200 MB once decompressed, about 200 KB on the wire
SLOW_PAGE_FACTOR = 3.0  # /slow.html waits this many times the server's slow delay
RETRY_AFTER_429 = 1
RETRY_AFTER_503 = 120

HUB_PAGES: dict[str, dict[str, Any]] = {
    "/old-news/": {"kind": "redirect-chain", "expect": {"status": 301, "final": "/news.html", "hops": 3}},
    "/loop/a": {"kind": "redirect-loop", "expect": {"status": 302}},
    "/broken-link.html": {"kind": "not-found", "expect": {"status": 404}},
    "/error.html": {"kind": "server-error", "expect": {"status": 500}},
    "/maintenance.html": {"kind": "unavailable", "expect": {"status": 503, "retry_after": RETRY_AFTER_503}},
    "/busy.html": {"kind": "rate-limited", "expect": {"status": 429, "retry_after": RETRY_AFTER_429,
                                                       "then": 200}},
    "/slow.html": {"kind": "slow", "expect": {"status": 200, "delay_factor": SLOW_PAGE_FACTOR}},
    "/gallery/huge.html": {"kind": "huge-page", "expect": {"status": 200, "bytes": HUGE_BYTES}},
    "/downloads/minutes-archive.html": {"kind": "gzip-bomb", "expect": {
        "status": 200, "content_encoding": "gzip", "inflated_bytes": BOMB_MEMBER_BYTES * BOMB_MEMBERS}},
    "/history.html": {"kind": "wrong-charset", "expect": {"status": 200, "declared": "utf-8",
                                                          "actual": "windows-1252"}},
    "/old-notices.html": {"kind": "missing-charset", "expect": {"status": 200, "actual": "windows-1252"}},
    "/notices-latin1.html": {"kind": "wrong-charset-meta", "expect": {"status": 200, "declared": "iso-8859-1",
                                                                      "actual": "utf-8"}},
    "/noticeboard.html": {"kind": "malformed-html", "expect": {"status": 200}},
    "/feed.xml": {"kind": "malformed-feed", "expect": {"status": 200, "bozo": True}},
}
CHAIN = {"/old-news/": ("/archive/news/", 301), "/archive/news/": ("/archive/2019/", 302),
         "/archive/2019/": ("/news.html", 301), "/loop/a": ("/loop/b", 302), "/loop/b": ("/loop/a", 302)}
LABELS = {"/old-news/": "Old news", "/loop/a": "Archive", "/broken-link.html": "Minutes 2019",
          "/error.html": "Planning tracker", "/maintenance.html": "Bookings", "/busy.html": "Events list",
          "/slow.html": "Photo map", "/gallery/huge.html": "Gallery",
          "/downloads/minutes-archive.html": "Minutes archive", "/history.html": "Our history",
          "/old-notices.html": "Old notices", "/notices-latin1.html": "Notices (archive)",
          "/noticeboard.html": "Noticeboard", "/feed.xml": "News feed", "/private/": "Committee only"}
HISTORY = ("Our history: the association was founded in 1974 \u2013 subscriptions were \u00a32 a year, "
           "and the caf\u00e9 on the corner hosted our first meetings. \u2018Everyone welcome\u2019.")


def hub_links(v) -> str:
    o = f"http://{v.host}"
    items = "".join(f'<li><a href="{o}{path}">{e(label)}</a></li>' for path, label in LABELS.items())
    return f'<section class="more"><h2>More from us</h2><ul>{items}</ul></section>'


def render(v, req: Req) -> Resp | None:
    """The hub's hazard pages, or None for its ordinary pages."""
    path, o = req.path, f"http://{v.host}"
    if path in CHAIN:
        target, status = CHAIN[path]
        return redirect(o + target, status)
    if path == "/broken-link.html":
        return Resp(404, b"<html><body><h1>Not Found</h1></body></html>")
    if path == "/error.html":
        return Resp(500, b"<html><body><h1>Internal Server Error</h1><p>Database error 1045</p></body></html>")
    if path == "/maintenance.html":
        return Resp(503, b"<html><body><h1>Down for maintenance</h1></body></html>",
                    [("Retry-After", str(RETRY_AFTER_503))])
    if path == "/busy.html":
        state = v.world.state.setdefault("busy-seen", set())
        key = (v.host, req.headers.get("user-agent", ""))
        if key not in state:
            state.add(key)
            return Resp(429, b"<html><body><h1>Too Many Requests</h1></body></html>",
                        [("Retry-After", str(RETRY_AFTER_429))])
        return Resp(200, _simple("Events", "Coffee morning every Tuesday at the community hall."))
    if path == "/slow.html":
        return Resp(200, _simple("Photo map", "Pictures of the neighbourhood."),
                    delay=v.world.slow_delay * SLOW_PAGE_FACTOR)
    if path == "/gallery/huge.html":
        return Resp(200, content_type=HTML, chunks=_huge_chunks(), length=HUGE_BYTES)
    if path == "/downloads/minutes-archive.html":
        return Resp(200, _bomb(), [("Content-Encoding", "gzip")], HTML)
    if path == "/history.html":
        return Resp(200, _simple("Our history", HISTORY, charset="").encode("windows-1252"), [],
                    "text/html; charset=utf-8")
    if path == "/old-notices.html":
        return Resp(200, _simple("Old notices", HISTORY, charset="").encode("windows-1252"), [], "text/html")
    if path == "/notices-latin1.html":
        return Resp(200, _simple("Notices", HISTORY, charset="iso-8859-1").encode("utf-8"), [], "text/html")
    if path == "/noticeboard.html":
        return Resp(200, _malformed().encode("utf-8"), [], HTML)
    if path == "/feed.xml":
        return Resp(200, _malformed_feed(o).encode("utf-8"), [], "application/rss+xml")
    if path == "/private/":
        return Resp(200, _simple("Committee only", "Draft minutes."))
    return None


def _simple(title: str, text: str, charset: str = "utf-8") -> Any:
    meta = f'<meta charset="{charset}">' if charset else ""
    page = f"<!DOCTYPE html><html><head>{meta}<title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>"
    return page.encode("utf-8") if charset == "utf-8" else page


def _huge_chunks():
    row = (b"<tr><td>Photo</td><td>A picture of the seafront taken by a member of the association.</td></tr>\n"
)
    head = b"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Gallery</title></head><body><table>\n"
    yield head
    sent, block = len(head), row * 2048
    while sent + len(block) < HUGE_BYTES:
        yield block
        sent += len(block)
    yield b" " * (HUGE_BYTES - sent)


@cache
def _bomb() -> bytes:
    member = gzip.compress(b" " * BOMB_MEMBER_BYTES, compresslevel=9, mtime=0)
    return member * BOMB_MEMBERS


def inflated_size(data: bytes) -> int:
    """Bytes a multi-member gzip body inflates to (for tests)."""
    total, rest = 0, data
    while rest:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        total += len(d.decompress(rest))
        rest = d.unused_data
    return total


def _malformed() -> str:
    nest = "<div>" * 3000
    return ("<html><head><title>Noticeboard<body><h1>Noticeboard<p>Bins are collected on Tuesdays"
            "<p><b>Unclosed bold <i>and italic<table><tr><td>cell<td>cell</table></div></div></span>"
            f"<a href=/news.html class=nav>News<a href='/about.html>About</a>{nest}deep text"
            "<script>var x = '</div>';</script>\x00<p>after a NUL byte</html>")


def _malformed_feed(o: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>News & notices</title>'
            f"<link>{o}/</link><item><title>Fish & chips night</title><link>{o}/news.html</link>"
            "<pubDate>Tue, 32 Foo 2024 25:61:00 GMT</pubDate><description>Unescaped <b>markup & stuff"
            "</description></item><item><title>Truncated item")


def hazard_urls(venues: list[dict], hosts: dict[str, dict]) -> dict[str, Any]:
    """The hazard section of the ground truth (and of the spec)."""
    urls = []
    hub = next((v for v in venues if v.get("hazard_hub")), None)
    if hub:
        o = f"http://{hub['host']}"
        urls += [{"url": o + path, **info} for path, info in HUB_PAGES.items()]
    robots = {h: c["robots"] for h, c in hosts.items() if c.get("robots") != "allow"}
    slow = sorted(h for h, c in hosts.items() if c.get("slow"))
    traps, session, login = [], [], []
    for v in venues:
        if v.get("calendar"):
            traps.append({"kind": "calendar", "url_prefix": f"http://{v['host']}/events/",
                          "note": "next/previous month links never end"})
        if v["platform"] in ("phpbb", "smf") and v["crawlable"] and not v.get("distractor"):
            param = "sid" if v["platform"] == "phpbb" else "PHPSESSID"
            session.append({"host": v["host"], "param": param,
                            "note": "links carry a session id that changes from page to page"})
        if v.get("login_wall"):
            login.append({"url_prefix": f"http://{v['host']}{v['login_wall']}",
                          "redirects_to": f"http://{v['host']}/login/"})
    redirects = [{"host": h, "to": c["redirect"]["to"], "status": c["redirect"]["status"]}
                 for h, c in hosts.items() if c.get("redirect")]
    return {"urls": urls, "robots": robots, "slow_hosts": slow, "traps": traps,
            "session_ids": session, "login_walls": login, "host_redirects": redirects,
            "mirrors": {h: c["mirror_of"] for h, c in hosts.items() if c.get("mirror_of")}}
