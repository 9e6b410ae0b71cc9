"""vBulletin 3, 4 and 5: generator meta, id="vbulletin_html", showthread/forumdisplay."""

from __future__ import annotations

import re
from typing import ClassVar

from scrapy.http import Response

from crawler.adapters.detection import has_marker, html_generator
from crawler.adapters.feeds import feed_generator
from crawler.adapters.forum import ForumAdapter, ForumSelectors

SELECTORS = ForumSelectors(
    post="li.postcontainer, li.postbitlegacy, li.b-post, table.tborder[id^='post']",
    body="[id^='post_message_'], .js-post__content-text",
    author="a.username, .username, a.bigusername, .b-post__author a, .author a",
    date="time, span.date, .postdate, td.thead",
    permalink="a.postcounter, a.b-post__count, a[id^='postcount']",
    quote=".bbcode_quote, .bbcode_container",
    thread_title="span.threadtitle, h1.main-title, #pagetitle h1, td.navbar strong",
    breadcrumb="#breadcrumb .navbit a, .breadcrumbs a, #breadcrumbs a, span.navbar a",
    board_title="#pagetitle h1, h1.main-title",
    thread_link="a.title[id^='thread_title_'], a[id^='thread_title_'], a.topic-title",
    board_link="h2.forumtitle a, .forumtitle a, a.forum-title, td[id^='f'] a[href*='forumdisplay']",
    next_page="a[rel='next'], a.js-pagenav-next-button, a[title^='Next Page']",
    stats="#wgo_stats, #collapseobj_forumhome_stats, .forum-stats, #forum-stats",
)
MARKERS = (b'id="vbulletin_html"', b"vbulletin_global", b"vbulletin-core", b"vbulletin_css",
           b"var sessionurl")


class VbulletinAdapter(ForumAdapter):
    platform: ClassVar[str] = "vbulletin"
    priority: ClassVar[int] = 200
    selectors: ClassVar[ForumSelectors] = SELECTORS
    # vB5: data-node-id="123"; vB4: id="post_123"; vB3: id="post123".
    post_id_attrs: ClassVar[tuple[str, ...]] = ("data-node-id", "id")
    post_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"(?:^|post_?|message_)(\d+)$")
    date_attrs: ClassVar[tuple[str, ...]] = ("datetime", "data-timestamp")

    def detect(self, response: Response) -> bool:
        if "vbulletin" in feed_generator(response.body):
            return True
        return "vbulletin" in html_generator(response) or has_marker(response, *MARKERS)
