"""XenForo 1 and 2: <html id="XF"> / id="XenForo", article.message--post, .bbWrapper."""

from __future__ import annotations

import re
from typing import ClassVar

from scrapy.http import Response

from crawler.adapters.detection import has_marker
from crawler.adapters.feeds import feed_generator
from crawler.adapters.forum import ForumAdapter, ForumSelectors

SELECTORS = ForumSelectors(
    post="article.message--post, li.message[id^='post-']",
    body=".message-body .bbWrapper, .messageContent .messageText",
    author=".message-name .username, .message-userDetails .username, .userText .username",
    date=".message-attribution-main time.u-dt, time.u-dt, abbr.DateTime, span.DateTime",
    permalink=".message-attribution-main a[href*='post'], a.datePermalink",
    quote=".bbCodeBlock--quote, .bbCodeQuote",
    thread_title="h1.p-title-value, .titleBar h1",
    breadcrumb=".p-breadcrumbs li a, .breadcrumb .crumb",
    board_title="h1.p-title-value, .titleBar h1",
    thread_link=".structItem-title a[href*='threads/'], .discussionListItem h3.title a",
    board_link=".node-title a, .nodeTitle a",
    next_page="a.pageNav-jump--next, .PageNav a[rel='next']",
    stats="[data-widget-key='forum_overview_forum_statistics'] dl, .pairs--justified, "
          "#boardStats dl",
)
MARKERS = (b'<html id="xf"', b"<html id='xf'", b'id="xf" ', b'<html id="xenforo"',
           b'data-app="public"')


class XenforoAdapter(ForumAdapter):
    platform: ClassVar[str] = "xenforo"
    priority: ClassVar[int] = 200
    selectors: ClassVar[ForumSelectors] = SELECTORS
    # XF2: data-content="post-123"; XF1: id="post-123".
    post_id_attrs: ClassVar[tuple[str, ...]] = ("data-content", "id")
    post_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"post-(\d+)")
    author_attr: ClassVar[str] = "data-author"
    date_attrs: ClassVar[tuple[str, ...]] = ("datetime", "data-time", "title")

    def detect(self, response: Response) -> bool:
        if "xenforo" in feed_generator(response.body):
            return True
        return has_marker(response, *MARKERS[:4]) or (
            has_marker(response, MARKERS[4]) and has_marker(response, b"xenforo"))
