"""Downloader middleware: refuse bodies over the size limit after decompression.

Scrapy already aborts downloads over DOWNLOAD_MAXSIZE and stops decompressing past it (the
gzip-bomb test checks that); this is the last check on the body the parsers will see, and
the place that counts ``fetch/too_large``.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.errors import TooLarge


class SizeLimitsMiddleware:
    def __init__(self, max_bytes: int, stats):
        self.max_bytes = max_bytes
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SizeLimitsMiddleware:
        max_bytes = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        if max_bytes <= 0:
            raise NotConfigured
        return cls(max_bytes, crawler.stats)

    def process_response(self, request: Request, response):
        if len(response.body) > self.max_bytes:
            self.stats.inc_value("fetch/too_large")
            raise TooLarge(f"body of {len(response.body)} bytes over {self.max_bytes}")
        return response

    def process_exception(self, request: Request, exception: BaseException):
        if "DOWNLOAD_MAXSIZE" in str(exception) or "maxsize" in str(exception).lower():
            self.stats.inc_value("fetch/too_large")
        return None
