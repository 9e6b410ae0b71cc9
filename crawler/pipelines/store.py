"""Item pipeline (last): store pages, posts, tags, discovery and ledger state atomically.

Items are buffered and written in one transaction per batch (BATCH_SIZE items or
BATCH_SECONDS, whichever first): each page's posts, their place/topic tags, the venues and
link evidence its links produced, the URLs it queued and its own ledger state all commit
together or not at all. A batch that fails is retried item by item, so one bad page cannot
block the others. Ids are stable (``beatmap.ids``) and every write is an upsert, so a page
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
from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from twisted.internet import task

from beatmap.db import make_engine, session_scope, upsert, utcnow
from beatmap.ids import fingerprint, stable_id
from beatmap.models import Page, Post, Venue
from crawler import ledger
from crawler.discovery import (
    DEPTH_PENALTY,
    ENTRY_POINT_BONUS,
    FOLLOW_PENALTY,
    LocalityScorer,
    VenueState,
    add_alias,
    ensure_venue,
    group_links,
    link_priority,
    record_links,
    resolve_venue,
)
from crawler.items import FetchFailure, PageItem
from crawler.urls import URLError, canonicalize, host_of, trap_reason, url_fp
from crawler.venues import VenueRef, venue_key

logger = logging.getLogger(__name__)

# One commit per 50 pages or per second: on SQLite each commit is an fsync of the WAL, so
# batching is most of the storage speed; a second bounds what a crash makes us refetch.
BATCH_SIZE = 50
BATCH_SECONDS = 1.0
# Revisit intervals from activity: a venue is looked at again about as often as it posts,
# never more than daily nor less than monthly; dormant venues quarterly.
MIN_REVISIT = timedelta(days=1)
MAX_REVISIT = timedelta(days=30)
DORMANT_REVISIT = timedelta(days=90)
DORMANT_AFTER = timedelta(days=365)  # no post for a year: dormant
REVISIT_KINDS = frozenset({"home", "listing", "feed", "api", "sitemap", "board"})
# Hijack evidence: most posts of a page full of spam vocabulary.
SPAM_WORDS = re.compile(r"\b(casino|viagra|cialis|payday loans?|crypto ?currency|bitcoin|"
                        r"betting|replica watches|escort|porn|forex|slots?)\b", re.I)
SPAM_MIN_POSTS = 3
SPAM_SHARE = 0.5
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
        self.tagger: Any = None
        self.scorer: LocalityScorer | None = None
        self.crawler: Crawler | None = None
        self._timer: task.LoopingCall | None = None

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
        """Commit the buffered items (one transaction), then let the spider lease more."""
        items, self.buffer = self.buffer, []
        self.last_flush = time.monotonic()
        if not items:
            return
        try:
            with session_scope(self.engine) as session:
                self._store_all(session, items)
        except SQLAlchemyError:
            logger.exception("batch of %d failed; storing one by one", len(items))
            self.venues.clear()
            self.queued.clear()
            for item in items:
                self._store_alone(item)
        spider = self.crawler.spider if self.crawler else None
        if spider is not None and hasattr(spider, "refill"):
            spider.refill()

    def _store_alone(self, item) -> None:
        try:
            with session_scope(self.engine) as session:
                self._store_all(session, [item])
        except SQLAlchemyError as exc:
            self.venues.clear()
            self.queued.clear()
            self.stats.inc_value("store/error")
            logger.error("could not store %s: %s", item.url, exc)
            with session_scope(self.engine) as session:
                ledger.finish(session, item.url_fp, "failed", error=f"store: {exc}"[:500],
                              next_fetch_at=ledger.retry_at(2), run_id=self.run_id)

    def _store_all(self, session: Session, items: list) -> None:
        new_posts: list[int] = []
        touched: set[int] = set()
        for item in items:
            if isinstance(item, FetchFailure):
                self._store_failure(session, item)
            else:
                new_posts += self._store_page(session, item, touched)
        if new_posts and self.tagger is not None:
            posts = session.execute(select(Post).where(Post.id.in_(new_posts))).scalars().all()
            self.tagger.tag_posts(session, posts)
            self.stats.inc_value("store/tagged_posts", len(posts))
        for venue_id in touched:
            _refresh_venue(session, venue_id)

    # --- pages ----------------------------------------------------------------------------

    def _store_page(self, session: Session, item: PageItem, touched: set[int]) -> list[int]:
        now = utcnow()
        venue = self._page_venue(session, item)
        page_id = stable_id(item.url_fp)
        previous = session.execute(select(Page.content_hash)
                                   .where(Page.id == page_id)).scalar_one_or_none()
        unchanged = item.not_modified or (previous is not None
                                          and previous == item.content_hash)
        if not item.not_modified:
            upsert(session, Page, [{
                "id": page_id, "url_fp": item.url_fp, "url": item.final_url,
                "venue_id": venue.id, "kind": item.kind, "http_status": item.http_status,
                "content_type": item.content_type, "content_hash": item.content_hash,
                "etag": item.etag, "last_modified": item.last_modified, "title": item.title,
                "fetched_at": now, "run_id": self.run_id}], keys=["url_fp"],
                update=["url", "venue_id", "kind", "http_status", "content_type",
                        "content_hash", "etag", "last_modified", "title", "fetched_at",
                        "run_id"])
        post_ids: list[int] = []
        self._record_redirect_target(session, item, venue, now)
        if not unchanged:
            post_ids = self._store_posts(session, item, venue, page_id, now)
            self._update_venue_info(session, item, venue)
            self._discover(session, item, venue, now)
            self.stats.inc_value("store/pages")
        else:
            self.stats.inc_value("store/pages_unchanged")
        touched.add(venue.id)
        revisit = self._revisit_at(session, venue.id, item.kind)
        ledger.finish(session, item.url_fp, "done", http_status=item.http_status,
                      etag=item.etag, last_modified=item.last_modified,
                      error=item.parse_error, next_fetch_at=revisit, run_id=self.run_id)
        if item.parse_error:
            self.stats.inc_value("store/parse_errors")
        return post_ids

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

    def _store_posts(self, session: Session, item: PageItem, venue: VenueState, page_id: int,
                     now: datetime) -> list[int]:
        rows: dict[str, dict[str, Any]] = {}
        for post in item.posts:
            # Adapters give the same external id on every channel (feed, API, HTML), so a
            # post seen twice is one row; the URL identifies posts of engines without ids.
            ident = f"id:{post.external_id}" if post.external_id else f"url:{post.url}"
            fp = fingerprint(f"{venue.key}|{ident}")
            rows[fp] = {"id": stable_id(fp), "post_fp": fp, "venue_id": venue.id,
                        "page_id": page_id, "url": post.url, "title": post.title,
                        "text": post.text, "published_at": post.published_at,
                        "author_key": post.author, "thread": post.thread, "board": post.board,
                        "created_at": now}
        if not rows:
            return []
        _upsert_posts(session, list(rows.values()))
        self.stats.inc_value("store/posts", len(rows))
        return [r["id"] for r in rows.values()]

    def _update_venue_info(self, session: Session, item: PageItem, venue: VenueState) -> None:
        values: dict[str, Any] = {"last_crawled_at": utcnow(), "updated_at": utcnow()}
        if item.platform not in ("unknown", "generic", ""):
            session.execute(update(Venue).where(Venue.id == venue.id,
                                                Venue.platform.in_(("unknown", "generic")))
                            .values(platform=item.platform))
        elif item.platform == "generic":
            session.execute(update(Venue).where(Venue.id == venue.id,
                                                Venue.platform == "unknown")
                            .values(platform="generic"))
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
                values["contact"] = {**current, **_plain(info.contact)}
        if _looks_hijacked(item):
            values["status"] = "hijacked"
            self.stats.inc_value("venues/hijacked")
        session.execute(update(Venue).where(Venue.id == venue.id).values(**values))

    # --- discovery ------------------------------------------------------------------------

    def _discover(self, session: Session, item: PageItem, venue: VenueState,
                  now: datetime) -> None:
        page_hits = self.scorer.hits(item.page_text_sample) if self.scorer else 0
        evidence: dict[int, tuple[int, str]] = {}
        for url, links in group_links(item.links).items():
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
        record_links(session, venue.id, item.final_url, evidence, now)
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
            ledger.enqueue(session, rows)
            self.stats.inc_value("frontier/queued", len(rows))

    def _calendar_trap(self, host: str, url: str) -> str | None:
        if not _CALENDAR.search(url):
            return None
        self.calendar_counts[host] = self.calendar_counts.get(host, 0) + 1
        if self.calendar_counts[host] > CALENDAR_PAGES_PER_HOST:
            return "endless calendar"
        return None

    # --- ledger ---------------------------------------------------------------------------

    def _store_failure(self, session: Session, item: FetchFailure) -> None:
        retry_after = item.retry_after
        next_at = (utcnow() + timedelta(seconds=retry_after) if retry_after is not None
                   else ledger.retry_at(item.attempts) if item.state == "failed" else None)
        if item.http_status in (404, 410):
            next_at = None  # gone pages are not retried; the venue check below flags it
        ledger.finish(session, item.url_fp, item.state, http_status=item.http_status,
                      error=item.error, next_fetch_at=next_at, run_id=self.run_id)
        self.stats.inc_value(f"ledger/{item.state}")
        if item.venue_id is not None and _is_home_gone(session, item):
            session.execute(update(Venue).where(Venue.id == item.venue_id)
                            .values(status="gone", updated_at=utcnow()))
            self.stats.inc_value("venues/gone")

    def _revisit_at(self, session: Session, venue_id: int, kind: str) -> datetime | None:
        if kind not in REVISIT_KINDS:
            return None
        dates = session.execute(select(Post.published_at)
                                .where(Post.venue_id == venue_id,
                                       Post.published_at.is_not(None))
                                .order_by(Post.published_at.desc()).limit(10)).scalars().all()
        return utcnow() + revisit_interval(dates, utcnow())


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


def _upsert_posts(session: Session, rows: list[dict[str, Any]]) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = Post.__table__
    stmt = insert(table).values(rows)
    longer = func.length(func.coalesce(stmt.excluded.text, "")) > func.length(
        func.coalesce(table.c.text, ""))
    stmt = stmt.on_conflict_do_update(index_elements=["post_fp"], set_={
        # Feeds often carry a summary and the HTML the full text: keep the longer one.
        "text": case((longer, stmt.excluded.text), else_=table.c.text),
        "title": func.coalesce(table.c.title, stmt.excluded.title),
        "published_at": func.coalesce(table.c.published_at, stmt.excluded.published_at),
        "author_key": func.coalesce(table.c.author_key, stmt.excluded.author_key),
        "thread": func.coalesce(table.c.thread, stmt.excluded.thread),
        "board": func.coalesce(table.c.board, stmt.excluded.board),
    })
    session.execute(stmt)


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
    values["revisit_after"] = now + revisit_interval(list(dates), now)
    session.execute(update(Venue).where(Venue.id == venue_id).values(**values))


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
    try:
        from nlp.tagger import Tagger
    except ImportError:
        logger.warning("nlp.tagger is not available: posts are stored untagged "
                       "(tag them later with the tagging command)")
        return None
    return Tagger.from_session(session)


__all__ = ["StorePipeline", "revisit_interval", "DEPTH_PENALTY"]
