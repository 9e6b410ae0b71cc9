"""Why a request was refused or abandoned: IgnoreRequest subclasses the ledger can classify."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest


class Refused(IgnoreRequest):
    """Base: a request the crawler refused to send. ``state`` is the ledger state to record,
    ``retry_after`` seconds (or None) when it may be tried again."""

    state = "blocked"
    retry_after: float | None = None

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        if retry_after is not None:
            self.retry_after = retry_after


class KnownOnlyRefused(Refused):
    state = "skipped"


class SsrfRefused(Refused):
    pass


class RobotsDisallowed(Refused):
    retry_after = 7 * 24 * 3600.0  # look at robots.txt again on the next weekly revisit


class RobotsUnavailable(Refused):
    retry_after = 3600.0  # fail closed now, try the robots.txt again in an hour


class TooLarge(Refused):
    state = "failed"


class RetryLater(Refused):
    state = "failed"

