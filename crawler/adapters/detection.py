"""Engine and channel detection: the channel a body is, engine markers in raw bytes, generators."""

from __future__ import annotations

import re

from scrapy.http import Response

# Bytes of the body inspected to decide the channel.
SNIFF_BYTES = 2048
_XML_ROOT = re.compile(rb"<\s*([A-Za-z][\w:.-]*)[\s>/]")


def sniff_channel(response: Response) -> str:
    """Which channel a body is, from its first bytes (content types lie), then its header.

    >>> from scrapy.http import TextResponse
    >>> sniff_channel(TextResponse("https://a.example/x", body=b' [{"id": 1}]'))
    'json'
    >>> sniff_channel(TextResponse("https://a.example/x", body=b'<?xml version="1.0"?><rss>'))
    'feed'
    """
    head = response.body[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        return "json"
    root = _xml_root(head)
    if root in ("rss", "feed", "rdf:rdf", "rdf"):
        return "feed"
    if root in ("urlset", "sitemapindex"):
        return "sitemap"
    ctype = response.headers.get(b"Content-Type", b"").decode("latin-1").lower()
    if "json" in ctype:
        return "json"
    if "rss" in ctype or "atom" in ctype:
        return "feed"
    return "html"


def _xml_root(head: bytes) -> str | None:
    """Name of the first element after any XML declaration, comments and doctype."""
    if not head.startswith(b"<"):
        return None
    match = _XML_ROOT.search(head)
    return match.group(1).decode("ascii", "replace").lower() if match else None


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
