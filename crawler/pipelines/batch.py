"""The rows of one store transaction, written with one executemany statement per table."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crawler import ledger
from crawler.discovery import ANCHOR_SAMPLE_CHARS, VenueState, links_upsert
from storage.models import LedgerEntry, Page, Post

logger = logging.getLogger(__name__)

_FINISH_COLUMNS = ("state", "lease_owner", "lease_expires_at", "last_error", "fetched_at",
                   "next_fetch_at", "run_id")


class Batch:
    """Rows of one transaction. ``venues`` and ``queued`` are the store step's memos across
    batches (venue states by key, URL fingerprints already queued), shared with the steps."""

    def __init__(self, run_id: int, venues: dict[str, VenueState], queued: set[str]) -> None:
        self.run_id = run_id
        self.venues = venues
        self.queued = queued
        self.pages: dict[int, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.links: dict[tuple[int, int], dict[str, Any]] = {}
        self.queue: list[dict[str, Any]] = []  # ledger rows of newly found URLs
        self.finished: dict[str, dict[str, Any]] = {}
        self.touched: set[int] = set()
        self._checked = 0

    @property
    def post_ids(self) -> list[int]:
        return [row["id"] for row in self.posts.values()]

    def unchecked_queue(self) -> list[dict[str, Any]]:
        """Queue rows added since the last call (the trap check looks at each row once)."""
        rows = self.queue[self._checked:]
        self._checked = len(self.queue)
        return rows

    def add_links(self, src: int, page_url: str, evidence: dict[int, tuple[int, str]],
                  now: datetime) -> None:
        for dst, (count, anchor) in evidence.items():
            if dst == src:
                continue
            row = self.links.get((src, dst))
            if row is None:
                self.links[(src, dst)] = {
                    "src_venue_id": src, "dst_venue_id": dst, "count": count,
                    "anchor_text": anchor[:ANCHOR_SAMPLE_CHARS] or None,
                    "example_url": page_url, "first_seen_at": now, "last_seen_at": now}
            else:
                row["count"] += count

    def finish(self, url_fp: str, state: str, *, http_status: int | None, error: str | None,
               next_fetch_at: datetime | None, run_id: int, now: datetime,
               etag: str | None = None, last_modified: str | None = None) -> None:
        self.finished[url_fp] = {
            "url_fp": url_fp, "state": state, "lease_owner": None, "lease_expires_at": None,
            "last_error": error, "fetched_at": now, "next_fetch_at": next_fetch_at,
            "http_status": http_status, "run_id": run_id, "etag": etag,
            "last_modified": last_modified}

    def write(self, session: Session) -> None:
        if self.queue:
            ledger.enqueue_many(session, self.queue)
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        if self.pages:
            table = Page.__table__
            stmt = insert(table)
            stmt = stmt.on_conflict_do_update(index_elements=["url_fp"], set_={
                c: stmt.excluded[c] for c in ("url", "venue_id", "kind", "http_status",
                                              "content_type", "content_hash", "etag",
                                              "last_modified", "title", "fetched_at", "run_id")})
            session.execute(stmt, list(self.pages.values()))
        if self.posts:
            session.execute(_posts_upsert(insert), list(self.posts.values()))
        if self.links:
            session.execute(links_upsert(insert), list(self.links.values()))
        if self.finished:
            table = LedgerEntry.__table__
            # Keep validators a failure does not carry (a 304 or an error keeps the old ETag).
            stmt = (update(table).where(table.c.url_fp == bindparam("b_fp"))
                    .values({c: bindparam(f"b_{c}") for c in _FINISH_COLUMNS}
                            | {"etag": func.coalesce(bindparam("b_etag"), table.c.etag),
                               "last_modified": func.coalesce(bindparam("b_last_modified"),
                                                              table.c.last_modified),
                               "http_status": func.coalesce(bindparam("b_http_status"),
                                                            table.c.http_status)}))
            params = [{"b_fp": r["url_fp"], **{f"b_{k}": v for k, v in r.items()
                                               if k != "url_fp"}}
                      for r in self.finished.values()]
            session.connection().execute(stmt, params)


def _posts_upsert(insert):
    table = Post.__table__
    stmt = insert(table)
    longer = func.length(func.coalesce(stmt.excluded.text, "")) > func.length(
        func.coalesce(table.c.text, ""))
    return stmt.on_conflict_do_update(index_elements=["post_fp"], set_={
        # Feeds often carry a summary and the HTML the full text: keep the longer one.
        "text": case((longer, stmt.excluded.text), else_=table.c.text),
        "title": func.coalesce(table.c.title, stmt.excluded.title),
        "published_at": func.coalesce(table.c.published_at, stmt.excluded.published_at),
        "author_key": func.coalesce(table.c.author_key, stmt.excluded.author_key),
        "thread": func.coalesce(table.c.thread, stmt.excluded.thread),
        "board": func.coalesce(table.c.board, stmt.excluded.board),
    })
