"""Item pipeline step: recount stored venues' posts and derive status and revisit times."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from crawler.signals import batch_stored
from storage.db import make_engine, session_scope, utcnow
from storage.models import LedgerEntry, Post, Venue

logger = logging.getLogger(__name__)

# Revisit intervals from activity: a venue is looked at again about as often as it posts,
# never more than daily nor less than monthly; dormant venues quarterly.
MIN_REVISIT = timedelta(days=1)
MAX_REVISIT = timedelta(days=30)
DORMANT_REVISIT = timedelta(days=90)
# No post for two years: dormant. Small volunteer groups often post a few times a year and
# go quiet over a winter; one year flagged live venues as dormant on the sample web.
DORMANT_AFTER = timedelta(days=730)
VENUE_REFRESH_SECONDS = 30.0  # recount a busy venue's posts at most this often (and at the end)


class RefreshVenuesPipeline:
    """After each committed batch (``batch_stored``): recount the changed venues, each at most
    every VENUE_REFRESH_SECONDS; all of them when the crawl closes (``spider_closed``, after
    the store step's last flush), unless it stopped because storage is full."""

    def __init__(self, db_url: str):
        self.db_url = db_url
        self.dirty: set[int] = set()
        self.refreshed: dict[int, float] = {}
        self.engine: Engine | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RefreshVenuesPipeline:
        step = cls(crawler.settings.get("BEATMAP_DB"))
        crawler.signals.connect(step.stored, signal=batch_stored)
        crawler.signals.connect(step.closed, signal=signals.spider_closed)
        return step

    def open_spider(self) -> None:
        self.engine = make_engine(self.db_url)

    def stored(self, venue_ids: set[int]) -> None:
        self.dirty.update(venue_ids)
        self.refresh_due()

    def closed(self, reason: str) -> None:
        if self.engine is None:
            return  # the crawl never opened
        try:
            if reason != "storage_full":
                self.refresh_due(everything=True)
        finally:
            self.engine.dispose()

    def refresh_due(self, *, everything: bool = False) -> None:
        """Recount posts and statuses of changed venues, each at most every few seconds."""
        now = time.monotonic()
        due = [v for v in self.dirty
               if everything or now - self.refreshed.get(v, 0.0) >= VENUE_REFRESH_SECONDS]
        if not due or self.engine is None:
            return
        with session_scope(self.engine) as session:
            for venue_id in due:
                refresh_venue(session, venue_id)
        for venue_id in due:
            self.refreshed[venue_id] = now
            self.dirty.discard(venue_id)


def revisit_interval(recent: list[datetime], now: datetime) -> timedelta:
    """How long until a venue is looked at again, from its recent post dates (newest first).

    >>> from datetime import datetime as dt
    >>> revisit_interval([dt(2026, 1, 10), dt(2026, 1, 8), dt(2026, 1, 6)], dt(2026, 1, 11))
    datetime.timedelta(days=2)
    >>> revisit_interval([], dt(2026, 1, 11))
    datetime.timedelta(days=30)
    """
    if not recent:
        return MAX_REVISIT
    if now - recent[0] > DORMANT_AFTER:
        return DORMANT_REVISIT
    if len(recent) < 2:
        return MAX_REVISIT
    mean_gap = (recent[0] - recent[-1]) / (len(recent) - 1)
    return max(MIN_REVISIT, min(MAX_REVISIT, mean_gap))


def refresh_venue(session: Session, venue_id: int) -> None:
    """Recount posts and derive last_post_at, status and revisit_after from them."""
    count, last = session.execute(select(func.count(), func.max(Post.published_at))
                                  .where(Post.venue_id == venue_id)).one()
    now = utcnow()
    values: dict[str, Any] = {"post_count": count, "last_post_at": last, "updated_at": now}
    status = session.execute(select(Venue.status).where(Venue.id == venue_id)).scalar_one()
    if status != "hijacked":
        if last is not None:
            values["status"] = "dormant" if now - last > DORMANT_AFTER else "live"
        elif status in ("unknown", "gone"):
            values["status"] = "live"
    dates = session.execute(select(Post.published_at)
                            .where(Post.venue_id == venue_id, Post.published_at.is_not(None))
                            .order_by(Post.published_at.desc()).limit(10)).scalars().all()
    revisit = now + revisit_interval(list(dates), now)
    values["revisit_after"] = revisit
    values["last_crawled_at"] = now
    session.execute(update(Venue).where(Venue.id == venue_id).values(**values))
    # The venue's revisitable pages (home, feeds, listings) follow its activity.
    session.execute(update(LedgerEntry)
                    .where(LedgerEntry.venue_id == venue_id, LedgerEntry.state == "done",
                           LedgerEntry.next_fetch_at.is_not(None))
                    .values(next_fetch_at=revisit))
