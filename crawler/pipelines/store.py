"""Item pipeline step (last): store pages, posts and ledger states, one transaction per batch.

Items are buffered and written in one transaction per batch (BATCH_SIZE items or
BATCH_SECONDS, whichever first). Inside it the other steps add their part through signals
(``crawler.signals``): for each changed page the discover step's venues, link evidence and
queued URLs and the flag step's traps and hijack flags (``page_storing``), then the tag step's
tags once the rows are written (``batch_written``), so a page, its posts and tags, the URLs it
queued and its own ledger state commit together or not at all. A batch that fails is retried
item by item, so one bad page cannot block the others. Ids are stable (``storage.ids``) and
every write is an upsert, so a page fetched again after a crash is never stored twice. After
each commit it sends ``batch_stored`` (the spider leases more, venues are recounted); it
flushes when the engine goes idle (``spider_idle``).
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from twisted.internet import task

from crawler import ledger
from crawler.discovery import VenueState, add_alias, ensure_venue, resolve_venue
from crawler.items import FetchFailure, PageItem
from crawler.pipelines.batch import Batch
from crawler.pipelines.refresh import MAX_REVISIT
from crawler.signals import batch_stored, batch_written, page_storing, send_in_transaction
from crawler.urls import URLError, canonicalize, host_of, url_fp
from crawler.venues import VenueRef, venue_key
from storage.db import make_engine, session_scope, utcnow
from storage.ids import fingerprint, stable_id
from storage.models import Page, Venue

logger = logging.getLogger(__name__)

# One commit per 50 pages or per quarter second: on SQLite each commit is an fsync of the WAL, so
# batching is most of the storage speed; the short interval keeps newly found links flowing
# to the leasing spider (a forum is a chain of listing pages) and bounds what a crash loses.
BATCH_SIZE = 50
BATCH_SECONDS = 0.25
REVISIT_KINDS = frozenset({"home", "listing", "feed", "api", "sitemap", "board"})
# A full disk (SQLite's and PostgreSQL's words for it): no retry of the batch can succeed, so
# the crawl stops with the batch rolled back and its URLs still leased; the next run reclaims
# and fetches them again (tests/test_faults.py).
STORAGE_FULL = re.compile(r"database or disk is full|disk I/O error|no space left on device|"
                          r"could not extend file|file too large", re.I)
ROBOTS_REASON_PREFIX = "robots.txt"


class StorePipeline:
    def __init__(self, crawler: Crawler, db_url: str, run_id: int):
        self.crawler = crawler
        self.db_url = db_url
        self.run_id = run_id
        self.stats = crawler.stats
        self.buffer: list[PageItem | FetchFailure] = []
        self.last_flush = time.monotonic()
        self.venues: dict[str, VenueState] = {}
        self.queued: set[str] = set()
        self.reenabled: set[int] = set()
        self.platforms: dict[int, str] = {}
        self._timer: task.LoopingCall | None = None
        self.storage_full: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        s = crawler.settings
        pipeline = cls(crawler, s.get("BEATMAP_DB"), s.getint("BEATMAP_RUN_ID"))
        # An idle engine may be waiting for links still in the buffer (as Scrapy's closespider
        # extension does, the step connects the signal itself).
        crawler.signals.connect(pipeline.flush, signal=signals.spider_idle)
        return pipeline

    # --- lifecycle ------------------------------------------------------------------------

    def open_spider(self) -> None:
        self.engine = make_engine(self.db_url)
        self._timer = task.LoopingCall(self._tick)
        self._timer.start(BATCH_SECONDS, now=False)

    def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        if not self.storage_full:
            self.flush()
        self.engine.dispose()

    def process_item(self, item):
        if isinstance(item, PageItem) and not item.authors_pseudonymised:
            raise RuntimeError("PseudonymisePipeline must run before StorePipeline")
        self.buffer.append(item)
        if len(self.buffer) >= BATCH_SIZE:
            self.flush()
        return item

    def _tick(self) -> None:
        if self.buffer and time.monotonic() - self.last_flush >= BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Commit the buffered items (one transaction), then tell the others (batch_stored)."""
        items, self.buffer = self.buffer, []
        self.last_flush = time.monotonic()
        if self.storage_full:
            return
        touched: set[int] = set()
        if items:
            try:
                with session_scope(self.engine) as session:
                    touched |= self._store_all(session, items)
            except Exception as exc:  # noqa: BLE001 - one bad item must not lose the batch
                if STORAGE_FULL.search(str(exc)):
                    self._stop_storage_full(exc)
                    return
                logger.exception("batch of %d failed; storing one by one", len(items))
                self._forget()
                for item in items:
                    touched |= self._store_alone(item)
        self.crawler.signals.send_catch_log(batch_stored, venue_ids=touched)

    def _forget(self) -> None:
        """After a rolled-back batch the memos may name venues and URLs that were not stored."""
        self.venues.clear()
        self.queued.clear()

    def _stop_storage_full(self, exc: Exception) -> None:
        """Stop the crawl: nothing more can be stored until space is freed."""
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        self.storage_full = reason
        self.stats.set_value("store/fatal", f"storage full: {reason}")
        logger.error("storage full (%s): stopping the crawl; the next run fetches the unstored "
                     "pages again", reason)
        if self.crawler.engine is not None:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="storage_full"))

    def _store_alone(self, item) -> set[int]:
        try:
            with session_scope(self.engine) as session:
                return self._store_all(session, [item])
        except Exception as exc:  # noqa: BLE001 - recorded on the URL, crawl goes on
            logger.exception("could not store %s", item.url)
            self._forget()
            self.stats.inc_value("store/error")
            logger.error("could not store %s: %s", item.url, exc)
            with session_scope(self.engine) as session:
                ledger.finish(session, item.url_fp, "failed", error=f"store: {exc}"[:500],
                              next_fetch_at=ledger.retry_at(2), run_id=self.run_id)
            return set()

    def _store_all(self, session: Session, items: list) -> set[int]:
        """Store ``items`` in ``session``; the venues whose pages were stored."""
        batch = Batch(self.run_id, self.venues, self.queued)
        page_ids = [stable_id(page_fp(i)) for i in items if isinstance(i, PageItem)]
        previous = dict(session.execute(select(Page.id, Page.content_hash)
                                        .where(Page.id.in_(page_ids))).all()) if page_ids else {}
        for item in items:
            if isinstance(item, FetchFailure):
                self._store_failure(session, item, batch)
            else:
                self._store_page(session, item, batch, previous)
        batch.write(session)
        send_in_transaction(self.crawler, batch_written, session=session, batch=batch)
        return batch.touched

    # --- pages ----------------------------------------------------------------------------

    def _store_page(self, session: Session, item: PageItem, batch: Batch,
                    previous: dict[int, str | None]) -> None:
        now = utcnow()
        venue = self._page_venue(session, item)
        # A page is stored once per final URL: two URLs redirecting to one page are one row.
        fp = page_fp(item)
        page_id = stable_id(fp)
        unchanged = item.not_modified or (page_id in previous
                                          and previous[page_id] == item.content_hash)
        if not item.not_modified:
            batch.pages[page_id] = {
                "id": page_id, "url_fp": fp, "url": item.final_url,
                "venue_id": venue.id, "kind": item.kind, "http_status": item.http_status,
                "content_type": item.content_type, "content_hash": item.content_hash,
                "etag": item.etag, "last_modified": item.last_modified, "title": item.title,
                "fetched_at": now, "run_id": self.run_id}
        self._record_redirect_target(session, item, venue, now)
        if not unchanged:
            self._store_posts(item, venue, page_id, now, batch)
            self._update_venue_info(session, item, venue)
            send_in_transaction(self.crawler, page_storing, session=session, item=item,
                                venue=venue, batch=batch, now=now)
            self.stats.inc_value("store/pages")
        else:
            self.stats.inc_value("store/pages_unchanged")
        batch.touched.add(venue.id)
        revisit = now + MAX_REVISIT if item.kind in REVISIT_KINDS else None
        # The requested URL's entry is done; after a redirect it records the redirect's status
        # (3xx) and keeps the revisit (which follows the redirect again), and the final URL's
        # entry, the page's, is done too so that it is not fetched a second time.
        redirected = fp != item.url_fp
        batch.finish(item.url_fp, "done",
                     http_status=(item.redirect_status or item.http_status) if redirected
                     else item.http_status, etag=item.etag, last_modified=item.last_modified,
                     error=item.parse_error, next_fetch_at=revisit, run_id=self.run_id, now=now)
        if redirected:
            batch.finish(fp, "done", http_status=item.http_status, etag=item.etag,
                         last_modified=item.last_modified, error=item.parse_error,
                         next_fetch_at=None, run_id=self.run_id, now=now)
        if item.parse_error:
            self.stats.inc_value("store/parse_errors")

    def _record_redirect_target(self, session: Session, item: PageItem, venue: VenueState,
                                now: datetime) -> None:
        """The URL a redirect ended at was fetched too: mark it done so it is not queued."""
        try:
            final = canonicalize(item.final_url)
        except URLError:
            return
        if final == item.url:
            return
        fp = url_fp(final)
        self.queued.add(fp)
        ledger.enqueue(session, [ledger.entry_row(final, fp, host_of(final), venue_id=venue.id,
                                                  depth=venue.depth, priority=item.priority,
                                                  run_id=self.run_id, state="done", now=now)])

    def _page_venue(self, session: Session, item: PageItem) -> VenueState:
        """The venue of the page; a redirect to another venue's key records an alias."""
        state = None
        if item.venue_id is not None:
            row = session.execute(select(Venue.key).where(Venue.id == item.venue_id)).first()
            if row is not None:
                state = resolve_venue(session, row.key, self.venues)
        try:
            ref = venue_key(item.final_url)
        except URLError:
            ref = None
        if state is None:
            ref = ref or venue_key(item.url)
            state, _ = ensure_venue(session, ref, discovered_via="link", depth=item.depth,
                                    cache=self.venues)
            return state
        if ref is not None and ref.key != state.key and ref.crawlable:
            self._moved(session, state, ref)
        return state

    def _moved(self, session: Session, state: VenueState, ref: VenueRef) -> None:
        target = resolve_venue(session, ref.key, self.venues)
        if target is None:
            add_alias(session, ref.key, state.id, "redirect")
            self.venues[ref.key] = state
            self.stats.inc_value("venues/aliased")
        elif target.id != state.id:
            session.execute(update(Venue).where(Venue.id == state.id)
                            .values(merged_into_id=target.id, updated_at=utcnow()))
            old_key = session.execute(select(Venue.key).where(Venue.id == state.id)).scalar_one()
            add_alias(session, old_key, target.id, "redirect")
            self.stats.inc_value("venues/merged_by_redirect")

    def _store_posts(self, item: PageItem, venue: VenueState, page_id: int, now: datetime,
                     batch: Batch) -> None:
        for post in item.posts:
            # Adapters give the same external id on every channel (feed, API, HTML), so a
            # post seen twice is one row; the URL identifies posts of engines without ids.
            ident = f"id:{post.external_id}" if post.external_id else f"url:{post.url}"
            fp = fingerprint(f"{venue.key}|{ident}")
            batch.add_post({"id": stable_id(fp), "post_fp": fp, "venue_id": venue.id,
                               "page_id": page_id, "url": post.url, "title": post.title,
                               "text": post.text, "published_at": post.published_at,
                               "author_key": post.author, "thread": post.thread,
                               "board": post.board, "created_at": now})
        self.stats.inc_value("store/posts", len(item.posts))

    def _update_venue_info(self, session: Session, item: PageItem, venue: VenueState) -> None:
        """Platform, name, description and contact from a page."""
        values: dict[str, Any] = {}
        if venue.id not in self.reenabled:
            # A page came through, so robots.txt lets us in again (once per run is enough).
            session.execute(update(Venue).where(Venue.id == venue.id, Venue.crawlable.is_(False),
                                                Venue.known_only_reason.like(
                                                    f"{ROBOTS_REASON_PREFIX}%"))
                            .values(crawlable=True, known_only_reason=None))
            self.reenabled.add(venue.id)
        platform = item.platform if item.platform not in ("", None) else "unknown"
        if platform != "unknown" and self.platforms.get(venue.id) != platform:
            replaceable = ("unknown",) if platform == "generic" else ("unknown", "generic")
            session.execute(update(Venue).where(Venue.id == venue.id,
                                                Venue.platform.in_(replaceable))
                            .values(platform=platform))
            self.platforms[venue.id] = platform
        info = item.venue_info
        if info is not None:
            if info.name:
                values["name"] = info.name[:300]
            if info.description:
                values["description"] = info.description[:2000]
            if info.member_count is not None:
                values["member_count"] = info.member_count
            if info.contact:
                current = session.execute(select(Venue.contact)
                                          .where(Venue.id == venue.id)).scalar_one() or {}
                merged = {**current, **_plain(info.contact)}
                if merged != current:
                    values["contact"] = merged
        if values:
            values["updated_at"] = utcnow()
            session.execute(update(Venue).where(Venue.id == venue.id).values(**values))

    # --- ledger ---------------------------------------------------------------------------

    def _store_failure(self, session: Session, item: FetchFailure, batch: Batch) -> None:
        retry_after = item.retry_after
        next_at = (utcnow() + timedelta(seconds=retry_after) if retry_after is not None
                   else ledger.retry_at(item.attempts) if item.state == "failed" else None)
        if item.http_status in (404, 410):
            next_at = None  # gone pages are not retried; the venue check below flags it
        batch.finish(item.url_fp, item.state, http_status=item.http_status, error=item.error,
                     next_fetch_at=next_at, run_id=self.run_id, now=utcnow())
        self.stats.inc_value(f"ledger/{item.state}")
        if item.venue_id is not None and item.error.startswith(("RobotsDisallowed",
                                                                 "RobotsUnavailable")):
            _robots_refused_home(session, item)
        if item.venue_id is not None and _is_home_gone(session, item):
            session.execute(update(Venue).where(Venue.id == item.venue_id)
                            .values(status="gone", updated_at=utcnow()))
            self.stats.inc_value("venues/gone")


