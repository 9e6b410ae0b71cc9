"""Saved engine pages used by the adapter tests: where each was served from, and how."""

# The other adapter test modules import ``FIXTURES`` and ``response_for`` from here; the tests
# below keep the list and the files on disk in step.

from __future__ import annotations

from pathlib import Path

from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse

PAGES = Path(__file__).parent / "fixtures" / "pages"

# fixture → (URL it stands for, extra response headers)
FIXTURES: dict[str, tuple[str, dict[str, str]]] = {
    "wordpress/home.html": ("https://hanover-ra.example/", {}),
    "wordpress/single.html": ("https://hanover-ra.example/2024/03/12/spring-meeting-st-lukes/", {}),
    "wordpress/posts.json": ("https://hanover-ra.example/wp-json/wp/v2/posts?per_page=100",
                             {"X-WP-Total": "250", "X-WP-TotalPages": "3"}),
    "wordpress/feed.xml": ("https://hanover-ra.example/feed/", {}),
    "wordpress/wp-sitemap.xml": ("https://hanover-ra.example/wp-sitemap.xml", {}),
    "blogger/feed.xml": ("https://roundhill-notes.blogspot.com/feeds/posts/default", {}),
    "blogger/post.html": ("https://roundhill-notes.blogspot.com/2024/05/shed-break-ins.html", {}),
    "ghost/rss.xml": ("https://kemptown-notes.example/rss/", {}),
    "ghost/post.html": ("https://kemptown-notes.example/st-jamess-street-after-dark/", {}),
    "substack/feed.xml": ("https://prestonparkpost.example/feed", {}),
    "substack/archive.json": (
        "https://prestonparkpost.example/api/v1/archive?sort=new&offset=0&limit=2", {}),
    "substack/post.html": ("https://prestonparkpost.example/p/fiveways-fair-is-back", {}),
    "phpbb/index.html": ("https://whitehawk-forum.example/index.php", {}),
    "phpbb/viewforum.html": ("https://whitehawk-forum.example/viewforum.php?f=2", {}),
    "phpbb/viewtopic.html": ("https://whitehawk-forum.example/viewtopic.php?t=41", {}),
    "phpbb/viewtopic_30.html": ("https://whitehawk-forum.example/viewtopic.php?f=3&t=52", {}),
    "phpbb/feed.xml": ("https://whitehawk-forum.example/app.php/feed", {}),
    "discourse/latest.json": ("https://talk.kemptown.example/latest.json", {}),
    "discourse/topic.json": ("https://talk.kemptown.example/t/noise-from-the-marine-parade-bars/231.json", {}),
    "discourse/categories.json": ("https://talk.kemptown.example/categories.json", {}),
    "discourse/about.json": ("https://talk.kemptown.example/about.json", {}),
    "discourse/topic.html": ("https://talk.kemptown.example/t/noise-from-the-marine-parade-bars/231", {}),
    "xenforo/index.html": ("https://moulsecoomb-neighbours.example/", {}),
    "xenforo/forum.html": ("https://moulsecoomb-neighbours.example/forums/lewes-road.2/", {}),
    "xenforo/thread.html": (
        "https://moulsecoomb-neighbours.example/threads/night-buses-after-the-timetable-change.88/", {}),
    "xenforo/thread_xf1.html": (
        "https://moulsecoomb-neighbours.example/threads/speeding-on-coldean-lane.60/", {}),
    "vbulletin/thread.html": ("https://allotments-forum.example/showthread.php?t=512",
                              {"Date": "Thu, 21 Nov 2024 12:00:00 GMT"}),
    "vbulletin/thread_vb5.html": (
        "https://allotments-forum.example/forum/hollingdean-and-round-hill/7001-hedgehog-house", {}),
    "vbulletin/forum.html": ("https://allotments-forum.example/forum.php", {}),
    "smf/topic.html": ("https://portslade-forum.example/index.php?topic=77.0", {}),
    "smf/topic_20.html": ("https://portslade-forum.example/index.php?topic=90.0", {}),
    "smf/index.html": ("https://portslade-forum.example/index.php", {}),
    "smf/feed.xml": ("https://portslade-forum.example/index.php?action=.xml;type=rss2", {}),
    "mybb/thread.html": ("https://hove-seafront-forum.example/showthread.php?tid=310",
                         {"Date": "Thu, 21 Nov 2024 12:00:00 GMT"}),
    "mybb/index.html": ("https://hove-seafront-forum.example/index.php", {}),
    "invision/topic.html": (
        "https://brighton-hub.example/topic/4410-graffiti-on-the-seven-dials-bridge/", {}),
    "invision/index.html": ("https://brighton-hub.example/", {}),
    "reddit/new.json": ("https://reddit-like.example/r/BrightonLocal/new.json?limit=100", {}),
    "reddit/comments.json": ("https://reddit-like.example/r/BrightonLocal/comments/1c9zz02/"
                             "sirens_at_preston_circus_last_night/.json", {}),
    "reddit/about.json": ("https://reddit-like.example/r/BrightonLocal/about.json", {}),
    "mastodon/public.json": (
        "https://brighton.social.example/api/v1/timelines/public?local=true&limit=40",
        {"Link": '<https://brighton.social.example/api/v1/timelines/public?local=true&limit=40'
                 '&max_id=112233445566778800>; rel="next", <https://brighton.social.example/api/'
                 'v1/timelines/public?local=true&min_id=112233445566778899>; rel="prev"'}),
    "mastodon/instance.json": ("https://brighton.social.example/api/v1/instance", {}),
    "telegram/channel.html": ("https://t.me/s/bevendeanupdates", {}),
    "generic/ra_home.html": ("https://queenspark-ra.example/", {}),
    "generic/ra_news.html": ("https://queenspark-ra.example/news.html", {}),
    "generic/council_directory.html": (
        "https://www.brighton-hove-council.example/community/groups-directory", {}),
    "generic/feed.xml": ("https://queenspark-ra.example/news.xml", {}),
}

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".json": "application/json; charset=utf-8",
                 ".xml": "application/xml; charset=utf-8"}


def response_for(name: str, body: bytes | None = None) -> Response:
    """A Scrapy response built from a saved page, as the engine would receive it."""
    url, extra = FIXTURES[name]
    path = PAGES / name
    data = path.read_bytes() if body is None else body
    headers = {"Content-Type": CONTENT_TYPES[path.suffix], **extra}
    cls = {".html": HtmlResponse, ".xml": XmlResponse}.get(path.suffix, TextResponse)
    return cls(url=url, body=data, headers=headers, encoding=None if path.suffix == ".html" else "utf-8")


def platform_of(name: str) -> str:
    return name.split("/", 1)[0]


def test_every_listed_page_exists_and_every_saved_page_is_listed():
    on_disk = {f"{p.parent.name}/{p.name}" for p in PAGES.glob("*/*") if p.is_file()}
    assert on_disk == set(FIXTURES)


def test_saved_pages_stand_for_reserved_or_platform_hosts():
    from urllib.parse import urlsplit

    for name, (url, _headers) in FIXTURES.items():
        host = urlsplit(url).hostname or ""
        # Our own invented sites live under .example; real platform hosts appear only for
        # engines that are one site (Blogger's blogspot.com, Telegram's t.me).
        assert host.endswith(".example") or host in ("roundhill-notes.blogspot.com", "t.me"), name
