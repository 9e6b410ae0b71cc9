"""Item pipeline step: tag the batch's stored posts with places, postcodes, topics and beats."""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.pipelines.batch import Batch
from crawler.signals import batch_written
from nlp.tagger import Tagger
from storage.db import make_engine, session_scope
from storage.models import Post

logger = logging.getLogger(__name__)


class TagPipeline:
    """Loads the tagger (spaCy) when the crawl opens; tags the posts of each batch in the store
    step's transaction (``batch_written``), so posts and their tags commit together."""

    def __init__(self, crawler: Crawler, db_url: str):
        self.stats = crawler.stats
        self.db_url = db_url
        self.tagger: Tagger | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TagPipeline:
        step = cls(crawler, crawler.settings.get("BEATMAP_DB"))
        crawler.signals.connect(step.tag, signal=batch_written)
        return step

    def open_spider(self) -> None:
        engine = make_engine(self.db_url)
        try:
            with session_scope(engine) as session:
                self.tagger = Tagger.from_session(session)
        finally:
            engine.dispose()

    def tag(self, session: Session, batch: Batch) -> None:
        if not batch.post_ids or self.tagger is None:
            return
        posts = session.execute(select(Post).where(Post.id.in_(batch.post_ids))).scalars().all()
        self.tagger.tag_posts(session, posts)
        self.stats.inc_value("store/tagged_posts", len(posts))
