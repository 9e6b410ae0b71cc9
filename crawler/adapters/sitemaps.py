"""XML sitemaps and sitemap indexes, parsed without entity expansion or network access."""

from __future__ import annotations

import logging
from collections.abc import Callable

from lxml import etree
from scrapy.http import Response

from crawler.adapters.links import absolute
from crawler.adapters.types import ParseResult

logger = logging.getLogger(__name__)


def _parser() -> etree.XMLParser:
    # recover: real sitemaps are often slightly broken; no_network/resolve_entities: XXE-safe;
    # huge_tree off keeps libxml2's depth and size limits.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           recover=True, huge_tree=False, remove_comments=True)


def sitemap_urls(body: bytes) -> tuple[str, list[str]]:
    """(root kind, locations): kind is 'urlset', 'sitemapindex' or '' for junk.

    >>> sitemap_urls(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    ...              b'<url><loc>https://a.example/p/1</loc></url></urlset>')
    ('urlset', ['https://a.example/p/1'])
    """
    try:
        root = etree.fromstring(body, parser=_parser())
    except (etree.XMLSyntaxError, ValueError):
        return "", []
    if root is None or not isinstance(root.tag, str):
        return "", []
    kind = etree.QName(root).localname.lower()
    locs = []
    for el in root.iter():
        if isinstance(el.tag, str) and etree.QName(el).localname == "loc" and el.text:
            locs.append(el.text.strip())
    return kind, locs


def parse_sitemap(response: Response, result: ParseResult,
                  keep: Callable[[str], bool] = lambda url: True) -> None:
    """Queue the pages (or child sitemaps) a sitemap lists, keeping those ``keep`` accepts."""
    result.kind = "sitemap"
    kind, locs = sitemap_urls(response.body)
    if not kind:
        result.errors.append("sitemap: unreadable XML")
        return
    for loc in locs:
        url = absolute(response.url, loc)
        if url and keep(url):
            result.follow.append(url)
