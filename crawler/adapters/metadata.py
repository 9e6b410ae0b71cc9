"""What a page says about its venue and article: name, counts, contacts, JSON-LD; page_basics."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from lxml import etree
from parsel import Selector
from scrapy.http import Response

from crawler.adapters.links import (
    about_links,
    absolute,
    is_about,
    is_home,
    is_share_link,
    page_links,
    same_site,
)
from crawler.adapters.text import first, node_text, one_line, root_of, selector_of
from crawler.adapters.types import ParseResult, VenueInfo

# Social platforms a venue points to in its "find us on" block.
SOCIAL_DOMAINS = ("facebook.com", "fb.com", "fb.me", "instagram.com", "x.com", "twitter.com",
                  "nextdoor.co.uk", "nextdoor.com", "whatsapp.com", "wa.me", "t.me",
                  "telegram.me", "youtube.com", "youtu.be", "discord.gg", "discord.com",
                  "meetup.com", "linkedin.com", "tiktok.com", "threads.net", "bsky.app",
                  "flickr.com", "reddit.com")
MAX_SOCIAL = 20
CONTACT_WORDS = re.compile(r"\bcontact\b|get[ -]in[ -]touch|contact[-_ ]?us|/contact", re.I)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
# "info [at] group [dot] org" and "info (at) group.org" written to dodge harvesters.
_OBFUSCATED_EMAIL = re.compile(
    r"\b([A-Za-z0-9._%+-]+)\s*(?:@|\[\s*at\s*\]|\(\s*at\s*\))\s*([A-Za-z0-9-]+(?:\s*(?:\.|\[\s*dot\s*\]|\(\s*dot\s*\))\s*[A-Za-z0-9-]+)+)\b",
    re.I)
_COUNT = re.compile(r"(\d[\d,.\s]*\d|\d)\s*([kKmM])?\b")
_NUM = r"(\d[\d,.]*(?:\s*[kKmM]\b)?)"
_LABELS = {"members": r"(?:members|users|subscribers|followers)",
           "posts": r"(?:posts|messages)"}
# Tried in order: "Members: 77", "Total members 318", "318 members" (boards list several
# counts in a row, so the labelled forms are less ambiguous than a bare "N label").
_COUNT_NEAR = {
    key: (re.compile(label + r"\s*:\s*" + _NUM, re.I),
          re.compile(r"\btotal\s+" + label + r"\s*" + _NUM, re.I),
          re.compile(_NUM + r"\s+(?:registered\s+|total\s+)?" + label + r"\b", re.I))
    for key, label in _LABELS.items()
}


def meta(sel: Selector, *names: str) -> str | None:
    """Content of the first ``<meta name|property=…>`` among ``names``."""
    for name in names:
        value = first(sel, f'meta[name="{name}"]::attr(content)') or first(
            sel, f'meta[property="{name}"]::attr(content)')
        if value:
            return one_line(value, 1000)
    return None

def site_name(sel: Selector, home: bool) -> str | None:
    """The venue's own name: og:site_name, application-name, else a part of the title."""
    name = meta(sel, "og:site_name", "application-name")
    if name:
        return name
    title = one_line(sel.css("title::text").get())
    if not title:
        return None
    parts = [p.strip() for p in re.split(r"\s+[|\-–—•:]\s+", title) if p.strip()]
    if not parts:
        return None
    return parts[0] if home else parts[-1]


def description(sel: Selector) -> str | None:
    return meta(sel, "description", "og:description", "twitter:description")


def parse_count(text: str | None) -> int | None:
    """'1,234' → 1234, '1.2K' → 1200, '3 402' → 3402; None when no number.

    >>> parse_count("1.2K subscribers"), parse_count("12,345"), parse_count("n/a")
    (1200, 12345, None)
    """
    if not text:
        return None
    match = _COUNT.search(text)
    if not match:
        return None
    digits, suffix = match.group(1), (match.group(2) or "").lower()
    digits = re.sub(r"\s", "", digits)
    try:
        if suffix:
            return int(float(digits.replace(",", "")) * (1000 if suffix == "k" else 1_000_000))
        return int(digits.replace(",", "").replace(".", ""))
    except ValueError:
        return None


def counts_from_text(text: str) -> tuple[int | None, int | None]:
    """(members, posts) as a board's statistics block states them.

    >>> counts_from_text("Total posts 1,204 • Total topics 96 • Total members 318")
    (318, 1204)
    >>> counts_from_text("Threads: 40 Messages: 512 Members: 77")
    (77, 512)
    """
    found: list[int | None] = []
    for key in ("members", "posts"):
        value = None
        for pattern in _COUNT_NEAR[key]:
            match = pattern.search(text or "")
            if match:
                value = parse_count(match.group(1))
                break
        found.append(value)
    return found[0], found[1]


