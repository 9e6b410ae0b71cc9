"""What blog engines share in HTML: listing pages that link to single-post pages."""

# WordPress, Blogger, Ghost and Substack subclass :class:`BlogAdapter`; their feeds and JSON
# APIs are the cheap channels, and this HTML reading is what remains when those are off.
# Listing pages are not read as posts (they carry excerpts); their post links are followed.

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from parsel import Selector
from scrapy.http import Response

from crawler.adapters.base import Adapter
from crawler.adapters.dates import parse_date
from crawler.adapters.links import absolute, feed_links, is_home, rel_next, same_site
from crawler.adapters.metadata import jsonld_article, meta, page_basics
from crawler.adapters.text import first_match, one_line, text_of
from crawler.adapters.types import ParseResult, PostItem

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlogSelectors:
    """CSS selectors of one blog engine's usual themes (element selectors)."""

    single: str  # matches (anywhere, often <body>) only on a single-post page
    article: str  # the post's container on a single-post page
    title: str  # the post title inside the article
    body: str  # the post body inside the article
    date: str  # element carrying the publication date inside the article
    author: str = ""  # the author's name inside the article
    category: str = ""  # category links (the first is the post's board)
    post_link: str = ""  # links to posts on listing pages
    next_page: str = ""  # older-posts link on listing pages
    drop: str = ""  # parts of the body that are not the post (share buttons, related posts)


class BlogAdapter(Adapter):
    """Base for blog engines; not registered itself (``platform`` is empty)."""

    platform: ClassVar[str] = ""
    selectors: ClassVar[BlogSelectors]
    # Where the engine writes its post id: (css selector, attribute, regex).
    id_sources: ClassVar[tuple[tuple[str, str, str], ...]] = ()

    def parse_html(self, response: Response, result: ParseResult) -> None:
        sel = page_basics(response, result)
        s = self.selectors
        if result.kind not in ("home", "about") and sel.css(s.single):
            post = self.single_post(sel, response.url)
            if post is not None:
                result.posts.append(post)
                result.kind = "post"
                return
        if result.kind == "about":
            return
        result.kind = "home" if is_home(response.url) else "listing"
        for node in sel.css(s.post_link) if s.post_link else []:
            url = absolute(response.url, node.attrib.get("href"))
            if url:
                result.follow.append(url)
        older = [absolute(response.url, n.attrib.get("href")) for n in sel.css(s.next_page)
                 ] if s.next_page else []
        result.follow.extend(u for u in older + [rel_next(sel, response.url)] if u)
        if result.kind == "home":
            result.follow.extend(feed_links(sel, response.url)[:1])

    def single_post(self, sel: Selector, url: str) -> PostItem | None:
        s = self.selectors
        article = first_match(sel, s.article)
        scope = article[0] if article else sel
        body = first_match(scope, s.body)
        if not body:
            return None
        drop = {d.root for d in body.css(s.drop)} if s.drop else set()
        ld = jsonld_article(sel)
        title = first_match(scope, s.title)
        author = first_match(scope, s.author) if s.author else []
        category = first_match(scope, s.category) if s.category else []
        return PostItem(
            url=canonical_url(sel, url),
            text=text_of(body[0], drop),
            title=(one_line(text_of(title[0]), 500) if title else "") or ld.get("headline")
            or meta(sel, "og:title"),
            published_at=self.date_of(scope, sel, ld),
            author=(one_line(text_of(author[0])) if author else "") or ld.get("author")
            or meta(sel, "author", "article:author"),
            external_id=self.post_id(sel),
            board=one_line(text_of(category[0])) or None if category else None)

    def date_of(self, scope: Selector, page: Selector, ld: dict) -> datetime | None:
        # Meta tags and JSON-LD carry the full timestamp; themes often print only the day.
        when = parse_date(meta(page, "article:published_time", "og:published_time",
                               "datePublished")) or parse_date(ld.get("datePublished"))
        if when:
            return when
        for node in first_match(scope, self.selectors.date)[:3]:
            for attr in ("datetime", "content", "title"):
                when = parse_date(node.attrib.get(attr))
                if when:
                    return when
            when = parse_date(one_line(text_of(node)))
            if when:
                return when
        return None

    def post_id(self, sel: Selector) -> str | None:
        for query, attr, pattern in self.id_sources:
            for node in sel.css(query)[:5]:
                match = re.search(pattern, node.attrib.get(attr) or "")
                if match:
                    return match.group(1)
        return None


def canonical_url(sel: Selector, url: str) -> str:
    """The page's canonical URL, unless it is unusable for a single post.

    Misconfigured themes point every page's canonical at the home page (or at another
    site); taking that would merge all posts into one, so the fetched URL is kept instead.
    """
    canonical = absolute(url, sel.css('link[rel="canonical"]::attr(href)').get())
    if canonical is None or not same_site(canonical, url) or is_home(canonical):
        return url
    return canonical
