"""Why a request was refused or abandoned: IgnoreRequest subclasses the ledger can classify."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest


class Refused(IgnoreRequest):
    """Base: a request the crawler refused to send. ``state`` is the ledger state to record,
    ``retry_after`` seconds (or None) when it may be tried again."""

    state = "blocked"
    retry_after: float | None = None
    # False: refused before any byte was sent for this URL, so it uses no page budget
    # (the spider gives the lease back to the run's budget).
    fetched = False

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        if retry_after is not None:
            self.retry_after = retry_after


class KnownOnlyRefused(Refused):
    state = "skipped"


class SsrfRefused(Refused):
    pass


class ProfileRefused(Refused):
    """A page about one person (its URL carries a handle): never fetched, never stored."""

    state = "skipped"


class RobotsDisallowed(Refused):
    retry_after = 7 * 24 * 3600.0  # look at robots.txt again on the next weekly revisit


class RobotsUnavailable(Refused):
    retry_after = 3600.0  # fail closed now, try the robots.txt again in an hour


class TooLarge(Refused):
    state = "failed"
    fetched = True  # the response came, and was too large


class RetryLater(Refused):
    state = "failed"
    fetched = True  # the host answered 429/503

