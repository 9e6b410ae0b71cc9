"""The one spider: fetches what the ledger leases, parses it with the venue's platform adapter.

The spider holds no frontier of its own. It leases a batch of URLs from the ledger (best
first, per-host caps, page budgets), and leases more whenever the store step has committed
pages (the ``batch_stored`` signal) or the engine goes idle; discovered links are written to
the ledger by the pipeline in the same transaction as the page they were found on. A crawl ends when the ledger has nothing
leasable left or the page budget is spent.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, DownloadCancelledError
from scrapy.http import Response
from sqlalchemy import select
from twisted.internet import task
from twisted.python.failure import Failure

from crawler.adapters import registry
from crawler.adapters.base import Adapter
from crawler.adapters.types import ParseResult
from crawler.errors import Refused
from crawler.items import FetchFailure, PageItem
from crawler.ledger import LEASE_RENEW_SECONDS, Lease, Ledger, make_owner
from crawler.resolver import BlockedByDNS, blocked_reason
from crawler.signals import batch_stored
from crawler.urls import URLError, canonicalize
from crawler.venues import venue_key
from storage.db import make_engine, session_scope
from storage.models import Venue

logger = logging.getLogger(__name__)

# Leasing: enough requests in hand to keep every download slot busy, few enough that a
# killed worker's leases are quickly reclaimed and priorities stay fresh.
LEASE_BATCH = 64
LOW_WATER = 32  # lease more when fewer than this many requests are in flight
HOST_CAP = 16  # leased-but-unfinished URLs per host: enough to keep one busy host fetching
# between two pipeline commits, few enough that one host cannot take the whole batch
HANDLED_STATUSES = [304, 404, 410]


class CommunitySpider(scrapy.Spider):
    name = "beatmap"

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> CommunitySpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._configure(crawler.settings)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._on_closed, signal=signals.spider_closed)
        crawler.signals.connect(spider.refill, signal=batch_stored)
        return spider

    def _configure(self, settings) -> None:
        self.run_id = settings.getint("BEATMAP_RUN_ID")
        self.engine_db = make_engine(settings.get("BEATMAP_DB"))
        self.ledger = Ledger(self.engine_db, settings.get("BEATMAP_OWNER")
                             or make_owner(self.run_id))
        self.max_pages = settings.getint("BEATMAP_MAX_PAGES", 50_000)
        self.max_per_host = settings.getint("BEATMAP_MAX_PAGES_PER_HOST", 2000)
        self.inflight: dict[str, str] = {}  # url_fp → host
        self.host_used: Counter[str] = Counter()
        self.leased_total = 0
        self.venue_platforms: dict[int, str] = {}
        self.venue_homes: dict[int, str] = {}
        self._renewer: task.LoopingCall | None = None

    # --- leasing ------------------------------------------------------------------------

    async def start(self):
        self.ledger.reclaim()
        self.host_used.update(self.ledger.host_counts(self.run_id))
        self.leased_total = sum(self.host_used.values())
        self._renewer = task.LoopingCall(self.ledger.renew)
        self._renewer.start(LEASE_RENEW_SECONDS, now=False)
        for request in self.lease_requests():
            yield request

    def lease_requests(self) -> list[scrapy.Request]:
        room = min(LEASE_BATCH, self.max_pages - self.leased_total)
        if room <= 0:
            return []
        exhausted = {h for h, n in self.host_used.items() if n >= self.max_per_host}
        leases = self.ledger.lease(room, exclude_hosts=exhausted,
                                   per_host=Counter(self.inflight.values()), host_cap=HOST_CAP)
        self._load_platforms({lease.venue_id for lease in leases if lease.venue_id})
        requests = []
        for lease in leases:
            host = lease.host or ""
            self.inflight[lease.url_fp] = host
            self.host_used[host] += 1
            self.leased_total += 1
            requests.append(self._request(lease))
        if requests:
            self.crawler.stats.inc_value("ledger/leased", len(requests))
        return requests

    def refill(self) -> None:
        """Lease more when the store step has committed pages (new links may be queued)."""
        if len(self.inflight) >= LOW_WATER or self.crawler.engine is None:
            return
        for request in self.lease_requests():
            self.crawler.engine.crawl(request)

    def _load_platforms(self, venue_ids: set[int]) -> None:
        missing = [v for v in venue_ids if v not in self.venue_platforms]
        if not missing:
            return
        with session_scope(self.engine_db) as session:
            for vid, platform, url in session.execute(
                    select(Venue.id, Venue.platform, Venue.url).where(Venue.id.in_(missing))):
                self.venue_platforms[vid] = platform
                try:
                    self.venue_homes[vid] = canonicalize(url)
                except URLError:
                    pass

    def _request(self, lease: Lease) -> scrapy.Request:
        meta = {"lease": lease, "handle_httpstatus_list": HANDLED_STATUSES}
        if lease.etag or lease.last_modified:
            meta["validators"] = (lease.etag, lease.last_modified)
        return scrapy.Request(lease.url, callback=self.parse, errback=self.on_error,
                              priority=int(lease.priority * 10), meta=meta, dont_filter=True)

    def _on_idle(self) -> None:
        # the store step flushes on idle too, and its batch_stored leases what that queued
        requests = self.lease_requests()
        for request in requests:
            self.crawler.engine.crawl(request)
        if requests:
            raise DontCloseSpider

    def _on_closed(self, reason: str) -> None:
        if self._renewer is not None and self._renewer.running:
            self._renewer.stop()
        released = self.ledger.release()
        if released:
            logger.info("released %d unfinished leases back to the queue", released)
        self.engine_db.dispose()

    def _give_back_budget(self, lease: Lease) -> None:
        # Only the run's budget: a host that refuses everything (robots.txt, a guard) keeps
        # spending its own, or it would be drained URL by URL to the end of its queue.
        self.leased_total = max(0, self.leased_total - 1)
        self.crawler.stats.inc_value("budget/refused_not_counted")

    # --- responses ------------------------------------------------------------------------

    def parse(self, response: Response):
        lease: Lease = response.meta["lease"]
        self.inflight.pop(lease.url_fp, None)
        item = self._page_item(response, lease)
        if response.status in (404, 410):
            yield FetchFailure(url=lease.url, url_fp=lease.url_fp, venue_id=lease.venue_id,
                               state="failed", error=f"HTTP {response.status}",
                               http_status=response.status, attempts=lease.attempts)
            return
        if response.status != 304:
            self._parse_into(item, response, lease)
        yield item

    def _page_item(self, response: Response, lease: Lease) -> PageItem:
        try:
            final_key = venue_key(response.url).key
        except URLError:
            final_key = ""
        headers = response.headers
        return PageItem(
            url=lease.url, url_fp=lease.url_fp, final_url=response.url, venue_id=lease.venue_id,
            venue_key=final_key, depth=lease.depth, http_status=response.status,
            priority=lease.priority, not_modified=response.status == 304,
            content_type=_header(headers, b"Content-Type"),
            etag=_header(headers, b"ETag"), last_modified=_header(headers, b"Last-Modified"),
            content_hash=hashlib.sha1(response.body).hexdigest() if response.body else None,
            redirect_status=next((r for r in response.meta.get("redirect_reasons", ())
                                  if isinstance(r, int)), None))

    def _parse_into(self, item: PageItem, response: Response, lease: Lease) -> None:
        known = self.venue_platforms.get(lease.venue_id or 0, "unknown")
        adapter, detected = self._adapter_for(response, known)
        try:
            result = adapter.parse(response)
        except Exception as exc:  # a parser bug must not stop the crawl; it is counted
            logger.exception("adapter %s failed on %s", adapter.platform, response.url)
            self.crawler.stats.inc_value(f"parse/error/{adapter.platform}")
            item.parse_error = f"{type(exc).__name__}: {exc}"
            result = ParseResult()
        for error in getattr(result, "errors", []) or []:
            self.crawler.stats.inc_value(f"parse/error/{adapter.platform}")
            item.parse_error = error[:500]
        item.platform = adapter.platform
        item.kind = result.kind
        item.posts = result.posts
        item.venue_info = result.venue
        item.follow = result.follow
        item.links = result.links
        item.title = _title(response)
        item.page_text_sample = _text_sample(response, result)
        if detected and lease.venue_id:
            self.venue_platforms[lease.venue_id] = adapter.platform
        if lease.venue_id and lease.url == self.venue_homes.get(lease.venue_id):
            # The venue's home: queue its cheaper channels (feeds, APIs, sitemaps).
            item.entry_points = _entry_points(adapter, response.url)
        self.crawler.stats.inc_value(f"parse/{adapter.platform}/{result.kind}")

    def _adapter_for(self, response: Response, known: str) -> tuple[Adapter, bool]:
        """The venue's adapter; detect it from this response when not known yet."""
        if known not in ("unknown", "", None):
            try:
                return registry.get(known, response.url), False
            except (KeyError, LookupError):
                pass
        adapter = registry.detect(response)
        return adapter, True

    # --- failures -----------------------------------------------------------------------

    def on_error(self, failure: Failure):
        request = failure.request
        lease: Lease | None = request.meta.get("lease")
        if lease is None:
            return
        self.inflight.pop(lease.url_fp, None)
        exc = failure.value
        state, retry_after, status = "failed", None, None
        never_sent = False
        if isinstance(exc, Refused):
            state, retry_after = exc.state, exc.retry_after
            never_sent = not exc.fetched
        elif isinstance(exc, BlockedByDNS) or blocked_reason(urlsplit(request.url).hostname
                                                            or "") is not None:
            state = "blocked"
            never_sent = True
            self.crawler.stats.inc_value("fetch/blocked/ssrf_dns")
        if never_sent and not request.meta.get("redirect_times"):
            # Refused before any request for this URL (SSRF guard, known-only, profile page,
            # robots.txt): it used none of the page budget, which goes to the next URLs.
            self._give_back_budget(lease)
        response = getattr(exc, "response", None)
        if response is not None:
            status = response.status
        error = f"{type(exc).__name__}: {exc}"[:500]
        if isinstance(exc, DownloadCancelledError) and not str(exc):
            # Scrapy cancels a streamed body past DOWNLOAD_MAXSIZE without a message (an
            # endless or chunked body with no Content-Length): say so in the ledger.
            limit = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
            error = f"TooLarge: body cut off past the max size of {limit} bytes"
        if "maxsize" in error.lower() or "max size" in error.lower():
            self.crawler.stats.inc_value("fetch/too_large")
        self.crawler.stats.inc_value(f"fetch/error/{type(exc).__name__}")
        yield FetchFailure(url=lease.url, url_fp=lease.url_fp, venue_id=lease.venue_id,
                           state=state, error=error, http_status=status,
                           retry_after=retry_after, attempts=lease.attempts)


def _header(headers, name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None


def _title(response: Response) -> str | None:
    if not hasattr(response, "css"):
        return None
    try:
        title = response.css("title::text").get()
    except Exception:  # XML/JSON bodies that are not selectable
        return None
    return title.strip()[:500] if title else None


TEXT_SAMPLE_CHARS = 3000  # enough for the locality score of a page's outbound links


def _text_sample(response: Response, result: ParseResult) -> str:
    parts = [p.title or "" for p in result.posts[:20]] + [p.text[:300] for p in result.posts[:10]]
    if result.venue is not None:
        parts += [result.venue.name or "", result.venue.description or ""]
    return " ".join(parts)[:TEXT_SAMPLE_CHARS]


def _entry_points(adapter: Adapter, url: str) -> list[str]:
    try:
        home = venue_key(url).url
        points = adapter.entry_points(home)
    except Exception:  # an adapter bug must not lose the page
        logger.exception("entry_points of %s failed for %s", adapter.platform, url)
        return []
    out = []
    for point in points:
        try:
            out.append(canonicalize(point))
        except URLError:
            continue
    return out
