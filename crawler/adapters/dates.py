"""Turn the many ways engines write a date into a timezone-aware UTC datetime."""

# Machine-readable forms (ISO 8601, RFC 2822, Unix epochs, feedparser's UTC tuples) are exact.
# Human-readable forms that forums print ("March 04, 2024, 07:12:33 PM", "Today at 7:12 PM",
# "3 hours ago") carry no offset: they are read in the board's display timezone. Guests see
# the board default, which phpBB, vBulletin, MyBB and SMF all ship as UTC/GMT; a board whose
# admins chose Europe/London gets a site adapter with ``display_tz`` set (docs/adapters.md).

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil import parser as dateutil_parser

logger = logging.getLogger(__name__)

# The engines' shipped default for the time shown to guests (phpBB board_timezone "UTC",
# vBulletin and MyBB GMT, SMF server time, usually UTC). Sites set otherwise override it.
DISPLAY_TZ = "UTC"
# Dates outside this window are parse accidents (a phone number read as a year, a 1970 epoch
# from a zero timestamp). The web of local groups starts in the mid-1990s.
EARLIEST_YEAR = 1995
# Allowance for clock skew and timezone slips on "future" dates.
FUTURE_SLACK = timedelta(days=2)
# Strings longer than this are not dates (a whole paragraph passed by mistake).
MAX_DATE_CHARS = 120

_EPOCH = re.compile(r"^\d{9,13}(?:\.\d+)?$")
_RELATIVE = re.compile(
    r"(?P<n>\d+|an?|one)\s*(?P<unit>sec|second|min|minute|hr|hour|day|week|month|year)s?\s+ago",
    re.I)
_DAYWORD = re.compile(r"\b(today|yesterday)\b", re.I)
_CLOCK = re.compile(r"(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?\s*([ap]\.?m\.?)?", re.I)
# Noise forums put around dates ("« Reply #3 on:", "Posted:", "»", "Last edit:").
_NOISE = re.compile(r"«|»|\bReply\s*#\d+\b|#\d+|\b(?:posted|on|at|by|last edit)\s*:?", re.I)
_HAS_YEAR = re.compile(r"\b(?:19|20)\d{2}\b|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b")
_UNIT_SECONDS = {"sec": 1, "second": 1, "min": 60, "minute": 60, "hr": 3600, "hour": 3600,
                 "day": 86400, "week": 604800, "month": 2_592_000, "year": 31_536_000}


@lru_cache(maxsize=32)
def zone(name: str) -> tzinfo:
    """A tzinfo by IANA name (UTC for "UTC")."""
    return UTC if name.upper() == "UTC" else ZoneInfo(name)


def to_utc(value: datetime, tz: tzinfo = UTC) -> datetime:
    """Aware UTC; a naive value is taken to be in ``tz``.

    >>> to_utc(datetime(2024, 7, 1, 12, 0), zone("Europe/London")).isoformat()
    '2024-07-01T11:00:00+00:00'
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def parse_date(value: object, *, tz: tzinfo | str = UTC, now: datetime | None = None,
               dayfirst: bool = False) -> datetime | None:
    """Parse ``value`` into an aware UTC datetime, or None when it is not a plausible date.

    ``tz`` is the zone of values that carry no offset; ``now`` anchors relative dates.

    >>> parse_date("2024-03-04T19:12:00Z").isoformat()
    '2024-03-04T19:12:00+00:00'
    >>> parse_date("Mon, 04 Mar 2024 19:12:00 +0000").isoformat()
    '2024-03-04T19:12:00+00:00'
    >>> parse_date(1709579520).isoformat()
    '2024-03-04T19:12:00+00:00'
    >>> parse_date("« Reply #2 on: March 04, 2024, 07:12:33 PM »").isoformat()
    '2024-03-04T19:12:33+00:00'
    >>> parse_date("3 hours ago", now=datetime(2024, 3, 4, 12, tzinfo=UTC)).isoformat()
    '2024-03-04T09:00:00+00:00'
    >>> parse_date("4 July 2024", tz="Europe/London").isoformat()
    '2024-07-04T00:00:00+00:00'
    >>> parse_date("not a date") is None
    True
    """
    zone_ = zone(tz) if isinstance(tz, str) else tz
    try:
        parsed = _parse(value, zone_, now, dayfirst)
    except (ValueError, TypeError, OverflowError, OSError, LookupError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None and isinstance(value, str) and not _CLOCK.search(value):
        # A bare day ("4 March 2024", "2024-03-04") names a calendar day, not an instant:
        # keep that day at 00:00 UTC rather than shifting it into the previous evening.
        parsed = parsed.replace(tzinfo=UTC)
    parsed = to_utc(parsed, zone_)
    return parsed if _plausible(parsed, now) else None


def _parse(value: object, tz: tzinfo, now: datetime | None, dayfirst: bool) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, time.struct_time):  # feedparser's *_parsed tuples are UTC
        return datetime(*value[:6], tzinfo=UTC)
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if not text or len(text) > MAX_DATE_CHARS:
        return None
    if _EPOCH.match(text):
        return _from_epoch(float(text))
    return (_iso(text) or _rfc2822(text) or _relative(text, tz, now)
            or _free_text(text, dayfirst))


def _from_epoch(seconds: float) -> datetime:
    if seconds > 1e11:  # milliseconds
        seconds /= 1000.0
    return datetime.fromtimestamp(seconds, tz=UTC)


def _iso(text: str) -> datetime | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    candidate = text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", text) else text
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _rfc2822(text: str) -> datetime | None:
    if not re.match(r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d", text):
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _relative(text: str, tz: tzinfo, now: datetime | None) -> datetime | None:
    """'3 hours ago', 'Today at 7:12 PM', 'Yesterday, 19:12' against ``now``."""
    anchor = to_utc(now) if now is not None else datetime.now(UTC)
    lowered = text.lower()
    if "just now" in lowered or lowered in ("now", "a moment ago"):
        return anchor
    match = _RELATIVE.search(text)
    if match:
        raw = match.group("n").lower()
        n = 1 if raw in ("a", "an", "one") else int(raw)
        return anchor - timedelta(seconds=n * _UNIT_SECONDS[match.group("unit").lower()])
    day = _DAYWORD.search(text)
    if not day:
        return None
    local = anchor.astimezone(tz)
    if day.group(1).lower() == "yesterday":
        local -= timedelta(days=1)
    clock = _CLOCK.search(text)
    hour = minute = second = 0
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        second = int(clock.group(3) or 0)
        meridiem = (clock.group(4) or "").lower().replace(".", "")
        if meridiem == "pm" and hour < 12:
            hour += 12
        elif meridiem == "am" and hour == 12:
            hour = 0
    return local.replace(hour=hour, minute=minute, second=second, microsecond=0)


def _free_text(text: str, dayfirst: bool) -> datetime | None:
    cleaned = " ".join(_NOISE.sub(" ", text).split()).strip(" ,-|")
    if not _HAS_YEAR.search(cleaned):  # "1.2k", "#12", "page 3" are not dates
        return None
    # A day-only default would turn "March 2024" into the 1st silently; that is acceptable
    # for activity, and better than nothing.
    default = datetime(2000, 1, 1)
    return dateutil_parser.parse(cleaned, fuzzy=True, dayfirst=dayfirst, default=default)


def _plausible(value: datetime, now: datetime | None) -> bool:
    anchor = to_utc(now) if now is not None else datetime.now(UTC)
    return value.year >= EARLIEST_YEAR and value <= anchor + FUTURE_SLACK
