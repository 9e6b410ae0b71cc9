"""Discourse: its JSON API (/latest.json, /t/{id}.json, /categories.json), then crawler HTML."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

from lxml import etree
from scrapy.http import Response

from crawler.adapters.dates import parse_date
from crawler.adapters.detection import has_marker, html_generator
from crawler.adapters.feeds import feed_generator
from crawler.adapters.forum import ForumAdapter, ForumSelectors
from crawler.adapters.jsonapi import as_dicts, as_int, as_str, dig, load_json
from crawler.adapters.links import absolute, links_in, under
from crawler.adapters.text import css_all, fragment_root, fragment_text, node_text, one_line
from crawler.adapters.types import ParseResult, PostItem, VenueInfo

# The crawler view Discourse serves to clients without JavaScript.
SELECTORS = ForumSelectors(
    post="div.crawler-post, [itemtype$='DiscussionForumPosting'], [itemtype$='schema.org/Comment']",
    body="div.post[itemprop], div.post",
    author="[itemprop='author'] [itemprop='name'], b[itemprop='author'], .creator a",
    date="time[itemprop='datePublished'], meta[itemprop='datePublished'], time",
    quote="aside.quote",
    thread_title="#topic-title h1, h1",
    breadcrumb="#breadcrumbs a, .category-breadcrumb a, [itemtype$='BreadcrumbList'] a",
    thread_link="a.raw-topic-link, a.title[href*='/t/']",
    board_link="a.category-title-link, .category-list a[href*='/c/'], a[href*='/c/'].category",
    next_page="a[rel='next']",
)
MARKERS = (b'name="discourse_', b"data-discourse-setup", b"discourse-cdn", b"discourse_theme_id")
# Quoted earlier posts and @mentions (people's handles) stay out of a post's text.
DROP_XPATH = (".//aside[contains(@class, 'quote')]"
              " | .//a[contains(concat(' ', normalize-space(@class), ' '), ' mention ')]")
_TOPIC = re.compile(r"/t/(?:[^/]+/)?(\d+)(?:/(\d+))?")
# Discourse's topic JSON holds 20 posts per page (its chunk size).
TOPIC_CHUNK = 20
MAX_TOPIC_PAGES = 100
MAX_LIST_PAGES = 200


class DiscourseAdapter(ForumAdapter):
    platform: ClassVar[str] = "discourse"
    priority: ClassVar[int] = 150
    selectors: ClassVar[ForumSelectors] = SELECTORS
    date_attrs: ClassVar[tuple[str, ...]] = ("datetime", "content")

    def detect(self, response: Response) -> bool:
        if (html_generator(response).startswith("discourse") or has_marker(response, *MARKERS)
                or feed_generator(response.body).startswith("discourse")):
            return True
        path = urlsplit(response.url).path
        if not path.endswith(".json"):
            return False
        head = response.body[:4096]
        return any(k in head for k in (b'"topic_list"', b'"post_stream"', b'"category_list"',
                                        b'{"about":'))

    def entry_points(self, home_url: str) -> list[str]:
        paths = ("latest.json", "categories.json", "about.json")
        return [under(home_url, p) for p in paths] + [home_url]

    # -- JSON ---------------------------------------------------------------------------------

    def parse_json(self, response: Response, result: ParseResult) -> None:
        result.kind = "api"
        data = load_json(response)
        if not isinstance(data, dict):
            return
        if isinstance(data.get("post_stream"), dict):
            self._topic(data, response, result)
        if isinstance(data.get("topic_list"), dict):
            self._topic_list(data["topic_list"], response, result)
        if isinstance(data.get("category_list"), dict):
            for cat in as_dicts(data["category_list"].get("categories")):
                slug, ident = as_str(cat.get("slug")), as_int(cat.get("id"))
                if slug and ident is not None:
                    result.follow.append(absolute(response.url, f"/c/{slug}/{ident}.json") or "")
        if isinstance(data.get("about"), dict):
            result.venue = _about(data["about"])

    def _topic(self, data: dict, response: Response, result: ParseResult) -> None:
        result.kind = "thread"
        title = one_line(as_str(data.get("title")), 500) or None
        topic_id = as_int(data.get("id"))
        slug = as_str(data.get("slug")) or "topic"
        for item in as_dicts(dig(data, "post_stream", "posts")):
            number = as_int(item.get("post_number"))
            tid = as_int(item.get("topic_id")) or topic_id
            if tid is None or number is None:
                continue
            url = absolute(response.url, f"/t/{as_str(item.get('topic_slug')) or slug}/{tid}/{number}")
            cooked = as_str(item.get("cooked"))
            result.posts.append(PostItem(
                url=url or response.url, text=fragment_text(cooked, DROP_XPATH), title=title,
                published_at=parse_date(as_str(item.get("created_at"))),
                author=as_str(item.get("username")), external_id=f"{tid}/{number}",
                thread=title))
            result.links.extend(_outbound(cooked, response.url))
        count = as_int(data.get("posts_count")) or 0
        page = as_int((parse_qs(urlsplit(response.url).query).get("page") or ["1"])[0]) or 1
        if page == 1 and topic_id is not None:
            pages = min(math.ceil(count / TOPIC_CHUNK), MAX_TOPIC_PAGES)
            for n in range(2, pages + 1):
                result.follow.append(absolute(response.url, f"/t/{slug}/{topic_id}.json?page={n}")
                                     or "")

    def _topic_list(self, listing: dict, response: Response, result: ParseResult) -> None:
        result.kind = "listing"
        for topic in as_dicts(listing.get("topics")):
            ident, slug = as_int(topic.get("id")), as_str(topic.get("slug")) or "topic"
            if ident is not None:
                result.follow.append(absolute(response.url, f"/t/{slug}/{ident}.json") or "")
        more = as_str(listing.get("more_topics_url"))
        if more:
            nxt = _as_json_url(absolute(response.url, more))
            page = as_int((parse_qs(urlsplit(nxt or "").query).get("page") or ["0"])[0]) or 0
            if nxt and page <= MAX_LIST_PAGES:
                result.follow.append(nxt)

    # -- crawler HTML: ids are topic/post-number, as in the JSON --------------------------------

    def post_from(self, node: etree._Element, page_url: str, title: str | None,
                  board: str | None, now: datetime | None) -> PostItem | None:
        post = super().post_from(node, page_url, title, board, now)
        topic = _TOPIC.search(urlsplit(page_url).path)
        number = _post_number(node)
        if post is None or topic is None or number is None:
            return post
        post.external_id = f"{topic.group(1)}/{number}"
        post.url = absolute(page_url, f"{urlsplit(page_url).path.split('/t/')[0]}/t/"
                            f"{_slug(page_url)}/{topic.group(1)}/{number}") or post.url
        return post


def _post_number(node: etree._Element) -> int | None:
    found = css_all(node, "[itemprop='position']")
    position = node_text(found[0]) if found else ""
    match = re.search(r"\d+", position) or re.search(r"post_(\d+)", node.get("id", ""))
    return int(match.group(1) if match.groups() else match.group(0)) if match else None


def _slug(url: str) -> str:
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if "t" in parts:
        rest = parts[parts.index("t") + 1:]
        if rest and not rest[0].isdigit():
            return rest[0]
    return "topic"


def _as_json_url(url: str | None) -> str | None:
    """'/latest?page=1' → '/latest.json?page=1' (more_topics_url names the HTML route)."""
    if not url:
        return None
    parts = urlsplit(url)
    path = parts.path if parts.path.endswith(".json") else parts.path.rstrip("/") + ".json"
    return urlunsplit(parts._replace(path=path))


def _about(about: dict) -> VenueInfo:
    stats = about.get("stats") if isinstance(about.get("stats"), dict) else {}
    contact: dict[str, object] = {}
    if as_str(about.get("contact_email")):
        contact["email"] = about["contact_email"]
    if as_str(about.get("contact_url")):
        contact["contact_page"] = about["contact_url"]
    return VenueInfo(name=as_str(about.get("title")), description=as_str(about.get("description")),
                     member_count=as_int(stats.get("users_count", stats.get("user_count"))),
                     post_count=as_int(stats.get("posts_count", stats.get("post_count"))),
                     contact=contact)


def _outbound(cooked: str | None, base_url: str) -> list:
    root = fragment_root(cooked)
    if root is None:
        return []
    # Mentions point at member profiles (people), not at venues.
    for mention in root.xpath(".//a[contains(concat(' ', @class, ' '), ' mention ')]"):
        mention.getparent().remove(mention)
    return links_in(root, base_url)