def page_fp(item: PageItem) -> str:
    """The fingerprint a page is stored under: its final URL's (after redirects)."""
    try:
        return url_fp(item.final_url)
    except URLError:
        return item.url_fp


def _robots_refused_home(session: Session, item: FetchFailure) -> None:
    """A venue whose home robots.txt refuses us is not crawlable, with the reason shown."""
    if not _is_home(session, item.venue_id, item.url):
        return
    reason = ("robots.txt disallows the site" if item.error.startswith("RobotsDisallowed")
              else "robots.txt unavailable: not crawled until it can be read (fail closed)")
    session.execute(update(Venue).where(Venue.id == item.venue_id)
                    .values(crawlable=False, known_only_reason=reason, updated_at=utcnow()))


def _is_home(session: Session, venue_id: int | None, url: str) -> bool:
    home = session.execute(select(Venue.url).where(Venue.id == venue_id)).scalar_one_or_none()
    try:
        return home is not None and canonicalize(home) == canonicalize(url)
    except URLError:
        return False


def _is_home_gone(session: Session, item: FetchFailure) -> bool:
    if item.http_status not in (404, 410) and "DNSLookupError" not in item.error:
        return False
    home = session.execute(select(Venue.url).where(Venue.id == item.venue_id)).scalar_one_or_none()
    try:
        return home is not None and canonicalize(home) == canonicalize(item.url)
    except URLError:
        return False


def _plain(contact: dict[str, object]) -> dict[str, Any]:
    return {str(k): (list(v) if isinstance(v, (set, tuple)) else v) for k, v in contact.items()}

