"""DNS resolver that refuses names with ANY non-global answer (the DNS half of the SSRF guard).

Installed as Scrapy's DNS_RESOLVER. Each name is resolved with ``getaddrinfo`` in the reactor's
thread pool (never blocking the reactor); every answer, IPv4 and IPv6, must be global or on
the allow-list, and the connection then goes to an address that was checked, so a DNS
rebinding between check and connect cannot happen.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Sequence

from scrapy.crawler import Crawler
from twisted.internet import defer, threads
from twisted.internet.base import ThreadedResolver
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

from crawler.ssrf import (
    BlockedAddress,
    check_answers,
    normalise_allow_list,
    parse_ip_literal,
    resolve_all,
)

logger = logging.getLogger(__name__)

DNS_CACHE_SECONDS = 300.0  # short: answers change, and the cache must not outlive a TTL much
DNS_CACHE_SIZE = 10_000


class BlockedByDNS(DNSLookupError):
    """The name resolves to a non-global address."""


# Twisted turns any resolver error into a generic "no results" failure, losing the reason;
# names refused here are remembered so the middlewares can report them as SSRF refusals.
_BLOCKED: dict[str, str] = {}


def blocked_reason(host: str) -> str | None:
    """Why the guarded resolver refused ``host`` in this process, or None."""
    return _BLOCKED.get(host.lower().rstrip("."))


@implementer(IResolverSimple)
class GuardedResolver(ThreadedResolver):
    def __init__(self, reactor, allow: frozenset[str], stats=None):
        super().__init__(reactor)
        self.allow = allow
        self.stats = stats
        self._cache: dict[str, tuple[float, str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor) -> GuardedResolver:
        # Built by the CrawlerProcess (settings only, no stats): refusals are counted by the
        # spider's errback as fetch/blocked/ssrf_dns.
        allow = normalise_allow_list(crawler.settings.getlist("BEATMAP_ALLOW_PRIVATE_HOSTS"))
        return cls(reactor, allow, getattr(crawler, "stats", None))

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred:
        cached = self._cache.get(name)
        if cached and cached[0] > time.monotonic():
            return defer.succeed(cached[1])
        if parse_ip_literal(name) is not None:
            answers = [str(parse_ip_literal(name))]
            return defer.maybeDeferred(self._checked, name, answers)
        d = threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(),
                                      resolve_all, name)
        d.addErrback(self._lookup_failed, name)
        d.addCallback(lambda answers: self._checked(name, answers))
        return d

    def _lookup_failed(self, failure, name: str):
        failure.trap(OSError, socket.gaierror)
        raise DNSLookupError(f"{name}: {failure.value}")

    def _checked(self, name: str, answers: list[str]) -> str:
        try:
            check_answers(name, answers, self.allow)
        except BlockedAddress as exc:
            _BLOCKED[name.lower().rstrip(".")] = str(exc)
            if self.stats is not None:
                self.stats.inc_value("fetch/blocked/ssrf_dns")
            logger.warning("SSRF guard refused %s: %s", name, exc)
            raise BlockedByDNS(str(exc)) from exc
        ipv4 = [a for a in answers if ":" not in a]
        if not ipv4:
            raise DNSLookupError(f"{name}: no IPv4 address")
        if len(self._cache) >= DNS_CACHE_SIZE:
            self._cache.clear()
        self._cache[name] = (time.monotonic() + DNS_CACHE_SECONDS, ipv4[0])
        return ipv4[0]
