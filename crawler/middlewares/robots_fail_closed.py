"""Downloader middleware: obey robots.txt and FAIL CLOSED.

Scrapy's own RobotsTxtMiddleware allows everything when robots.txt cannot be fetched. Here a
robots.txt that answers 5xx, times out, or cannot be decoded means *disallow*: the request is
refused as blocked, counted (``robots/error``) and tried again later through the ledger's
back-off; the file itself is fetched again after ROBOTS_ERROR_TTL. 404/410 mean no rules
(allow), other 4xx (401/403 …) disallow. A Crawl-delay is honoured up to ``crawl_delay_cap``.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from protego import Protego
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from crawler.errors import RobotsDisallowed, RobotsUnavailable, SsrfRefused
from crawler.resolver import blocked_reason
from crawler.signals import host_delay_floor

logger = logging.getLogger(__name__)

ROBOTS_PRIORITY = 1000
# RFC 9309: crawlers must parse at least the first 500 KiB; the rest may be ignored.
ROBOTS_MAX_BYTES = 500 * 1024
ROBOTS_ERROR_TTL = 600.0  # seconds before a failed robots.txt is fetched again
ROBOTS_TTL = 24 * 3600.0  # RFC 9309 suggests caching for up to 24 hours
NO_RULES_STATUSES = (404, 410)
SSRF_PREFIX = "ssrf: "


class _Rules:
    """Parsed rules of one origin, or the reason they are unavailable."""

    def __init__(self, parser: Protego | None, error: str | None, expires: float):
        self.parser = parser
        self.error = error
        self.expires = expires


class RobotsFailClosedMiddleware:
    def __init__(self, crawler: Crawler, user_agent: str, delay_cap: float):
        self.crawler = crawler
        self.stats = crawler.stats
        self.user_agent = user_agent
        self.delay_cap = delay_cap
        self._rules: dict[str, _Rules] = {}
        self._pending: dict[str, object] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsFailClosedMiddleware:
        settings = crawler.settings
        if not settings.getbool("BEATMAP_ROBOTS_OBEY", True):
            raise NotConfigured
        return cls(crawler, settings.get("BEATMAP_ROBOTS_AGENT", "beatmap"),
                   settings.getfloat("BEATMAP_CRAWL_DELAY_CAP", 10.0))

    async def process_request(self, request: Request) -> None:
        if request.meta.get("dont_obey_robotstxt"):
            return
        parts = urlsplit(request.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        rules = await self._rules_for(origin, request)
        if rules.error is not None and rules.error.startswith(SSRF_PREFIX):
            raise SsrfRefused(rules.error)
        if rules.error is not None:
            self.stats.inc_value("robots/refused_unavailable")
            raise RobotsUnavailable(f"robots.txt of {origin} unavailable ({rules.error})")
        if rules.parser is not None and not rules.parser.can_fetch(request.url, self.user_agent):
            self.stats.inc_value("robots/disallowed")
            logger.debug("robots.txt disallows %s", request.url)
            raise RobotsDisallowed(f"robots.txt disallows {request.url}")

    async def _rules_for(self, origin: str, request: Request) -> _Rules:
        rules = self._rules.get(origin)
        if rules is not None and rules.expires > time.monotonic():
            return rules
        pending = self._pending.get(origin)
        if pending is not None:  # another request is already fetching this robots.txt
            await maybe_deferred_to_future(pending)
            return self._rules[origin]
        waiter: Deferred = Deferred()
        self._pending[origin] = waiter
        try:
            rules = await self._fetch(origin, request)
            self._rules[origin] = rules
        finally:
            del self._pending[origin]
            waiter.callback(None)
        return rules

    async def _fetch(self, origin: str, request: Request) -> _Rules:
        # No retries here: an unreachable robots.txt already means "disallow for now", and the
        # ledger tries the URL again later; retrying would only hold the host's slot.
        meta = {"dont_obey_robotstxt": True, "robots_for": origin, "dont_retry": True}
        if request.meta.get("proxy"):
            meta["proxy"] = request.meta["proxy"]
        robots = Request(f"{origin}/robots.txt", priority=ROBOTS_PRIORITY, callback=NO_CALLBACK,
                         meta=meta)
        self.stats.inc_value("robots/fetched")
        try:
            response = await self.crawler.engine.download_async(robots)
        except Exception as exc:  # timeouts, refused connections, SSRF refusals …
            refused = blocked_reason(urlsplit(origin).hostname or "")
            if refused is not None:  # a private DNS answer: an SSRF refusal, not a robots error
                self.stats.inc_value("fetch/blocked/ssrf_dns")
                return _Rules(None, f"{SSRF_PREFIX}{refused}",
                              time.monotonic() + ROBOTS_ERROR_TTL)
            return self._error(origin, f"{type(exc).__name__}: {exc}")
        status = response.status
        if status in NO_RULES_STATUSES:
            return _Rules(None, None, time.monotonic() + ROBOTS_TTL)
        if status != 200:
            return self._error(origin, f"HTTP {status}")
        try:
            body = response.body[:ROBOTS_MAX_BYTES].decode("utf-8")
        except UnicodeDecodeError:
            return self._error(origin, "not valid UTF-8 text")
        parser = Protego.parse(body)
        self._apply_crawl_delay(origin, parser)
        return _Rules(parser, None, time.monotonic() + ROBOTS_TTL)

    def _error(self, origin: str, reason: str) -> _Rules:
        self.stats.inc_value("robots/error")
        logger.warning("robots.txt of %s unavailable (%s): treating as disallow", origin, reason)
        return _Rules(None, reason, time.monotonic() + ROBOTS_ERROR_TTL)

    def _apply_crawl_delay(self, origin: str, parser: Protego) -> None:
        delay = parser.crawl_delay(self.user_agent)
        if not delay:
            return
        host = urlsplit(origin).hostname or ""
        honoured = min(float(delay), self.delay_cap)
        self.stats.max_value("robots/crawl_delay_max", honoured)
        self.crawler.signals.send_catch_log(host_delay_floor, host=host, delay=honoured)
