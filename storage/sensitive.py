"""Flag venues whose subject is a special category of personal data (UK GDPR art. 9 / DPA 2018
s.35): beliefs, health, sexuality, politics, trade unions, ethnicity — and the groups the project
treats the same way (refugees, victims' support, addiction recovery, children's groups where
sensitive). Such venues are hidden from default lists and exports and shown to analysts only
with a logged reason.

The rules are data (``storage/data/sensitive_terms.json``) and deliberately broad: a false flag
costs an analyst one click, a missed one exposes a sensitive group. They match whole words,
with a trailing plural, in the venue's own name, description and topics.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Post, PostTopic, Topic, Venue

TERMS_FILE = Path(__file__).resolve().parent / "data" / "sensitive_terms.json"
# A term also matches with these endings ("church" → "churches", "refugee" → "refugees").
PLURAL = r"(?:s|es|'s)?"


@lru_cache(maxsize=1)
def categories() -> dict[str, dict]:
    """The categories of ``sensitive_terms.json``: key → {label, basis, terms}."""
    return json.loads(TERMS_FILE.read_text(encoding="utf-8"))["categories"]


def _term_pattern(term: str) -> str:
    # "lgbtq+" ends in a non-word character, so no plural and no word boundary after it.
    body = re.escape(term.lower())
    return body if not term[-1].isalnum() else body + PLURAL + r"(?![\w])"


@lru_cache(maxsize=1)
def _patterns() -> dict[str, re.Pattern[str]]:
    out = {}
    for key, category in categories().items():
        terms = sorted(category["terms"], key=len, reverse=True)
        out[key] = re.compile(r"(?<![\w])(" + "|".join(_term_pattern(t) for t in terms) + ")",
                              re.IGNORECASE)
    return out


def classify(*texts: str | None) -> str | None:
    """The reason a venue is sensitive ("faith: mosque"), or None.

    >>> classify("Hanover Residents' Association")
    >>> classify("Brighton LGBTQ+ Social Group")
    'sexuality: lgbtq+'
    >>> classify("Brighton and Hove Interfaith Forum")
    'faith: interfaith'
    >>> classify("Churches Together in Hove")
    'faith: churches'
    >>> classify("Transport for Brighton users")
    """
    joined = " ".join(t for t in texts if t)
    for key, pattern in _patterns().items():
        match = pattern.search(joined)
        if match:
            return f"{key}: {match.group(1).lower()}"
    return None


def venue_topic_labels(session: Session) -> dict[int, list[str]]:
    """Labels of the topics each venue's posts are tagged with, by venue id (one query)."""
    labels: dict[int, list[str]] = {}
    rows = session.execute(
        select(Post.venue_id, Topic.label).distinct()
        .join(PostTopic, PostTopic.post_id == Post.id)
        .join(Topic, Topic.key == PostTopic.topic))
    for venue_id, label in rows:
        labels.setdefault(venue_id, []).append(label)
    return labels


def classify_venue(name: str | None, description: str | None,
                   topics: Iterable[str] = ()) -> str | None:
    """:func:`classify` over what a venue says of itself and what it talks about."""
    return classify(name, description, " ; ".join(topics))


def flag_sensitive(session: Session) -> int:
    """Set ``venues.sensitive`` from names, descriptions and topics; returns the number flagged.

    A flag set by hand (reason starting with "manual") is never cleared here.
    """
    flagged = 0
    topics = venue_topic_labels(session)
    for venue in session.scalars(select(Venue)):
        reason = classify_venue(venue.name, venue.description, topics.get(venue.id, ()))
        manual = (venue.sensitive_reason or "").startswith("manual")
        if reason and not manual:
            venue.sensitive, venue.sensitive_reason = True, reason
        elif not reason and venue.sensitive and not manual:
            venue.sensitive, venue.sensitive_reason = False, None
        flagged += bool(venue.sensitive)
    return flagged
