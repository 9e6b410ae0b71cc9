"""HTML helpers every adapter shares: safe selectors, readable text, links, contact details."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from parsel import Selector, SelectorList
from parsel.csstranslator import HTMLTranslator
from scrapy.http import Response, TextResponse

from crawler.adapters.base import LinkItem, ParseResult, VenueInfo, same_site

logger = logging.getLogger(__name__)

# Elements whose text is never content.
DROP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "iframe", "object",
                       "select", "option", "button", "textarea", "head", "title", "meta", "link"})
# Elements that break a line when rendered.
BLOCK_TAGS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                        "blockquote", "tr", "table", "section", "article", "pre", "dd", "dt",
                        "dl", "header", "footer", "aside", "nav", "figure", "figcaption", "hr",
                        "main", "td", "th", "address"})
# Context kept around a link: a list item or table row describing one group is < 300 chars.
MAX_CONTEXT_CHARS = 300
MAX_ANCHOR_CHARS = 200
# Anchors read per page. A link farm of a million anchors took a minute and 1.5 GB to read
# whole (tests/test_hostile_web.py); the adapter keeps at most MAX_LINKS (1,000) anyway, so
# five times that is read and the rest of such a page adds no evidence.
MAX_ANCHORS_READ = 5_000
# Social platforms a venue points to in its "find us on" block.
SOCIAL_DOMAINS = ("facebook.com", "fb.com", "fb.me", "instagram.com", "x.com", "twitter.com",
                  "nextdoor.co.uk", "nextdoor.com", "whatsapp.com", "wa.me", "t.me",
                  "telegram.me", "youtube.com", "youtu.be", "discord.gg", "discord.com",
                  "meetup.com", "linkedin.com", "tiktok.com", "threads.net", "bsky.app",
                  "flickr.com", "reddit.com")
MAX_SOCIAL = 20
# Anchor words that name nothing; a directory's "Website" link is named by its entry heading.
GENERIC_ANCHORS = frozenset({"website", "web site", "site", "visit", "visit website",
                             "visit site", "link", "here", "click here", "more", "read more",
                             "homepage", "home page", "web", "www", "details", "more info"})
ITEM_TAGS = frozenset({"li", "tr", "article", "section", "div", "dd", "dl"})
SHARE_LINK = re.compile(
    r"/sharer(?:/sharer)?\.php|/share(?:Article|\.php)?(?:[/?]|$)|/intent/(?:tweet|post)|"
    r"/dialog/(?:share|feed)|api\.whatsapp\.com/send|wa\.me/\?text=|/pin/create/|"
    r"reddit\.com/submit|t\.me/share/", re.I)
CONTACT_WORDS = re.compile(r"\bcontact\b|get[ -]in[ -]touch|contact[-_ ]?us|/contact", re.I)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
# "info [at] group [dot] org" and "info (at) group.org" written to dodge harvesters.
_OBFUSCATED_EMAIL = re.compile(
    r"\b([A-Za-z0-9._%+-]+)\s*(?:@|\[\s*at\s*\]|\(\s*at\s*\))\s*([A-Za-z0-9-]+(?:\s*(?:\.|\[\s*dot\s*\]|\(\s*dot\s*\))\s*[A-Za-z0-9-]+)+)\b",
    re.I)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
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
# Pages where a venue describes itself and says how to reach it.
ABOUT_PATH = re.compile(r"/(?:about|contact|who-we-are|get-in-touch|committee)", re.I)
MAX_ABOUT_PAGES = 2
HOME_PATHS = frozenset({"", "/", "/index.php", "/index.html", "/index.htm", "/forum", "/forum/",
                        "/forums", "/forums/", "/home", "/home/"})


def selector_of(response: Response) -> Selector:
    """A parsel selector over the response, whatever its declared type or charset."""
    if isinstance(response, TextResponse):
        try:
            return response.selector
        except (ValueError, TypeError, LookupError, UnicodeError):
            pass
    return Selector(text=response.body.decode("utf-8", "replace") or "<html></html>",
                    type="html")


def root_of(sel: Selector) -> etree._Element | None:
    root = sel.root
    return root if isinstance(root, etree._Element) else None


def node_text(node: object, skip: frozenset | set | None = None) -> str:
    """Readable text of an lxml element: blocks on their own lines, scripts and ``skip`` out.

    Iterative, so deeply nested malformed markup cannot exhaust the stack.

    >>> node_text(lxml.html.fragment_fromstring("<div><p>Bins on <b>Elm</b> Grove</p><p>x</p></div>"))
    'Bins on Elm Grove\\nx'
    """
    if not isinstance(node, etree._Element):
        return ""
    skip = skip or set()
    out: list[str] = []
    stack: list[tuple[etree._Element, bool]] = [(node, False)]
    while stack:
        el, closing = stack.pop()
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if closing:
            if tag in BLOCK_TAGS:
                out.append("\n")
            if el is not node and el.tail:
                out.append(el.tail)
            continue
        if not tag or tag in DROP_TAGS or el in skip:  # comments, scripts, skipped parts
            if el is not node and el.tail:
                out.append(el.tail)
            continue
        if tag in BLOCK_TAGS:
            out.append("\n")
        if el.text:
            out.append(el.text)
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(el))
    return tidy("".join(out))


def tidy(text: str) -> str:
    """Collapse runs of spaces and blank lines.

    >>> tidy("  a   b \\n\\n\\n\\n c ")
    'a b\\nc'
    """
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n", "\n".join(lines)).strip()


def one_line(text: str | None, limit: int = MAX_ANCHOR_CHARS) -> str:
    return " ".join((text or "").split())[:limit]


def fragment_root(html: str | None) -> etree._Element | None:
    """Parse an HTML fragment (a JSON API's rendered content) into one element, or None."""
    if not html or not html.strip():
        return None
    try:
        return lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError, TypeError):
        return None


