"""Substack-style newsletters: RSS at /feed, the public archive API, then post pages."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from scrapy.http import Response

from crawler.adapters.blog import BlogAdapter, BlogSelectors
from crawler.adapters.detection import has_marker, html_generator
from crawler.adapters.feeds import feed_generator
from crawler.adapters.jsonapi import as_dicts, as_int, as_str, load_json
from crawler.adapters.links import absolute, under
from crawler.adapters.types import ParseResult

SELECTORS = BlogSelectors(
    single="article.newsletter-post, .single-post, div.post.newsletter-post",
    article="article.newsletter-post, .single-post, article",
    title="h1.post-title, h1",
    body=".available-content .body.markup, .body.markup, .available-content",
    date="time[datetime], .post-date, .pencraft time",
    author=".byline-names a, .profile-hover-card-target a, a.pencraft[href*='/@']",
    post_link="a.post-preview-title, .post-preview a[href*='/p/'], a[href*='/p/']",
    drop=".subscription-widget-wrap, .button-wrapper, .footnote",
)
MARKERS = (b"substackcdn.com", b"substack.com/api", b"window._preloads", b"substack-")
ARCHIVE = "api/v1/archive"
# The archive API's own page size in its web client is 12; 50 is accepted and saves requests.
ARCHIVE_LIMIT = 50
MAX_ARCHIVE_OFFSET = 5000


class SubstackAdapter(BlogAdapter):
    """Post URLs identify posts here: the feed's guid and the archive's id differ in kind."""

    platform: ClassVar[str] = "substack"
    # After the other blogs: Substack assets embedded in someone else's page must not win.
    priority: ClassVar[int] = 320
    selectors: ClassVar[BlogSelectors] = SELECTORS

    def detect(self, response: Response) -> bool:
        if "substack" in feed_generator(response.body) or "substack" in html_generator(response):
            return True
        return ARCHIVE in urlsplit(response.url).path or (
            has_marker(response, b"substackcdn.com") and has_marker(response, b"_preloads"))

    def entry_points(self, home_url: str) -> list[str]:
        archive = under(home_url, f"{ARCHIVE}?sort=new&offset=0&limit={ARCHIVE_LIMIT}")
        return [under(home_url, "feed"), archive, home_url]

    def parse_json(self, response: Response, result: ParseResult) -> None:
        """The archive lists posts with teasers only: queue their pages, then the next slice."""
        result.kind = "api"
        items = as_dicts(load_json(response))
        for item in items:
            url = absolute(response.url, as_str(item.get("canonical_url")))
            if url:
                result.follow.append(url)
        parts = urlsplit(response.url)
        query = parse_qs(parts.query)
        offset = as_int((query.get("offset") or ["0"])[0]) or 0
        limit = as_int((query.get("limit") or [str(ARCHIVE_LIMIT)])[0]) or ARCHIVE_LIMIT
        if items and len(items) >= limit and offset + limit <= MAX_ARCHIVE_OFFSET:
            query["offset"] = [str(offset + limit)]
            result.follow.append(urlunsplit(parts._replace(query=urlencode(query, doseq=True))))
