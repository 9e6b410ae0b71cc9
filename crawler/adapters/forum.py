"""What server-rendered forum engines share: index → boards → topic lists → thread pages."""

# Each engine module (phpBB, XenForo, vBulletin, SMF, MyBB, Invision) subclasses
# :class:`ForumAdapter` with its markers and a :class:`ForumSelectors` instance; the walking and
# extraction logic lives here once. A site whose theme moved things around overrides a few
# selectors with ``dataclasses.replace`` (see docs/adapters.md).

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from urllib.parse import urldefrag

from lxml import etree
from parsel import Selector
from scrapy.http import Response

from crawler.adapters.base import Adapter
from crawler.adapters.dates import DISPLAY_TZ, parse_date
from crawler.adapters.feeds import read_feed
from crawler.adapters.links import absolute, feed_links, is_home, page_links, rel_next, under
from crawler.adapters.metadata import contact_info, counts_from_text, description, site_name
from crawler.adapters.text import (
    css_all,
    css_first,
    node_text,
    one_line,
    root_of,
    selector_of,
    text_of,
)
from crawler.adapters.types import ParseResult, PostItem, VenueInfo

logger = logging.getLogger(__name__)

# Attributes that carry a machine-readable date, most exact first. ``title`` is last because
# some engines put the subject there ("Reply #2 - Bins on Elm Grove").
DATE_ATTRS = ("datetime", "data-time", "data-timestamp", "content", "title")
# Breadcrumb entries that name the whole forum rather than a board.
# Threads queued from one thread-list feed (feeds hold 10-50 entries).
MAX_FEED_THREADS = 100
ROOT_CRUMBS = frozenset({"board index", "forum index", "home", "forums", "forum", "index",
                         "community", "browse"})


@dataclass(frozen=True)
class ForumSelectors:
    """CSS selectors for one engine's default theme. Element selectors, no ::text/::attr."""

    post: str  # each post on a thread page
    body: str  # the message inside a post
    author: str  # the author's name inside a post
    date: str  # the element carrying the post date inside a post
    permalink: str = ""  # the post's own link inside a post
    quote: str = "blockquote"  # quoted earlier posts inside a body, left out of the text
    thread_title: str = "h1"  # the thread's title on a thread page
    breadcrumb: str = ""  # breadcrumb links; the last one naming a board is the board
    board_title: str = ""  # a board's name on its topic list
    thread_link: str = ""  # links to threads on a board's topic list
    board_link: str = ""  # links to boards on the index
    next_page: str = ""  # pagination: the next page
    stats: str = ""  # the board statistics block (members, posts)


