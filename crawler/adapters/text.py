"""Readable text out of HTML: safe selectors, CSS queries that keep their order, visible text."""

from __future__ import annotations

import re
from functools import lru_cache

import lxml.html
from lxml import etree
from parsel import Selector, SelectorList
from parsel.csstranslator import HTMLTranslator
from scrapy.http import Response, TextResponse

# Elements whose text is never content.
DROP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "iframe", "object",
                       "select", "option", "button", "textarea", "head", "title", "meta", "link"})
# Elements that break a line when rendered.
BLOCK_TAGS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                        "blockquote", "tr", "table", "section", "article", "pre", "dd", "dt",
                        "dl", "header", "footer", "aside", "nav", "figure", "figcaption", "hr",
                        "main", "td", "th", "address"})
# Longest one-line label kept (an anchor text, a name, a board).
MAX_ANCHOR_CHARS = 200
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


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
