"""The adapter base class: the contract between platform adapters and the crawl engine."""

from __future__ import annotations

import logging
from datetime import UTC
from typing import ClassVar
from urllib.parse import urldefrag

from scrapy.http import Response

from crawler.adapters.detection import sniff_channel
from crawler.adapters.feeds import parse_feed
from crawler.adapters.links import same_site
from crawler.adapters.metadata import page_basics
from crawler.adapters.sitemaps import parse_sitemap
from crawler.adapters.types import LinkItem, ParseResult, PostItem

logger = logging.getLogger(__name__)

# Per-response caps. A forum index page lists ~50-100 boards or topics and a WordPress REST
# page 100 posts; 300 follow URLs covers that with room while keeping a hostile page (a link
# farm, a calendar) from flooding the frontier. Links: a busy blog page has ~150 outbound
# links; 1,000 keeps link farms bounded.
MAX_FOLLOW = 300
MAX_LINKS = 1000
# A sitemap file lists up to 50,000 URLs by the protocol and WordPress writes 2,000 per file;
# the engine's per-host page budget is what really bounds the fetching.
MAX_SITEMAP_FOLLOW = 5000
# Longest post text kept: ~20 pages of prose. Longer bodies are pasted documents or junk, and
# the tagger gains nothing from the rest.
MAX_POST_CHARS = 60_000


class Adapter:
    """Base class: subclasses set ``platform`` and override what their engine needs.

    An adapter knows one engine (WordPress, phpBB, Discourse …): how to recognise it from real
    markers, which channel is cheapest (feed, JSON API, sitemap, HTML), and how to turn a response
    into posts, venue metadata, pages to follow inside the venue and links out of it. Adapters are
    pure: they read a Scrapy response and return data; fetching, storage, pseudonymisation and
    politeness belong to the engine.

    How the engine uses an adapter:

    * ``registry.detect(response)`` picks the adapter for a venue's first page;
      ``registry.get(platform)`` finds it again for later pages of that venue.
    * ``entry_points(home_url)`` lists the channels to fetch for a venue, cheapest first (API or
      feed, then sitemap, then the HTML home page, which is always last because it carries the
      venue's name, contact details and outbound links). Channels overlap on purpose: posts carry
      the same ``external_id`` whichever channel they came from, so the engine stores each once.
    * ``parse(response)`` never raises. It sniffs the channel of the body (JSON, feed, sitemap,
      HTML) and calls the matching ``parse_json`` / ``parse_feed`` / ``parse_sitemap`` /
      ``parse_html`` hook, which fills in a :class:`ParseResult`. A hook that fails keeps what it
      had already found and records the failure in ``ParseResult.errors``.
    * ``ParseResult.follow`` holds only URLs of the same venue (checked here, after the hook), at
      most :data:`MAX_FOLLOW` per response; ``ParseResult.links`` holds every link that leaves the
      venue, with its anchor text, for discovery.
    """

    platform: ClassVar[str] = "generic"
    # Lower runs first when several adapters could claim a response.
    priority: ClassVar[int] = 500
    # Site-specific adapters (see docs/adapters.md) claim these hosts before any marker test.
    hosts: ClassVar[tuple[str, ...]] = ()

    def detect(self, response: Response) -> bool:
        """True when the response shows this engine's markers."""
        return False

    def entry_points(self, home_url: str) -> list[str]:
        """URLs to fetch for a venue, cheapest reliable channel first (feed/API before HTML)."""
        return [home_url]

    def fallback_entry_points(self, home_url: str) -> list[str]:
        """Channels worth fetching only when every entry point failed (e.g. a sitemap that
        would otherwise duplicate what the API gives)."""
        return []

    def venue_key(self, url: str) -> str | None:
        """A finer venue key than the site for this URL (a subreddit, a board), or None."""
        return None

    def parse(self, response: Response) -> ParseResult:
        """Posts, venue facts, same-venue pages and outbound links of ``response``.

        Never raises: a failing hook leaves what it found and a line in ``errors``.
        """
        channel = sniff_channel(response)
        result = ParseResult(channel=channel)
        hook = getattr(self, f"parse_{channel}")
        try:
            hook(response, result)
        except Exception as exc:  # noqa: BLE001 - a bad page must never stop a crawl
            result.errors.append(f"{self.platform}/{channel}: {type(exc).__name__}: {exc}"[:300])
            logger.warning("parse failed for %s (%s): %s", response.url, self.platform,
                           type(exc).__name__)
        self.finish(response, result)
        return result

    # -- hooks, one per channel; subclasses override the ones their engine has --------------

    def parse_json(self, response: Response, result: ParseResult) -> None:
        result.kind = "api"

    def parse_feed(self, response: Response, result: ParseResult) -> None:
        parse_feed(response, result, board=None)

    def parse_sitemap(self, response: Response, result: ParseResult) -> None:
        parse_sitemap(response, result, keep=self.keep_sitemap_url)

    def parse_html(self, response: Response, result: ParseResult) -> None:
        page_basics(response, result)

    def keep_sitemap_url(self, url: str) -> bool:
        """Whether a sitemap entry is worth fetching (engines drop user/tag listings)."""
        return True

    # -- shared post-processing -------------------------------------------------------------

    def is_same_venue(self, url: str, base_url: str) -> bool:
        """Whether ``url`` belongs to the same venue as ``base_url``."""
        if not same_site(url, base_url):
            return False
        mine = self.venue_key(base_url)
        return mine is None or self.venue_key(url) in (mine, None)

    def finish(self, response: Response, result: ParseResult) -> None:
        """Enforce the contract: same-venue bounded follow, deduplicated links, UTC dates."""
        here = urldefrag(response.url)[0]
        seen = {here}
        follow: list[str] = []
        for url in result.follow:
            url = urldefrag(url)[0]
            if url in seen or not url.startswith(("http://", "https://")):
                continue
            seen.add(url)
            if self.is_same_venue(url, response.url):
                follow.append(url)
        result.follow = follow[:MAX_SITEMAP_FOLLOW if result.kind == "sitemap" else MAX_FOLLOW]
        links: dict[str, LinkItem] = {}
        for link in result.links:
            if link.url in links or not link.url.startswith(("http://", "https://")):
                continue
            if self.is_same_venue(link.url, response.url):
                continue
            links[link.url] = link
        result.links = list(links.values())[:MAX_LINKS]
        result.posts = [p for p in (_clean_post(p) for p in result.posts) if p is not None]


def _clean_post(post: PostItem) -> PostItem | None:
    """Trim text, cap its length, make dates aware UTC; drop posts with nothing in them."""
    post.text = (post.text or "").strip()[:MAX_POST_CHARS]
    if post.title is not None:
        post.title = post.title.strip() or None
    if not post.text and not post.title:
        return None
    when = post.published_at
    if when is not None:
        post.published_at = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return post