def fragment_text(html: str | None, drop: str | None = None) -> str:
    """Readable text of an HTML fragment, leaving out elements matching XPath ``drop``.

    >>> fragment_text("<p>Meeting at <a href='/x'>St Luke's</a></p><p>7pm</p>")
    "Meeting at St Luke's\\n7pm"
    """
    root = fragment_root(html)
    if root is None:
        return ""
    return node_text(root, set(root.xpath(drop)) if drop else None)


def first(sel: Selector, query: str, default: str | None = None) -> str | None:
    """First match of a CSS query (``::text``/``::attr()`` allowed), stripped, or default."""
    value = sel.css(query).get()
    return value.strip() if value and value.strip() else default


def text_of(sel: Selector | None, skip: frozenset | set | None = None) -> str:
    return node_text(sel.root, skip) if sel is not None else ""


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


def meta(sel: Selector, *names: str) -> str | None:
    """Content of the first ``<meta name|property=…>`` among ``names``."""
    for name in names:
        value = first(sel, f'meta[name="{name}"]::attr(content)') or first(
            sel, f'meta[property="{name}"]::attr(content)')
        if value:
            return one_line(value, 1000)
    return None


def generator(sel: Selector) -> str:
    """The generator meta tag, lower-cased ('' when absent)."""
    return (meta(sel, "generator") or "").lower()


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


def venue_from_page(sel: Selector, url: str, exclude: str | None = None,
                    text_emails: bool = False) -> VenueInfo:
    home = is_home(url)
    return VenueInfo(name=site_name(sel, home), description=description(sel),
                     contact=contact_info(sel, url, exclude, text_emails))


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


# -- marker tests on raw bytes (cheap: no parse needed to decide an engine) ------------------

# Engines put their markers in the head or the first elements of the body; 64 KiB covers a
# heavy <head> full of inline scripts.
MARKER_WINDOW = 65536
_META_GENERATOR = re.compile(
    rb"<meta\b[^>]*?\bname\s*=\s*[\"']?generator[\"']?[^>]*>", re.I)
_CONTENT_ATTR = re.compile(rb"\bcontent\s*=\s*[\"']([^\"']*)[\"']", re.I)


def head_bytes(response: Response) -> bytes:
    """The lower-cased top of the body, computed once per response (detection asks often)."""
    cached = getattr(response, "_beatmap_head", None)
    if cached is None:
        cached = response.body[:MARKER_WINDOW].lower()
        try:
            response._beatmap_head = cached
        except AttributeError:  # a response type that refuses new attributes
            pass
    return cached


def html_generator(response: Response) -> str:
    """The generator meta tag's content read from raw bytes, lower-cased ('' when none).

    >>> from scrapy.http import HtmlResponse
    >>> html_generator(HtmlResponse("https://a.example/", body=b"<meta content='blogger' name='generator'/>"))
    'blogger'
    """
    head = response.body[:MARKER_WINDOW]
    for tag in _META_GENERATOR.finditer(head):
        content = _CONTENT_ATTR.search(tag.group(0))
        if content:
            return content.group(1).decode("utf-8", "replace").strip().lower()
    return ""


def has_marker(response: Response, *needles: bytes) -> bool:
    """True when any lower-case byte string in ``needles`` occurs near the top of the body."""
    head = head_bytes(response)
    return any(n in head for n in needles)


# -- JSON-LD (schema.org) facts many themes embed ---------------------------------------------

JSONLD_ARTICLE_TYPES = frozenset({"article", "blogposting", "newsarticle", "posting",
                                  "discussionforumposting", "socialmediaposting", "webpage"})


def jsonld_objects(sel: Selector) -> list[dict]:
    """Every JSON-LD object on the page, flattening @graph arrays."""
    import json

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


_TOP_COMMA = re.compile(r",\s*(?![^\[]*\])")


def first_match(sel: Selector, query: str) -> SelectorList:
    """Matches of the first alternative in a comma list that matches anything.

    CSS unions return document order; selector lists here are written most specific first,
    and that order should win (a theme's ``span.threadtitle`` over the ``h1`` around it).
    """
    for part in _TOP_COMMA.split(query):
        found = sel.css(part.strip()) if part.strip() else SelectorList()
        if found:
            return found
    return SelectorList()


# -- compiled CSS on lxml elements: the per-post hot path of forum pages ---------------------

_TRANSLATOR = HTMLTranslator()


@lru_cache(maxsize=2048)
def _compiled(query: str) -> etree.XPath:
    return etree.XPath(_TRANSLATOR.css_to_xpath(query, prefix="descendant-or-self::"))


def css_all(el: etree._Element | None, query: str) -> list[etree._Element]:
    """Elements under (or being) ``el`` matching CSS ``query``, in document order.

    Compiled once per query and run on lxml directly: parsel's per-call translation and
    wrapping cost ~20 µs a call, which dominates on a thread page of many posts.
    """
    if el is None or not query:
        return []
    return [n for n in _compiled(query)(el) if isinstance(n, etree._Element)]


def css_first(el: etree._Element | None, query: str) -> list[etree._Element]:
    """Matches of the first comma-separated alternative of ``query`` that matches anything."""
    for part in _TOP_COMMA.split(query or ""):
        found = css_all(el, part.strip()) if part.strip() else []
        if found:
            return found
    return []
