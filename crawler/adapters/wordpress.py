"""WordPress: REST API first (/wp-json/wp/v2/posts), then the RSS feed, sitemap and theme HTML."""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from scrapy.http import Response

from crawler.adapters.blog import BlogAdapter, BlogSelectors
from crawler.adapters.dates import parse_date
from crawler.adapters.detection import has_marker, html_generator
from crawler.adapters.feeds import feed_generator, parse_feed
from crawler.adapters.jsonapi import as_dicts, as_int, as_str, dig, load_json
from crawler.adapters.links import absolute, links_in, under
from crawler.adapters.text import fragment_root, fragment_text, one_line
from crawler.adapters.types import ParseResult, PostItem, VenueInfo

SELECTORS = BlogSelectors(
    single="body.single, body.single-post",
    article="article[id^='post-'], article.post, main article",
    title="h1.entry-title, h1.wp-block-post-title, h1",
    body=".entry-content, .wp-block-post-content, .post-content",
    date="time.entry-date.published, time.entry-date, time[datetime], .posted-on time",
    author=".author.vcard a, .byline .author a, a[rel='author'], .wp-block-post-author__name",
    category="a[rel~='category']",
    post_link="h2.entry-title a, h3.entry-title a, h2.wp-block-post-title a, .entry-title a",
    next_page="a.next.page-numbers, .nav-previous a, .wp-block-query-pagination-next",
    drop=".sharedaddy, .jp-relatedposts, .wp-block-buttons, .post-navigation",
)
MARKERS = (b"/wp-content/", b"/wp-includes/", b'rel="https://api.w.org/"',
           b"rel='https://api.w.org/'")
API_POSTS = "wp-json/wp/v2/posts"
# 100 is the REST API's largest per_page; 100 pages = 10,000 posts, far beyond a local blog.
PER_PAGE = 100
MAX_API_PAGES = 100


class WordpressAdapter(BlogAdapter):
    platform: ClassVar[str] = "wordpress"
    priority: ClassVar[int] = 300
    selectors: ClassVar[BlogSelectors] = SELECTORS
    id_sources: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("article[id^='post-']", "id", r"^post-(\d+)$"),
        ("body", "class", r"\bpostid-(\d+)\b"),
        ("link[rel='shortlink']", "href", r"[?&]p=(\d+)"),
    )

    def detect(self, response: Response) -> bool:
        if "wordpress" in html_generator(response) or has_marker(response, *MARKERS):
            return True
        path = urlsplit(response.url).path
        if "/wp-json/" in path or path.endswith("wp-sitemap.xml"):
            return True
        return "wordpress.org" in feed_generator(response.body)

    def entry_points(self, home_url: str) -> list[str]:
        return [under(home_url, f"{API_POSTS}?per_page={PER_PAGE}"),
                under(home_url, "feed/"), home_url]

    def fallback_entry_points(self, home_url: str) -> list[str]:
        return [under(home_url, "wp-sitemap.xml")]

    def keep_sitemap_url(self, url: str) -> bool:
        # Post and page sitemaps only: user sitemaps list people, taxonomy ones list archives.
        return "wp-sitemap-users-" not in url and "wp-sitemap-taxonomies-" not in url

    def parse_json(self, response: Response, result: ParseResult) -> None:
        result.kind = "api"
        data = load_json(response)
        if isinstance(data, dict) and "namespaces" in data:  # the /wp-json/ index
            result.venue = VenueInfo(name=as_str(data.get("name")),
                                     description=as_str(data.get("description")))
            return
        items = as_dicts(data) if isinstance(data, list) else as_dicts([data])
        for item in items:
            post = self.api_post(item, response.url)
            if post is not None:
                result.posts.append(post)
                result.links.extend(links_in(fragment_root(dig(item, "content", "rendered")),
                                             post.url))
        nxt = _next_api_page(response)
        if nxt and items:
            result.follow.append(nxt)

    def api_post(self, item: dict, base_url: str) -> PostItem | None:
        url = absolute(base_url, as_str(item.get("link")))
        if url is None:
            return None
        # date_gmt has no offset but is UTC by definition; date is the site's local time.
        when = parse_date(as_str(item.get("date_gmt")), tz="UTC") or parse_date(
            as_str(item.get("date")))
        embedded = dig(item, "_embedded", "author", 0, default={})
        author = as_str(dig(embedded, "name")) or as_str(dig(embedded, "slug"))
        if author is None and as_int(item.get("author")) is not None:
            author = f"user-{item['author']}"
        return PostItem(url=url, text=fragment_text(as_str(dig(item, "content", "rendered"))),
                        title=one_line(fragment_text(as_str(dig(item, "title", "rendered")))),
                        published_at=when, author=author,
                        external_id=as_str(item.get("id")))

    def parse_feed(self, response: Response, result: ParseResult) -> None:
        parse_feed(response, result, entry_id=_feed_entry_id)


def _feed_entry_id(entry: Any) -> str | None:
    """WordPress feed guids are '<home>/?p=123': the same id the REST API gives."""
    match = re.search(r"[?&]p=(\d+)", entry.get("id") or "")
    return match.group(1) if match else None


def _next_api_page(response: Response) -> str | None:
    parts = urlsplit(response.url)
    query = parse_qs(parts.query)
    page = as_int((query.get("page") or ["1"])[0]) or 1
    total = as_int(response.headers.get(b"X-WP-TotalPages", b"").decode("latin-1"))
    if total is None or page >= min(total, MAX_API_PAGES):
        return None
    query["page"] = [str(page + 1)]
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
