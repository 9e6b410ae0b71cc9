"""Downloader middleware (distributed mode): per-host politeness for ALL workers, in Redis.

Each worker's Scrapy only knows its own requests, so N workers would hit a host N times as
hard. Before every request this middleware takes one of the host's ``concurrent_per_host``
slots in Redis (a sorted set of holders with an expiry, so a dead worker's slot frees itself)
and only when the host's next-allowed-time key has expired; the key is set to the host's delay
(the larger of download_delay, the robots.txt Crawl-delay floor and AutoThrottle's slot delay)
when a request starts and again when it ends. Another worker holding the host means waiting
here, without holding this worker's download slot for the host. Both steps are Lua scripts
timed by Redis's clock, so machines with skewed clocks agree.

robots.txt is shared too: the first worker to fetch a host's robots.txt stores the answer in
Redis (JSON, with the robots TTLs), and the others use it instead of fetching it again.

It sits at 950, after every other middleware's process_request (robots.txt is checked before a
slot is taken, so the robots fetch of the same host cannot deadlock behind it) and first in
process_response/process_exception, so the slot is released before retries or redirects.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from urllib.parse import urlsplit

import redis
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy_redis.connection import get_redis_from_settings
from twisted.internet import task

from crawler.middlewares.robots_fail_closed import ROBOTS_ERROR_TTL, ROBOTS_MAX_BYTES, ROBOTS_TTL
from crawler.redis_keys import RedisKeys

logger = logging.getLogger(__name__)

TOKEN_META = "_host_gate"
SHARED_FLAG = "shared-robots"
POLL_MS = 50  # how often a waiting request asks again while the host's slots are full
# A slot outlives its request by this margin beyond the download timeout; after that a dead
# worker's slot is free again.
HOLD_MARGIN_SECONDS = 5
REDIS_WAIT_SECONDS = 1.0

# KEYS: slots zset, next-allowed key. ARGV: token, concurrency, hold_ms, poll_ms, delay_ms.
# Returns 0 when the slot is taken, else milliseconds to wait before asking again.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local wait = redis.call('PTTL', KEYS[2])
if wait > 0 then return wait end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return tonumber(ARGV[4]) end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
if tonumber(ARGV[5]) > 0 then redis.call('SET', KEYS[2], '1', 'PX', ARGV[5]) end
return 0
"""
# KEYS: slots zset, next-allowed key. ARGV: token, delay_ms.
_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[2], '1', 'PX', ARGV[2]) end
return 1
"""


async def _sleep(seconds: float) -> None:
    from twisted.internet import reactor  # deferred: Scrapy installs the reactor first

    await maybe_deferred_to_future(task.deferLater(reactor, seconds, lambda: None))


class WorkerStopping(IgnoreRequest):
    """The worker stops while this request waits for its host: it goes back to the frontier."""


class HostGateMiddleware:
    def __init__(self, crawler: Crawler, server, keys: RedisKeys, *, concurrency: int,
                 base_delay: float, hold_seconds: float):
        self.crawler = crawler
        self.server = server
        self.keys = keys
        self.concurrency = max(1, concurrency)
        self.base_delay = base_delay
        self.hold_ms = int(hold_seconds * 1000)
        self.stats = crawler.stats
        self.acquire = server.register_script(_ACQUIRE)
        self.release_script = server.register_script(_RELEASE)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostGateMiddleware:
        s = crawler.settings
        if not s.getbool("BEATMAP_DISTRIBUTED"):
            raise NotConfigured
        keys = RedisKeys(s.get("BEATMAP_REDIS_PREFIX", "beatmap"))
        return cls(crawler, get_redis_from_settings(s), keys,
                   concurrency=s.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 1),
                   base_delay=s.getfloat("DOWNLOAD_DELAY", 0.0),
                   hold_seconds=s.getfloat("DOWNLOAD_TIMEOUT", 20) + HOLD_MARGIN_SECONDS)

    # --- the gate -------------------------------------------------------------------------

    async def process_request(self, request: Request) -> Response | None:
        origin = request.meta.get("robots_for")
        if origin and (cached := self._robots_cached(origin, request)) is not None:
            return cached
        host = (urlsplit(request.url).hostname or "").lower()
        token = await self._take(host)
        request.meta[TOKEN_META] = (host, token)
        if origin and (cached := self._robots_cached(origin, request)) is not None:
            self._release(request)  # another worker fetched it while we waited
            return cached
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        origin = request.meta.get("robots_for")
        # a redirect is not the answer: the followed request (same meta) brings the final one
        if origin and SHARED_FLAG not in response.flags and not 300 <= response.status < 400:
            self._robots_store(origin, response)  # before the release: the next holder reads it
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._release(request)
        return None

    async def _take(self, host: str) -> str:
        token = uuid.uuid4().hex
        waited = 0.0
        while True:
            if self._stopping():
                raise WorkerStopping(f"worker stopping; {host} left to the frontier")
            try:
                wait_ms = self.acquire(keys=[self.keys.host_slots(host), self.keys.host_next(host)],
                                       args=[token, self.concurrency, self.hold_ms, POLL_MS,
                                             self._delay_ms(host)])
            except redis.RedisError as exc:
                self.stats.inc_value("politeness/redis_errors")
                logger.warning("host gate for %s: Redis unavailable (%s); waiting", host, exc)
                wait_ms = int(REDIS_WAIT_SECONDS * 1000)
            if wait_ms <= 0:
                if waited:
                    self.stats.inc_value("politeness/waits")
                    self.stats.inc_value("politeness/wait_ms", int(waited * 1000))
                return token
            pause = min(max(wait_ms, 5), 1000) / 1000
            waited += pause
            await _sleep(pause)

    def _release(self, request: Request) -> None:
        held = request.meta.pop(TOKEN_META, None)
        if not held:
            return
        host, token = held
        try:
            self.release_script(keys=[self.keys.host_slots(host), self.keys.host_next(host)],
                                args=[token, self._delay_ms(host)])
        except redis.RedisError as exc:  # the slot expires by itself
            logger.warning("host gate for %s not released (%s); it expires in %.0fs",
                           host, exc, self.hold_ms / 1000)

    def _delay_ms(self, host: str) -> int:
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        delay = self.base_delay
        if downloader is not None:
            delay = max(delay, float(downloader.per_slot_settings.get(host, {}).get("delay", 0)))
            slot = downloader.slots.get(host)
            if slot is not None:
                delay = max(delay, slot.delay)
        return int(delay * 1000)

    def _stopping(self) -> bool:
        engine = self.crawler.engine
        slot = getattr(engine, "_slot", None)
        return engine is None or not engine.running or (slot is not None and bool(slot.closing))

    # --- shared robots.txt ----------------------------------------------------------------

    def _robots_cached(self, origin: str, request: Request) -> Response | None:
        try:
            raw = self.server.get(self.keys.robots(origin))
        except redis.RedisError:
            return None
        if not raw:
            return None
        try:
            data = json.loads(raw)
            status = int(data["status"])
            body = base64.b64decode(data["body"], validate=True)[:ROBOTS_MAX_BYTES]
        except (ValueError, KeyError, TypeError):
            logger.error("ignoring a malformed shared robots.txt entry for %s", origin)
            return None
        self.stats.inc_value("robots/shared_hits")
        return Response(request.url, status=status, body=body, request=request,
                        flags=[SHARED_FLAG])

    def _robots_store(self, origin: str, response: Response) -> None:
        ttl = ROBOTS_TTL if response.status < 500 else ROBOTS_ERROR_TTL
        entry = {"status": response.status,
                 "body": base64.b64encode(response.body[:ROBOTS_MAX_BYTES]).decode("ascii")}
        try:
            self.server.set(self.keys.robots(origin), json.dumps(entry), ex=int(ttl))
        except redis.RedisError:
            pass
