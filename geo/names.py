"""Name normalisation shared by the gazetteer, the resolver and the tagger."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u02bc": "'"})
_SAINT = re.compile(r"\b(st|st\.|saint)\s+", re.I)
_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalise(name: str) -> str:
    """Fold case, accents, apostrophes, "St"/"Saint", hyphens and a leading "the".

    >>> normalise("St. Ann's Well Gardens") == normalise("Saint Anns Well Gardens")
    True
    >>> normalise("The Level")
    'level'
    >>> normalise("Kemp-Town")
    'kemp town'
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = text.translate(_APOSTROPHES).lower().strip()
    text = _SAINT.sub("saint ", text)
    text = text.replace("'", "")
    text = _NON_WORD.sub(" ", text).strip()
    if text.startswith("the "):
        text = text[4:]
    return text
