"""Any other site: residents' association pages, council directories, unknown engines."""

# Main text comes from trafilatura (run on the HTML string already fetched), dates from meta
# tags, JSON-LD, ``<time>`` elements or a written date near the top, contact details from mailto
# links, contact pages and "find us on" blocks. A page listing several dated articles (a news
# page) gives one post per article.

from __future__ import annotations

import itertools
import logging
import re
from datetime import datetime
from typing import ClassVar
from urllib.parse import urlsplit

import trafilatura
from parsel import Selector
from scrapy.http import Response

from crawler.adapters.base import Adapter
from crawler.adapters.dates import DISPLAY_TZ, parse_date
from crawler.adapters.links import (
    MAX_ANCHORS_READ,
    absolute,
    feed_links,
    is_about,
    is_home,
    page_links,
    site_of,
)
from crawler.adapters.metadata import contact_info, description, jsonld_article, meta, site_name
from crawler.adapters.text import node_text, one_line, root_of, selector_of, text_of
from crawler.adapters.types import LinkItem, ParseResult, PostItem, VenueInfo

logger = logging.getLogger(__name__)

# A page's main text shorter than this is navigation, a form or a placeholder, not a post.
MIN_PAGE_POST_CHARS = 120
# An <article> on a news page needs a heading and this much text to count as one item.
MIN_ARTICLE_CHARS = 40
# Internal links followed per page: a small site's whole menu and a news page's items fit.
MAX_INTERNAL_FOLLOW = 100
# Written dates are looked for this far into the main text ("Posted 4 March 2024 by …").
DATE_SEARCH_CHARS = 400
# Share of a page's text inside links above which it is a list of links (a news index, a
# directory) rather than an article. Article pages measured here sit at 0.1-0.3 (their menus),
# link lists at 0.6-0.9.
LISTING_LINK_DENSITY = 0.5
MAX_DESCRIPTION_CHARS = 600
# A page listing this many other sites in list items or table rows is a directory of groups
# (a council's community directory, a "local links" page), not an article.
DIRECTORY_MIN_SITES = 5
# trafilatura without its fallback extractors (readability, jusText): ~3x faster here and
# the same text on the association and news pages we checked; the fallbacks rescue oddly
# marked-up pages, which the article/page rules above already cover.
TRAFILATURA_FAST = True
# Files and endpoints that are never pages of the venue's words.
SKIP_PATH = re.compile(
    r"\.(?:pdf|jpe?g|png|gif|webp|svg|ico|css|js|zip|gz|docx?|xlsx?|pptx?|mp[34]|mov|avi|ics)$"
    r"|/(?:wp-admin|wp-login|login|logout|signin|register|cart|checkout|search|cgi-bin|my-account)"
    r"(?:/|$)",
    re.I)
SKIP_QUERY = re.compile(r"(?:^|&)(?:replytocom|share|print|action=(?:login|register))=", re.I)
_WRITTEN_DATE = re.compile(
    r"\b(\d{1,2}(?:st|nd|rd|th)?\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*"
    r"\.?,?\s+\d{4}|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}"
    r"(?:st|nd|rd|th)?,?\s+\d{4}|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})\b", re.I)
_POSTED = re.compile(r"\b(?:posted|published|written|added)\s+(?:on\s+)?" + _WRITTEN_DATE.pattern,
                     re.I)
# "Posted on 4 March 2024 by Jo", "Written by Jo on …" (any case), or a line that is only
# "By Jo Smith" / "By Jo Smith, 4 March 2024" (capital B, so "by the way, …" stays text).
_NAME = r"(?P<name>[\w.'-]+(?: [\w.'-]+){0,3})"
_BYLINE = re.compile(r"^(?:posted|published|written|added|submitted)\b.{0,60}?\bby\s+" + _NAME
                     + r"(?:\s*(?:,|\bon\b|\bat\b|\|).*)?$", re.I)
_BARE_BYLINE = re.compile(r"^By\s+(?P<name>[A-Z0-9_][\w.'-]*(?: [A-Z][\w.'-]*){0,3})"
                          r"(?:\s*(?:,|\bon\b|\|).*)?$")
