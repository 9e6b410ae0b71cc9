"""Primary keys that every database and every worker agree on without a sequence.

beatmap keeps one DDL (``schema.sql``) for SQLite and PostgreSQL. The two engines share no
auto-increment syntax, so ids are made by the application instead:

* :func:`stable_id` hashes a natural key (a URL fingerprint, a venue key, a beat key) to a
  positive 63-bit integer. The same thing gets the same id in every process, so upserts are
  idempotent and two crawler workers cannot create two rows for one page.
* :func:`new_id` makes a time-ordered id for events (audit entries, outreach notes, runs):
  milliseconds since the epoch in the high bits, randomness below, so ``ORDER BY id`` is
  chronological to the millisecond.
"""

from __future__ import annotations

import hashlib
import secrets
import time

_MASK63 = (1 << 63) - 1
# 22 random bits under a 41-bit millisecond clock: ~4 million ids per millisecond before a
# collision becomes plausible, and the clock part lasts until the year 2039 + 69.
_RANDOM_BITS = 22


def stable_id(*parts: object) -> int:
    """Return a positive 63-bit id derived from ``parts``.

    >>> stable_id("venue", "example.org") == stable_id("venue", "example.org")
    True
    >>> 0 < stable_id("x") < 2**63
    True
    """
    text = "\x1f".join(str(p) for p in parts)
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "big") & _MASK63
    return value or 1


def new_id() -> int:
    """Return a new, time-ordered positive 63-bit id."""
    millis = time.time_ns() // 1_000_000
    return ((millis << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)) & _MASK63


def fingerprint(text: str) -> str:
    """Hex SHA-1 of ``text``: the fingerprint used for URLs and post identities."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
