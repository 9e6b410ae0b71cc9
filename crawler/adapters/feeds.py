"""RSS and Atom feeds, read with feedparser from the bytes already fetched (never by URL)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import feedparser
from scrapy.http import Response

from crawler.adapters.dates import parse_date
from crawler.adapters.links import absolute, links_in
from crawler.adapters.text import fragment_root, node_text, one_line
from crawler.adapters.types import ParseResult, PostItem, VenueInfo

logger = logging.getLogger(__name__)

# Entity declarations are how XML bombs and external-entity reads start; no real feed needs
# them, so a feed that declares any is refused before the parser sees it.
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_GENERATOR = re.compile(rb"<generator[^>]*>([^<]{0,200})</generator>", re.I)
_GENERATOR_URI = re.compile(rb"<generator[^>]*\buri=[\"']([^\"']{0,200})[\"']", re.I)
# Feed bytes inspected for the generator element, which sits in the channel header.
GENERATOR_WINDOW = 4096

EntryHook = Callable[[Any], "str | None"]


def feed_generator(body: bytes) -> str:
    """The feed's generator text and URI, lower-cased ('' when none).

    >>> feed_generator(b"<rss><channel><generator>https://wordpress.org/?v=6.4.2</generator>")
    'https://wordpress.org/?v=6.4.2'
    >>> feed_generator(b"<feed><generator version='7.00' uri='http://www.blogger.com'>Blogger</generator>")
    'blogger http://www.blogger.com'
    """
    head = body[:GENERATOR_WINDOW]
    parts = []
    for pattern in (_GENERATOR, _GENERATOR_URI):
        match = pattern.search(head)
        if match:
            parts.append(match.group(1).decode("utf-8", "replace").strip())
    return " ".join(parts).lower()


def read_feed(body: bytes, url: str, content_type: str = "") -> Any | None:
    """feedparser's result for ``body``, or None when the feed declares entities."""
    if _ENTITY_DECL.search(body):
        logger.warning("feed with entity declarations refused: %s", url)
        return None
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # Bytes in, so feedparser never treats the argument as a URL or a file name. Its HTML
    # sanitiser and URI rewriting are off: entry HTML is only ever reduced to text here (never
    # rendered), links are resolved by our own code, and both passes doubled the cost.
    return feedparser.parse(bytes(body), response_headers=headers, sanitize_html=False,
                            resolve_relative_uris=False)


def parse_feed(response: Response, result: ParseResult, *, board: str | None = None,
               entry_id: EntryHook | None = None, thread_of: EntryHook | None = None,
               board_of: EntryHook | None = None) -> Any:
    """Fill ``result`` from an RSS/Atom response; return the parsed feed (or None).

    ``entry_id`` gives each entry the platform's own id (the same one the engine's other
    channels give), ``thread_of`` its thread title when the feed is of forum replies.
    """
    result.kind = "feed"
    ctype = response.headers.get(b"Content-Type", b"").decode("latin-1")
    parsed = read_feed(response.body, response.url, ctype)
    if parsed is None:
        result.errors.append("feed: entity declarations refused")
        return None
    header = parsed.get("feed", {})
    result.venue = VenueInfo(name=one_line(header.get("title")) or None,
                             description=one_line(header.get("subtitle"), 1000) or None)
    for entry in parsed.get("entries", []):
        post = entry_post(entry, response.url, board=board_of(entry) if board_of else board,
                          entry_id=entry_id, thread_of=thread_of)
        if post is None:
            continue
        result.posts.append(post)
        result.links.extend(links_in(fragment_root(_entry_html(entry)), post.url))
    for link in header.get("links", []):
        if link.get("rel") == "next":
            url = absolute(response.url, link.get("href"))
            if url:
                result.follow.append(url)
    return parsed


def entry_post(entry: Any, base_url: str, *, board: str | None = None,
               entry_id: EntryHook | None = None, thread_of: EntryHook | None = None
               ) -> PostItem | None:
    url = absolute(base_url, entry.get("link"))
    guid = entry.get("id") or ""
    if url is None and guid.startswith(("http://", "https://")):
        url = guid
    if url is None:
        return None
    text = node_text(fragment_root(_entry_html(entry)))
    when = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        if entry.get(key):
            when = parse_date(entry.get(key))
            break
    if when is None:
        when = parse_date(entry.get("published") or entry.get("updated"))
    return PostItem(
        url=url, text=text, title=one_line(entry.get("title"), 500) or None, published_at=when,
        author=one_line((entry.get("author_detail") or {}).get("name") or entry.get("author"),
                        200) or None,
        external_id=entry_id(entry) if entry_id else None,
        thread=thread_of(entry) if thread_of else None, board=board)


def _entry_html(entry: Any) -> str:
    """The fullest body an entry has: content:encoded / atom content, else the summary."""
    best = ""
    for content in entry.get("content", []) or []:
        value = content.get("value") or ""
        if len(value) > len(best):
            best = value
    summary = entry.get("summary") or ""
    return best if len(best) >= len(summary) else summary


def first_category(entry: Any) -> str | None:
    """The entry's first category label (a forum feed's board)."""
    for tag in entry.get("tags", []) or []:
        label = one_line(tag.get("label") or tag.get("term"))
        if label:
            return label
    return None