MAX_BYLINE_CHARS = 140
# A line of at least this many short "|"-separated items is a menu left in by the extractor.
MENU_MIN_ITEMS = 3
MENU_ITEM_CHARS = 25
ARTICLE = "article"
HEADING = "h1, h2, h3"


class GenericAdapter(Adapter):
    platform: ClassVar[str] = "generic"
    priority: ClassVar[int] = 1000
    display_tz: ClassVar[str] = DISPLAY_TZ

    def detect(self, response: Response) -> bool:
        return True

    def parse_html(self, response: Response, result: ParseResult) -> None:
        sel = selector_of(response)
        url = response.url
        result.links.extend(page_links(sel, url))
        home = is_home(url)
        about = is_about(url)
        result.kind = "home" if home else "about" if about else "other"
        if home or about:
            # The venue's own words about itself (who it serves, where) are venue facts, not
            # a post: they describe the venue on its record instead.
            result.venue = VenueInfo(name=site_name(sel, home),
                                     description=self.describe(sel, response),
                                     contact=contact_info(sel, url, text_emails=True))
        items = self.article_posts(sel, url)
        if len(items) >= 2:
            result.posts.extend(items)
            result.kind = "listing"
        elif home or about:
            pass
        elif (link_density(sel) > LISTING_LINK_DENSITY
              or len(_listed_sites(result.links)) >= DIRECTORY_MIN_SITES):
            result.kind = "listing"  # a news index or a directory: its links are the content
        else:
            post = self.page_post(sel, response)
            if post is not None:
                result.posts.append(post)
                result.kind = "post"
        result.follow.extend(feed_links(sel, url)[:1])
        result.follow.extend(self.internal_links(sel, url))

    def describe(self, sel: Selector, response: Response) -> str | None:
        """Meta description plus the start of the page's own text (who, what, where)."""
        meta_text = description(sel) or ""
        main = self.main_text(response)[:MAX_DESCRIPTION_CHARS]
        if main and main[:80] not in meta_text:
            return f"{meta_text}\n{main}".strip()
        return meta_text or None

    def page_post(self, sel: Selector, response: Response) -> PostItem | None:
        """The page's main text as one post, when there is enough of it."""
        text = self.main_text(response)
        if len(text) < MIN_PAGE_POST_CHARS:
            return None
        ld = jsonld_article(sel)
        h1 = sel.css("h1")
        title = meta(sel, "og:title") or ld.get("headline") or (
            one_line(text_of(h1[0])) if h1 else None)
        when = self.page_date(sel, text) or parse_date(ld.get("datePublished"))
        body, byline = strip_bylines(text)
        return PostItem(url=response.url, text=body, title=title or site_name(sel, False),
                        published_at=when,
                        author=ld.get("author") or meta(sel, "author", "article:author") or byline)

    def main_text(self, response: Response) -> str:
        """trafilatura's main text of the page (memoised on the response: asked twice)."""
        cached = response.meta.get("_beatmap_main_text") if _has_meta(response) else None
        if cached is not None:
            return cached
        text = self._extract(response)
        if _has_meta(response):
            response.meta["_beatmap_main_text"] = text
        return text

    def _extract(self, response: Response) -> str:
        try:
            html = response.text if hasattr(response, "text") else response.body.decode(
                "utf-8", "replace")
        except (ValueError, UnicodeError):
            html = response.body.decode("utf-8", "replace")
        # trafilatura reads the string it is given; it never fetches the URL.
        extracted = trafilatura.extract(html, url=response.url, include_comments=False,
                                        include_tables=True, deduplicate=False,
                                        with_metadata=False, fast=TRAFILATURA_FAST)
        return (extracted or "").strip()

    def page_date(self, sel: Selector, text: str) -> datetime | None:
        when = parse_date(meta(sel, "article:published_time", "og:published_time",
                               "datePublished", "date", "dc.date", "DC.date.issued"))
        if when:
            return when
        for node in sel.css("main time[datetime], article time[datetime], time[datetime]")[:1]:
            when = parse_date(node.attrib.get("datetime"), tz=self.display_tz)
            if when:
                return when
        match = _WRITTEN_DATE.search(text[:DATE_SEARCH_CHARS])
        if match is None:
            # Extractors drop bylines as boilerplate; "Posted on 4 March 2024 by …" is in the page.
            match = _POSTED.search(text_of(sel.css("body")[0]) if sel.css("body") else "")
        return parse_date(match.group(1), tz=self.display_tz, dayfirst=True) if match else None

    def article_posts(self, sel: Selector, url: str) -> list[PostItem]:
        """One post per <article> on pages that list several (news pages, noticeboards)."""
        posts = []
        for node in sel.css(ARTICLE)[:200]:
            heading = node.css(HEADING)
            if not heading:
                continue
            title = one_line(text_of(heading[0]), 500)
            skip = {heading[0].root}
            text = text_of(node, skip)
            if len(text) < MIN_ARTICLE_CHARS:
                continue
            link = heading[0].css("a")
            item_url = absolute(url, link[0].attrib.get("href")) if link else None
            anchor = node.attrib.get("id")
            item_url = item_url or (f"{url.split('#')[0]}#{anchor}" if anchor else None)
            if item_url is None:
                continue
            time_node = node.css("time")
            when = parse_date(time_node[0].attrib.get("datetime"), tz=self.display_tz) if time_node else None
            if when is None:
                match = _WRITTEN_DATE.search(text[:DATE_SEARCH_CHARS])
                when = parse_date(match.group(1), tz=self.display_tz, dayfirst=True) if match else None
            body, byline = strip_bylines(text)
            posts.append(PostItem(url=item_url, text=body, title=title or None, published_at=when,
                                  author=byline))
        return posts

    def internal_links(self, sel: Selector, url: str) -> list[str]:
        root = root_of(sel)
        if root is None:
            return []
        found: list[str] = []
        for a in root.iter("a"):
            target = absolute(url, a.get("href"))
            if target is None or (a.get("rel") or "").lower().find("nofollow") >= 0:
                continue
            parts = urlsplit(target)
            if SKIP_PATH.search(parts.path) or SKIP_QUERY.search(parts.query):
                continue
            if self.is_same_venue(target, url):
                found.append(target)
                if len(found) >= MAX_INTERNAL_FOLLOW:
                    break
        return found


