"""Item pipeline (last): store pages, posts, tags, discovery and ledger state atomically.

Items are buffered and written in one transaction per batch (BATCH_SIZE items or
BATCH_SECONDS, whichever first): each page's posts, their place/topic tags, the venues and
link evidence its links produced, the URLs it queued and its own ledger state all commit
together or not at all. A batch that fails is retried item by item, so one bad page cannot
block the others. Ids are stable (``storage.ids``) and every write is an upsert, so a page
fetched again after a crash is never stored twice.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from scrapy.crawler import Crawler
from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from twisted.internet import task

from crawler import ledger
from crawler.discovery import (
    ANCHOR_SAMPLE_CHARS,
    ENTRY_POINT_BONUS,
    FOLLOW_PENALTY,
    LocalityScorer,
    VenueState,
    add_alias,
    ensure_venue,
    group_links,
    link_priority,
    links_upsert,
    resolve_venue,
)
from crawler.items import FetchFailure, PageItem
from crawler.urls import URLError, canonicalize, host_of, trap_reason, url_fp
from crawler.venues import VenueRef, is_not_a_community, venue_key
from storage.db import make_engine, session_scope, utcnow
from storage.ids import fingerprint, stable_id
from storage.models import LedgerEntry, Page, Post, Venue

logger = logging.getLogger(__name__)

# One commit per 50 pages or per quarter second: on SQLite each commit is an fsync of the WAL, so
# batching is most of the storage speed; the short interval keeps newly found links flowing
# to the leasing spider (a forum is a chain of listing pages) and bounds what a crash loses.
BATCH_SIZE = 50
BATCH_SECONDS = 0.25
# Revisit intervals from activity: a venue is looked at again about as often as it posts,
# never more than daily nor less than monthly; dormant venues quarterly.
MIN_REVISIT = timedelta(days=1)
MAX_REVISIT = timedelta(days=30)
DORMANT_REVISIT = timedelta(days=90)
# No post for two years: dormant. Small volunteer groups often post a few times a year and
# go quiet over a winter; one year flagged live venues as dormant on the sample web.
DORMANT_AFTER = timedelta(days=730)
VENUE_REFRESH_SECONDS = 30.0  # recount a busy venue's posts at most this often (and at the end)
REVISIT_KINDS = frozenset({"home", "listing", "feed", "api", "sitemap", "board"})
# Hijack evidence: most posts of a page full of spam vocabulary.
SPAM_WORDS = re.compile(r"\b(casino|viagra|cialis|payday loans?|crypto ?currency|bitcoin|"
                        r"betting|replica watches|escort|porn|forex|slots?)\b", re.I)
SPAM_MIN_POSTS = 3
SPAM_SHARE = 0.5
# A full disk (SQLite's and PostgreSQL's words for it): no retry of the batch can succeed, so
# the crawl stops with the batch rolled back and its URLs still leased; the next run reclaims
# and fetches them again (tests/test_faults.py).
STORAGE_FULL = re.compile(r"database or disk is full|disk I/O error|no space left on device|"
                          r"could not extend file|file too large", re.I)
# URLs remembered as already queued, to skip repeated inserts of navigation links; bounded so
# that memory does not grow with the crawl (≈ 100 bytes each).
QUEUED_MEMO_MAX = 200_000
CALENDAR_PAGES_PER_HOST = 30  # calendar-like URLs queued per host before they count as a trap
_CALENDAR = re.compile(r"calendar|[?&](month|year|date|week|day)=|/events?/\d{4}", re.I)


class StorePipeline:
    def __init__(self, db_url: str, run_id: int, max_depth: int, seeds_only: bool, stats):
        self.db_url = db_url
        self.run_id = run_id
        self.max_depth = max_depth
        self.seeds_only = seeds_only
        self.stats = stats
        self.buffer: list[PageItem | FetchFailure] = []
        self.last_flush = time.monotonic()
        self.venues: dict[str, VenueState] = {}
        self.queued: set[str] = set()
        self.calendar_counts: dict[str, int] = {}
        self.dirty: set[int] = set()
        self.pending_queue: list[dict[str, Any]] = []
        self.refreshed: dict[int, float] = {}
        self.reenabled: set[int] = set()
        self.platforms: dict[int, str] = {}
        self.tagger: Any = None
        self.scorer: LocalityScorer | None = None
        self.crawler: Crawler | None = None
        self._timer: task.LoopingCall | None = None
        self.storage_full: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        s = crawler.settings
        pipeline = cls(s.get("BEATMAP_DB"), s.getint("BEATMAP_RUN_ID"),
                       s.getint("BEATMAP_MAX_DEPTH", 3), s.getbool("BEATMAP_SEEDS_ONLY"),
                       crawler.stats)
        pipeline.crawler = crawler
        return pipeline

    # --- lifecycle ------------------------------------------------------------------------

    def open_spider(self) -> None:
        self.engine = make_engine(self.db_url)
        with session_scope(self.engine) as session:
            self.scorer = LocalityScorer.from_session(session)
            self.tagger = _load_tagger(session)
        spider = self.crawler.spider if self.crawler else None
        if spider is not None:
            spider.store_pipeline = self
        self._timer = task.LoopingCall(self._tick)
        self._timer.start(BATCH_SECONDS, now=False)

    def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        if self.storage_full:
            self.engine.dispose()
            return
        self.flush()
        with session_scope(self.engine) as session:
            self._refresh_due(session, everything=True)
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
        """Commit the buffered items (one transaction), then let the spider lease more."""
        items, self.buffer = self.buffer, []
        self.last_flush = time.monotonic()
        if not items or self.storage_full:
            return
        try:
            with session_scope(self.engine) as session:
                self._store_all(session, items)
        except Exception as exc:  # noqa: BLE001 - one bad item must not lose the batch
            if STORAGE_FULL.search(str(exc)):
                self._stop_storage_full(exc)
                return
            logger.exception("batch of %d failed; storing one by one", len(items))
            self.venues.clear()
            self.queued.clear()
            self.pending_queue = []
            for item in items:
                self._store_alone(item)
        spider = self.crawler.spider if self.crawler else None
        if spider is not None and hasattr(spider, "refill"):
            spider.refill()

    def _stop_storage_full(self, exc: Exception) -> None:
        """Stop the crawl: nothing more can be stored until space is freed."""
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        self.storage_full = reason
        self.stats.set_value("store/fatal", f"storage full: {reason}")
        logger.error("storage full (%s): stopping the crawl; the next run fetches the unstored "
                     "pages again", reason)
        if self.crawler is not None and self.crawler.engine is not None:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(self.crawler.engine.close_spider_async(reason="storage_full"))

    def _store_alone(self, item) -> None:
        try:
            with session_scope(self.engine) as session:
                self._store_all(session, [item])
        except Exception as exc:  # noqa: BLE001 - recorded on the URL, crawl goes on
            logger.exception("could not store %s", item.url)
            self.venues.clear()
            self.queued.clear()
            self.pending_queue = []
            self.stats.inc_value("store/error")
            logger.error("could not store %s: %s", item.url, exc)
            with session_scope(self.engine) as session:
                ledger.finish(session, item.url_fp, "failed", error=f"store: {exc}"[:500],
                              next_fetch_at=ledger.retry_at(2), run_id=self.run_id)

    def _store_all(self, session: Session, items: list) -> None:
        batch = _Batch()
        page_ids = [stable_id(i.url_fp) for i in items if isinstance(i, PageItem)]
        previous = dict(session.execute(select(Page.id, Page.content_hash)
                                        .where(Page.id.in_(page_ids))).all()) if page_ids else {}
        for item in items:
            if isinstance(item, FetchFailure):
                self._store_failure(session, item, batch)
            else:
                self._store_page(session, item, batch, previous)
        if self.pending_queue:
            ledger.enqueue_many(session, self.pending_queue)
            self.pending_queue = []
        batch.write(session)
        if batch.post_ids and self.tagger is not None:
            posts = session.execute(select(Post).where(Post.id.in_(batch.post_ids))).scalars().all()
            self.tagger.tag_posts(session, posts)
            self.stats.inc_value("store/tagged_posts", len(posts))
        self.dirty.update(batch.touched)
        self._refresh_due(session)

    def _refresh_due(self, session: Session, *, everything: bool = False) -> None:
        """Recount posts and statuses of changed venues, each at most every few seconds."""
        now = time.monotonic()
        for venue_id in list(self.dirty):
            if everything or now - self.refreshed.get(venue_id, 0.0) >= VENUE_REFRESH_SECONDS:
                _refresh_venue(session, venue_id)
                self.refreshed[venue_id] = now
                self.dirty.discard(venue_id)

    # --- pages ----------------------------------------------------------------------------

    def _store_page(self, session: Session, item: PageItem, batch: _Batch,
                    previous: dict[int, str | None]) -> None:
        now = utcnow()
        venue = self._page_venue(session, item)
        page_id = stable_id(item.url_fp)
        unchanged = item.not_modified or (page_id in previous
                                          and previous[page_id] == item.content_hash)
        if not item.not_modified:
            batch.pages[page_id] = {
                "id": page_id, "url_fp": item.url_fp, "url": item.final_url,
                "venue_id": venue.id, "kind": item.kind, "http_status": item.http_status,
                "content_type": item.content_type, "content_hash": item.content_hash,
                "etag": item.etag, "last_modified": item.last_modified, "title": item.title,
                "fetched_at": now, "run_id": self.run_id}
        self._record_redirect_target(session, item, venue, now)
        if not unchanged:
            self._store_posts(item, venue, page_id, now, batch)
            self._update_venue_info(session, item, venue)
            self._discover(session, item, venue, now, batch)
            self.stats.inc_value("store/pages")
        else:
            self.stats.inc_value("store/pages_unchanged")
        batch.touched.add(venue.id)
        revisit = now + MAX_REVISIT if item.kind in REVISIT_KINDS else None
        batch.finish(item.url_fp, "done", http_status=item.http_status, etag=item.etag,
                     last_modified=item.last_modified, error=item.parse_error,
                     next_fetch_at=revisit, run_id=self.run_id, now=now)
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
                     batch: _Batch) -> None:
        for post in item.posts:
            # Adapters give the same external id on every channel (feed, API, HTML), so a
            # post seen twice is one row; the URL identifies posts of engines without ids.
            ident = f"id:{post.external_id}" if post.external_id else f"url:{post.url}"
            fp = fingerprint(f"{venue.key}|{ident}")
            batch.posts[fp] = {"id": stable_id(fp), "post_fp": fp, "venue_id": venue.id,
                               "page_id": page_id, "url": post.url, "title": post.title,
                               "text": post.text, "published_at": post.published_at,
                               "author_key": post.author, "thread": post.thread,
                               "board": post.board, "created_at": now}
        self.stats.inc_value("store/posts", len(item.posts))

    def _update_venue_info(self, session: Session, item: PageItem, venue: VenueState) -> None:
        """Platform, name, description, contact and hijack evidence from a page."""
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
        if _looks_hijacked(item):
            values["status"] = "hijacked"
            self.stats.inc_value("venues/hijacked")
        if values:
            values["updated_at"] = utcnow()
            session.execute(update(Venue).where(Venue.id == venue.id).values(**values))

    # --- discovery ------------------------------------------------------------------------

    def _discover(self, session: Session, item: PageItem, venue: VenueState,
                  now: datetime, batch: _Batch) -> None:
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
            anchor = next((link.anchor_text.strip() for link in links if link.anchor_text), "")
            context = next((getattr(link, "context", "") for link in links
                            if getattr(link, "context", "")), "")
            if ref.key == venue.key:
                continue  # inner links are the adapter's `follow`, not evidence
            dst, created = ensure_venue(session, ref, discovered_via="link",
                                        depth=venue.depth + 1, cache=self.venues, now=now)
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
                self._queue(session, [ref.url], dst, priority, now)
        batch.add_links(venue.id, item.final_url, evidence, now)
        base = item.priority
        self._queue(session, item.entry_points, venue, base + ENTRY_POINT_BONUS, now)
        follow = self._same_venue(item.follow, venue)
        self._queue(session, follow, venue, base - FOLLOW_PENALTY, now)

    def _same_venue(self, urls: Iterable[str], venue: VenueState) -> list[str]:
        out = []
        for url in urls:
            try:
                ref = venue_key(url)
            except URLError:
                continue
            if ref.key == venue.key or self.venues.get(ref.key) is venue:
                out.append(url)
            else:
                self.stats.inc_value("frontier/follow_off_venue")
        return out

    def _queue(self, session: Session, urls: Iterable[str], venue: VenueState, priority: float,
               now: datetime) -> None:
        rows = []
        for raw in urls:
            try:
                url = canonicalize(raw)
            except URLError:
                continue
            fp = url_fp(url)
            if fp in self.queued:
                continue
            if len(self.queued) >= QUEUED_MEMO_MAX:
                self.queued.clear()  # only a memo: the ledger's ON CONFLICT keeps it correct
            self.queued.add(fp)
            host = host_of(url)
            reason = trap_reason(url) or self._calendar_trap(host, url)
            state, error = ("skipped", f"trap: {reason}") if reason else ("queued", None)
            if reason:
                self.stats.inc_value("frontier/trap")
            rows.append(ledger.entry_row(url, fp, host, venue_id=venue.id, depth=venue.depth,
                                         priority=priority, run_id=self.run_id, state=state,
                                         last_error=error, now=now))
        if rows:
            self.pending_queue.extend(rows)
            self.stats.inc_value("frontier/queued", len(rows))

    def _calendar_trap(self, host: str, url: str) -> str | None:
        if not _CALENDAR.search(url):
            return None
        self.calendar_counts[host] = self.calendar_counts.get(host, 0) + 1
        if self.calendar_counts[host] > CALENDAR_PAGES_PER_HOST:
            return "endless calendar"
        return None

    # --- ledger ---------------------------------------------------------------------------

    def _store_failure(self, session: Session, item: FetchFailure, batch: _Batch) -> None:
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


class _Batch:
    """Rows of one transaction, written with one executemany statement per table."""

    def __init__(self) -> None:
        self.pages: dict[int, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.links: dict[tuple[int, int], dict[str, Any]] = {}
        self.finished: dict[str, dict[str, Any]] = {}
        self.touched: set[int] = set()

    @property
    def post_ids(self) -> list[int]:
        return [row["id"] for row in self.posts.values()]

    def add_links(self, src: int, page_url: str, evidence: dict[int, tuple[int, str]],
                  now: datetime) -> None:
        for dst, (count, anchor) in evidence.items():
            if dst == src:
                continue
            row = self.links.get((src, dst))
            if row is None:
                self.links[(src, dst)] = {
                    "src_venue_id": src, "dst_venue_id": dst, "count": count,
                    "anchor_text": anchor[:ANCHOR_SAMPLE_CHARS] or None,
                    "example_url": page_url, "first_seen_at": now, "last_seen_at": now}
            else:
                row["count"] += count

    def finish(self, url_fp: str, state: str, *, http_status: int | None, error: str | None,
               next_fetch_at: datetime | None, run_id: int, now: datetime,
               etag: str | None = None, last_modified: str | None = None) -> None:
        self.finished[url_fp] = {
            "url_fp": url_fp, "state": state, "lease_owner": None, "lease_expires_at": None,
            "last_error": error, "fetched_at": now, "next_fetch_at": next_fetch_at,
            "http_status": http_status, "run_id": run_id, "etag": etag,
            "last_modified": last_modified}

    def write(self, session: Session) -> None:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        if self.pages:
            table = Page.__table__
            stmt = insert(table)
            stmt = stmt.on_conflict_do_update(index_elements=["url_fp"], set_={
                c: stmt.excluded[c] for c in ("url", "venue_id", "kind", "http_status",
                                              "content_type", "content_hash", "etag",
                                              "last_modified", "title", "fetched_at", "run_id")})
            session.execute(stmt, list(self.pages.values()))
        if self.posts:
            session.execute(_posts_upsert(insert), list(self.posts.values()))
        if self.links:
            session.execute(links_upsert(insert), list(self.links.values()))
        if self.finished:
            table = LedgerEntry.__table__
            # Keep validators a failure does not carry (a 304 or an error keeps the old ETag).
            stmt = (update(table).where(table.c.url_fp == bindparam("b_fp"))
                    .values({c: bindparam(f"b_{c}") for c in _FINISH_COLUMNS}
                            | {"etag": func.coalesce(bindparam("b_etag"), table.c.etag),
                               "last_modified": func.coalesce(bindparam("b_last_modified"),
                                                              table.c.last_modified),
                               "http_status": func.coalesce(bindparam("b_http_status"),
                                                            table.c.http_status)}))
            params = [{"b_fp": r["url_fp"], **{f"b_{k}": v for k, v in r.items()
                                               if k != "url_fp"}}
                      for r in self.finished.values()]
            session.connection().execute(stmt, params)


_FINISH_COLUMNS = ("state", "lease_owner", "lease_expires_at", "last_error", "fetched_at",
                   "next_fetch_at", "run_id")


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


def _posts_upsert(insert):
    table = Post.__table__
    stmt = insert(table)
    longer = func.length(func.coalesce(stmt.excluded.text, "")) > func.length(
        func.coalesce(table.c.text, ""))
    return stmt.on_conflict_do_update(index_elements=["post_fp"], set_={
        # Feeds often carry a summary and the HTML the full text: keep the longer one.
        "text": case((longer, stmt.excluded.text), else_=table.c.text),
        "title": func.coalesce(table.c.title, stmt.excluded.title),
        "published_at": func.coalesce(table.c.published_at, stmt.excluded.published_at),
        "author_key": func.coalesce(table.c.author_key, stmt.excluded.author_key),
        "thread": func.coalesce(table.c.thread, stmt.excluded.thread),
        "board": func.coalesce(table.c.board, stmt.excluded.board),
    })


def _refresh_venue(session: Session, venue_id: int) -> None:
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


ROBOTS_REASON_PREFIX = "robots.txt"


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


def _looks_hijacked(item: PageItem) -> bool:
    if len(item.posts) < SPAM_MIN_POSTS:
        return False
    spammy = sum(1 for p in item.posts if SPAM_WORDS.search(f"{p.title or ''} {p.text}"))
    return spammy / len(item.posts) >= SPAM_SHARE


def _plain(contact: dict[str, object]) -> dict[str, Any]:
    return {str(k): (list(v) if isinstance(v, (set, tuple)) else v) for k, v in contact.items()}


def _load_tagger(session: Session):
    from nlp.tagger import Tagger  # imported here: spaCy loads only in the crawl process

    return Tagger.from_session(session)

