"""Text clean-up before tagging: HTML remnants out, offsets kept, long texts cut in chunks."""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

# spaCy refuses texts over nlp.max_length (1,000,000 characters) and memory grows with the
# doc; 100,000 characters (~17,000 words) keeps one doc small and is far above a normal post.
CHUNK_CHARS = 100_000
# How far back from a chunk boundary to look for a paragraph or sentence break.
CHUNK_BACKTRACK = 2_000

_MARKUP = re.compile(
    r"<(script|style)\b[^>]*>.*?</\1\s*>"  # whole script/style blocks
    r"|<!--.*?-->"  # comments
    r"|</?[A-Za-z][^<>]{0,1000}>"  # tags
    r"|&(?:#\d{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});",  # entities
    re.S | re.I,
)
_BLOCK_TAGS = re.compile(r"</?(p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|section|article)\b",
                         re.I)


# Longest link label ("Name of the linked group: URL") blanked with its link.
LINK_LABEL_CHARS = 150
# URLs, e-mail addresses and subreddit/user references: their words ("brunswick-residents",
# "r/hanover") name sites and accounts, not places. Blanked with spaces of the same length, so
# offsets stay where they were.
_ADDRESSES = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]]"
    r"|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?<![\w/])/?[ru]/[A-Za-z0-9_]{2,}",
    re.I,
)


def blank_addresses(text: str) -> str:
    """Replace URLs, e-mail addresses and r/… u/… references with spaces (same length).

    A link's label ("See also Hanover Primary School PTA: http://…", from the start of its
    sentence to the colon or dash before the address) names the linked community, not where
    the post is about; the link itself is evidence for the ranking, so the label is blanked too.

    >>> text = "See r/brighton or http://hanover.example/x, ok"
    >>> out = blank_addresses(text)
    >>> len(out) == len(text), "brighton" in out, "hanover" in out, out.endswith("x, ok")
    (True, False, False, False)
    >>> out.split()
    ['See', 'or', ',', 'ok']
    >>> blank_addresses("Fair on Elm Grove. More from Friends of the Level: http://a.example").split()
    ['Fair', 'on', 'Elm', 'Grove.']
    """
    matches = list(_ADDRESSES.finditer(text))
    if not matches:
        return text
    chars = list(text)
    for m in matches:
        start = _label_start(text, m.start())
        chars[start:m.end()] = " " * (m.end() - start)
    return "".join(chars)


def _label_start(text: str, url_start: int) -> int:
    """Where the label of a link starting at ``url_start`` begins (``url_start`` if none)."""
    i = url_start
    while i > 0 and text[i - 1] in " \t":
        i -= 1
    if i == 0 or text[i - 1] not in ":-\u2013\u2014":
        return url_start
    floor = max(0, i - LINK_LABEL_CHARS)
    starts = [j + len(sep) for sep in ("\n", ". ", "! ", "? ")
              if (j := text.rfind(sep, floor, i)) != -1]
    if starts:
        return max(starts)
    return 0 if floor == 0 else url_start  # a "label" longer than that is prose: keep it


@dataclass
class CleanText:
    """Text with markup removed and a map from its offsets back to the original's."""

    text: str
    _clean_starts: list[int]
    _orig_starts: list[int]

    def original_offset(self, offset: int) -> int:
        """The offset in the original text of ``offset`` in the clean text."""
        if not self._clean_starts:
            return offset
        i = bisect.bisect_right(self._clean_starts, offset) - 1
        if i < 0:
            return offset
        return self._orig_starts[i] + (offset - self._clean_starts[i])


def clean(text: str) -> CleanText:
    """Strip HTML tags, comments and entities, mapping offsets back to ``text``.

    >>> c = clean("<p>Fair on the Level &amp; Elm Grove</p>")
    >>> c.text.strip()
    'Fair on the Level & Elm Grove'
    >>> c.original_offset(c.text.index("Elm"))
    27
    """
    text = blank_addresses(text) if ("/" in text or "@" in text) else text
    if "<" not in text and "&" not in text:
        return CleanText(text, [], [])
    pieces: list[str] = []
    clean_starts: list[int] = [0]
    orig_starts: list[int] = [0]
    pos = 0
    out_len = 0
    for m in _MARKUP.finditer(text):
        pieces.append(text[pos:m.start()])
        out_len += m.start() - pos
        token = m.group(0)
        if token.startswith("&"):
            replacement = html.unescape(token)
            if replacement == "\xa0":
                replacement = " "
        else:
            replacement = "\n" if _BLOCK_TAGS.match(token) else " "
        pieces.append(replacement)
        out_len += len(replacement)
        pos = m.end()
        # From here on, clean offsets map linearly onto original ones again.
        clean_starts.append(out_len)
        orig_starts.append(pos)
    pieces.append(text[pos:])
    return CleanText("".join(pieces), clean_starts, orig_starts)


def chunks(text: str, size: int = CHUNK_CHARS) -> Iterator[tuple[int, str]]:
    """Yield ``(offset, piece)`` pieces of at most ``size`` characters, cut at breaks.

    >>> [(o, p) for o, p in chunks("aaa bbb ccc", size=5)]
    [(0, 'aaa '), (4, 'bbb '), (8, 'ccc')]
    """
    start = 0
    n = len(text)
    while start < n:
        end = min(n, start + size)
        if end < n:
            end = _break_before(text, start, end)
        yield start, text[start:end]
        start = end


def _break_before(text: str, start: int, end: int) -> int:
    floor = max(start + 1, end - CHUNK_BACKTRACK)
    for sep in ("\n\n", "\n", ". ", " "):
        cut = text.rfind(sep, floor, end)
        if cut != -1:
            return cut + len(sep)
    return end
