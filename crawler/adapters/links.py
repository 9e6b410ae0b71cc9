"""Links of a page: absolute URLs, same-site tests, outbound links in context, feeds, paging."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from lxml import etree
from parsel import Selector

from crawler.adapters.text import first, node_text, one_line, root_of
from crawler.adapters.types import LinkItem

# Context kept around a link: a list item or table row describing one group is < 300 chars.
MAX_CONTEXT_CHARS = 300
# Anchors read per page. A link farm of a million anchors took a minute and 1.5 GB to read
# whole (tests/test_hostile_web.py); the adapter keeps at most ``base.MAX_LINKS`` (1,000) anyway, so
# five times that is read and the rest of such a page adds no evidence.
MAX_ANCHORS_READ = 5_000
# Anchor words that name nothing; a directory's "Website" link is named by its entry heading.
GENERIC_ANCHORS = frozenset({"website", "web site", "site", "visit", "visit website",
                             "visit site", "link", "here", "click here", "more", "read more",
                             "homepage", "home page", "web", "www", "details", "more info"})
ITEM_TAGS = frozenset({"li", "tr", "article", "section", "div", "dd", "dl"})
SHARE_LINK = re.compile(
    r"/sharer(?:/sharer)?\.php|/share(?:Article|\.php)?(?:[/?]|$)|/intent/(?:tweet|post)|"
    r"/dialog/(?:share|feed)|api\.whatsapp\.com/send|wa\.me/\?text=|/pin/create/|"
    r"reddit\.com/submit|t\.me/share/", re.I)
# Pages where a venue describes itself and says how to reach it.
ABOUT_PATH = re.compile(r"/(?:about|contact|who-we-are|get-in-touch|committee)", re.I)
MAX_ABOUT_PAGES = 2
HOME_PATHS = frozenset({"", "/", "/index.php", "/index.html", "/index.htm", "/forum", "/forum/",
                        "/forums", "/forums/", "/home", "/home/"})


def same_site(url: str, other: str) -> bool:
    """True when two URLs are on the same host (ignoring ``www.``) and port.

    >>> same_site("https://www.a.example/x", "http://a.example/y")
    True
    >>> same_site("https://a.example/", "https://b.a.example/")
    False
    """
    return site_of(url) == site_of(other)


def site_of(url: str) -> tuple[str, int | None]:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return ("", None)
    if host.startswith("www.") and host.count(".") >= 2:
        host = host[4:]
    if port in (80, 443):
        port = None
    return (host, port)


def absolute(base_url: str, href: str | None) -> str | None:
    """Absolute http(s) URL of ``href`` or None (mailto, javascript, fragments, junk)."""
    if not href:
        return None
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:", "sms:")):
        return None
    try:
        url = urljoin(base_url, href)
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url.split("#", 1)[0] if "#" in url else url


def is_share_link(url: str) -> bool:
    """Share buttons ('post this to Facebook') point at the platform, not at a community.

    >>> is_share_link("https://www.facebook.com/sharer/sharer.php?u=x"), is_share_link("https://x.com/intent/tweet?text=a")
    (True, True)
    """
    return bool(SHARE_LINK.search(url))


def under(home_url: str, relative: str) -> str:
    """``relative`` resolved inside the venue's home, also when the home lacks its final slash.

    >>> under("https://a.example/blog", "feed/"), under("https://a.example/index.php", "feed.php")
    ('https://a.example/blog/feed/', 'https://a.example/feed.php')
    """
    try:
        parts = urlsplit(home_url)
    except ValueError:
        return home_url
    last = parts.path.rsplit("/", 1)[-1]
    if last and "." not in last:  # "/blog" is a directory; "/index.php" a file in one
        home_url = parts._replace(path=parts.path + "/", query="", fragment="").geturl()
    return urljoin(home_url, relative)


def links_in(node: etree._Element | None, base_url: str) -> list[LinkItem]:
    """Every http(s) link under ``node`` with its anchor text and surrounding context."""
    if node is None:
        return []
    items: list[LinkItem] = []
    texts: dict[etree._Element, str] = {}  # container → text, computed once per container
    for seen, a in enumerate(node.iter("a", "area")):
        if seen >= MAX_ANCHORS_READ:
            break
        url = absolute(base_url, a.get("href"))
        if url is None or is_share_link(url):
            continue
        words = one_line(node_text(a)) or one_line(a.get("title")) or _img_alt(a)
        context = _context(a, words, texts)
        anchor = words
        if words.lower().strip(" .:»>") in GENERIC_ANCHORS:
            anchor = _item_heading(a) or words
        items.append(LinkItem(url=url, anchor_text=anchor, context=context))
    return items


def _item_heading(a: etree._Element) -> str:
    """The name of the item a generic link ("Website") belongs to: its card's heading."""
    node = a.getparent()
    for _ in range(5):
        if node is None:
            return ""
        if isinstance(node.tag, str) and node.tag.lower() in ITEM_TAGS:
            for heading in node.iter("h1", "h2", "h3", "h4", "h5", "h6", "strong", "b"):
                if heading is a or a in set(heading.iterdescendants()):
                    continue
                text = one_line(node_text(heading))
                if text:
                    return text
        node = node.getparent()
    return ""


def _img_alt(a: etree._Element) -> str:
    for img in a.iter("img"):
        if img.get("alt"):
            return one_line(img.get("alt"))
    return ""


def _context(a: etree._Element, anchor: str, texts: dict[etree._Element, str]) -> str:
    """Text of the nearest list item, row, paragraph or card holding the link."""
    node = a.getparent()
    hops = 0
    while node is not None and hops < 4:
        if isinstance(node.tag, str) and node.tag.lower() in ("li", "tr", "p", "dd", "td",
                                                                "article", "section"):
            if node not in texts:
                # Quoted posts inside the container are someone else's words (and name them).
                quotes = {q for q in node.iter("blockquote", "aside") if q is not node}
                texts[node] = one_line(node_text(node, quotes), MAX_CONTEXT_CHARS)
            text = texts[node]
            if text != anchor:  # a cell holding only the link: its row says more
                return text
        node = node.getparent()
        hops += 1
    return ""


def page_links(sel: Selector, base_url: str) -> list[LinkItem]:
    return links_in(root_of(sel), base_url)


def is_home(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.path in HOME_PATHS and not parts.query

def feed_links(sel: Selector, base_url: str) -> list[str]:
    """Feeds the page advertises with ``<link rel="alternate" type="…rss|atom…">``."""
    found = []
    for link in sel.css('link[rel~="alternate"]'):
        kind = (link.attrib.get("type") or "").lower()
        if "rss" in kind or "atom" in kind:
            url = absolute(base_url, link.attrib.get("href"))
            if url:
                found.append(url)
    return found


def rel_next(sel: Selector, base_url: str) -> str | None:
    """The page's ``rel=next`` link (``<link>`` or ``<a>``)."""
    href = first(sel, 'link[rel~="next"]::attr(href)') or first(sel, 'a[rel~="next"]::attr(href)')
    return absolute(base_url, href)

def is_about(url: str) -> bool:
    try:
        return bool(ABOUT_PATH.search(urlsplit(url).path))
    except ValueError:
        return False


def about_links(sel: Selector, base_url: str) -> list[str]:
    """The venue's own about and contact pages linked from its home (where contact details
    usually are), at most :data:`MAX_ABOUT_PAGES`."""
    found: list[str] = []
    for href in sel.css("a::attr(href)").getall():
        url = absolute(base_url, href)
        if url and url not in found and same_site(url, base_url) and is_about(url):
            found.append(url)
            if len(found) >= MAX_ABOUT_PAGES:
                break
    return found
