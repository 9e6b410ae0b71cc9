"""The sample web over real HTTP on 127.0.0.1: engines' markers, feeds and APIs, ground truth,
every hazard, the proxy's refusals, the request log and a clean stop."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest

from sampleweb import SampleWeb, build
from sampleweb.hazards import BOMB_MEMBER_BYTES, BOMB_MEMBERS, HUGE_BYTES, inflated_size
from sampleweb.truth import venue_pages

UA = "beatmap-test/1.0 (+http://test.invalid)"
SLOW = 0.3
STALL = 2.0


class Client:
    """A keep-alive HTTP client that talks to the sample web as a proxy (absolute URIs)."""

    def __init__(self, web: SampleWeb, timeout: float = 10):
        self.port, self.timeout = web.base_port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def get(self, url: str, headers: dict | None = None, method: str = "GET") -> tuple[int, dict, bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, url, headers={"User-Agent": UA, **(headers or {})})
                r = self.conn.getresponse()
                body = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if hdrs.get("connection", "").lower() == "close":
                    self.close()
                return r.status, hdrs, body
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def follow(self, url: str, limit: int = 5) -> tuple[int, dict, bytes, str]:
        for _ in range(limit):
            status, hdrs, body = self.get(url)
            if status in (301, 302, 303, 307, 308):
                url = urljoin(url, hdrs["location"])
                continue
            return status, hdrs, body, url
        raise AssertionError(f"too many redirects at {url}")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("web")
    build(out, seed=11, pages=1500, as_of=date(2026, 11, 1))
    return out, json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def web(built):
    with SampleWeb.start(built[0], slow_delay=SLOW, stall_seconds=STALL) as running:
        yield running


@pytest.fixture
def client(web):
    c = Client(web)
    yield c
    c.close()


@pytest.fixture(scope="module")
def truth(built):
    return built[1]


def venue(truth, platform: str, **where) -> dict:
    for v in truth["venues"]:
        if v["platform"] == platform and v["crawlable"] and v["post_count"] and all(v.get(k) == x for k, x in where.items()):
            return v
    raise AssertionError(f"no {platform} venue")


# --- everything the ground truth lists is served ------------------------------------------------

def test_every_listed_page_and_post_page_is_served(web, client, truth):
    checked = 0
    for v in web.world.venues:
        for url in venue_pages(v):
            status, _, _ = client.get(url)
            assert status == 200, url
            checked += 1
    assert checked >= truth["pages"] * 0.99
    for v in truth["venues"]:
        for p in v["posts"][:3]:
            status, _, body, _ = client.follow(p["url"].split("#")[0])
            assert status == 200, p["url"]


def test_post_text_author_and_places_are_on_the_post_page(client, truth):
    seen = 0
    for v in truth["venues"]:
        if not v["crawlable"] or v["platform"] in ("telegram",):
            continue
        for p in v["posts"][:4]:
            status, _, body = client.get(p["page_url"])
            text = unescape(body.decode("utf-8"))
            assert status == 200
            assert p["author"] in text, (v["platform"], p["page_url"])
            for place in p["places"]:
                assert place["name"] in text, (place, p["page_url"])
            for code in p["postcodes"]:
                assert code in text
            seen += 1
    assert seen > 300


def test_links_from_are_present_on_the_linking_pages(client, truth):
    by_url = {v["url"]: v for v in truth["venues"]}
    checked = 0
    for v in truth["venues"]:
        for src in v["linked_from"][:2]:
            status, _, body, _ = client.follow(src)
            html = body.decode("utf-8")
            while by_url[src]["platform"] == "directory" and v["url"] not in html:
                # The directory is paginated: follow rel="next".
                nxt = re.search(r'rel="next" href="([^"]+)"', html)
                assert nxt, (src, v["url"])
                html = client.get(nxt.group(1).replace("&amp;", "&"))[2].decode()
            assert f'href="{v["url"]}"' in html.replace("&amp;", "&"), (src, v["url"])
            checked += 1
    assert checked > 150


def test_known_only_platforms_are_never_served(web, client, truth):
    known = [v for v in truth["venues"] if v["known_only_platform"]]
    assert known
    before = len(web.request_log)
    for v in known[:10]:
        status, _, body = client.get(v["url"].replace("https://", "http://"))
        assert status == 403 and b"not part of the sample web" in body
    hosts = {urlsplit(v["url"]).hostname for v in known[:10]}
    assert {r.host for r in web.request_log[before:]} == hosts
    assert all(r.status == 403 for r in web.request_log[before:])


# --- engine markers, feeds and APIs ------------------------------------------------------------

MARKERS = {
    "wordpress": ['<meta name="generator" content="WordPress ', "rel=\"https://api.w.org/\"", 'class="home blog'],
    "blogger": ["<meta content='blogger' name='generator'/>", "post-title entry-title", "blog-pager"],
    "ghost": ['<meta name="generator" content="Ghost ', 'class="home-template', "/rss/"],
    "phpbb": ['<body id="phpbb"', "section-index", "viewforum.php?f="],
    "discourse": ['<meta name="generator" content="Discourse ', "topic-list", "/t/"],
    "xenforo": ['<html id="XF"', 'data-template="forum_list"', "/forums/"],
    "vbulletin": ['<meta name="generator" content="vBulletin 4', "forumdisplay.php?f="],
    "smf": ["var smf_theme_url", "var smf_scripturl", "index.php?PHPSESSID="],
    "mybb": ["jscripts/general.js?ver=", "Powered By <a href=\"https://mybb.com\"", "forumdisplay.php?fid="],
    "invision": ['class="ipsApp ipsApp_front', "Powered by Invision Community", "/forum/"],
    "reddit": ['class=" thing id-t3_', "data-fullname=\"t3_", "/comments/"],
    "mastodon": ['id="mastodon"', "To use the Mastodon web application"],
    "telegram": ['class="tgme_widget_message_wrap', 'data-post="', "tgme_widget_message_date", "<time datetime="],
    "directory": ['class="directory-entry"', "Community directory"],
}


@pytest.mark.parametrize("platform", sorted(MARKERS))
def test_home_pages_carry_the_engines_real_markers(client, truth, platform):
    v = next(v for v in truth["venues"] if v["platform"] == platform and v["crawlable"])
    status, hdrs, body, _ = client.follow(v["url"])
    assert status == 200 and hdrs["content-type"].startswith("text/html")
    html = body.decode("utf-8")
    for marker in MARKERS[platform]:
        assert marker in html, (platform, marker)


def test_thread_pages_carry_post_markers(client, truth):
    expect = {"phpbb": ['class="post has-profile', 'class="postbody"', 'class="author"', "<time datetime=", 'class="content"'],
              "xenforo": ['data-template="thread_view"', 'class="message message--post', 'class="u-dt"', 'class="bbWrapper"'],
              "invision": ['data-role="commentContent"', "ipsType_richText", "ipsComment", "<time datetime="],
              "vbulletin": ['id="post_message_', 'class="postcontent', 'class="date"'],
              "smf": ['class="post_wrapper"', 'class="inner" id="msg_', "&#171; <strong>"],
              "mybb": ['class="post_body scaleimages" id="pid_', 'class="post_date"'],
              "discourse": ['class="topic-body crawler-post"', 'itemprop="datePublished"', 'class="creator"']}
    for platform, markers in expect.items():
        v = venue(truth, platform)
        html = client.get(v["posts"][0]["page_url"])[2].decode("utf-8")
        for m in markers:
            assert m in html, (platform, m)


def feeds_of(truth) -> list[tuple[str, str]]:
    out = []
    for platform, path in [("wordpress", "feed/"), ("blogger", "feeds/posts/default"), ("ghost", "rss/"),
                           ("phpbb", "app.php/feed"), ("discourse", "latest.rss"), ("xenforo", "forums/-/index.rss"),
                           ("vbulletin", "external.php?type=RSS2"), ("smf", "index.php?action=.xml;type=rss"),
                           ("mybb", "syndication.php")]:
        v = venue(truth, platform)
        out.append((platform, urljoin(v["url"], "/" + path)))
    return out


def test_feeds_are_valid_rss_or_atom(client, truth):
    for platform, url in feeds_of(truth):
        status, hdrs, body = client.get(url)
        assert status == 200 and ("xml" in hdrs["content-type"]), url
        feed = feedparser.parse(body)
        assert not feed.bozo, (url, feed.get("bozo_exception"))
        assert feed.entries, url
        assert feed.version in ("rss20", "atom10"), (platform, feed.version)
        entry = feed.entries[0]
        assert entry.get("title") and entry.get("link") and (entry.get("published_parsed") or entry.get("updated_parsed"))
    wp = venue(truth, "wordpress")
    feed = feedparser.parse(client.get(urljoin(wp["url"], "/feed/"))[2])
    assert feed.feed.generator.startswith("https://wordpress.org/?v=")
    newest = max(wp["posts"], key=lambda p: p["published"])
    assert feed.entries[0].author == newest["author"]  # dc:creator
    assert feed.entries[0].link == newest["url"]
    blogger = venue(truth, "blogger")
    atom = feedparser.parse(client.get(urljoin(blogger["url"], "/feeds/posts/default"))[2])
    assert atom.version == "atom10" and atom.feed.generator == "Blogger"
    assert atom.entries[0].id.startswith("tag:blogger.com,1999:blog-")


def test_hugo_static_sites_have_a_feed(client, truth, web):
    from sampleweb.platforms.static import is_hugo

    hugo = [v for v in web.world.venues if v.platform == "static" and v.crawlable and is_hugo(v) and v.posts]
    assert hugo
    body = client.get(urljoin(hugo[0].url, "/index.xml"))[2]
    assert len(feedparser.parse(body).entries) == len(hugo[0].posts)


def test_wordpress_rest_api_pages_through_every_post(client, truth):
    v = venue(truth, "wordpress", status="live")
    got, url = [], urljoin(v["url"], "/wp-json/wp/v2/posts?per_page=5")
    status, hdrs, body = client.get(url)
    assert int(hdrs["x-wp-total"]) == v["post_count"]
    pages = int(hdrs["x-wp-totalpages"])
    for page in range(1, pages + 1):
        status, hdrs, body = client.get(f"{url}&page={page}")
        assert status == 200 and hdrs["content-type"].startswith("application/json")
        got += json.loads(body)
    assert client.get(f"{url}&page={pages + 1}")[0] == 400
    truth_by_id = {p["external_id"]: p for p in v["posts"]}
    assert {str(p["id"]) for p in got} == set(truth_by_id)
    for p in got:
        t = truth_by_id[str(p["id"])]
        assert p["link"] == t["url"]
        assert datetime.fromisoformat(p["date_gmt"] + "+00:00") == datetime.fromisoformat(t["published"])
        assert unescape(p["title"]["rendered"]) == t["title"] and "<p>" in p["content"]["rendered"]
        assert isinstance(p["author"], int)
    users = json.loads(client.get(urljoin(v["url"], "/wp-json/wp/v2/users"))[2])
    assert {u["name"] for u in users} == {p["author"] for p in v["posts"]}
    sm = client.get(urljoin(v["url"], "/wp-sitemap.xml"))[2].decode()
    assert "wp-sitemap-posts-post-1.xml" in sm


def test_discourse_json_api(client, truth):
    v = venue(truth, "discourse")
    o = v["url"].rstrip("/")
    topics, url = [], f"{o}/latest.json"
    while url:
        data = json.loads(client.get(url)[2])
        topics += data["topic_list"]["topics"]
        more = data["topic_list"].get("more_topics_url")
        url = f"{o}{more}" if more else None
    posts = []
    for t in topics:
        data = json.loads(client.get(f"{o}/t/{t['slug']}/{t['id']}.json")[2])
        assert data["id"] == t["id"] and data["posts_count"] == len(data["post_stream"]["posts"])
        posts += data["post_stream"]["posts"]
    assert len(posts) == v["post_count"]
    by_id = {p["external_id"]: p for p in v["posts"]}
    for p in posts:
        t = by_id[str(p["id"])]
        assert p["username"] == t["author"] and "<p>" in p["cooked"]
        assert datetime.fromisoformat(p["created_at"].replace("Z", "+00:00")) == datetime.fromisoformat(t["published"])
    cats = json.loads(client.get(f"{o}/categories.json")[2])["category_list"]["categories"]
    assert {c["id"] for c in cats} == {b["id"] for b in v["boards"]}
    c = cats[0]
    assert "topic_list" in json.loads(client.get(f"{o}/c/{c['slug']}/{c['id']}.json")[2])


def test_reddit_listing_pages_with_after(client, truth):
    v = venue(truth, "reddit")
    base = v["url"] + ".json"
    subs, after = [], None
    while True:
        data = json.loads(client.get(base + (f"?count={len(subs)}&after={after}" if after else ""))[2])
        assert data["kind"] == "Listing"
        for child in data["data"]["children"]:
            assert child["kind"] == "t3"
            d = child["data"]
            assert {"title", "selftext", "author", "created_utc", "permalink", "id", "name"} <= set(d)
            subs.append(d)
        after = data["data"]["after"]
        if not after:
            break
    firsts = [p for p in v["posts"] if p["external_id"].startswith("t3_")]
    assert {s["name"] for s in subs} == {p["external_id"] for p in firsts}
    s = subs[0]
    thread = json.loads(client.get(f"http://reddit.example{s['permalink']}.json")[2])
    assert thread[0]["data"]["children"][0]["data"]["id"] == s["id"]
    assert all(c["kind"] == "t1" for c in thread[1]["data"]["children"])
    comments = sum(len(json.loads(client.get(f"http://reddit.example{x['permalink']}.json")[2])[1]["data"]["children"])
                   for x in subs)
    assert len(subs) + comments == v["post_count"]


def test_mastodon_timelines_page_with_link_headers(client, truth, web):
    v = venue(truth, "mastodon")
    url = urljoin(v["url"], "/api/v1/timelines/public?local=true")
    statuses = []
    while True:
        status, hdrs, body = client.get(url)
        page = json.loads(body)
        if not page:
            break
        statuses += page
        nxt = re.search(r'<([^>]+)>; rel="next"', hdrs["link"])
        url = nxt.group(1)
    assert len(statuses) == v["post_count"]
    s = statuses[0]
    assert {"id", "created_at", "content", "url", "account"} <= set(s) and s["account"]["acct"]
    by_id = {p["external_id"]: p for p in v["posts"]}
    assert all(by_id[x["id"]]["author"] == x["account"]["acct"] for x in statuses)
    tag = web.world.city
    tagged = json.loads(client.get(urljoin(v["url"], f"/api/v1/timelines/tag/{tag}"))[2])
    assert tagged and all(any(t["name"] == tag for t in x["tags"]) for x in tagged)
    inst = json.loads(client.get(urljoin(v["url"], "/api/v1/instance"))[2])
    assert inst["uri"] == urlsplit(v["url"]).hostname and inst["stats"]["status_count"] == v["post_count"]


def test_telegram_preview_pages_back_through_the_channel(client, truth):
    v = venue(truth, "telegram")
    url, seen = v["url"], set()
    while url:
        html = client.get(url)[2].decode()
        seen |= set(re.findall(r'data-post="([^"]+)"', html))
        more = re.search(r'class="tme_messages_more[^"]*" data-before="(\d+)" href="([^"]+)"', html)
        url = urljoin(v["url"], more.group(2)) if more else None
    assert seen == {p["external_id"] for p in v["posts"]}


def test_phpbb_session_ids_differ_between_pages(client, truth):
    v = venue(truth, "phpbb", kind="city_forum")
    a = client.get(v["url"])[2].decode()
    b = client.get(urljoin(v["url"], "/viewforum.php?f=1"))[2].decode()
    sid_a = set(re.findall(r"sid=([0-9a-f]{32})", a))
    sid_b = set(re.findall(r"sid=([0-9a-f]{32})", b))
    assert len(sid_a) == 1 and len(sid_b) == 1 and sid_a != sid_b
    # The same page with any sid is the same page.
    assert client.get(urljoin(v["url"], f"/viewforum.php?f=1&sid={sid_a.pop()}"))[0] == 200


# --- hazards ------------------------------------------------------------------------------------

def hazard(truth, kind: str) -> str:
    return next(u["url"] for u in truth["hazards"]["urls"] if u["kind"] == kind)


def test_status_hazards(client, truth):
    assert client.get(hazard(truth, "not-found"))[0] == 404
    assert client.get(hazard(truth, "server-error"))[0] == 500
    status, hdrs, _ = client.get(hazard(truth, "unavailable"))
    assert status == 503 and hdrs["retry-after"] == "120"


def test_rate_limit_then_ok(client, truth):
    url = hazard(truth, "rate-limited")
    status, hdrs, _ = client.get(url, headers={"User-Agent": "ratelimit-test"})
    assert status == 429 and hdrs["retry-after"] == "1"
    assert client.get(url, headers={"User-Agent": "ratelimit-test"})[0] == 200


def test_redirect_chain_and_loop(client, truth):
    url = hazard(truth, "redirect-chain")
    statuses = []
    for _ in range(5):
        status, hdrs, _ = client.get(url)
        statuses.append(status)
        if status not in (301, 302):
            break
        url = hdrs["location"]
    assert statuses == [301, 302, 301, 200] and url.endswith("/news.html")
    loop = hazard(truth, "redirect-loop")
    first = client.get(loop)[1]["location"]
    assert client.get(first)[1]["location"] == loop


def test_slow_page_and_slow_host(client, truth):
    t = time.perf_counter()
    assert client.get(hazard(truth, "slow"))[0] == 200
    assert time.perf_counter() - t >= SLOW * 3 * 0.9
    host = truth["hazards"]["slow_hosts"][0]
    t = time.perf_counter()
    assert client.get(f"http://{host}/")[0] == 200
    assert time.perf_counter() - t >= SLOW * 0.9


def test_huge_page_is_streamed(web, truth):
    url = hazard(truth, "huge-page")
    conn = http.client.HTTPConnection("127.0.0.1", web.base_port, timeout=10)
    conn.request("GET", url, headers={"User-Agent": UA})
    r = conn.getresponse()
    assert r.status == 200 and int(r.getheader("content-length")) == HUGE_BYTES
    total = 0
    while chunk := r.read(1 << 20):
        total += len(chunk)
    conn.close()
    assert total == HUGE_BYTES


def test_gzip_bomb(client, truth):
    status, hdrs, body = client.get(hazard(truth, "gzip-bomb"))
    assert status == 200 and hdrs["content-encoding"] == "gzip"
    assert len(body) < 1_000_000
    assert gzip.decompress(body[: len(body) // BOMB_MEMBERS])[:10] == b" " * 10
    assert inflated_size(body) == BOMB_MEMBER_BYTES * BOMB_MEMBERS


def test_charset_hazards(client, truth):
    status, hdrs, body = client.get(hazard(truth, "wrong-charset"))
    assert "charset=utf-8" in hdrs["content-type"]
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert "\u00a32" in body.decode("windows-1252")
    status, hdrs, body = client.get(hazard(truth, "missing-charset"))
    assert hdrs["content-type"] == "text/html" and b"charset" not in body
    status, hdrs, body = client.get(hazard(truth, "wrong-charset-meta"))
    assert b'charset="iso-8859-1"' in body and "\u00a3" in body.decode("utf-8")


def test_malformed_html_and_feed(client, truth):
    status, _, body = client.get(hazard(truth, "malformed-html"))
    assert status == 200 and body.count(b"<div>") >= 3000 and b"\x00" in body
    status, _, body = client.get(hazard(truth, "malformed-feed"))
    assert status == 200 and feedparser.parse(body).bozo


def test_calendar_trap_never_ends(client, truth):
    url = truth["hazards"]["traps"][0]["url_prefix"]
    seen = set()
    for _ in range(30):
        html = client.get(url)[2].decode()
        nxt = re.search(r'class="tribe-events-c-nav__next" href="([^"]+)"', html).group(1)
        assert nxt not in seen
        seen.add(nxt)
        url = nxt
    assert len(seen) == 30


def test_login_wall(client, truth):
    wall = truth["hazards"]["login_walls"][0]
    status, hdrs, _ = client.get(wall["url_prefix"] + "somebody.3/")
    assert status == 302 and hdrs["location"].startswith(wall["redirects_to"])
    assert client.get(wall["redirects_to"])[0] == 200


def test_old_domain_redirects_and_mirror_serves_the_same_site(client, truth):
    moved = truth["hazards"]["host_redirects"][0]
    status, hdrs, _ = client.get(f"http://{moved['host']}/some/page/")
    assert status == 301 and hdrs["location"] == moved["to"] + "/some/page/"
    www, bare = next(iter(truth["hazards"]["mirrors"].items()))
    assert client.get(f"http://{www}/")[2] == client.get(f"http://{bare}/")[2]


def test_robots_variants(web, client, truth):
    modes = {mode: host for host, mode in truth["hazards"]["robots"].items()}
    status, _, body = client.get(f"http://{modes['disallow_all']}/robots.txt")
    assert status == 200 and body.decode().splitlines()[:2] == ["User-agent: *", "Disallow: /"]
    assert client.get(f"http://{modes['503']}/robots.txt")[0] == 503
    with socket.create_connection(("127.0.0.1", web.base_port), timeout=5) as sock:
        sock.sendall(f"GET http://{modes['timeout']}/robots.txt HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sock.settimeout(STALL / 2)
        with pytest.raises(TimeoutError):
            sock.recv(100)
    forum = venue(truth, "phpbb", kind="city_forum")
    robots = client.get(urljoin(forum["url"], "/robots.txt"))[2].decode()
    assert "Disallow: /memberlist.php" in robots
    wp = venue(truth, "wordpress", status="live")
    assert f"Sitemap: http://{wp['host']}/wp-sitemap.xml" in client.get(urljoin(wp["url"], "/robots.txt"))[2].decode()


def test_robots_violations_are_found_in_the_log(web, truth):
    forum = venue(truth, "phpbb", kind="city_forum")
    c = Client(web)
    agent = "violation-probe/1.0"
    c.get(urljoin(forum["url"], "/robots.txt"), headers={"User-Agent": agent})
    c.get(urljoin(forum["url"], "/index.php"), headers={"User-Agent": agent})
    c.get(urljoin(forum["url"], "/memberlist.php?mode=viewprofile&u=3"), headers={"User-Agent": agent})
    blocked = next(h for h, m in truth["hazards"]["robots"].items() if m == "503")
    c.get(f"http://{blocked}/", headers={"User-Agent": agent})
    news = next(v for v in truth["venues"] if v["kind"] == "city_news_blog")
    c.get(urljoin(news["url"], "/wp-admin/admin-ajax.php"), headers={"User-Agent": agent})
    c.get(urljoin(news["url"], "/wp-admin/options.php"), headers={"User-Agent": agent})
    c.close()
    bad = web.robots_violations(agent)
    assert sorted((r.host, r.path) for r in bad) == sorted([
        (forum["host"], "/memberlist.php?mode=viewprofile&u=3"), (blocked, "/"),
        (news["host"], "/wp-admin/options.php")])
    assert all(r.user_agent == agent for r in bad)
    assert web.requests_for(forum["host"])


# --- the proxy itself ----------------------------------------------------------------------------

def test_proxy_refuses_hosts_outside_the_sample_web(web, client):
    assert client.get("http://example.com/")[0] == 403
    assert client.get("http://not-hosted.example/")[0] == 502
    assert client.get("http://169.254.169.254/latest/meta-data/")[0] == 403
    with socket.create_connection(("127.0.0.1", web.base_port), timeout=5) as sock:
        sock.sendall(b"CONNECT www.facebook.com:443 HTTP/1.1\r\nHost: www.facebook.com:443\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 405")
    assert client.get("http://example.com/", method="POST")[0] in (403, 405)


def test_plain_requests_are_routed_by_host_header(web, truth):
    v = venue(truth, "ghost")
    conn = http.client.HTTPConnection("127.0.0.1", web.base_port, timeout=5)
    conn.request("GET", "/rss/", headers={"Host": f"{v['host']}:80", "User-Agent": UA})
    r = conn.getresponse()
    assert r.status == 200 and b"<generator>Ghost" in r.read()
    conn.request("GET", "/", headers={"Host": f"127.0.0.1:{web.base_port}"})
    r = conn.getresponse()
    assert r.status == 200 and b"synthetic" in r.read()
    conn.close()


def test_conditional_requests_and_head(client, truth):
    v = venue(truth, "ghost")
    status, hdrs, body = client.get(v["url"])
    assert client.get(v["url"], headers={"If-None-Match": hdrs["etag"]})[0] == 304
    status, hdrs2, body2 = client.get(v["url"], method="HEAD")
    assert status == 200 and body2 == b"" and int(hdrs2["content-length"]) == len(body)


def test_request_log_records_every_request(web, client, truth):
    before = len(web.request_log)
    v = venue(truth, "smf")
    client.get(v["url"], headers={"User-Agent": "log-probe"})
    rec = web.request_log[before]
    assert (rec.host, rec.path, rec.status, rec.user_agent) == (v["host"], "/index.php", 200, "log-probe")
    assert rec.time <= time.time()


def test_binds_loopback_and_stops_cleanly(built):
    threads_before = threading.active_count()
    web = SampleWeb.start(built[0])
    port = web.base_port
    assert web.proxy_url == f"http://127.0.0.1:{port}"
    assert web._server.sockets[0].getsockname()[0] == "127.0.0.1"
    c = Client(web)
    assert c.get("http://council.brighton.example/community-directory")[0] == 200
    web.stop()
    c.close()
    web.stop()
    assert threading.active_count() == threads_before
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_cli_serve_prints_the_proxy_and_stops_on_ctrl_c(built):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sampleweb", "serve", str(built[0]), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=Path(__file__).resolve().parent.parent)
    try:
        first = proc.stdout.readline()
        m = re.search(r"on (http://127\.0\.0\.1:(\d+))", first)
        assert m, first
        lines = [proc.stdout.readline() for _ in range(5)]
        assert any("BEATMAP_ALLOW_PRIVATE_HOSTS=127.0.0.1" in x for x in lines)
        conn = http.client.HTTPConnection("127.0.0.1", int(m.group(2)), timeout=5)
        conn.request("GET", "http://council.brighton.example/community-directory")
        assert conn.getresponse().status == 200
        conn.close()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0 and "stopped after 1 requests" in out
    finally:
        if proc.poll() is None:
            proc.kill()


def test_links_written_in_posts_are_links_on_the_page(client, truth):
    checked = 0
    for v in truth["venues"]:
        for p in v["posts"]:
            if not p["links"]:
                continue
            html = client.get(p["page_url"])[2].decode("utf-8")
            for url in p["links"]:
                assert f'href="{url}"' in html, (p["page_url"], url)
            checked += 1
    assert checked > 100


def test_a_polite_crawl_meets_no_broken_internal_links(web, truth):
    """Follow every same-host link from the seeds (robots obeyed, session ids stripped, the
    calendar trap avoided): the only 4xx/5xx pages are the hazards the truth lists."""
    from html.parser import HTMLParser

    from sampleweb.site import is_allowed, robots_rules

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.hrefs = []

        def handle_starttag(self, tag, attrs):
            if tag == "a":
                self.hrefs += [v for k, v in attrs if k == "href" and v]

    def canonical(url: str) -> str:
        url = url.split("#")[0]
        url = re.sub(r"([?&;])(sid|PHPSESSID)=[0-9a-f]+(&amp;|&)?", r"\1", url).rstrip("?&;")
        return url.replace("?&", "?")

    hazards = {u["url"] for u in truth["hazards"]["urls"]}
    traps = [t["url_prefix"] for t in truth["hazards"]["traps"]]
    walls = [w["url_prefix"] for w in truth["hazards"]["login_walls"]]
    queue, seen, bad = list(truth["seeds"]), set(truth["seeds"]), []
    crawlable_hosts = {v["host"] for v in truth["venues"] if v["crawlable"]}
    c = Client(web)
    while queue and len(seen) < 6000:
        url = queue.pop()
        status, hdrs, body = c.get(url)
        if status >= 400 and url not in hazards:
            bad.append((status, url))
        if status in (301, 302):
            targets = [urljoin(url, hdrs["location"])]
        elif status == 200 and hdrs.get("content-type", "").startswith("text/html") and url not in hazards:
            parser = Links()
            parser.feed(body.decode("utf-8", "replace"))
            targets = [urljoin(url, h) for h in parser.hrefs]
        else:
            continue
        for t in targets:
            t = canonical(t)
            parts = urlsplit(t)
            if parts.scheme != "http" or parts.hostname not in crawlable_hosts or t in seen:
                continue
            if any(t.startswith(p) for p in traps + walls) or parts.path.startswith("/loop/"):
                continue
            _mode, allow, disallow = robots_rules(web.world, parts.hostname)
            if not is_allowed(allow, disallow, parts.path + (f"?{parts.query}" if parts.query else "")):
                continue
            seen.add(t)
            queue.append(t)
    c.close()
    assert len(seen) > 1000
    assert bad == []


def test_planted_handle_pages_exist_and_are_listed(client, truth):
    handle = truth["planted_handle"]
    assert truth["planted_handle_urls"]
    for url in truth["planted_handle_urls"]:
        assert handle.lower() in url.lower()
        status, hdrs, body = client.get(url)
        assert status in (200, 302), url  # XenForo member pages sit behind the login wall


def test_start_errors_are_clear(web, tmp_path):
    from sampleweb.model import SpecError

    with pytest.raises(OSError, match="could not listen on 127.0.0.1"):
        SampleWeb.start(web.world.spec, port=web.base_port)
    with pytest.raises(SpecError, match="sampleweb build"):
        SampleWeb.start(tmp_path)
    (tmp_path / "site_spec.json").write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(SpecError, match="not a sample-web spec"):
        SampleWeb.start(tmp_path)
