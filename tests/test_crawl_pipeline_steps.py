"""The item pipeline's steps: listed in processing order, talking through signals."""

from __future__ import annotations

import pytest
from scrapy.utils.test import get_crawler

from crawler import signals as ours
from crawler.settings import ITEM_PIPELINES


def test_steps_are_listed_in_processing_order():
    assert list(ITEM_PIPELINES.values()) == sorted(ITEM_PIPELINES.values())
    assert [path.rsplit(".", 1)[1] for path in ITEM_PIPELINES] == [
        "PseudonymisePipeline", "NormalisePipeline", "TagPipeline", "DiscoverPipeline",
        "FlagPipeline", "StorePipeline", "RefreshVenuesPipeline"]


def test_a_step_error_inside_the_transaction_is_raised_to_the_store_step():
    crawler = get_crawler()
    seen = []

    def first(batch):
        seen.append(batch)

    def second(batch):
        raise ValueError("boom")

    crawler.signals.connect(first, signal=ours.batch_written)
    crawler.signals.connect(second, signal=ours.batch_written)
    with pytest.raises(ValueError, match="boom"):
        ours.send_in_transaction(crawler, ours.batch_written, session=None, batch="b")
    assert seen == ["b"]