def contact_info(sel: Selector, base_url: str, exclude: str | None = None,
                 text_emails: bool = False) -> dict[str, object]:
    """Public contact routes of the venue: email, contact page, social profiles.

    ``exclude`` is a CSS selector for regions that are members' words (post bodies), whose
    addresses and links are people's, not the venue's. ``text_emails`` also reads written-out
    addresses ("info [at] group.org"), for organisation sites only.
    """
    root = root_of(sel)
    if root is None:
        return {}
    skipped = {n.root for n in sel.css(exclude)} if exclude else set()
    contact: dict[str, object] = {}
    social: list[str] = []
    for a in _anchors_outside(root, skipped):
        href = (a.get("href") or "").strip()
        if href.lower().startswith("mailto:"):
            email = href[7:].split("?", 1)[0].strip()
            if _EMAIL.match(email) and "email" not in contact:
                contact["email"] = email.lower()
            continue
        url = absolute(base_url, href)
        if url is None or is_share_link(url):
            continue
        if _is_social(url):
            if url not in social:
                social.append(url)
        elif "contact_page" not in contact and same_site(url, base_url) and (
                CONTACT_WORDS.search(node_text(a)) or CONTACT_WORDS.search(urlsplit(url).path)):
            contact["contact_page"] = url
    for link in sel.css('link[rel="me"]::attr(href)').getall():
        url = absolute(base_url, link)
        if url and url not in social:
            social.append(url)
    if text_emails and "email" not in contact:
        email = _written_email(node_text(root, skipped))
        if email:
            contact["email"] = email
    if social:
        contact["social"] = social[:MAX_SOCIAL]
    return contact


def _anchors_outside(root: etree._Element, skipped: set) -> list[etree._Element]:
    if not skipped:
        return list(root.iter("a"))
    anchors = []
    walker = etree.iterwalk(root, events=("start",))
    for _event, el in walker:
        if el in skipped:
            walker.skip_subtree()
        elif el.tag == "a":
            anchors.append(el)
    return anchors


def _is_social(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in SOCIAL_DOMAINS)


def _written_email(text: str) -> str | None:
    match = _OBFUSCATED_EMAIL.search(text)
    if not match:
        return None
    domain = re.sub(r"\s*(?:\[\s*dot\s*\]|\(\s*dot\s*\))\s*|\s*\.\s*", ".", match.group(2))
    email = f"{match.group(1)}@{domain}".lower()
    return email if _EMAIL.match(email) else None

def venue_from_page(sel: Selector, url: str, exclude: str | None = None,
                    text_emails: bool = False) -> VenueInfo:
    home = is_home(url)
    return VenueInfo(name=site_name(sel, home), description=description(sel),
                     contact=contact_info(sel, url, exclude, text_emails))

def page_basics(response: Response, result: ParseResult, exclude: str | None = None) -> Selector:
    """Links of any HTML page, plus venue facts on the home, about and contact pages."""
    sel = selector_of(response)
    result.links.extend(page_links(sel, response.url))
    if is_home(response.url):
        result.kind = "home"
        result.venue = venue_from_page(sel, response.url, exclude)
        result.follow.extend(about_links(sel, response.url))
    elif is_about(response.url):
        result.kind = "about"
        result.venue = venue_from_page(sel, response.url, exclude)
    return sel

# -- JSON-LD (schema.org) facts many themes embed ---------------------------------------------

JSONLD_ARTICLE_TYPES = frozenset({"article", "blogposting", "newsarticle", "posting",
                                  "discussionforumposting", "socialmediaposting", "webpage"})


def jsonld_objects(sel: Selector) -> list[dict]:
    """Every JSON-LD object on the page, flattening @graph arrays."""
    found: list[dict] = []
    for raw in sel.css('script[type="application/ld+json"]::text').getall()[:10]:
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                found.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)
    return found


def jsonld_article(sel: Selector) -> dict:
    """headline, datePublished and author name of the page's article, as far as stated."""
    for item in jsonld_objects(sel):
        kind = item.get("@type")
        kinds = {k.lower() for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str)}
        if not kinds & JSONLD_ARTICLE_TYPES or "datePublished" not in item:
            continue
        author = item.get("author")
        if isinstance(author, list):
            author = author[0] if author else None
        name = author.get("name") if isinstance(author, dict) else author
        return {"headline": item.get("headline") if isinstance(item.get("headline"), str) else None,
                "datePublished": item.get("datePublished"),
                "author": name if isinstance(name, str) else None}
    return {}
