"""Downloader middleware: never send a request to a known-only platform (Facebook, Nextdoor …).

Discovery never queues such URLs; this is the second lock, for redirects and anything else
that might lead there. Each refusal counts in ``fetch/blocked/known_only``.
"""

from __future__ import annotations

import logging

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.errors import KnownOnlyRefused
from crawler.venues import is_known_only

logger = logging.getLogger(__name__)


class KnownPlatformsMiddleware:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KnownPlatformsMiddleware:
        return cls(crawler.stats)

    def process_request(self, request: Request) -> None:
        if is_known_only(request.url):
            self.stats.inc_value("fetch/blocked/known_only")
            logger.debug("refused %s: known-only platform", request.url)
            raise KnownOnlyRefused(f"known-only platform: {request.url}")
