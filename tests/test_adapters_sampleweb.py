"""Every adapter over the sample web's pages of its engine, scored against the ground truth."""

# The sample web's renderers are called in-process (no sockets): each crawlable venue is walked
# from the adapter's entry points through ``follow`` only, as the engine would, and the posts
# found are matched to the ground truth by the platform's id or URL.

from __future__ import annotations

from collections import defaultdict, deque
from datetime import date, datetime
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import pytest
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse

from crawler.adapters import registry
from crawler.adapters.detection import sniff_channel
from crawler.adapters.types import PostItem

sampleweb = pytest.importorskip("sampleweb.model")
from sampleweb.area import load_area_from_files  # noqa: E402
from sampleweb.generate import make_spec  # noqa: E402
from sampleweb.platforms.common import Req  # noqa: E402
from sampleweb.site import handle  # noqa: E402
from sampleweb.truth import DAY_PRECISION, post_truth  # noqa: E402

# Sample-web platform → our adapter. Static association sites and the council directory have
# no engine: the generic adapter reads them.
ADAPTER_FOR = {"static": "generic", "directory": "generic"}
# Pages walked per venue: enough for every post of a demo-sized venue through the cheapest
# channel, small enough to keep the test quick.
MAX_PAGES_PER_VENUE = 600
MAX_REDIRECTS = 5
# Floors from the crawler issue: ≥ 95 % of posts found, ≥ 95 % of those with correct dates.
MIN_RECALL = 0.95
MIN_DATE_ACCURACY = 0.95
# Posts found that the ground truth does not list (e.g. a static site's history page).
MAX_EXTRA_SHARE = 0.05
SEED, PAGES, AS_OF = 1, 3000, date(2026, 11, 1)


@lru_cache(maxsize=1)
def world():
    from sampleweb.model import World

    return World(make_spec(load_area_from_files(), seed=SEED, pages=PAGES, as_of=AS_OF))


def fetch(url: str) -> Response | None:
    """The sample web's answer to a GET of ``url``, as a Scrapy response (redirects followed)."""
    w = world()
    for _ in range(MAX_REDIRECTS):
        parts = urlsplit(url)
        host = parts.netloc
        if host not in w.hosts:
            return None
        resp = handle(w, Req(host=host, path=parts.path or "/", query=parts.query))
        if resp.status in (301, 302, 303, 307, 308):
            location = dict((k.lower(), v) for k, v in resp.headers).get("location")
            if not location:
                return None
            url = urljoin(url, location)
            continue
        if resp.stall or resp.chunks is not None or resp.status != 200:
            return None
        headers = {k: v for k, v in resp.headers}
        ctype = resp.content_type or ""
        if ctype:
            headers["Content-Type"] = ctype
        cls = (HtmlResponse if "html" in ctype else XmlResponse if "xml" in ctype
               else TextResponse if ("json" in ctype or "text" in ctype) else Response)
        return cls(url=url, body=resp.body, headers=headers, status=200)
    return None


def walk(home: str, adapter) -> tuple[list[PostItem], int, list]:
    """Fetch the venue from its entry points through same-venue ``follow`` only."""
    queue = deque(adapter.entry_points(home))
    seen = set(queue)
    posts: list[PostItem] = []
    results = []
    fetched = 0
    failed_entry = 0
    while queue and fetched < MAX_PAGES_PER_VENUE:
        url = queue.popleft()
        response = fetch(url)
        if response is None:
            failed_entry += 1
            continue
        fetched += 1
        result = adapter.parse(response)
        results.append((url, result))
        posts.extend(result.posts)
        for nxt in result.follow:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    if not posts and failed_entry:
        for url in adapter.fallback_entry_points(home):
            response = fetch(url)
            if response is not None:
                posts.extend(adapter.parse(response).posts)
    return posts, fetched, results


def _key(url: str) -> str:
    return url.split("#")[0].rstrip("/")


def score(venue, posts: list[PostItem]) -> dict:
    truths = [post_truth(venue, p) for p in venue.posts]
    by_id: dict[str, PostItem] = {}
    by_url: dict[str, PostItem] = {}
    for post in posts:
        if post.external_id:
            by_id.setdefault(post.external_id, post)
        by_url.setdefault(_key(post.url), post)
    found = dated = 0
    misses = []
    for truth in truths:
        post = by_id.get(truth["external_id"]) or by_url.get(_key(truth["url"]))
        if post is None:
            misses.append(truth["url"])
            continue
        found += 1
        if _same_time(post.published_at, truth["published"], venue.platform):
            dated += 1
    ids = {t["external_id"] for t in truths}
    urls = {_key(t["url"]) for t in truths}
    unique = {p.external_id or _key(p.url): p for p in posts}
    extra = [p.url for p in unique.values() if p.external_id not in ids and _key(p.url) not in urls]
    return {"truth": len(truths), "found": found, "dated": dated, "misses": misses[:3],
            "extra": len(extra), "extra_urls": extra[:3]}


