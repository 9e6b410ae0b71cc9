"""Shared pieces of the platform renderers: requests, responses, escaping, feeds, sitemaps."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from sampleweb.model import Post, Venue

HTML = "text/html; charset=UTF-8"
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")
XML_RSS = "application/rss+xml; charset=UTF-8"
XML_ATOM = "application/atom+xml; charset=UTF-8"
XML = "application/xml; charset=UTF-8"
JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class Req:
    host: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, str]:
        # SMF separates parameters with ';' as well as '&'.
        return dict(parse_qsl(self.query.replace(";", "&"), keep_blank_values=True))

    def param_int(self, name: str, default: int = 0) -> int:
        try:
            return int(self.params.get(name, default))
        except ValueError:
            return -1


@dataclass
class Resp:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = HTML
    delay: float = 0.0  # seconds to wait before answering
    stall: bool = False  # never answer (the client must time out)
    chunks: Any = None  # iterable of bytes streamed instead of body (huge pages)
    length: int | None = None  # Content-Length for streamed bodies


def html(body: str, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Resp:
    return Resp(status, body.encode("utf-8"), headers or [], HTML)


def xml(body: str, content_type: str = XML) -> Resp:
    return Resp(200, body.encode("utf-8"), [], content_type)


def as_json(data: Any, headers: list[tuple[str, str]] | None = None) -> Resp:
    return Resp(200, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                headers or [], JSON_TYPE)


def redirect(location: str, status: int = 301) -> Resp:
    return Resp(status, f'<html><body><a href="{escape(location)}">Moved</a></body></html>'.encode(),
                [("Location", location)], HTML)


def not_found(message: str = "Not Found") -> Resp:
    return Resp(404, f"<!DOCTYPE html><html><head><title>404 {escape(message)}</title></head>"
                     f"<body><h1>{escape(message)}</h1></body></html>".encode(), [], HTML)


def e(text: object) -> str:
    return escape(str(text), quote=True)


def iso(dt: datetime) -> str:
    """ISO 8601 with an explicit +00:00 offset."""
    return dt.isoformat()


def iso_z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def rfc822(dt: datetime) -> str:
    return format_datetime(dt, usegmt=True)


def linked(text: str) -> str:
    """Escape a paragraph and turn its URLs into links, as forum and blog engines do."""
    return _URL.sub(lambda m: f'<a href="{m.group(0)}" rel="nofollow ugc">{m.group(0)}</a>', e(text))


def paras_html(post: Post) -> str:
    return "".join(f"<p>{linked(p)}</p>" for p in post.paras)


def page_slice(items: list, page: int, per_page: int) -> list:
    start = (page - 1) * per_page
    return items[start:start + per_page] if page >= 1 else []


def n_pages(count: int, per_page: int) -> int:
    return max(1, -(-count // per_page))


def links_block(venue: Venue, heading: str = "Links", css: str = "links") -> str:
    """The venue's outbound links to other venues (blogroll, "find us on", partner groups)."""
    return venue.memo(f"links:{heading}:{css}", lambda: _links_block(venue, heading, css))


def _links_block(venue: Venue, heading: str, css: str) -> str:
    items = []
    for vid in venue.d.get("links", []):
        target = venue.world.by_id[vid]
        label = target.name
        platform = target.d.get("known_only_platform")
        if platform:
            label = f"{target.name} ({FIND_US.get(platform, platform)})"
        items.append(f'<li><a href="{e(target.url)}" rel="noopener">{e(label)}</a></li>')
    if not items:
        return ""
    return f'<section class="{css}"><h2>{e(heading)}</h2><ul>{"".join(items)}</ul></section>'


FIND_US = {"facebook": "Facebook", "nextdoor": "Nextdoor", "whatsapp": "WhatsApp group",
           "telegram-invite": "Telegram group", "instagram": "Instagram", "x": "X / Twitter",
           "youtube": "YouTube", "discord": "Discord", "meetup": "Meetup"}


def rss(channel: dict[str, str], items: list[dict[str, Any]], *, generator: str,
        self_url: str, extra_ns: str = "") -> str:
    """An RSS 2.0 document with the content, dc and atom namespaces WordPress and Ghost use."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" '
           f'xmlns:slash="http://purl.org/rss/1.0/modules/slash/"{extra_ns}>',
           "<channel>", f"<title>{e(channel['title'])}</title>",
           f'<atom:link href="{e(self_url)}" rel="self" type="application/rss+xml" />',
           f"<link>{e(channel['link'])}</link>", f"<description>{e(channel.get('description', ''))}</description>",
           f"<lastBuildDate>{channel['lastBuildDate']}</lastBuildDate>",
           "<language>en-GB</language>", f"<generator>{e(generator)}</generator>"]
    for item in items:
        out.append("<item>")
        out.append(f"<title>{e(item['title'])}</title><link>{e(item['link'])}</link>")
        if item.get("creator"):
            out.append(f"<dc:creator><![CDATA[{item['creator']}]]></dc:creator>")
        out.append(f"<pubDate>{item['pubDate']}</pubDate>")
        for cat in item.get("categories", []):
            out.append(f"<category><![CDATA[{cat}]]></category>")
        perma = "true" if item.get("guid_permalink") else "false"
        out.append(f'<guid isPermaLink="{perma}">{e(item["guid"])}</guid>')
        out.append(f"<description><![CDATA[{item.get('description', '')}]]></description>")
        if item.get("content"):
            out.append(f"<content:encoded><![CDATA[{item['content']}]]></content:encoded>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out)


def sitemap_index(urls: list[str]) -> str:
    body = "".join(f"<sitemap><loc>{e(u)}</loc></sitemap>" for u in urls)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</sitemapindex>')


def urlset(entries: list[tuple[str, datetime | None]]) -> str:
    body = "".join(f"<url><loc>{e(u)}</loc>" + (f"<lastmod>{iso(d)}</lastmod>" if d else "") + "</url>"
                   for u, d in entries)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>')


def contact_block(venue: Venue) -> str:
    email = venue.d.get("email") or f"hello@{venue.host}"
    return f'<p class="contact">Contact us: <a href="mailto:{e(email)}">{e(email)}</a></p>'
