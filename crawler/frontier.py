"""The ledger side of the shared frontier: offers, claims, reaping and hand-back in the database.

In distributed mode a ledger entry moves ``queued → leased by "@frontier:<run>"`` (an *offer*:
its request is in the Redis queue, no worker holds it) ``→ leased by a worker`` (a *claim*,
taken when the worker pops the request) ``→ done | failed | …`` (in the store pipeline's
transaction). Every move is one conditional UPDATE, so two workers can never claim one offer,
a stale or forged queue entry claims nothing, and a dead worker's claims become offers again
(the reaper) — the database, not Redis, is the record of what was fetched.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import Engine, and_, func, or_, select, update

from crawler.ledger import LEASE_SECONDS, Lease, Ledger, _owner_alive
from storage.audit import record
from storage.db import session_scope, utcnow
from storage.models import CrawlRun, LedgerEntry

logger = logging.getLogger(__name__)

# An offer waits in Redis at most this long before the reaper offers it again: far longer
# than the small window of offers takes to drain, short enough that an offer lost with Redis
# data (restart without persistence) comes back within minutes even if nobody notices.
OFFER_SECONDS = 300
OFFER_PREFIX = "@frontier:"  # '@' never starts a host name, so offers never look like workers

_LEASE_COLUMNS = (LedgerEntry.url_fp, LedgerEntry.url, LedgerEntry.host, LedgerEntry.venue_id,
                  LedgerEntry.depth, LedgerEntry.priority, LedgerEntry.attempts,
                  LedgerEntry.etag, LedgerEntry.last_modified)


def offer_owner(run_id: int) -> str:
    """The lease owner that marks an entry as offered in the shared queue of ``run_id``."""
    return f"{OFFER_PREFIX}{run_id}"


def _lease(row) -> Lease:
    return Lease(row.url_fp, row.url, row.host, row.venue_id, row.depth, row.priority,
                 row.attempts, row.etag, row.last_modified)


class LedgerFrontier:
    """Offers and claims of one run for one worker (``owner``), on the ledger table."""

    def __init__(self, engine: Engine, run_id: int, owner: str, *, max_pages: int,
                 max_per_host: int, lease_seconds: int = LEASE_SECONDS,
                 offer_seconds: int = OFFER_SECONDS):
        self.engine = engine
        self.run_id = run_id
        self.owner = owner
        self.offerer = offer_owner(run_id)
        self.max_pages = max_pages
        self.max_per_host = max_per_host
        self.lease_seconds = lease_seconds
        self.offer_seconds = offer_seconds

    # --- offers ---------------------------------------------------------------------------

    def take_offers(self, limit: int, *, host_cap: int) -> list[Lease]:
        """Move up to ``limit`` queued URLs to offered, best first, within the run's budgets."""
        used, held, per_host_used = self._usage()
        room = min(limit, self.max_pages - used - sum(held.values()))
        if room <= 0:
            return []
        exhausted = {h for h, n in per_host_used.items() if n + held.get(h, 0) >= self.max_per_host}
        ledger = Ledger(self.engine, self.offerer, lease_seconds=self.offer_seconds)
        return ledger.lease(room, exclude_hosts=exhausted, per_host=held, host_cap=host_cap)

    def _usage(self) -> tuple[int, Counter[str], dict[str, int]]:
        """Pages finished in this run, leased URLs per host (all owners), finished per host."""
        with session_scope(self.engine) as session:
            finished = dict(session.execute(
                select(LedgerEntry.host, func.count())
                .where(LedgerEntry.run_id == self.run_id,
                       LedgerEntry.state.in_(("done", "failed")))
                .group_by(LedgerEntry.host)).all())
            held = Counter({host or "": n for host, n in session.execute(
                select(LedgerEntry.host, func.count())
                .where(LedgerEntry.state == "leased").group_by(LedgerEntry.host))})
        per_host = {host or "": n for host, n in finished.items()}
        return sum(per_host.values()), held, per_host

    # --- claims ---------------------------------------------------------------------------

    def claim(self, url_fps: Iterable[str]) -> list[Lease]:
        """Take the offers among ``url_fps`` for this worker; anything else claims nothing."""
        fps = sorted(set(url_fps))
        if not fps:
            return []
        expires = utcnow() + timedelta(seconds=self.lease_seconds)
        with session_scope(self.engine) as session:
            rows = session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.url_fp.in_(fps), LedgerEntry.state == "leased",
                       LedgerEntry.lease_owner == self.offerer)
                .values(lease_owner=self.owner, lease_expires_at=expires)
                .returning(*_LEASE_COLUMNS)).all()
        return [_lease(r) for r in rows]

    def hand_back(self) -> list[Lease]:
        """This worker's unfinished claims become offers again (graceful stop)."""
        return self._reoffer(LedgerEntry.lease_owner == self.owner)

    # --- reaping --------------------------------------------------------------------------

    def reap(self) -> list[Lease]:
        """Offer again what a dead worker held: expired leases, and leases of dead local
        processes (recognised at once; other machines' only by expiry)."""
        now = utcnow()
        with session_scope(self.engine) as session:
            owners = session.execute(select(LedgerEntry.lease_owner).distinct()
                                     .where(LedgerEntry.state == "leased")).scalars().all()
        dead = [o for o in owners if o and not o.startswith(OFFER_PREFIX) and o != self.owner
                and not _owner_alive(o)]
        condition = LedgerEntry.lease_expires_at < now
        if dead:
            condition = or_(condition, LedgerEntry.lease_owner.in_(dead))
        leases = self._reoffer(condition)
        if leases:
            logger.info("re-offering %d URLs whose worker died or whose lease expired",
                        len(leases))
        return leases

    def open_offers(self, older_than: float) -> list[Lease]:
        """Offers made more than ``older_than`` seconds ago (read only)."""
        made_before = utcnow() + timedelta(seconds=self.offer_seconds - older_than)
        with session_scope(self.engine) as session:
            rows = session.execute(select(*_LEASE_COLUMNS).where(
                LedgerEntry.state == "leased", LedgerEntry.lease_owner == self.offerer,
                LedgerEntry.lease_expires_at < made_before)).all()
        return [_lease(r) for r in rows]

    def current_offers(self) -> list[Lease]:
        """Every open offer of this run, with a fresh expiry (to re-push after Redis lost it)."""
        return self._reoffer(LedgerEntry.lease_owner == self.offerer)

    def _reoffer(self, condition) -> list[Lease]:
        expires = utcnow() + timedelta(seconds=self.offer_seconds)
        with session_scope(self.engine) as session:
            rows = session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.state == "leased", condition)
                .values(lease_owner=self.offerer, lease_expires_at=expires)
                .returning(*_LEASE_COLUMNS)).all()
        return [_lease(r) for r in rows]

    # --- progress -------------------------------------------------------------------------

    def outstanding(self) -> dict[str, int]:
        """Leased entries (offered or claimed, any run) and queued entries due now."""
        now = utcnow()
        with session_scope(self.engine) as session:
            leased = session.execute(select(func.count()).select_from(LedgerEntry)
                                     .where(LedgerEntry.state == "leased")).scalar_one()
            due = session.execute(select(func.count()).select_from(LedgerEntry).where(
                LedgerEntry.state == "queued",
                or_(LedgerEntry.next_fetch_at.is_(None), LedgerEntry.next_fetch_at <= now))
            ).scalar_one()
        return {"leased": leased, "queued_due": due}

    def mark_finished(self, actor: str, stats: dict | None = None) -> bool:
        """Record the run as finished (once, whichever worker sees the frontier drained)."""
        with session_scope(self.engine) as session:
            changed = session.execute(
                update(CrawlRun).where(and_(CrawlRun.id == self.run_id,
                                            CrawlRun.status == "running"))
                .values(status="finished", finished_at=utcnow())).rowcount
            if changed:
                run = session.get(CrawlRun, self.run_id)
                record(session, actor=actor, action="crawl.finish", object_type="crawl_run",
                       object_id=self.run_id, reason=run.purpose if run else None,
                       detail={"status": "finished", "mode": "distributed", **(stats or {})})
        return bool(changed)