def strip_bylines(text: str) -> tuple[str, str | None]:
    r"""Text without its byline and menu lines, and the author the byline names.

    The author goes to ``PostItem.author`` (which the engine pseudonymises); left in the text
    the handle would be stored in clear.

    >>> strip_bylines("Home | News | About us\nPosted on 4 March 2024 by Jo_B\nBins again.")
    ('Bins again.', 'Jo_B')
    """
    author = None
    kept = []
    for line in text.split("\n"):
        stripped = line.strip()
        match = (_BYLINE.match(stripped) or _BARE_BYLINE.match(stripped)
                 if len(stripped) <= MAX_BYLINE_CHARS else None)
        if match:
            author = author or (match.group("name").strip(" .") or None)
            continue
        if _is_menu(stripped):
            continue
        kept.append(line)
    return "\n".join(kept).strip(), author


def _is_menu(line: str) -> bool:
    parts = [p.strip() for p in line.split("|")]
    return len(parts) >= MENU_MIN_ITEMS and all(0 < len(p) <= MENU_ITEM_CHARS for p in parts)


def link_density(sel: Selector) -> float:
    """Share of the body's text that sits inside links."""
    body = sel.css("body")
    if not body:
        return 0.0
    root = body[0].root
    total = len(node_text(root))
    if total == 0:
        return 0.0
    anchors = itertools.islice(root.iter("a"), MAX_ANCHORS_READ)  # a link farm: a sample is enough
    linked = sum(len(node_text(a)) for a in anchors)
    return min(1.0, linked / total)


def _listed_sites(links: list[LinkItem]) -> set[str]:
    """Other sites linked from list items or rows (links with their own context)."""
    return {site_of(link.url)[0] for link in links if link.context}


def _has_meta(response: Response) -> bool:
    try:
        return isinstance(response.meta, dict)
    except AttributeError:  # a response built outside a crawl has no request, hence no meta
        return False
