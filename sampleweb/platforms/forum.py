"""Helpers shared by the classic forum engines: boards, thread pages and session ids."""

from __future__ import annotations

import hashlib

from sampleweb.model import Post, Thread, Venue
from sampleweb.platforms.common import n_pages
from sampleweb.text import slugify


def boards(v: Venue) -> list[dict]:
    return v.boards or [{"id": 1, "name": v.name, "beats": v.d.get("beats") or {}}]


def board(v: Venue, bid: int) -> dict | None:
    return next((b for b in boards(v) if b["id"] == bid), None)


def board_slug(b: dict) -> str:
    return slugify(b["name"]) or f"board-{b['id']}"


def threads_of(v: Venue, bid: int) -> list[Thread]:
    if not v.boards:
        return v.threads_newest_first()
    return v.threads_newest_first(bid)


def thread_pages(t: Thread, per_page: int) -> int:
    return n_pages(len(t.posts), per_page)


def page_of(p: Post, per_page: int) -> int:
    return p.pos // per_page + 1


def thread_slug(t: Thread) -> str:
    return t.slug or f"topic-{t.num}"


def session_id(seed: str, length: int = 32) -> str:
    """A session id that differs for every page it is printed on, as phpBB and SMF hand
    them to clients that refuse cookies."""
    return hashlib.md5(seed.encode()).hexdigest()[:length]


def last_post(t: Thread) -> Post:
    return t.posts[-1]
