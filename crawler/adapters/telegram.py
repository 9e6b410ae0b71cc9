"""Telegram public-channel previews (t.me/s/{channel}): tgme_widget_message blocks."""

from __future__ import annotations

import re
from typing import ClassVar
from urllib.parse import urlsplit

from scrapy.http import Response

from crawler.adapters.base import Adapter
from crawler.adapters.dates import parse_date
from crawler.adapters.detection import has_marker
from crawler.adapters.links import absolute, links_in, site_of
from crawler.adapters.metadata import parse_count
from crawler.adapters.text import first, one_line, selector_of, text_of
from crawler.adapters.types import ParseResult, PostItem, VenueInfo

MESSAGE = ".tgme_widget_message[data-post]"
TEXT = ".tgme_widget_message_text"
DATE_LINK = "a.tgme_widget_message_date"
DATE = "a.tgme_widget_message_date time, time[datetime]"
SIGNATURE = ".tgme_widget_message_from_author"
CHANNEL_TITLE = ".tgme_channel_info_header_title"
CHANNEL_DESCRIPTION = ".tgme_channel_info_description"
COUNTER = ".tgme_channel_info_counter"
MORE = "a.tme_messages_more[data-before]"
MARKERS = (b"tgme_widget_message", b"tgme_channel_info", b"tgme_page")
_CHANNEL = re.compile(r"^/(?:s/)?([A-Za-z][A-Za-z0-9_]{3,31})(?:/|$)")


class TelegramAdapter(Adapter):
    """Only the login-free preview is read; posts are the channel's own (signed ones keep the
    signature as author)."""

    platform: ClassVar[str] = "telegram"
    priority: ClassVar[int] = 100

    def detect(self, response: Response) -> bool:
        return has_marker(response, *MARKERS)

    def entry_points(self, home_url: str) -> list[str]:
        parts = urlsplit(home_url)
        match = _CHANNEL.match(parts.path)
        if not match:
            return [home_url]
        return [f"{parts.scheme}://{parts.netloc}/s/{match.group(1)}"]

    def venue_key(self, url: str) -> str | None:
        match = _CHANNEL.match(urlsplit(url).path)
        if not match:
            return None
        host, port = site_of(url)
        return f"{host}{f':{port}' if port else ''}/{match.group(1).lower()}"

    def parse_html(self, response: Response, result: ParseResult) -> None:
        sel = selector_of(response)
        result.kind = "listing"
        channel = None
        for node in sel.css(MESSAGE):
            ref = node.attrib.get("data-post", "")
            channel = channel or ref.split("/")[0] or None
            text_node = node.css(TEXT)
            url = absolute(response.url, first(node, f"{DATE_LINK}::attr(href)")) or (
                absolute(response.url, f"/{ref}") if ref else None)
            if url is None:
                continue
            when = None
            for t in node.css(DATE)[:1]:
                when = parse_date(t.attrib.get("datetime"))
            signature = node.css(SIGNATURE)
            result.posts.append(PostItem(
                url=url, text=text_of(text_node[0]) if text_node else "",
                published_at=when, author=one_line(text_of(signature[0])) or None if signature else None,
                external_id=ref or None, board=channel))
            if text_node:
                result.links.extend(links_in(text_node[0].root, url))
        info = sel.css(".tgme_channel_info")
        if info:
            result.venue = self._channel(info[0])
            result.links.extend(links_in(info[0].root, response.url))
        more = first(sel, f"{MORE}::attr(href)") or first(sel, 'link[rel="prev"]::attr(href)')
        older = absolute(response.url, more)
        if older:
            result.follow.append(older)

    @staticmethod
    def _channel(info) -> VenueInfo:
        members = None
        for counter in info.css(COUNTER):
            kind = one_line(text_of(counter.css(".counter_type")[0])) if counter.css(
                ".counter_type") else ""
            if kind.lower() in ("subscribers", "members", "subscriber", "member"):
                value = counter.css(".counter_value")
                members = parse_count(text_of(value[0])) if value else None
        title = info.css(CHANNEL_TITLE)
        desc = info.css(CHANNEL_DESCRIPTION)
        return VenueInfo(name=one_line(text_of(title[0])) or None if title else None,
                         description=text_of(desc[0]) or None if desc else None,
                         member_count=members)
