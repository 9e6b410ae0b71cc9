"""Flag venues whose subject is a special category of personal data (UK GDPR art. 9 / DPA 2018
s.35): faith, health, sexuality, politics, trade unions, ethnicity. Such venues are hidden from
default lists and exports and shown to analysts only with a logged reason.

The rules are deliberately broad (a false flag costs an analyst one click; a missed one exposes
a sensitive group), and they match whole words in the venue's own name and description.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Venue

# category -> words/phrases; matched case-insensitively on word boundaries.
SENSITIVE_TERMS: dict[str, tuple[str, ...]] = {
    "faith": ("church", "chapel", "parish", "mosque", "masjid", "synagogue", "temple",
              "gurdwara", "faith", "prayer", "worship", "congregation", "diocese", "quaker",
              "islamic", "jewish", "christian", "hindu", "sikh", "buddhist"),
    "health": ("mental health", "support group", "recovery", "addiction", "alcoholics",
               "narcotics", "cancer", "hiv", "dementia", "carers", "bereavement", "suicide",
               "eating disorder", "disability", "disabled", "autism", "nhs patients"),
    "sexuality": ("lgbt", "lgbtq", "lgbtq+", "gay", "lesbian", "bisexual", "queer", "trans",
                  "transgender", "pride"),
    "politics": ("labour party", "conservative", "conservatives", "tory", "lib dem",
                 "liberal democrats", "green party", "reform uk", "socialist", "momentum",
                 "constituency", "councillor campaign"),
    "trade union": ("trade union", "unison", "unite union", "gmb union", "union branch"),
    "ethnicity": ("refugee", "asylum", "migrant", "ethnic minority", "roma", "traveller"),
}

_PATTERNS = {
    category: re.compile(r"(?<![\w])(" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")(?![\w])",
                         re.IGNORECASE)
    for category, terms in SENSITIVE_TERMS.items()
}


def classify(*texts: str | None) -> str | None:
    """The reason a venue is sensitive ("faith: mosque"), or None.

    >>> classify("Hanover Residents' Association")
    >>> classify("Brighton LGBTQ+ Social Group")
    'sexuality: lgbtq+'
    """
    joined = " ".join(t for t in texts if t)
    for category, pattern in _PATTERNS.items():
        match = pattern.search(joined)
        if match:
            return f"{category}: {match.group(1).lower()}"
    return None


def flag_sensitive(session: Session) -> int:
    """Set ``venues.sensitive`` from names and descriptions; returns the number flagged.

    A flag set by hand (reason starting with "manual") is never cleared here.
    """
    flagged = 0
    for venue in session.scalars(select(Venue)):
        reason = classify(venue.name, venue.description)
        manual = (venue.sensitive_reason or "").startswith("manual")
        if reason and not manual:
            venue.sensitive, venue.sensitive_reason = True, reason
        elif not reason and venue.sensitive and not manual:
            venue.sensitive, venue.sensitive_reason = False, None
        flagged += bool(venue.sensitive)
    return flagged
