"""Item pipeline (first): replace author handles with keyed pseudonyms before anything else.

Also scrubs the handle, and @mentions / u/mentions, out of the post text, so a clear handle
never reaches the database, the logs or an export.
"""

from __future__ import annotations

import logging
import re

from scrapy.crawler import Crawler

from crawler.items import PageItem
from storage.db import make_engine, session_scope
from storage.pseudonym import Pseudonymiser, load_pseudonymiser

logger = logging.getLogger(__name__)

_MENTION = re.compile(r"(?<![\w@])(@[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}(?:@[A-Za-z0-9.\-]+)?"
                      r"|\bu/[A-Za-z0-9_\-]{3,32})")
MENTION_PLACEHOLDER = "@[user]"
AUTHOR_PLACEHOLDER = "[author]"
MIN_HANDLE_CHARS_TO_SCRUB = 3  # shorter handles ("Al") would blank ordinary words


def scrub_text(text: str, handle: str | None) -> str:
    """Remove ``handle`` and @/u/ mentions from ``text``.

    >>> scrub_text("Thanks @bob_k and u/jo_anne, says Ruth99", "Ruth99")
    'Thanks @[user] and @[user], says [author]'
    """
    if handle and len(handle.strip()) >= MIN_HANDLE_CHARS_TO_SCRUB:
        text = re.sub(rf"(?<!\w){re.escape(handle.strip())}(?!\w)", AUTHOR_PLACEHOLDER, text,
                      flags=re.I)
    return _MENTION.sub(MENTION_PLACEHOLDER, text)


class PseudonymisePipeline:
    def __init__(self, db_url: str, key: str, period: str):
        self.db_url = db_url
        self.key = key
        self.period = period
        self.pseudonymiser: Pseudonymiser | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PseudonymisePipeline:
        s = crawler.settings
        return cls(s.get("BEATMAP_DB"), s.get("BEATMAP_PSEUDONYM_KEY", ""),
                   s.get("BEATMAP_PSEUDONYM_PERIOD", ""))

    def open_spider(self) -> None:
        engine = make_engine(self.db_url)
        try:
            with session_scope(engine) as session:
                self.pseudonymiser = load_pseudonymiser(session, self.key, self.period)
        finally:
            engine.dispose()

    def process_item(self, item):
        if not isinstance(item, PageItem):
            return item
        assert self.pseudonymiser is not None
        for post in item.posts:
            handle = post.author
            post.text = scrub_text(post.text or "", handle)
            if post.title:
                post.title = scrub_text(post.title, handle)
            post.author = self.pseudonymiser.maybe(handle)
        item.authors_pseudonymised = True
        return item
