"""Downloader middleware: send every request through the configured HTTP proxy.

The offline sample web is reached as a forward proxy. Setting ``meta['proxy']`` here (rather
than in the spider) covers redirects and robots.txt fetches too; Scrapy's HttpProxyMiddleware
then does the rest.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class ProxyMiddleware:
    def __init__(self, proxy: str):
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProxyMiddleware:
        proxy = crawler.settings.get("BEATMAP_PROXY", "")
        if not proxy:
            raise NotConfigured
        return cls(proxy)

    def process_request(self, request: Request) -> None:
        request.meta.setdefault("proxy", self.proxy)
