"""Invision Community (IPS 4): ipsApp body class, article.ipsComment, data-role=commentContent."""

from __future__ import annotations

import re
from typing import ClassVar

from scrapy.http import Response

from crawler.adapters.detection import has_marker
from crawler.adapters.feeds import feed_generator
from crawler.adapters.forum import ForumAdapter, ForumSelectors

SELECTORS = ForumSelectors(
    post="article.ipsComment, article[id^='elComment_']",
    body="[data-role='commentContent']",
    author=".cAuthorPane_author, .ipsComment_author",
    date=".ipsComment_meta time, time",
    permalink="a[href*='findComment']",
    quote="blockquote.ipsQuote",
    thread_title="h1.ipsType_pageTitle span.ipsType_break, h1.ipsType_pageTitle",
    breadcrumb="nav.ipsBreadcrumb_top li a, .ipsBreadcrumb li a",
    board_title="h1.ipsType_pageTitle",
    thread_link=".ipsDataItem_title a[href*='/topic/']",
    board_link=".ipsDataItem_title a[href*='/forum/']",
    next_page="li.ipsPagination_next a",
    stats="[data-blockid*='stats'], .ipsWidget.cStats",
)
MARKERS = (b'data-role="commentcontent"', b"ipsapp ", b"ipsapp_front", b"ipsjs_")


class InvisionAdapter(ForumAdapter):
    platform: ClassVar[str] = "invision"
    priority: ClassVar[int] = 200
    selectors: ClassVar[ForumSelectors] = SELECTORS
    post_id_attrs: ClassVar[tuple[str, ...]] = ("data-commentid", "id")
    post_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"(?:elComment_)?(\d+)$")
    date_attrs: ClassVar[tuple[str, ...]] = ("datetime",)

    def detect(self, response: Response) -> bool:
        if "invision" in feed_generator(response.body):
            return True
        return has_marker(response, *MARKERS)
