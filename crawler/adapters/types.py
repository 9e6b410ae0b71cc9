"""The data adapters hand to the crawl engine: posts, venue facts, links, the parse result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# How a body can be read; ``ParseResult.channel`` is one of these.
CHANNELS = ("json", "feed", "sitemap", "html")


@dataclass
class PostItem:
    """One post. ``author`` is the clear handle as found; the engine replaces it with a keyed
    hash before anything is stored or logged, so adapters must not log it."""

    url: str
    text: str
    title: str | None = None
    published_at: datetime | None = None  # timezone-aware UTC (adapters convert)
    author: str | None = None
    external_id: str | None = None  # the platform's own id, the same on every channel
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
    # Text around the link (its list item, table row or sentence), trimmed: discovery reads
    # place names near a link, and directory pages describe each group beside its link.
    context: str = ""


@dataclass
class ParseResult:
    kind: str = "other"  # home, listing, thread, post, feed, api, sitemap, about, other
    posts: list[PostItem] = field(default_factory=list)
    venue: VenueInfo | None = None
    follow: list[str] = field(default_factory=list)  # same-venue URLs worth fetching next
    links: list[LinkItem] = field(default_factory=list)  # every outbound link, for discovery
    channel: str = "html"  # json, feed, sitemap or html: how this body was read
    errors: list[str] = field(default_factory=list)  # parse failures (for crawl-health stats)
