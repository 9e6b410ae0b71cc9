"""Simple Machines Forum 2.x: smf_scripturl, index.php?board=/?topic=, div.post_wrapper."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from scrapy.http import Response

from crawler.adapters.detection import has_marker
from crawler.adapters.feeds import parse_feed
from crawler.adapters.forum import ForumAdapter, ForumSelectors
from crawler.adapters.types import ParseResult

SELECTORS = ForumSelectors(
    post="#forumposts .post_wrapper",
    body="div.inner",
    author=".poster h4 a, .poster h4",
    date=".keyinfo .smalltext, .postinfo a.smalltext, .postinfo .smalltext",
    permalink=".postinfo a.smalltext, .keyinfo h5 a",
    quote="blockquote, .quoteheader, .quotefooter",
    thread_title="#top_subject, #forumposts .cat_bar h3",
    breadcrumb=".navigate_section li a",
    board_title="#description_board h3, .cat_bar h3",
    thread_link="span[id^='msg_'] > a",
    board_link="a.subject[href*='board='], a[href*='board='][id^='b']",
    next_page="a.navPages, a.nav_page",
    stats=".stats, #upshrinkHeaderIC .inline, #info_center .stats",
)
# SMF's theme scripts define these variables on every page; the footer credit link to
# simplemachines.org is no marker (any site may link there).
MARKERS = (b"smf_scripturl", b"smf_theme_url", b"smf_default_theme_url")
_MSG = re.compile(r"msg_?(\d+)")


class SmfAdapter(ForumAdapter):
    platform: ClassVar[str] = "smf"
    priority: ClassVar[int] = 200
    selectors: ClassVar[ForumSelectors] = SELECTORS
    post_id_attrs: ClassVar[tuple[str, ...]] = ("id", "data-msgid")
    post_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"(?:msg_?)?(\d+)$")
    # "« Reply #2 on: March 04, 2024 »" in the text; the title attribute holds the subject.
    date_attrs: ClassVar[tuple[str, ...]] = ("datetime",)
    title_noise: ClassVar[re.Pattern[str] | None] = re.compile(
        r"^\s*(?:Author\s*)?Topic:\s*|\(Read \d[\d,]* times\)|« previous next »", re.I)
    # SMF's own RSS of recent posts (on by default); its links carry msg ids.
    feed_paths: ClassVar[tuple[str, ...]] = ("index.php?action=.xml;type=rss2",)

    def detect(self, response: Response) -> bool:
        # SMF's feeds have no generator element; their URL is the marker.
        return has_marker(response, *MARKERS) or "action=.xml" in response.url

    def parse_feed(self, response: Response, result: ParseResult) -> None:
        parse_feed(response, result, entry_id=_entry_id)
        result.venue = None


def _entry_id(entry: Any) -> str | None:
    match = _MSG.search(entry.get("link") or entry.get("id") or "")
    return match.group(1) if match else None