def _check_contact(venue, results) -> None:
    """The venue's public email, where its pages show one, reaches VenueInfo.contact.

    The sample web writes ``hello@<host>`` when a venue has no address of its own.
    """
    want = venue.d.get("email") or f"hello@{venue.host}"
    shown = any(want and want.encode() in (fetch(url) or Response(url)).body
                for url, _ in results[:40])
    if not shown:
        return
    found = {r.venue.contact.get("email") for _, r in results if r.venue is not None}
    assert want in found, (venue.url, want, found)


def _same_time(got: datetime | None, want: str, platform: str) -> bool:
    if got is None:
        return False
    expected = datetime.fromisoformat(want)
    if platform in DAY_PRECISION:
        return got.date() == expected.date()
    return abs((got - expected).total_seconds()) < 1


def _venues(platform: str) -> list:
    return [v for v in world().venues
            if v.platform == platform and v.crawlable and v.d["status"] in ("live", "dormant")
            and not v.d.get("mirror") and not v.d.get("redirects_to")
            and not v.d.get("duplicate_of")]


PLATFORMS = ["wordpress", "blogger", "ghost", "static", "directory", "phpbb", "discourse",
             "xenforo", "vbulletin", "smf", "mybb", "invision", "reddit", "mastodon", "telegram"]


@pytest.mark.slow
@pytest.mark.parametrize("platform", PLATFORMS)
def test_adapter_reads_the_sample_webs_pages_of_its_engine(platform):
    venues = _venues(platform)
    if not venues:
        pytest.skip(f"the sample web has no crawlable {platform} venue at this size")
    adapter = registry.get(ADAPTER_FOR.get(platform, platform))
    totals: dict[str, int] = defaultdict(int)
    report = []
    for venue in venues:
        home = fetch(venue.url)
        assert home is not None, venue.url
        assert registry.detect(home).platform == adapter.platform, venue.url
        posts, fetched, results = walk(venue.url, adapter)
        _check_contact(venue, results)
        s = score(venue, posts)
        for key in ("truth", "found", "dated", "extra"):
            totals[key] += s[key]
        report.append((venue.url, fetched, s))
    # Pages that are not posts of the ground truth (a directory, about pages) must stay rare.
    assert totals["extra"] <= MAX_EXTRA_SHARE * max(totals["found"], 20), report
    if totals["truth"] == 0:
        return  # a directory: links, not posts
    recall = totals["found"] / totals["truth"]
    accuracy = totals["dated"] / max(1, totals["found"])
    assert recall >= MIN_RECALL, report
    assert accuracy >= MIN_DATE_ACCURACY, report


@pytest.mark.slow
@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_html_and_json_page_of_the_sample_web_names_its_engine(platform):
    """A venue can be met first on any page (a deep link), not only on its home."""
    from sampleweb.platforms import renderer

    want = ADAPTER_FOR.get(platform, platform)
    wrong = []
    checked = 0
    for venue in _venues(platform)[:4]:
        for url in renderer(platform).urls(venue)[:80]:
            response = fetch(url)
            # Sitemaps and some feeds carry no engine marker at all; the venue's platform is
            # known from its other pages by the time they are fetched.
            if response is None or sniff_channel(response) not in ("html", "json"):
                continue
            checked += 1
            if registry.detect(response).platform != want:
                wrong.append(url)
    assert checked and not wrong, wrong[:5]


@pytest.mark.slow
@pytest.mark.parametrize("platform", PLATFORMS)
def test_member_handles_appear_only_as_post_authors(platform):
    """Handles go to ``PostItem.author`` (pseudonymised by the engine) and nowhere else: not
    in post text, URLs, titles, links or venue facts, where they would be stored in clear."""
    adapter = registry.get(ADAPTER_FOR.get(platform, platform))
    leaks = []
    for venue in _venues(platform):
        handles = {p.author.lower() for p in venue.posts if len(p.author) >= 4}
        _, _, results = walk(venue.url, adapter)
        for url, result in results:
            stored = [f"{p.url} {p.text} {p.title} {p.thread} {p.board}" for p in result.posts]
            stored += [f"{link.url} {link.anchor_text} {link.context}" for link in result.links]
            stored.append(str(result.venue or ""))
            text = " ".join(stored).lower()
            leaks += [(url, h) for h in handles if h in text]
    assert not leaks, leaks[:5]
