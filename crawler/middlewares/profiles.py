"""Downloader middleware: never request a page about one person (author archive, member profile).

Discovery never queues such URLs (``crawler.urls.is_profile_url``); this is the second lock, for
redirects that land on one. The refusal's message and the log leave the URL out, since it
carries a handle; each refusal counts in ``fetch/blocked/profile``.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.errors import ProfileRefused
from crawler.urls import is_profile_url


class ProfilePagesMiddleware:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProfilePagesMiddleware:
        return cls(crawler.stats)

    def process_request(self, request: Request) -> None:
        if is_profile_url(request.url):
            self.stats.inc_value("fetch/blocked/profile")
            raise ProfileRefused("a page about one person (author or member profile): "
                                 "never fetched")
