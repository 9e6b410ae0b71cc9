"""The spider of a distributed worker: the community spider, fed by the shared frontier.

Parsing, adapters and items are the single-machine spider's; only where requests come from
differs. It leases nothing itself: ``crawler.redis_scheduler.LedgerScheduler`` pops offers
from Redis and claims them in the ledger. ``scrapy crawl beatmap-worker`` (e.g. run by Scrapyd)
works too: the distributed settings are then built from beatmap's settings (``beatmap.toml``,
``BEATMAP_*`` environment) and the run currently announced in Redis.
"""

from __future__ import annotations

import logging
from typing import Any

from twisted.internet import task
from twisted.python.failure import Failure

from crawler.distributed import settings_from_environment
from crawler.ledger import LEASE_RENEW_SECONDS, LEASE_SECONDS, Ledger
from crawler.middlewares.host_gate import WorkerStopping
from crawler.spiders.community import CommunitySpider

logger = logging.getLogger(__name__)


class DistributedSpider(CommunitySpider):
    name = "beatmap-worker"
    # The only callbacks a queue entry may name (crawler.redis_serializer checks them).
    redis_callbacks = ("parse", "on_error")

    @classmethod
    def update_settings(cls, settings) -> None:
        super().update_settings(settings)
        if settings.getbool("BEATMAP_DISTRIBUTED"):
            return  # `beatmap worker` built them already
        settings.setdict(settings_from_environment(), priority="spider")

    def _configure(self, settings) -> None:
        super()._configure(settings)
        lease_seconds = settings.getint("BEATMAP_LEASE_SECONDS", LEASE_SECONDS)
        self.ledger = Ledger(self.engine_db, self.ledger.owner, lease_seconds=lease_seconds)
        self.renew_seconds = min(LEASE_RENEW_SECONDS, max(1, lease_seconds // 3))
        self.frontier_scheduler: Any = None

    async def start(self):
        """No start requests: everything comes from the shared queue."""
        self._renewer = task.LoopingCall(self.ledger.renew)
        self._renewer.start(self.renew_seconds, now=False)
        return
        yield  # an async generator that yields nothing

    def lease_requests(self):
        # the scheduler claims offers instead; it also feeds the shared queue after each stored
        # batch and decides on idle whether the run is finished (LedgerScheduler)
        return []

    def on_error(self, failure: Failure):
        if failure.check(WorkerStopping):
            return  # not a failure of the URL: the scheduler hands it back on close
        yield from super().on_error(failure)
