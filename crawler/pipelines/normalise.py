"""Item pipeline: clean what adapters produced (UTC dates, canonical URLs, sane sizes)."""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.adapters.types import PostItem
from crawler.items import PageItem
from crawler.urls import URLError, canonicalize

MAX_POST_CHARS = 50_000  # longer "posts" are pages of boilerplate, not messages
MAX_TITLE_CHARS = 500
MAX_POSTS_PER_PAGE = 500
MAX_LINKS_PER_PAGE = 2000  # link farms and huge pages: the rest adds no evidence


def to_naive_utc(value: datetime | None) -> datetime | None:
    """Naive UTC (the database convention); aware values are converted.

    >>> from datetime import timedelta, timezone
    >>> to_naive_utc(datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=1))))
    datetime.datetime(2024, 5, 1, 11, 0)
    """
    if value is None or not isinstance(value, datetime):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _clean_post(post: PostItem) -> PostItem | None:
    try:
        post.url = canonicalize(post.url)
    except (URLError, ValueError):
        return None
    post.text = (post.text or "").strip()[:MAX_POST_CHARS]
    post.title = post.title.strip()[:MAX_TITLE_CHARS] if post.title else None
    if not post.text and not post.title:
        return None
    post.published_at = to_naive_utc(post.published_at)
    return post


class NormalisePipeline:
    def process_item(self, item):
        if not isinstance(item, PageItem):
            return item
        posts = [p for p in (_clean_post(p) for p in item.posts[:MAX_POSTS_PER_PAGE]) if p]
        item.posts = posts
        item.links = item.links[:MAX_LINKS_PER_PAGE]
        if item.title:
            item.title = item.title[:MAX_TITLE_CHARS]
        return item
