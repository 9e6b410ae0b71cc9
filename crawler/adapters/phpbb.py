"""phpBB (3.x, prosilver and its descendants): body id "phpbb", viewforum/viewtopic, Atom feed."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from scrapy.http import Response

from crawler.adapters.detection import has_marker
from crawler.adapters.feeds import feed_generator, first_category, parse_feed
from crawler.adapters.forum import ForumAdapter, ForumSelectors
from crawler.adapters.types import ParseResult

SELECTORS = ForumSelectors(
    post="div.post[id^='p']",
    body="div.content",
    author=".author .username, .author .username-coloured, .postprofile .username, "
           ".postprofile .username-coloured, p.author strong a, .postprofile dt a",
    date="p.author time, .author time, p.author",
    permalink="p.author a[href*='#p'], h3 a[href*='#p']",
    quote="blockquote",
    thread_title="h2.topic-title, #page-body > h2",
    breadcrumb=".breadcrumbs .crumb a, .navbar .icon-home a",
    board_title="h2.forum-title",
    thread_link="a.topictitle",
    board_link="a.forumtitle",
    next_page=".pagination li.next a, .pagination a[rel='next']",
    stats=".statistics, .stat-block.statistics",
)
MARKERS = (b'<body id="phpbb"', b"<body id='phpbb'", b'id="phpbb" class="nojs')
_POST_ID = re.compile(r"[?&#]p=?(\d+)")
_FEED_FOOTER = re.compile(r"\s*Statistics: Posted by .*$", re.S)
_FEED_TITLE = re.compile(r"^.*?\s[•\u2022]\s")


class PhpbbAdapter(ForumAdapter):
    platform: ClassVar[str] = "phpbb"
    priority: ClassVar[int] = 200
    selectors: ClassVar[ForumSelectors] = SELECTORS
    post_id_attrs: ClassVar[tuple[str, ...]] = ("id",)
    post_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"^p(\d+)$")
    # phpBB 3.1+ serves its Atom feed (enabled by default) at app.php/feed.
    feed_paths: ClassVar[tuple[str, ...]] = ("app.php/feed",)

    def detect(self, response: Response) -> bool:
        if has_marker(response, *MARKERS):
            return True
        if b"viewtopic.php" in response.body[:8192] and b"<feed" in response.body[:512]:
            return "phpbb" in feed_generator(response.body) or b"app.php/feed" in response.body[:4096]
        return False

    def parse_feed(self, response: Response, result: ParseResult) -> None:
        parse_feed(response, result, entry_id=_entry_id, thread_of=_entry_thread,
                   board_of=first_category)
        for post in result.posts:
            # phpBB appends "Statistics: Posted by <name> — <date>": a handle, not the post.
            post.text = _FEED_FOOTER.sub("", post.text).strip()
        result.venue = None  # the feed header names the board, the home page says it better


def _entry_id(entry: Any) -> str | None:
    for value in (entry.get("id"), entry.get("link")):
        match = _POST_ID.search(value or "")
        if match:
            return match.group(1)
    return None


def _entry_thread(entry: Any) -> str | None:
    """phpBB titles feed entries 'Board • Re: Topic'; the topic is the thread."""
    title = _FEED_TITLE.sub("", entry.get("title") or "").strip()
    return re.sub(r"^Re:\s*", "", title) or None
