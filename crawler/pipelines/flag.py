"""Item pipeline step: flag crawler traps among the queued URLs and venues that look hijacked."""

from __future__ import annotations

import logging
import re

from scrapy.crawler import Crawler
from sqlalchemy import update
from sqlalchemy.orm import Session

from crawler.discovery import VenueState
from crawler.items import PageItem
from crawler.pipelines.batch import Batch
from crawler.signals import page_storing
from crawler.urls import trap_reason
from storage.db import utcnow
from storage.models import Venue

logger = logging.getLogger(__name__)

# Hijack evidence: most posts of a page full of spam vocabulary.
SPAM_WORDS = re.compile(r"\b(casino|viagra|cialis|payday loans?|crypto ?currency|bitcoin|"
                        r"betting|replica watches|escort|porn|forex|slots?)\b", re.I)
SPAM_MIN_POSTS = 3
SPAM_SHARE = 0.5
CALENDAR_PAGES_PER_HOST = 30  # calendar-like URLs queued per host before they count as a trap
_CALENDAR = re.compile(r"calendar|[?&](month|year|date|week|day)=|/events?/\d{4}", re.I)


class FlagPipeline:
    """Per item: is the page spam (``item.hijacked``)? In the store step's transaction
    (``page_storing``, after the discover step): its venue marked hijacked, and the URLs the
    page queued that are traps (``urls.trap_reason``, endless calendars) kept as skipped."""

    def __init__(self, crawler: Crawler):
        self.stats = crawler.stats
        self.calendar_counts: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FlagPipeline:
        step = cls(crawler)
        crawler.signals.connect(step.flag, signal=page_storing)
        return step

    def process_item(self, item):
        if isinstance(item, PageItem):
            item.hijacked = looks_hijacked(item)
        return item

    def flag(self, session: Session, item: PageItem, venue: VenueState, batch: Batch) -> None:
        if item.hijacked:
            session.execute(update(Venue).where(Venue.id == venue.id)
                            .values(status="hijacked", updated_at=utcnow()))
            self.stats.inc_value("venues/hijacked")
        for row in batch.unchecked_queue():
            reason = trap_reason(row["url"]) or self._calendar_trap(row["host"], row["url"])
            if reason:
                row["state"], row["last_error"] = "skipped", f"trap: {reason}"
                self.stats.inc_value("frontier/trap")

    def _calendar_trap(self, host: str, url: str) -> str | None:
        if not _CALENDAR.search(url):
            return None
        self.calendar_counts[host] = self.calendar_counts.get(host, 0) + 1
        if self.calendar_counts[host] > CALENDAR_PAGES_PER_HOST:
            return "endless calendar"
        return None


def looks_hijacked(item: PageItem) -> bool:
    """Most posts of the page (at least SPAM_MIN_POSTS) use spam vocabulary."""
    if len(item.posts) < SPAM_MIN_POSTS:
        return False
    spammy = sum(1 for p in item.posts if SPAM_WORDS.search(f"{p.title or ''} {p.text}"))
    return spammy / len(item.posts) >= SPAM_SHARE
