"""Downloader middleware: refuse requests to non-global addresses (SSRF guard).

Every request is checked, including each hop of a redirect (Scrapy schedules a redirect as a
new request that passes this middleware again) and the robots.txt fetches. Host literals in
any spelling are checked here; the DNS answers of host names are checked by
:class:`crawler.resolver.GuardedResolver` at connection time, so what was checked is what is
connected to. In proxy mode the proxy resolves names, so only literals and the proxy address
itself are checked (the proxy must be in the allow-list when it is private).
"""

from __future__ import annotations

import logging

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.errors import SsrfRefused
from crawler.ssrf import BlockedAddress, check_url, normalise_allow_list

logger = logging.getLogger(__name__)


class SsrfGuardMiddleware:
    def __init__(self, allow: frozenset[str], proxy: str, stats):
        self.allow = allow
        self.proxy = proxy
        self.stats = stats
        if allow:
            logger.warning("SSRF guard: private hosts allowed by setting allow_private_hosts: %s",
                           ", ".join(sorted(allow)))
        if proxy:
            check_url(proxy, allow)  # refuse to start with a private, non-allowed proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SsrfGuardMiddleware:
        settings = crawler.settings
        allow = normalise_allow_list(settings.getlist("BEATMAP_ALLOW_PRIVATE_HOSTS"))
        return cls(allow, settings.get("BEATMAP_PROXY", ""), crawler.stats)

    def process_request(self, request: Request) -> None:
        try:
            check_url(request.url, self.allow)
            proxy = request.meta.get("proxy")
            if proxy:
                check_url(proxy, self.allow)
        except BlockedAddress as exc:
            self.stats.inc_value("fetch/blocked/ssrf")
            logger.warning("SSRF guard refused %s: %s", request.url, exc)
            raise SsrfRefused(str(exc)) from exc
