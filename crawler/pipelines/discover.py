"""Item pipeline step: a changed page's links become venues, link evidence and queued URLs."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from scrapy.crawler import Crawler
from sqlalchemy.orm import Session

from crawler import ledger
from crawler.discovery import (
    ENTRY_POINT_BONUS,
    FOLLOW_PENALTY,
    LocalityScorer,
    VenueState,
    ensure_venue,
    group_links,
    link_priority,
)
from crawler.items import PageItem
from crawler.pipelines.batch import Batch
from crawler.signals import page_storing
from crawler.urls import URLError, canonicalize, host_of, is_profile_url, url_fp
from crawler.venues import is_not_a_community, venue_key
from storage.db import make_engine, session_scope

logger = logging.getLogger(__name__)

# URLs remembered as already queued, to skip repeated inserts of navigation links; bounded so
# that memory does not grow with the crawl (≈ 100 bytes each).
QUEUED_MEMO_MAX = 200_000


class DiscoverPipeline:
    """Writes in the store step's transaction (``page_storing``): venues found in the page's
    links, the link evidence between venues, and the URLs to fetch (entry points, the
    adapter's ``follow`` links, links to other crawlable venues within the depth budget).

    A link to a page about one person on a site we crawl (author archive, member profile:
    ``urls.is_profile_url``) carries a handle in its URL: it names no venue, is never queued,
    never evidence and never logged; it is only counted (``links/profile_skipped``)."""

    def __init__(self, crawler: Crawler, db_url: str, max_depth: int, seeds_only: bool):
        self.crawler = crawler
        self.stats = crawler.stats
        self.db_url = db_url
        self.max_depth = max_depth
        self.seeds_only = seeds_only
        self.scorer: LocalityScorer | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DiscoverPipeline:
        s = crawler.settings
        step = cls(crawler, s.get("BEATMAP_DB"), s.getint("BEATMAP_MAX_DEPTH", 3),
                   s.getbool("BEATMAP_SEEDS_ONLY"))
        crawler.signals.connect(step.discover, signal=page_storing)
        return step

    def open_spider(self) -> None:
        engine = make_engine(self.db_url)
        try:
            with session_scope(engine) as session:
                self.scorer = LocalityScorer.from_session(session)
        finally:
            engine.dispose()

    def discover(self, session: Session, item: PageItem, venue: VenueState, batch: Batch,
                 now: datetime) -> None:
        page_hits = self.scorer.hits(item.page_text_sample) if self.scorer else 0
        evidence: dict[int, tuple[int, str]] = {}
        for url, links in group_links(item.links).items():
            if is_not_a_community(url):
                self.stats.inc_value("links/ignored_service")
                continue
            try:
                ref = venue_key(url)
            except URLError:
                continue
            # (known-only platforms are recorded by their venue key, e.g. a YouTube @channel,
            # and never fetched; on sites we crawl, a person's page is no venue)
            if ref.crawlable and (is_profile_url(url)
                                  or any(is_profile_url(link.url) for link in links)):
                self.stats.inc_value("links/profile_skipped", len(links))
                continue
            anchor = next((link.anchor_text.strip() for link in links if link.anchor_text), "")
            context = next((getattr(link, "context", "") for link in links
                            if getattr(link, "context", "")), "")
            if ref.key == venue.key:
                continue  # inner links are the adapter's `follow`, not evidence
            dst, created = ensure_venue(session, ref, discovered_via="link",
                                        depth=venue.depth + 1, cache=batch.venues, now=now)
            if dst.id == venue.id:
                continue
            count, sample = evidence.get(dst.id, (0, ""))
            evidence[dst.id] = (count + len(links), sample or anchor)
            if created:
                self.stats.inc_value("venues/discovered")
                if not ref.crawlable:
                    self.stats.inc_value(f"venues/known_only/{ref.platform_hint}")
            if ref.crawlable and dst.crawlable and not self.seeds_only \
                    and dst.depth <= self.max_depth:
                anchor_hits = self.scorer.hits(f"{anchor} {context}") if self.scorer else 0
                priority = link_priority(anchor_hits=anchor_hits, page_hits=page_hits,
                                         source_local=venue.local, depth=dst.depth)
                self._queue(batch, [ref.url], dst, priority, now)
        batch.add_links(venue.id, item.final_url, evidence, now)
        base = item.priority
        self._queue(batch, item.entry_points, venue, base + ENTRY_POINT_BONUS, now)
        follow = self._same_venue(item.follow, venue, batch)
        self._queue(batch, follow, venue, base - FOLLOW_PENALTY, now)

    def _same_venue(self, urls: Iterable[str], venue: VenueState, batch: Batch) -> list[str]:
        out = []
        for url in urls:
            try:
                ref = venue_key(url)
            except URLError:
                continue
            if ref.key == venue.key or batch.venues.get(ref.key) is venue:
                out.append(url)
            else:
                self.stats.inc_value("frontier/follow_off_venue")
        return out

    def _queue(self, batch: Batch, urls: Iterable[str], venue: VenueState, priority: float,
               now: datetime) -> None:
        rows = []
        for raw in urls:
            try:
                url = canonicalize(raw)
            except URLError:
                continue
            if is_profile_url(url) or is_profile_url(raw):
                self.stats.inc_value("links/profile_skipped")
                continue
            fp = url_fp(url)
            if fp in batch.queued:
                continue
            if len(batch.queued) >= QUEUED_MEMO_MAX:
                batch.queued.clear()  # only a memo: the ledger's ON CONFLICT keeps it correct
            batch.queued.add(fp)
            rows.append(ledger.entry_row(url, fp, host_of(url), venue_id=venue.id,
                                         depth=venue.depth, priority=priority,
                                         run_id=batch.run_id, now=now))
        if rows:
            batch.queue.extend(rows)
            self.stats.inc_value("frontier/queued", len(rows))
