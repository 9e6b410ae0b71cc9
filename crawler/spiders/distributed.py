"""The spider of a distributed worker: the community spider, fed by the shared frontier.

Parsing, adapters and items are the single-machine spider's; only where requests come from
differs. It leases nothing itself: ``crawler.redis_scheduler.LedgerScheduler`` pops offers
from Redis and claims them in the ledger. ``scrapy crawl beatmap-worker`` (e.g. run by Scrapyd)
works too: the distributed settings are then built from beatmap's settings (``beatmap.toml``,
``BEATMAP_*`` environment) and the run currently announced in Redis.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from scrapy.exceptions import DontCloseSpider
from twisted.internet import task
from twisted.python.failure import Failure

from crawler.distributed import settings_from_environment
from crawler.ledger import LEASE_RENEW_SECONDS, LEASE_SECONDS, Ledger
from crawler.middlewares.host_gate import WorkerStopping
from crawler.redis_scheduler import finish_if_drained
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
        self.worker_name = settings.get("BEATMAP_WORKER_NAME") or \
            f"{socket.gethostname()}-{os.getpid()}"
        self.frontier_scheduler: Any = None

    async def start(self):
        """No start requests: everything comes from the shared queue."""
        self._renewer = task.LoopingCall(self.ledger.renew)
        self._renewer.start(self.renew_seconds, now=False)
        return
        yield  # an async generator that yields nothing

    def lease_requests(self):
        return []  # the scheduler claims offers instead

    def refill(self) -> None:
        """The store pipeline committed pages: new links may be ready to offer."""
        if self.frontier_scheduler is not None:
            self.frontier_scheduler.maybe_feed()

    def _on_idle(self) -> None:
        pipeline = getattr(self, "store_pipeline", None)
        if pipeline is not None:
            pipeline.flush()
        if self.frontier_scheduler is None:
            return
        finish_if_drained(self.frontier_scheduler, f"worker:{self.worker_name}",
                          {"pages": self.crawler.stats.get_value("store/pages", 0)})
        raise DontCloseSpider

    def on_error(self, failure: Failure):
        if failure.check(WorkerStopping):
            return  # not a failure of the URL: the scheduler hands it back on close
        yield from super().on_error(failure)
