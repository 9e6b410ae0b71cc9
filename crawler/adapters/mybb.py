"""MyBB 1.8: jscripts/general.js, showthread.php?tid=, div.post / div.post_body."""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar

from lxml import etree
from scrapy.http import Response

from crawler.adapters.dates import parse_date
from crawler.adapters.detection import has_marker
from crawler.adapters.feeds import feed_generator
from crawler.adapters.forum import ForumAdapter, ForumSelectors
from crawler.adapters.text import css_all, node_text, one_line

SELECTORS = ForumSelectors(
    post="div.post[id^='post_']",
    body="div.post_body",
    author=".author_information .largetext a, .author_information strong a, .post_author a",
    date="span.post_date",
    permalink=".post_head a[href*='pid']",
    quote="blockquote.mycode_quote, blockquote",
    thread_title=".navigation span.active, td.thead strong",
    breadcrumb=".navigation a",
    board_title=".navigation span.active",
    thread_link="span[id^='tid_'] a",
    board_link=".trow1 strong a[href*='forumdisplay'], .trow2 strong a[href*='forumdisplay']",
    next_page="a.pagination_next, a.pagination_page",
    stats="#boardstats_e, .boardstats",
)
# Every MyBB page loads its general.js and sets my_post_key; a mere link to mybb.com does not
# make a page MyBB.
MARKERS = (b"/jscripts/general.js", b"var my_post_key")


class MybbAdapter(ForumAdapter):
    platform: ClassVar[str] = "mybb"
    priority: ClassVar[int] = 210
    selectors: ClassVar[ForumSelectors] = SELECTORS
    post_id_attrs: ClassVar[tuple[str, ...]] = ("id",)
    post_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"post_(\d+)$")

    def detect(self, response: Response) -> bool:
        if "mybb" in feed_generator(response.body):
            return True
        return has_marker(response, *MARKERS)

    def date_of(self, nodes: list[etree._Element], now: datetime | None) -> datetime | None:
        """MyBB writes 'Yesterday, 07:12 PM' with the real date in a span's title."""
        for node in nodes[:1]:
            text = one_line(node_text(node, set(css_all(node, ".post_edit"))))
            titled = css_all(node, "span[title]")
            if titled:
                day = titled[0].get("title", "")
                clock = re.search(r"\d{1,2}:\d{2}\s*(?:[AaPp][Mm])?", text)
                when = parse_date(f"{day} {clock.group(0) if clock else ''}".strip(),
                                  tz=self.display_tz, now=now)
                if when:
                    return when
            when = parse_date(text, tz=self.display_tz, now=now)
            if when:
                return when
        return None
