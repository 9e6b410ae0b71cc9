"""Signals of our own components (sent with ``crawler.signals.send_catch_log``)."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from twisted.python.failure import Failure

# A host asked for a minimum delay between requests (robots.txt Crawl-delay, Retry-After).
# Arguments: host (str), delay (float seconds).
host_delay_floor = object()

# The store step's batch transaction, in the order it happens. Handlers of the two "storing"
# signals write in the caller's session (``send_in_transaction``): an error rolls the whole
# batch back. Handlers run in the order they connected, i.e. the order of ITEM_PIPELINES.
#
# A changed page is being stored: its venue is resolved, its page and post rows are in the
# batch. Arguments: session, item (PageItem), venue (discovery.VenueState), batch
# (pipelines.batch.Batch), now (datetime).
page_storing = object()
# The batch's rows (pages, posts, links, queued URLs, ledger states) are written, not yet
# committed. Arguments: session, batch.
batch_written = object()
# A batch was committed (sent after every flush, also when it stored nothing new).
# Arguments: venue_ids (set[int], the venues whose pages were stored).
batch_stored = object()


def send_in_transaction(crawler: Crawler, signal: object, **kwargs: Any) -> None:
    """Send ``signal`` and raise the first handler error, so the caller's transaction rolls
    back (``send_catch_log`` alone would log the error and commit a partial batch)."""
    for _receiver, result in crawler.signals.send_catch_log(signal, dont_log=Exception,
                                                            **kwargs):
        if isinstance(result, Failure):
            result.raiseException()
