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
