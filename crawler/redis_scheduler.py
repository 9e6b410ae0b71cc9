"""Scheduler of a distributed worker: scrapy-redis's shared queue and dupe filter, fed from and
claimed against the ledger.

Requests enter the shared Redis queue only as *offers* of ledger entries (``crawler.frontier``):
a worker whose queue runs low takes the next window of queued URLs from the ledger (one feeder
at a time, under a Redis lock) and pushes them through scrapy-redis's ``enqueue_request``, so
the ``RFPDupeFilter`` seen-set refuses a second offer of a URL in the run; re-offers the ledger
decides on (a retried URL, a dead worker's claim, an offer lost with Redis data) bypass it, as
Scrapy's own retries do. Popping a request claims its ledger entry in one conditional UPDATE;
an entry that is not an open offer (stale, or forged) claims nothing and is dropped, and the
request actually fetched is rebuilt from the ledger row, never from what Redis said.

Requests a worker has claimed (retries, redirects) stay in its own memory. Redis going away
is survived: the worker waits and retries, stops with a clear message after
``REDIS_GIVE_UP_SECONDS``, and when Redis comes back empty (restarted without persistence)
the open offers are pushed again from the ledger.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import time
import uuid
from collections import deque
from typing import Any

import redis
import scrapy
from scrapy import signals
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from crawler.frontier import OFFER_SECONDS, LedgerFrontier
from crawler.ledger import LEASE_SECONDS, Lease
from crawler.redis_keys import HEARTBEAT_TTL, RedisKeys, safe_redis_url
from crawler.redis_serializer import UnsafeRequest
from crawler.redis_serializer import dumps as serialize
from crawler.signals import batch_stored
from crawler.urls import URLError, canonicalize, url_fp

logger = logging.getLogger(__name__)

# The window of offers in Redis: enough to keep every worker's download slots busy between
# two feeds, small enough that priorities stay fresh and a lost window is cheap to rebuild.
WINDOW_PER_WORKER = 64
# Offers per host in the window (all workers): a host is fetched one request at a time, so
# more only makes other workers wait at the host gate; 16 keeps a fast host busy between feeds.
WINDOW_HOST_CAP = 16
CLAIM_BATCH = 8  # entries popped and claimed per database round trip
TICK_SECONDS = 0.5  # feed / reap / wake / Redis health loop
MIN_FEED_SECONDS = 0.1  # at most this often from the request path
REAP_SECONDS = 5.0
# An offer missing from the queue this long after it was made was lost (its feeder or popper
# died in the milliseconds between the database and Redis steps).
LOST_OFFER_GRACE_SECONDS = 10.0
FEED_LOCK_MS = 10_000
REDIS_RETRY_SECONDS = 1.0
REDIS_GIVE_UP_SECONDS = 600.0  # after this long without Redis a worker stops (nothing lost)
REJECTED_KEPT = 100  # refused queue entries kept in Redis for inspection

# Release a lock only if we still hold it.
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def offer_request(lease: Lease, spider: scrapy.Spider | None = None) -> scrapy.Request:
    """The queue entry for an offer: URL and priority; callbacks by name."""
    return scrapy.Request(lease.url, priority=int(lease.priority * 10),
                          callback=getattr(spider, "parse", None) if spider else None,
                          errback=getattr(spider, "on_error", None) if spider else None,
                          meta={"ledger_fp": lease.url_fp},
                          dont_filter=lease.attempts > 1)


def offer_leases(client, keys: RedisKeys, leases: list[Lease]) -> int:
    """Push offers straight into the queue (the starting command, which has no spider)."""
    if not leases:
        return 0
    seen = RFPDupeFilter(client, keys.seen)
    pipe = client.pipeline(transaction=False)
    for lease in leases:
        request = offer_request(lease)
        if not request.dont_filter:
            seen.request_seen(request)
        entry = {**request.to_dict(), "callback": "parse", "errback": "on_error"}
        pipe.execute_command("ZADD", keys.queue, -request.priority, serialize(entry))
    pipe.execute()
    return len(leases)


class LedgerScheduler(Scheduler):
    """scrapy-redis ``Scheduler`` whose entries are ledger offers, claimed on pop."""

    @classmethod
    def from_crawler(cls, crawler):
        scheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        settings = crawler.settings
        scheduler.keys = RedisKeys(settings.get("BEATMAP_REDIS_PREFIX", "beatmap"),
                                   settings.getint("BEATMAP_RUN_ID"))
        scheduler.worker_name = settings.get("BEATMAP_WORKER_NAME") or \
            f"{socket.gethostname()}-{os.getpid()}"
        scheduler.idle_timeout = settings.getfloat("BEATMAP_IDLE_TIMEOUT", 0.0)
        scheduler.give_up = settings.getfloat("BEATMAP_REDIS_GIVE_UP", REDIS_GIVE_UP_SECONDS)
        scheduler.lease_seconds = settings.getint("BEATMAP_LEASE_SECONDS", LEASE_SECONDS)
        scheduler.offer_seconds = settings.getint("BEATMAP_OFFER_SECONDS", OFFER_SECONDS)
        scheduler.redis_url = settings.get("REDIS_URL", "")
        # connected after the item pipeline's handlers, so the store step has flushed first
        crawler.signals.connect(scheduler.on_idle, signal=signals.spider_idle)
        crawler.signals.connect(scheduler.on_batch_stored, signal=batch_stored)
        return scheduler

    # --- life cycle -----------------------------------------------------------------------

    def open(self, spider):
        super().open(spider)
        self.frontier = LedgerFrontier(
            spider.engine_db, self.keys.run_id, spider.ledger.owner,
            max_pages=spider.max_pages, max_per_host=spider.max_per_host,
            lease_seconds=self.lease_seconds, offer_seconds=self.offer_seconds)
        self.local: list[tuple[int, int, scrapy.Request]] = []  # claimed here: retries, redirects
        self.claimed: deque[scrapy.Request] = deque()
        self._seq = itertools.count()
        self.down_since: float | None = None
        self.last_feed = self.last_reap = 0.0
        self.last_work = time.monotonic()
        self.stopping = False
        spider.frontier_scheduler = self
        self._resync_if_lost()
        self._loop = task.LoopingCall(self.tick)
        self._loop.start(TICK_SECONDS, now=False)

    def close(self, reason):
        self.stopping = True
        if self._loop.running:
            self._loop.stop()
        leases = self.frontier.hand_back()
        if leases:
            pushed = self._push(leases, bypass=True)
            logger.info("handed %d unfinished requests back to the shared frontier%s",
                        len(leases), "" if pushed else " (Redis down: the reaper re-offers them)")

    # --- the Scheduler interface ----------------------------------------------------------

    def enqueue_request(self, request: scrapy.Request) -> bool:
        if "lease" in request.meta:  # already claimed by this worker: keep it here
            heapq.heappush(self.local, (-request.priority, next(self._seq), request))
            self._inc("scheduler/enqueued/local")
            return True
        try:
            return super().enqueue_request(request)
        except redis.RedisError as exc:
            self._redis_down(exc)
            return False

    def next_request(self) -> scrapy.Request | None:
        request = self._next_local()
        if request is None and self.down_since is None:
            request = self._next_shared()
        if request is not None:
            self.last_work = time.monotonic()
        return request

    def has_pending_requests(self) -> bool:
        if self.local or self.claimed:
            return True
        if self.down_since is not None:
            return False
        try:
            return len(self.queue) > 0
        except redis.RedisError as exc:
            self._redis_down(exc)
            return False

    def _next_local(self) -> scrapy.Request | None:
        if self.local:
            return heapq.heappop(self.local)[2]
        if self.claimed:
            return self.claimed.popleft()
        return None

    def _next_shared(self) -> scrapy.Request | None:
        try:
            raw = self.queue.pop_many(CLAIM_BATCH)
        except redis.RedisError as exc:
            self._redis_down(exc)
            return None
        if not raw:
            self.maybe_feed()
            return None
        self._inc("scheduler/dequeued/redis", len(raw))
        wanted: dict[str, scrapy.Request] = {}
        for entry in raw:
            request = self._decode(entry)
            if request is not None:
                wanted[url_fp(request.url)] = request
        leases = self.frontier.claim(wanted)
        self._inc("frontier/claimed", len(leases))
        self._inc("frontier/stale", len(wanted) - len(leases))
        self.spider._load_platforms({lease.venue_id for lease in leases if lease.venue_id})
        for lease in sorted(leases, key=lambda x: -x.priority):
            # what is fetched comes from the ledger row, not from the queue entry
            self.claimed.append(self.spider._request(lease))
        return self._next_local()

    def _decode(self, entry: bytes) -> scrapy.Request | None:
        try:
            request = self.queue.decode(entry)
            canonicalize(request.url)
            return request
        except (UnsafeRequest, URLError, ValueError, TypeError) as exc:
            self._reject(entry, exc)
            return None

    def _reject(self, entry: bytes, exc: Exception) -> None:
        self._inc("frontier/rejected")
        logger.error("refused a queue entry in %s: %s (kept in %s for inspection)",
                     self.keys.queue, exc, self.keys.rejected)
        try:
            pipe = self.server.pipeline(transaction=False)
            pipe.lpush(self.keys.rejected, entry[:4096])
            pipe.ltrim(self.keys.rejected, 0, REJECTED_KEPT - 1)
            pipe.execute()
        except redis.RedisError:
            pass

    # --- feeding, reaping, waking ---------------------------------------------------------

    def tick(self) -> None:
        if self.stopping:
            return
        if self.down_since is not None and not self._redis_back():
            return
        try:
            self.maybe_feed(force=True)
            if time.monotonic() - self.last_reap >= REAP_SECONDS:
                self.last_reap = time.monotonic()
                self._resync_if_lost()
                self.reap()
            self._wake()
            self._finish_when_idle()
        except redis.RedisError as exc:
            self._redis_down(exc)

    def _finish_when_idle(self) -> None:
        """Notice the end of the run at the next tick, not at the engine's next 5-second
        idle signal (the spider's idle handler makes the same decision)."""
        engine = self.crawler.engine
        if getattr(engine, "_slot", None) is None or not engine.spider_is_idle():
            return
        verdict = self.idle_verdict()
        if verdict == "work":
            return
        if verdict == "finished":
            self.frontier.mark_finished(f"worker:{self.worker_name}",
                                        {"pages": self.stats.get_value("store/pages", 0)})
        self.stopping = True
        deferred_from_coro(engine.close_spider_async(reason=verdict))

    def window(self) -> int:
        alive = self.server.zcount(self.keys.workers, time.time() - HEARTBEAT_TTL, "+inf")
        return WINDOW_PER_WORKER * max(1, int(alive))

    def maybe_feed(self, force: bool = False) -> int:
        """Top the shared queue up from the ledger when it is below half the window."""
        now = time.monotonic()
        if self.down_since is not None or (not force and now - self.last_feed < MIN_FEED_SECONDS):
            return 0
        self.last_feed = now
        try:
            target = self.window()
            queued = len(self.queue)
            if queued * 2 >= target:
                return 0
            token = uuid.uuid4().hex
            lock = self.keys.run("feed-lock")
            if not self.server.set(lock, token, nx=True, px=FEED_LOCK_MS):
                return 0  # another worker is feeding
            try:
                leases = self.frontier.take_offers(target - queued, host_cap=WINDOW_HOST_CAP)
                self._push(leases, bypass=False)
            finally:
                self.server.eval(_RELEASE, 1, lock, token)
        except redis.RedisError as exc:
            self._redis_down(exc)
            return 0
        if leases:
            self._inc("frontier/offered", len(leases))
        return len(leases)

    def _push(self, leases: list[Lease], *, bypass: bool) -> bool:
        """Put offers in the queue; the dupe filter sees first offers, re-offers bypass it."""
        try:
            for lease in leases:
                request = offer_request(lease, self.spider)
                if bypass or request.dont_filter:
                    self.queue.push(request)
                    self._inc("frontier/reoffered")
                elif not super().enqueue_request(request):
                    # the seen-set knows it, yet the ledger says it is due: an earlier offer
                    # was lost; the ledger decides
                    self._inc("frontier/filtered_offer")
                    logger.warning("dupe filter had seen %s, which the ledger offers again",
                                   request.url)
                    self.queue.push(request)
        except redis.RedisError as exc:
            self._redis_down(exc)
            return False
        return True

    def reap(self) -> int:
        token = uuid.uuid4().hex
        lock = self.keys.run("reap-lock")
        if not self.server.set(lock, token, nx=True, px=int(REAP_SECONDS * 2000)):
            return 0
        try:
            leases = self.frontier.reap()
            self._push(leases, bypass=True)
            lost = self._lost_offers()
            self._push(lost, bypass=True)
        finally:
            self.server.eval(_RELEASE, 1, lock, token)
        self._inc("frontier/reaped", len(leases))
        self._inc("frontier/recovered", len(lost))
        return len(leases) + len(lost)

    def _lost_offers(self) -> list[Lease]:
        """Offers the ledger has but Redis does not: a worker died between taking offers and
        pushing them, or between popping entries and claiming them. Entries are serialised
        deterministically, so membership is one ZMSCORE."""
        offers = self.frontier.open_offers(LOST_OFFER_GRACE_SECONDS)
        if not offers:
            return []
        members = [serialize(offer_request(lease, self.spider).to_dict(spider=self.spider))
                   for lease in offers]
        scores = self.server.zmscore(self.keys.queue, members)
        lost = [lease for lease, score in zip(offers, scores, strict=True) if score is None]
        if lost:
            logger.info("re-offering %d offers that were no longer in the queue", len(lost))
        return lost

    def _resync_if_lost(self) -> None:
        """Redis lost this run's keys (restart without persistence): push the open offers."""
        try:
            if not self.server.set(self.keys.epoch, str(int(time.time())), nx=True):
                return
            leases = self.frontier.current_offers()
        except redis.RedisError as exc:
            self._redis_down(exc)
            return
        if leases:
            logger.warning("Redis no longer held run %d's queue: offering %d URLs again from "
                           "the ledger", self.keys.run_id, len(leases))
            self._push(leases, bypass=True)
            self._inc("frontier/resynced", len(leases))

    def _wake(self) -> None:
        """Ask the engine for requests now rather than at its next 5-second heartbeat."""
        engine = self.crawler.engine
        slot = getattr(engine, "_slot", None)
        if slot is None or engine.needs_backout():
            return
        if self.local or self.claimed or len(self.queue) > 0:
            slot.nextcall.schedule()

    # --- Redis health ---------------------------------------------------------------------

    def _redis_down(self, exc: Exception) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            self._inc("redis/outages")
            logger.error("Redis at %s is unreachable (%s): fetching what this worker holds "
                         "and waiting for it; nothing is lost, the ledger keeps every URL",
                         safe_redis_url(self.redis_url), exc)

    def _redis_back(self) -> bool:
        try:
            self.server.ping()
        except redis.RedisError:
            down = time.monotonic() - (self.down_since or time.monotonic())
            if down >= self.give_up and not self.stopping:
                logger.error("Redis at %s unreachable for %.0fs: stopping this worker. Nothing "
                             "is lost; start it again when Redis is back",
                             safe_redis_url(self.redis_url), down)
                self.stopping = True
                deferred_from_coro(self.crawler.engine.close_spider_async(
                    reason="redis_unavailable"))
            return False
        logger.warning("Redis at %s is back after %.0fs; resuming",
                       safe_redis_url(self.redis_url), time.monotonic() - self.down_since)
        self.down_since = None
        self._resync_if_lost()
        return True

    # --- signals --------------------------------------------------------------------------

    def on_batch_stored(self) -> None:
        """The store step committed pages: new links may be ready to offer."""
        self.maybe_feed()

    def on_idle(self) -> None:
        """The engine is idle: end the worker when the run is over, else keep it open."""
        finish_if_drained(self, f"worker:{self.worker_name}",
                          {"pages": self.stats.get_value("store/pages", 0)})
        raise DontCloseSpider

    # --- end of the run -------------------------------------------------------------------

    def idle_verdict(self) -> str:
        """'work' while anything is left for this worker or its peers, 'finished' when the
        frontier is drained, 'idle' after the idle timeout, 'redis_unavailable' when given up."""
        if self.down_since is not None:
            return "work"
        if self.maybe_feed(force=True) or self.has_pending_requests():
            return "work"
        outstanding = self.frontier.outstanding()
        if outstanding["leased"] == 0:
            return "finished"
        if self.idle_timeout and time.monotonic() - self.last_work > self.idle_timeout:
            return "idle"
        return "work"

    def status(self) -> dict[str, Any]:
        try:
            queued = len(self.queue)
        except redis.RedisError:
            queued = -1
        return {"queue": queued, "local": len(self.local) + len(self.claimed),
                "redis_down": self.down_since is not None}

    def _inc(self, key: str, n: int = 1) -> None:
        if self.stats is not None and n:
            self.stats.inc_value(key, n)


def finish_if_drained(scheduler: LedgerScheduler, actor: str, stats: dict) -> None:
    """Raise CloseSpider with the idle verdict, marking the run finished when drained."""
    verdict = scheduler.idle_verdict()
    if verdict == "work":
        return
    if verdict == "finished":
        if scheduler.frontier.mark_finished(actor, stats):
            logger.info("run %d finished: the shared frontier is drained", scheduler.keys.run_id)
    raise CloseSpider(verdict)


__all__ = ["LedgerScheduler", "offer_leases", "offer_request", "finish_if_drained"]
