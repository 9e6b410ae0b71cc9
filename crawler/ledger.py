"""The crawl ledger: the database record of every URL the crawler means to fetch.

Each URL moves ``queued → leased (owner, expiry) → done | failed | skipped | blocked``. A
worker leases a batch, fetches, and marks each entry finished in the same transaction that
stores the page and its posts, so a worker killed at any moment loses nothing: its leases
expire (or are reclaimed at once when the owner's process is gone) and the URLs are fetched
again, and stable ids mean nothing is stored twice. The ledger, not the in-memory Scrapy
queue (or a Redis one), is the record of what was fetched.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.db import session_scope, upsert, utcnow
from storage.models import LedgerEntry

logger = logging.getLogger(__name__)

# Long enough for a leased URL to wait behind a slow host's Crawl-delay; leases of a live
# worker are renewed every LEASE_RENEW_SECONDS, so only dead workers' leases ever expire.
LEASE_SECONDS = 600
LEASE_RENEW_SECONDS = 60
# A URL that failed this many times is left failed until an operator requeues it.
MAX_ATTEMPTS = 4
# Back-off before a failed or blocked URL is tried again (doubles per attempt).
RETRY_BASE = timedelta(minutes=30)
# How many candidates to read per leased entry, so the per-host caps can still fill a batch.
LEASE_OVERSAMPLE = 4
FINISHED_STATES = ("done", "failed", "skipped", "blocked")


@dataclass(frozen=True)
class Lease:
    url_fp: str
    url: str
    host: str | None
    venue_id: int | None
    depth: int
    priority: float
    attempts: int
    etag: str | None
    last_modified: str | None


def make_owner(run_id: int) -> str:
    """Lease owner name: host, process id, run and the process's start time (clock ticks since
    boot, from /proc), so a dead local owner is recognised at once, even when its pid has
    been given to another process since."""
    start = _process_start(os.getpid())
    suffix = f":{start[1]}" if start is not None else ""
    return f"{socket.gethostname()}:{os.getpid()}:{run_id}{suffix}"


def _process_start(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a local process from /proc/<pid>/stat; None when there is no
    such process or no /proc to read."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    # "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")"
    fields = stat.rpartition(")")[2].split()
    if len(fields) < 20:
        return None
    return fields[0], fields[19]  # field 3 (state) and field 22 (starttime)


def _owner_alive(owner: str) -> bool:
    """Is the local worker that holds these leases still running? Another machine's workers
    count as alive (only lease expiry can tell). A zombie (killed, not yet reaped by its new
    parent: after a SIGKILL of the whole process group that can take a while) is dead, and so
    is a pid now used by a process that started at another time."""
    parts = owner.split(":")
    if parts[0] != socket.gethostname():
        return True
    if len(parts) < 2 or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if os.path.isdir("/proc/self"):
        found = _process_start(pid)
        if found is None:
            return False
        state, start = found
        if state in ("Z", "X", "x"):
            return False
        return not (len(parts) >= 4 and parts[3] and parts[3] != start)
    try:  # no /proc (not Linux): signal 0 tells whether the pid exists
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def entry_row(url: str, url_fp: str, host: str, *, venue_id: int | None, depth: int,
              priority: float, run_id: int | None, state: str = "queued",
              last_error: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    return {"url_fp": url_fp, "url": url, "host": host, "venue_id": venue_id, "state": state,
            "attempts": 0, "depth": depth, "priority": priority,
            "discovered_at": now or utcnow(), "run_id": run_id, "last_error": last_error}


def enqueue(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Add URLs to the ledger; a URL already there keeps its state (idempotent)."""
    upsert(session, LedgerEntry, list(rows), keys=["url_fp"])


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """:func:`enqueue` as one executemany statement (the store pipeline's batches)."""
    if not rows:
        return
    unique = list({r["url_fp"]: r for r in rows}.values())
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(LedgerEntry.__table__).on_conflict_do_nothing(index_elements=["url_fp"])
    session.execute(stmt, unique)


def finish(session: Session, url_fp: str, state: str, *, http_status: int | None = None,
           error: str | None = None, etag: str | None = None, last_modified: str | None = None,
           next_fetch_at: datetime | None = None, run_id: int | None = None) -> None:
    """Record how a leased URL ended (in the caller's transaction)."""
    values: dict[str, Any] = {"state": state, "lease_owner": None, "lease_expires_at": None,
                              "last_error": error, "fetched_at": utcnow(),
                              "next_fetch_at": next_fetch_at}
    if http_status is not None:
        values["http_status"] = http_status
    if etag is not None:
        values["etag"] = etag
    if last_modified is not None:
        values["last_modified"] = last_modified
    if run_id is not None:
        values["run_id"] = run_id
    session.execute(update(LedgerEntry).where(LedgerEntry.url_fp == url_fp).values(**values))


def retry_at(attempts: int) -> datetime:
    """When a URL that failed ``attempts`` times may be tried again."""
    return utcnow() + RETRY_BASE * (2 ** max(0, attempts - 1))


