"""Author handles → keyed pseudonyms (HMAC-SHA256), so a clear handle is never stored.

The key comes from the ``pseudonym_key`` setting or is generated once into the ``meta``
table. Each key belongs to a *period* (``pseudonym_period``); rotating the key starts a new
period, after which the same handle gets a different pseudonym and old ones cannot be linked
to new ones without both keys.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import upsert, utcnow
from storage.models import Meta

logger = logging.getLogger(__name__)

KEY_BYTES = 32
# 16 bytes of HMAC-SHA256 = 128 bits: collisions are negligible for any number of authors,
# and the pseudonym stays short enough to show in tables.
DIGEST_BYTES = 16
META_KEY = "pseudonym_key"
META_PERIOD = "pseudonym_period"
DEFAULT_PERIOD = "p1"


class Pseudonymiser:
    """Keyed hash of author handles.

    >>> p = Pseudonymiser(b"k" * 32, "2026a")
    >>> p.key_for("Alice") == p.key_for(" alice ")
    True
    >>> p.key_for("Alice").startswith("2026a:")
    True
    >>> Pseudonymiser(b"other" * 8, "2026b").key_for("Alice") != p.key_for("Alice")
    True
    """

    def __init__(self, key: bytes | str, period: str = DEFAULT_PERIOD):
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if len(raw) < 16:
            raise ValueError("pseudonym key must be at least 16 bytes")
        self._key = raw
        self.period = period or DEFAULT_PERIOD

    def __repr__(self) -> str:  # never show the key
        return f"Pseudonymiser(period={self.period!r})"

    def key_for(self, handle: str) -> str:
        """The pseudonym of ``handle`` in this key period ("<period>:<32 hex>")."""
        norm = unicodedata.normalize("NFKC", handle).strip().casefold()
        digest = hmac.new(self._key, norm.encode("utf-8"), hashlib.sha256).digest()
        return f"{self.period}:{digest[:DIGEST_BYTES].hex()}"

    def maybe(self, handle: str | None) -> str | None:
        return self.key_for(handle) if handle and handle.strip() else None


def load_pseudonymiser(session: Session, key: str = "", period: str = "") -> Pseudonymiser:
    """The pseudonymiser for this database: the configured key, else the stored one, else a
    new random key written into ``meta`` (in the caller's transaction)."""
    stored = dict(session.execute(
        select(Meta.key, Meta.value).where(Meta.key.in_([META_KEY, META_PERIOD]))).all())
    if key:
        return Pseudonymiser(key, period or stored.get(META_PERIOD, DEFAULT_PERIOD))
    if META_KEY in stored:
        return Pseudonymiser(bytes.fromhex(stored[META_KEY]),
                             period or stored.get(META_PERIOD, DEFAULT_PERIOD))
    new_key = secrets.token_bytes(KEY_BYTES)
    period = period or DEFAULT_PERIOD
    now = utcnow()
    upsert(session, Meta, [{"key": META_KEY, "value": new_key.hex(), "updated_at": now},
                           {"key": META_PERIOD, "value": period, "updated_at": now}],
           keys=["key"])
    # Another process may have won the race: use whatever the table now holds.
    stored_key = session.execute(select(Meta.value).where(Meta.key == META_KEY)).scalar_one()
    logger.info("generated a new pseudonym key (period %s) into the meta table", period)
    return Pseudonymiser(bytes.fromhex(stored_key), period)


def rotate_key(session: Session, period: str) -> Pseudonymiser:
    """Replace the stored key with a new random one labelled ``period``."""
    new_key = secrets.token_bytes(KEY_BYTES)
    now = utcnow()
    upsert(session, Meta, [{"key": META_KEY, "value": new_key.hex(), "updated_at": now},
                           {"key": META_PERIOD, "value": period, "updated_at": now}],
           keys=["key"], update=["value", "updated_at"])
    return Pseudonymiser(new_key, period)
