"""Downloader middleware: conditional requests on recrawl (If-None-Match, If-Modified-Since).

The ledger keeps each URL's ETag and Last-Modified; the spider puts them in
``meta['validators']`` and an unchanged page then costs a 304 with no body.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler


class ConditionalRequestMiddleware:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        return cls(crawler.stats)

    def process_request(self, request: Request) -> None:
        etag, last_modified = request.meta.get("validators") or (None, None)
        if etag and b"If-None-Match" not in request.headers:
            request.headers[b"If-None-Match"] = etag
        if last_modified and b"If-Modified-Since" not in request.headers:
            request.headers[b"If-Modified-Since"] = last_modified

    def process_response(self, request: Request, response):
        if response.status == 304:
            self.stats.inc_value("fetch/not_modified")
        return response
