"""The rows of one store transaction, written with one executemany statement per table."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, update
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

    def add_post(self, row: dict[str, Any]) -> None:
        """Add a post's row; a post already in the batch (the same post from another channel
        or page) is merged by the rules the database upsert applies (:func:`merge_post`), so
        the row stored does not depend on which copy arrived first."""
        old = self.posts.get(row["post_fp"])
        if old is None:
            self.posts[row["post_fp"]] = row
        else:
            merge_post(old, row)

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


# Columns a later copy of a post fills when the stored copy has none (first value stays).
POST_FILL_COLUMNS = ("title", "published_at", "thread", "board")
# Columns that come with the winning text: the post's URL and page are those of its fullest copy.
POST_TEXT_COLUMNS = ("text", "url", "page_id")


def _text_rank(row: dict[str, Any]) -> tuple[int, str, str, int]:
    return (len(row.get("text") or ""), row.get("text") or "", row.get("url") or "",
            row.get("page_id") or 0)


def _wins_text(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Feeds often carry a summary and the HTML the full text: the longer text wins; of two as
    long the greater, then the greater URL and page, so that the outcome never depends on the
    order the copies came in."""
    return _text_rank(new) > _text_rank(old)


def merge_post(old: dict[str, Any], new: dict[str, Any]) -> None:
    """Merge ``new`` into ``old`` (two copies of one post) exactly as :func:`_posts_upsert`
    merges a row into the stored one: the longer text, with its URL and page, and its author
    when it names one (copies from two channels may name the author differently: the fullest
    copy's wins, so the count of distinct authors does not depend on order); title, date,
    thread and board kept when set, else filled.

    >>> a = {"text": "short", "title": None, "published_at": None, "author_key": None,
    ...      "thread": None, "board": None}
    >>> b = {"text": "the full text", "title": "T", "published_at": None, "author_key": "p:2",
    ...      "thread": None, "board": "B"}
    >>> merge_post(a, b); (a["text"], a["title"], a["author_key"], a["board"])
    ('the full text', 'T', 'p:2', 'B')
    """
    wins = _wins_text(new, old)
    first, second = (new, old) if wins else (old, new)
    author = first.get("author_key")
    old["author_key"] = author if author is not None else second.get("author_key")
    if wins:
        for column in POST_TEXT_COLUMNS:
            old[column] = new.get(column)
    for column in POST_FILL_COLUMNS:
        if old.get(column) is None:
            old[column] = new.get(column)


def _posts_upsert(insert):
    table = Post.__table__
    stmt = insert(table)
    # Compare as Python does (code points): SQLite's BINARY collation does; PostgreSQL's
    # default may follow a locale, so ask it for "C".
    def binary(expr):
        return expr.collate("C") if insert is pg_insert else expr

    new, old = stmt.excluded, table.c
    ranks = [(func.length(func.coalesce(new.text, "")), func.length(func.coalesce(old.text, ""))),
             (binary(func.coalesce(new.text, "")), binary(func.coalesce(old.text, ""))),
             (binary(func.coalesce(new.url, "")), binary(func.coalesce(old.url, ""))),
             (func.coalesce(new.page_id, 0), func.coalesce(old.page_id, 0))]
    text_wins = ranks[-1][0] > ranks[-1][1]
    for a, b in reversed(ranks[:-1]):  # (a, …) > (b, …), as Python compares tuples
        text_wins = or_(a > b, and_(a == b, text_wins))
    return stmt.on_conflict_do_update(index_elements=["post_fp"], set_={
        # the same rules as merge_post (a post seen twice within one batch)
        **{c: case((text_wins, stmt.excluded[c]), else_=table.c[c]) for c in POST_TEXT_COLUMNS},
        **{c: func.coalesce(table.c[c], stmt.excluded[c]) for c in POST_FILL_COLUMNS},
        "author_key": case((text_wins, func.coalesce(new.author_key, old.author_key)),
                           else_=func.coalesce(old.author_key, new.author_key)),
    })
