"""Mastodon: the public local timeline and hashtag APIs, instance metadata, account RSS."""

from __future__ import annotations

import re
from typing import ClassVar
from urllib.parse import quote, urlsplit

from scrapy.http import Response

from crawler.adapters.base import Adapter
from crawler.adapters.dates import parse_date
from crawler.adapters.detection import has_marker
from crawler.adapters.feeds import feed_generator
from crawler.adapters.jsonapi import as_dicts, as_int, as_str, dig, load_json
from crawler.adapters.links import absolute, links_in
from crawler.adapters.metadata import page_basics
from crawler.adapters.text import css_all, css_first, fragment_root, node_text, root_of
from crawler.adapters.types import LinkItem, ParseResult, PostItem, VenueInfo

# 40 is the timeline API's largest page.
LIMIT = 40
MARKERS = (b'<div id="mastodon"', b"<div id='mastodon'", b'id="mastodon"', b"mastodon-",
           b'content="mastodon"')
_TAG_PATH = re.compile(r"^/tags/([^/?#]+)")
_ACCOUNT_PATH = re.compile(r"^/@([A-Za-z0-9_]{1,30})/?$")
_TAG_API = re.compile(r"/api/v1/timelines/tag/([^/?#]+)")
# Server-rendered status pages (Mastodon's no-JavaScript view, h-entry microformats).
STATUS_ENTRY = ".h-entry"
STATUS_CONTENT = ".e-content"
STATUS_TIME = "time.dt-published"
STATUS_URL = "a.u-url"
STATUS_ACCOUNT = ".display-name__account"
HTML_MARKERS = (b"status__content", b"display-name__account")
_STATUS_ID = re.compile(r"/@[^/]+/(\d+)")
MENTION_XPATH = (".//a[contains(concat(' ', normalize-space(@class), ' '), ' mention ')"
                 " and not(contains(@class, 'hashtag'))]")
_LINK_NEXT = re.compile(r"<([^>]+)>\s*;\s*rel=\"?next\"?")


class MastodonAdapter(Adapter):
    platform: ClassVar[str] = "mastodon"
    priority: ClassVar[int] = 100

    def detect(self, response: Response) -> bool:
        path = urlsplit(response.url).path
        if path.startswith(("/api/v1/timelines/", "/api/v1/instance", "/api/v2/instance",
                            "/api/v1/accounts/")):
            return True
        if feed_generator(response.body).startswith("mastodon"):
            return True
        return has_marker(response, *MARKERS[:3]) or has_marker(response, *HTML_MARKERS) or (
            has_marker(response, b"mastodon") and has_marker(response, b'id="initial-state"'))

    def entry_points(self, home_url: str) -> list[str]:
        parts = urlsplit(home_url)
        base = f"{parts.scheme}://{parts.netloc}"
        tag = _TAG_PATH.match(parts.path)
        account = _ACCOUNT_PATH.match(parts.path)
        if tag:
            first = f"{base}/api/v1/timelines/tag/{quote(tag.group(1))}?limit={LIMIT}"
        elif account:  # an organisation's account: its public RSS is the cheap channel
            first = f"{base}/@{account.group(1)}.rss"
        else:
            first = f"{base}/api/v1/timelines/public?local=true&limit={LIMIT}"
        return [first, f"{base}/api/v1/instance", home_url]

    def parse_html(self, response: Response, result: ParseResult) -> None:
        """A status or profile page rendered on the server: its h-entry statuses."""
        sel = page_basics(response, result)
        for entry in css_all(root_of(sel), STATUS_ENTRY):
            content = css_first(entry, STATUS_CONTENT)
            link = css_first(entry, STATUS_URL)
            url = absolute(response.url, link[0].get("href")) if link else None
            if not content or url is None:
                continue
            mentions = set(content[0].xpath(MENTION_XPATH))
            when = css_first(entry, STATUS_TIME)
            account = css_first(entry, STATUS_ACCOUNT)
            ident = _STATUS_ID.search(url)
            if ident is None:
                continue
            result.posts.append(PostItem(
                url=status_url(url, ident.group(1)), text=node_text(content[0], mentions),
                published_at=parse_date(when[0].get("datetime")) if when else None,
                author=node_text(account[0]).lstrip("@") or None if account else None,
                external_id=ident.group(1)))
        if result.posts:
            result.kind = "post"

    def parse_json(self, response: Response, result: ParseResult) -> None:
        result.kind = "api"
        data = load_json(response)
        if isinstance(data, dict) and ("uri" in data or "domain" in data) and "title" in data:
            result.venue = _instance(data)
            result.kind = "about"
            return
        tag = _TAG_API.search(urlsplit(response.url).path)
        board = f"#{tag.group(1)}" if tag else None
        statuses = as_dicts(data)
        for status in statuses:
            self._status(status, response.url, board, result)
        nxt = _link_next(response)
        if nxt and statuses:
            result.follow.append(nxt)

    def _status(self, status: dict, base_url: str, board: str | None,
                result: ParseResult) -> None:
        if as_str(status.get("visibility")) not in (None, "public"):
            return  # only public statuses are read, whatever an API answers
        ident = as_str(status.get("id"))
        url = status_url(base_url, ident) if ident else None
        if url is None:
            return
        root = fragment_root(as_str(status.get("content")))
        # @mentions are people's handles; hashtags (class "mention hashtag") are kept.
        mentions = set(root.xpath(MENTION_XPATH)) if root is not None else set()
        text = node_text(root, mentions)
        warning = as_str(status.get("spoiler_text"))
        result.posts.append(PostItem(
            url=url, text=text, title=warning or None,
            published_at=parse_date(as_str(status.get("created_at"))),
            author=as_str(dig(status, "account", "acct")), external_id=ident, board=board))
        if root is not None:
            # Mentions and hashtags link to people and tag pages, not to venues.
            for a in root.xpath(".//a[contains(@class, 'mention') or contains(@class, 'hashtag')]"):
                a.drop_tree()
            result.links.extend(links_in(root, url))
        card = absolute(url, as_str(dig(status, "card", "url")))
        if card:
            result.links.append(LinkItem(url=card, anchor_text=as_str(dig(status, "card", "title"))
                                         or ""))


def status_url(base_url: str, ident: str) -> str:
    """A status's handle-free address (its API URL).

    Public status pages live at ``/@handle/id``: storing that would put a member's handle in
    the database, so posts are identified by ``/api/v1/statuses/{id}`` on the same server.
    """
    return absolute(base_url, f"/api/v1/statuses/{quote(ident, safe='')}") or base_url


def _instance(data: dict) -> VenueInfo:
    """/api/v1/instance (stats, email) or /api/v2/instance (usage, contact)."""
    contact: dict[str, object] = {}
    email = as_str(data.get("email")) or as_str(dig(data, "contact", "email"))
    if email:
        contact["email"] = email
    description = as_str(data.get("short_description")) or as_str(data.get("description"))
    root = fragment_root(description)
    return VenueInfo(
        name=as_str(data.get("title")),
        description=node_text(root) if root is not None else description,
        member_count=as_int(dig(data, "stats", "user_count"))
        or as_int(dig(data, "usage", "users", "active_month")),
        post_count=as_int(dig(data, "stats", "status_count")), contact=contact)


def _link_next(response: Response) -> str | None:
    for raw in response.headers.getlist(b"Link"):
        match = _LINK_NEXT.search(raw.decode("latin-1"))
        if match:
            return absolute(response.url, match.group(1))
    return None
