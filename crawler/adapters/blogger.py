"""Blogger / Blogspot: the Atom feed at /feeds/posts/default, then the blog's HTML."""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

from scrapy.http import Response

from crawler.adapters.blog import BlogAdapter, BlogSelectors
from crawler.adapters.detection import has_marker, html_generator
from crawler.adapters.feeds import feed_generator, parse_feed
from crawler.adapters.links import under
from crawler.adapters.types import ParseResult

SELECTORS = BlogSelectors(
    single="body.item-view, .post-body[id^='post-body-']",
    article=".post-outer .post, div.post.hentry, article.post-outer-container, .post",
    title="h3.post-title, h1.post-title, .post-title",
    body=".post-body",
    date="time.published, abbr.published, .published, .date-header span",
    author=".post-author .fn, .post-author-name, span.fn",
    category=".post-labels a",
    post_link="h3.post-title a, h2.post-title a, .post-title a",
    next_page="a.blog-pager-older-link",
)
MARKERS = (b"www.blogger.com/static", b"blogger.com/feeds", b"blogspot.com", b"_widgetmanager")
_POST_ID = re.compile(r"post-(\d+)")


class BloggerAdapter(BlogAdapter):
    platform: ClassVar[str] = "blogger"
    priority: ClassVar[int] = 300
    selectors: ClassVar[BlogSelectors] = SELECTORS
    id_sources: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("meta[itemprop='postId']", "content", r"^(\d+)$"),
        (".post-body[id^='post-body-']", "id", r"post-body-(\d+)"),
        ("a[name]", "name", r"^(\d{10,})$"),
    )

    def detect(self, response: Response) -> bool:
        if html_generator(response) == "blogger" or "blogger" in feed_generator(response.body):
            return True
        host = urlsplit(response.url).hostname or ""
        return host.endswith(".blogspot.com") or has_marker(response, *MARKERS[:2])

    def entry_points(self, home_url: str) -> list[str]:
        return [under(home_url, "feeds/posts/default"), home_url]

    def parse_feed(self, response: Response, result: ParseResult) -> None:
        parse_feed(response, result, entry_id=_entry_id)


def _entry_id(entry: Any) -> str | None:
    """Atom ids read 'tag:blogger.com,1999:blog-<blog>.post-<post>'."""
    match = _POST_ID.search(entry.get("id") or "")
    return match.group(1) if match else None
