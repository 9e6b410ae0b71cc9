"""The contract between platform adapters and the crawl engine.

An adapter knows one engine (WordPress, phpBB, Discourse …): how to recognise it from real
markers, which channel is cheapest (feed, JSON API, sitemap, HTML), and how to turn a response
into posts, venue metadata, pages to follow inside the venue and links out of it. Adapters are
pure: they read a Scrapy response and return data; fetching, storage, pseudonymisation and
politeness belong to the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from scrapy.http import Response


@dataclass
class PostItem:
    """One post. ``author`` is the clear handle as found; the engine replaces it with a keyed
    hash before anything is stored or logged, so adapters must not log it."""

    url: str
    text: str
    title: str | None = None
    published_at: datetime | None = None  # timezone-aware, or naive meaning UTC
    author: str | None = None
    external_id: str | None = None  # the platform's own id, when it has one
    thread: str | None = None  # thread / topic title or id
    board: str | None = None  # sub-forum, category, channel


@dataclass
class VenueInfo:
    """What a venue says about itself (home page, about page, API metadata)."""

    name: str | None = None
    description: str | None = None
    member_count: int | None = None
    post_count: int | None = None
    contact: dict[str, object] = field(default_factory=dict)  # email, contact_page, social […]


@dataclass
class LinkItem:
    url: str
    anchor_text: str = ""


@dataclass
class ParseResult:
    kind: str = "other"  # home, listing, thread, post, feed, api, sitemap, about, other
    posts: list[PostItem] = field(default_factory=list)
    venue: VenueInfo | None = None
    follow: list[str] = field(default_factory=list)  # same-venue URLs worth fetching next
    links: list[LinkItem] = field(default_factory=list)  # every outbound link, for discovery


class Adapter:
    """Base class: subclasses set ``platform`` and override what their engine needs."""

    platform: ClassVar[str] = "generic"
    # Lower runs first when several adapters could claim a response.
    priority: ClassVar[int] = 500

    def detect(self, response: Response) -> bool:
        """True when the response shows this engine's markers."""
        return False

    def entry_points(self, home_url: str) -> list[str]:
        """URLs to fetch for a venue, cheapest reliable channel first (feed/API before HTML)."""
        return [home_url]

    def venue_key(self, url: str) -> str | None:
        """A finer venue key than the site for this URL (a subreddit, a board), or None."""
        return None

    def parse(self, response: Response) -> ParseResult:
        raise NotImplementedError