class Ledger:
    """Leasing on top of the ``crawl_ledger`` table for one worker (``owner``)."""

    def __init__(self, engine: Engine, owner: str, *, lease_seconds: int = LEASE_SECONDS):
        self.engine = engine
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._postgres = engine.dialect.name == "postgresql"

    def reclaim(self) -> int:
        """Return expired leases and those of dead local workers to the queue."""
        now = utcnow()
        with session_scope(self.engine) as session:
            expired = session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.state == "leased", LedgerEntry.lease_expires_at < now)
                .values(state="queued", lease_owner=None, lease_expires_at=None)).rowcount
            owners = session.execute(select(LedgerEntry.lease_owner).distinct()
                                     .where(LedgerEntry.state == "leased")).scalars().all()
            dead = [o for o in owners if o and o != self.owner and not _owner_alive(o)]
            orphaned = 0
            if dead:
                orphaned = session.execute(
                    update(LedgerEntry)
                    .where(LedgerEntry.state == "leased", LedgerEntry.lease_owner.in_(dead))
                    .values(state="queued", lease_owner=None, lease_expires_at=None)).rowcount
        if expired or orphaned:
            logger.info("reclaimed %d expired and %d orphaned leases", expired, orphaned)
        return (expired or 0) + (orphaned or 0)

    def renew(self) -> None:
        """Push this worker's lease expiry forward (a heartbeat)."""
        with session_scope(self.engine) as session:
            session.execute(update(LedgerEntry)
                            .where(LedgerEntry.state == "leased",
                                   LedgerEntry.lease_owner == self.owner)
                            .values(lease_expires_at=utcnow()
                                    + timedelta(seconds=self.lease_seconds)))

    def release(self) -> int:
        """Give this worker's unfinished leases back (graceful stop)."""
        with session_scope(self.engine) as session:
            return session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.state == "leased", LedgerEntry.lease_owner == self.owner)
                .values(state="queued", lease_owner=None, lease_expires_at=None,
                        attempts=func.max(LedgerEntry.attempts - 1, 0)
                        if not self._postgres else func.greatest(LedgerEntry.attempts - 1, 0))
            ).rowcount or 0

    def lease(self, limit: int, *, exclude_hosts: Iterable[str] = (),
              per_host: dict[str, int] | None = None, host_cap: int = 8) -> list[Lease]:
        """Lease up to ``limit`` queued URLs, most promising first, at most ``host_cap`` per
        host counting ``per_host`` (URLs of that host this worker already holds)."""
        if limit <= 0:
            return []
        now = utcnow()
        held = dict(per_host or {})
        excluded = set(exclude_hosts)
        with session_scope(self.engine) as session:
            query = (select(LedgerEntry.url_fp, LedgerEntry.host)
                     .where(LedgerEntry.state == "queued",
                            or_(LedgerEntry.next_fetch_at.is_(None),
                                LedgerEntry.next_fetch_at <= now))
                     .order_by(LedgerEntry.priority.desc(), LedgerEntry.depth,
                               LedgerEntry.discovered_at)
                     .limit(limit * LEASE_OVERSAMPLE))
            if excluded:
                query = query.where(or_(LedgerEntry.host.is_(None),
                                        LedgerEntry.host.not_in(sorted(excluded))))
            if self._postgres:
                query = query.with_for_update(skip_locked=True)
            chosen: list[str] = []
            for fp, host in session.execute(query):
                if held.get(host or "", 0) >= host_cap:
                    continue
                held[host or ""] = held.get(host or "", 0) + 1
                chosen.append(fp)
                if len(chosen) >= limit:
                    break
            if not chosen:
                return []
            expires = now + timedelta(seconds=self.lease_seconds)
            # The state condition makes the claim safe against another worker on SQLite too.
            session.execute(update(LedgerEntry)
                            .where(LedgerEntry.url_fp.in_(chosen), LedgerEntry.state == "queued")
                            .values(state="leased", lease_owner=self.owner,
                                    lease_expires_at=expires,
                                    attempts=LedgerEntry.attempts + 1))
            rows = session.execute(
                select(LedgerEntry).where(LedgerEntry.url_fp.in_(chosen),
                                          LedgerEntry.lease_owner == self.owner,
                                          LedgerEntry.state == "leased")).scalars().all()
            leases = [Lease(r.url_fp, r.url, r.host, r.venue_id, r.depth, r.priority,
                            r.attempts, r.etag, r.last_modified) for r in rows]
        leases.sort(key=lambda x: -x.priority)
        return leases

    def requeue_due(self, *, max_attempts: int = MAX_ATTEMPTS) -> int:
        """Queue again what is due: revisits of done pages, and failed/blocked URLs whose
        back-off has passed (fewer than ``max_attempts`` tries)."""
        now = utcnow()
        with session_scope(self.engine) as session:
            return session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.next_fetch_at <= now,
                       or_(LedgerEntry.state == "done",
                           and_(LedgerEntry.state.in_(("failed", "blocked")),
                                LedgerEntry.attempts < max_attempts)))
                .values(state="queued")).rowcount or 0

    def counts(self, run_id: int | None = None) -> dict[str, int]:
        with session_scope(self.engine) as session:
            query = select(LedgerEntry.state, func.count()).group_by(LedgerEntry.state)
            if run_id is not None:
                query = query.where(LedgerEntry.run_id == run_id)
            return {state: n for state, n in session.execute(query)}

    def host_counts(self, run_id: int) -> dict[str, int]:
        """Pages each host has used of its budget in ``run_id`` (for resumed runs)."""
        with session_scope(self.engine) as session:
            rows = session.execute(
                select(LedgerEntry.host, func.count())
                .where(LedgerEntry.run_id == run_id,
                       LedgerEntry.state.in_(("done", "failed")))
                .group_by(LedgerEntry.host))
            return {host or "": n for host, n in rows}