class ForumAdapter(Adapter):
    """Base for forum engines; not registered itself (``platform`` is empty)."""

    platform: ClassVar[str] = ""
    selectors: ClassVar[ForumSelectors]
    # Regex over the post element's attributes giving the engine's post id.
    post_id_attrs: ClassVar[tuple[str, ...]] = ("id",)
    post_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"(\d+)")
    # Zone of dates printed without an offset (see crawler/adapters/dates.py).
    display_tz: ClassVar[str] = DISPLAY_TZ
    # Day-first numeric dates (03-04-2024 = 3 April) — the engines' UK language packs.
    dayfirst: ClassVar[bool] = False
    # Paths (relative to the home URL) of the engine's feed, tried before the HTML. Only
    # feeds whose entries carry post ids (so they match the HTML's) are listed.
    feed_paths: ClassVar[tuple[str, ...]] = ()
    # Date attributes this engine's theme uses (see DATE_ATTRS).
    date_attrs: ClassVar[tuple[str, ...]] = DATE_ATTRS
    # Attribute of the post element naming its author, where the engine writes one.
    author_attr: ClassVar[str] = ""
    # Decoration around thread titles to strip ("Topic: … (Read 12 times)").
    title_noise: ClassVar[re.Pattern[str] | None] = None

    def entry_points(self, home_url: str) -> list[str]:
        feeds = [under(home_url, p) for p in self.feed_paths]
        return feeds + [home_url]

    def parse_html(self, response: Response, result: ParseResult) -> None:
        sel = selector_of(response)
        root = root_of(sel)
        s = self.selectors
        result.links.extend(page_links(sel, response.url))
        title = self.thread_title(root)
        board = self.board_name(root, title)
        now = self.page_time(response)
        for node in innermost(css_all(root, s.post)):
            post = self.post_from(node, response.url, title, board, now)
            if post is not None:
                result.posts.append(post)
        threads = self._hrefs(root, s.thread_link, response.url)
        boards = self._hrefs(root, s.board_link, response.url)
        result.follow.extend(threads + boards)
        pages = self._hrefs(root, s.next_page, response.url) or [rel_next(sel, response.url)]
        result.follow.extend(u for u in pages if u)
        if result.posts:
            result.kind = "thread"
        elif threads:
            result.kind = "listing"
        if is_home(response.url) or (boards and not result.posts):
            result.kind = "home" if is_home(response.url) else result.kind
            result.venue = self.venue_info(sel, response.url)
            if self.feed_paths:
                # Only feeds whose entries carry post ids; others list threads, not posts,
                # and would store each thread's opening post a second time.
                result.follow.extend(feed_links(sel, response.url)[:1])

    def parse_feed(self, response: Response, result: ParseResult) -> None:
        """Feeds of these engines list threads, not posts: queue the threads instead.

        Engines whose feeds carry post ids (phpBB, SMF) override this to read posts.
        """
        result.kind = "feed"
        parsed = read_feed(response.body, response.url)
        if parsed is None:
            result.errors.append("feed: entity declarations refused")
            return
        for entry in parsed.get("entries", [])[:MAX_FEED_THREADS]:
            url = absolute(response.url, entry.get("link"))
            if url:
                result.follow.append(url)

    # -- pieces a site or engine may override ---------------------------------------------

    def thread_title(self, root: etree._Element | None) -> str | None:
        node = css_first(root, self.selectors.thread_title)
        title = one_line(node_text(node[0]), 500) if node else ""
        if title and self.title_noise is not None:
            title = one_line(self.title_noise.sub(" ", title))
        return title or None

    def board_name(self, root: etree._Element | None, title: str | None) -> str | None:
        s = self.selectors
        crumbs = [one_line(node_text(c)) for c in css_all(root, s.breadcrumb)]
        crumbs = [c for c in crumbs if c and c.lower() not in ROOT_CRUMBS and c != title]
        if crumbs:
            return crumbs[-1]
        node = css_first(root, s.board_title)
        return (one_line(node_text(node[0])) or None) if node else None

    def post_from(self, node: etree._Element, page_url: str, title: str | None,
                  board: str | None, now: datetime | None) -> PostItem | None:
        """One post from its container element (lxml, for speed on long threads)."""
        s = self.selectors
        body = css_first(node, s.body)
        if not body:
            return None
        quotes = set(css_all(body[0], s.quote)) if s.quote else set()
        quotes.discard(body[0])  # vBulletin's body is itself a <blockquote>
        text = node_text(body[0], quotes)
        ident = self.post_id(node) or self.post_id(body[0])
        link = css_first(node, s.permalink) if s.permalink else []
        url = absolute(page_url, link[0].get("href")) if link else None
        if url is None or urldefrag(url)[0] == urldefrag(page_url)[0]:
            anchor = node.get("id")
            url = f"{urldefrag(page_url)[0]}#{anchor}" if anchor else page_url
        author = node.get(self.author_attr) if self.author_attr else None
        if not author:
            found = css_first(node, s.author)
            author = one_line(node_text(found[0])) if found else None
        return PostItem(url=url, text=text, title=title,
                        published_at=self.date_of(css_first(node, s.date), now),
                        author=author or None, external_id=ident, thread=title, board=board)

    def post_id(self, node: etree._Element) -> str | None:
        for attr in self.post_id_attrs:
            value = node.get(attr)
            match = self.post_id_pattern.search(value) if value else None
            if match:
                return match.group(1)
        return None

    def date_of(self, nodes: list[etree._Element], now: datetime | None) -> datetime | None:
        for node in nodes[:3]:
            for attr in self.date_attrs:
                value = node.get(attr)
                if value:
                    when = parse_date(value, tz=self.display_tz, now=now, dayfirst=self.dayfirst)
                    if when:
                        return when
            when = parse_date(one_line(node_text(node)), tz=self.display_tz, now=now,
                              dayfirst=self.dayfirst)
            if when:
                return when
        return None

    def venue_info(self, sel: Selector, url: str) -> VenueInfo:
        s = self.selectors
        members = posts = None
        if s.stats:
            members, posts = counts_from_text(" ".join(stats_text(n) for n in sel.css(s.stats)))
        return VenueInfo(name=site_name(sel, True), description=description(sel),
                         member_count=members, post_count=posts,
                         contact=contact_info(sel, url, exclude=s.post or None))

    @staticmethod
    def page_time(response: Response) -> datetime | None:
        """The server's Date header: the 'now' that 'Today, 7:12 PM' was written against."""
        raw = response.headers.get(b"Date")
        return parse_date(raw.decode("latin-1")) if raw else None

    @staticmethod
    def _hrefs(root: etree._Element | None, query: str, base_url: str) -> list[str]:
        urls = []
        for node in css_all(root, query):
            url = absolute(base_url, node.get("href"))
            if url:
                urls.append(url)
        return urls


def stats_text(node: Selector) -> str:
    """A statistics block as 'label: value' lines, also when written as <dl><dt><dd> pairs."""
    terms = node.css("dt")
    if not terms:
        return text_of(node)
    pairs = []
    for dt in terms:
        dd = dt.xpath("following-sibling::dd[1]")
        pairs.append(f"{one_line(text_of(dt))}: {one_line(text_of(dd[0])) if dd else ''}")
    return "\n".join(pairs)


def innermost(nodes: list[etree._Element]) -> list[etree._Element]:
    """Drop matches that merely wrap other matches (a thread-wide microdata wrapper)."""
    members = set(nodes)
    wrappers = set()
    for node in nodes:
        parent = node.getparent()
        while parent is not None:
            if parent in members:
                wrappers.add(parent)
            parent = parent.getparent()
    return [n for n in nodes if n not in wrappers]
