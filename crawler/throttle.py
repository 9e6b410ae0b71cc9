"""AutoThrottle that never goes below a host's own minimum delay (robots.txt Crawl-delay).

Scrapy's AutoThrottle resets each slot's delay from the observed latency, which would undo a
Crawl-delay set on the slot; this subclass keeps a floor per host, set through the
:data:`crawler.signals.host_delay_floor` signal, and applies it to new slots too.
"""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler
from scrapy.extensions.throttle import AutoThrottle

from crawler.signals import host_delay_floor

logger = logging.getLogger(__name__)


class PoliteThrottle(AutoThrottle):
    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.floors: dict[str, float] = {}
        crawler.signals.connect(self._floor, signal=host_delay_floor)

    def _floor(self, host: str, delay: float) -> None:
        self.floors[host] = max(delay, self.floors.get(host, 0.0))
        downloader = self.crawler.engine.downloader
        # No random jitter on a host that stated its delay: jitter would go below it.
        downloader.per_slot_settings.setdefault(host, {}).update(delay=self.floors[host],
                                                                 jitter=0.0)
        slot = downloader.slots.get(host)
        if slot is not None:
            slot.delay = max(slot.delay, self.floors[host])
            slot.jitter = 0.0
        logger.info("honouring a delay of %.1fs for %s", self.floors[host], host)

    def _adjust_delay(self, slot, latency, response) -> None:
        super()._adjust_delay(slot, latency, response)
        host = response.url.split("/")[2].split(":")[0].lower() if "//" in response.url else ""
        floor = self.floors.get(host)
        if floor:
            slot.delay = max(slot.delay, floor)
