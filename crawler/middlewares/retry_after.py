"""Downloader middleware: respect Retry-After on 429 and 503.

The host is paused for the time asked (every request to it waits), then the request is tried
again; a wait longer than RETRY_AFTER_CAP, or too many in a row, ends the request as failed
with its next try scheduled in the ledger after the time the server asked for.
"""

from __future__ import annotations

import email.utils
import logging
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor, task

from crawler.errors import RetryLater

logger = logging.getLogger(__name__)

RETRY_AFTER_CAP = 60.0  # longer waits go back to the ledger instead of holding a slot
MAX_RETRY_AFTER_TIMES = 3
DEFAULT_RETRY_AFTER = 30.0  # 429/503 without a usable header: back off this long
STATUSES = (429, 503)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP date).

    >>> parse_retry_after("120")
    120.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0)
    10.0
    >>> parse_retry_after("soon") is None
    True
    """
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


class RetryAfterMiddleware:
    def __init__(self, stats, cap: float = RETRY_AFTER_CAP):
        self.stats = stats
        self.cap = cap
        self._paused_until: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler.stats, crawler.settings.getfloat("BEATMAP_RETRY_AFTER_CAP",
                                                           RETRY_AFTER_CAP))

    async def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        wait = self._paused_until.get(host, 0.0) - time.monotonic()
        if wait > 0:
            await maybe_deferred_to_future(task.deferLater(reactor, wait, lambda: None))

    def process_response(self, request: Request, response):
        if response.status not in STATUSES:
            return response
        header = response.headers.get(b"Retry-After")
        wait = parse_retry_after(header.decode("latin-1") if header else None)
        if wait is None:
            return response  # the standard RetryMiddleware handles it
        self.stats.inc_value(f"fetch/retry_after/{response.status}")
        times = request.meta.get("retry_after_times", 0) + 1
        if wait > self.cap or times > MAX_RETRY_AFTER_TIMES:
            raise RetryLater(f"HTTP {response.status}, Retry-After {wait:.0f}s", retry_after=wait)
        host = urlsplit(request.url).hostname or ""
        self._paused_until[host] = max(self._paused_until.get(host, 0.0),
                                       time.monotonic() + wait)
        logger.info("%s asked to wait %.1fs (HTTP %d)", host, wait, response.status)
        retry = request.replace(dont_filter=True)
        retry.meta["retry_after_times"] = times
        return retry
