"""Reddit-style subreddits through their JSON listings (/r/{name}/new.json, comments, about)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from scrapy.http import Response

from crawler.adapters.base import Adapter
from crawler.adapters.dates import parse_date
from crawler.adapters.detection import has_marker
from crawler.adapters.jsonapi import as_dicts, as_int, as_str, dig, load_json
from crawler.adapters.links import absolute, links_in, site_of
from crawler.adapters.metadata import page_basics
from crawler.adapters.text import fragment_root, one_line
from crawler.adapters.types import LinkItem, ParseResult, PostItem, VenueInfo

HTML_MARKERS = (b"shreddit", b'data-fullname="t3_', b'class="redditname"', b"listing-page")
_SUBREDDIT = re.compile(r"^/r/([A-Za-z0-9_]{2,32})(?:/|$)")
# 100 is the listing API's largest page.
LIMIT = 100
# Markdown links in self-text ([text](url)) and bare URLs.
_MD_LINK = re.compile(r"\[([^\]]{0,200})\]\((https?://[^)\s]+)\)")
_BARE_URL = re.compile(r"(?<![(\[])https?://[^\s)\]>]+")
_MD_MARKS = re.compile(r"\*\*|__|~~|>!|!<|^#{1,6}\s*|^>\s?", re.M)
_USER_MENTION = re.compile(r"(?<![\w/])/?u/[A-Za-z0-9_-]{3,20}\b")
# Authors Reddit writes when there is no person behind a post any more.
NO_AUTHOR = frozenset({"[deleted]", "[removed]", ""})




class RedditAdapter(Adapter):
    platform: ClassVar[str] = "reddit"
    priority: ClassVar[int] = 100

    def detect(self, response: Response) -> bool:
        path = urlsplit(response.url).path
        head = response.body[:2048].lstrip()
        if head[:1] in (b"{", b"[") and b'"kind"' in head:
            return any(k in head for k in (b'"Listing"', b'"t3"', b'"t5"', b'"t1"'))
        # New Reddit's shreddit app, or old Reddit's server-rendered listing ("thing" rows).
        return bool(_SUBREDDIT.match(path)) and has_marker(response, *HTML_MARKERS)

    def entry_points(self, home_url: str) -> list[str]:
        base = self._sub_base(home_url)
        if base is None:
            return [home_url]
        # The subreddit's default listing pages through every post just as new.json does,
        # and is the one every Reddit-style host serves.
        return [f"{base}/.json?limit={LIMIT}", f"{base}/about.json"]

    def fallback_entry_points(self, home_url: str) -> list[str]:
        base = self._sub_base(home_url)
        return [f"{base}/new.json?limit={LIMIT}"] if base else []

    def venue_key(self, url: str) -> str | None:
        match = _SUBREDDIT.match(urlsplit(url).path)
        if not match:
            return None
        host, port = site_of(url)
        return f"{host}{f':{port}' if port else ''}/r/{match.group(1).lower()}"

    @staticmethod
    def _sub_base(url: str) -> str | None:
        parts = urlsplit(url)
        match = _SUBREDDIT.match(parts.path)
        return f"{parts.scheme}://{parts.netloc}/r/{match.group(1)}" if match else None

    def parse_html(self, response: Response, result: ParseResult) -> None:
        """The HTML listing: its links, and the JSON twin it advertises (read that instead)."""
        sel = page_basics(response, result)
        result.kind = "listing"
        for href in sel.css('link[rel="alternate"][type*="json"]::attr(href)').getall()[:1]:
            url = absolute(response.url, href)
            if url:
                result.follow.append(url)

    def parse_json(self, response: Response, result: ParseResult) -> None:
        result.kind = "api"
        data = load_json(response)
        # A comments page is [post listing, comment listing]; other endpoints one object.
        things = data if isinstance(data, list) else [data]
        thread: str | None = None
        for thing in as_dicts(things):
            kind = thing.get("kind")
            if kind == "t5":
                result.venue = _about(thing.get("data"))
                result.kind = "about"
            elif kind == "Listing":
                thread = self._listing(thing, response, result, thread,
                                       comments_page=isinstance(data, list))

    def _listing(self, listing: dict, response: Response, result: ParseResult,
                 thread: str | None, comments_page: bool) -> str | None:
        for child in as_dicts(dig(listing, "data", "children")):
            kind, item = child.get("kind"), child.get("data")
            if not isinstance(item, dict):
                continue
            if kind == "t3":
                post = self._submission(item, response, result, follow=not comments_page)
                thread = post.title if post else thread
            elif kind == "t1":
                self._comment(item, response, result, thread)
        after = as_str(dig(listing, "data", "after"))
        if after and not comments_page:
            result.follow.append(_with_query(response.url, after=after, limit=str(LIMIT)))
        if comments_page:
            result.kind = "thread"
        return thread

    def _submission(self, item: dict, response: Response, result: ParseResult,
                    follow: bool) -> PostItem | None:
        permalink = as_str(item.get("permalink"))
        url = absolute(response.url, permalink) if permalink else None
        if url is None:
            return None
        title = one_line(as_str(item.get("title")), 500) or None
        text = as_str(item.get("selftext")) or ""
        post = PostItem(url=url, text=_markdown_text(text), title=title,
                        published_at=parse_date(item.get("created_utc")),
                        author=_author(item), external_id=as_str(item.get("name")),
                        thread=title, board=_board(item))
        result.posts.append(post)
        result.links.extend(_links(text, as_str(item.get("selftext_html")), url))
        target = absolute(url, as_str(item.get("url")))
        if target and item.get("is_self") is not True and target.split("?")[0] != url.split("?")[0]:
            result.links.append(LinkItem(url=target, anchor_text=title or "", context=""))
        if follow and (as_int(item.get("num_comments")) or 0) > 0:
            result.follow.append(url.rstrip("/") + "/.json")
        return post

    def _comment(self, item: dict, response: Response, result: ParseResult,
                 thread: str | None) -> None:
        body = as_str(item.get("body")) or ""
        permalink = as_str(item.get("permalink"))
        url = absolute(response.url, permalink) if permalink else None
        if url is not None and body.strip() not in ("[deleted]", "[removed]"):
            result.posts.append(PostItem(
                url=url, text=_markdown_text(body), published_at=parse_date(item.get("created_utc")),
                author=_author(item), external_id=as_str(item.get("name")), thread=thread,
                board=_board(item)))
            result.links.extend(_links(body, as_str(item.get("body_html")), url))
        replies = item.get("replies")
        if isinstance(replies, dict):
            for child in as_dicts(dig(replies, "data", "children")):
                if child.get("kind") == "t1" and isinstance(child.get("data"), dict):
                    self._comment(child["data"], response, result, thread)


def _author(item: dict) -> str | None:
    author = as_str(item.get("author")) or ""
    return None if author in NO_AUTHOR else author


def _board(item: dict) -> str | None:
    sub = as_str(item.get("subreddit"))
    return f"r/{sub}" if sub else None


def _about(data: Any) -> VenueInfo | None:
    if not isinstance(data, dict):
        return None
    return VenueInfo(name=as_str(data.get("display_name_prefixed")) or as_str(data.get("title")),
                     description=as_str(data.get("public_description"))
                     or as_str(data.get("description")),
                     member_count=as_int(data.get("subscribers")))


def _markdown_text(text: str) -> str:
    """Self-text is Markdown: keep link words and plain text; drop emphasis marks and
    u/ mentions (people's handles)."""
    text = _MD_LINK.sub(lambda m: m.group(1), text)
    text = _MD_MARKS.sub("", text)
    text = _USER_MENTION.sub("", text)
    return text.replace("&amp;", "&").replace("&gt;", ">").replace("&lt;", "<").strip()


def _links(markdown: str, html: str | None, base_url: str) -> list[LinkItem]:
    if html:
        return links_in(fragment_root(unescape(html)), base_url)
    found = [LinkItem(url=m.group(2), anchor_text=one_line(m.group(1))) for m in
             _MD_LINK.finditer(markdown)]
    found += [LinkItem(url=m.group(0).rstrip(".,;:!?")) for m in _BARE_URL.finditer(markdown)]
    return found


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    for key, value in params.items():
        query[key] = [value]
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
