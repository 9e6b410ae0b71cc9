"""What the spider hands to the pipelines: one fetched page with everything parsed from it."""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.adapters.types import LinkItem, PostItem, VenueInfo


@dataclass
class PageItem:
    """A fetched page. Stored, with its posts, links and ledger state, in one transaction."""

    url: str  # canonical URL that was requested (the ledger key)
    url_fp: str
    final_url: str  # after redirects
    venue_id: int | None
    venue_key: str
    depth: int
    http_status: int
    priority: float = 0.0
    platform: str = "unknown"
    kind: str = "other"
    content_type: str | None = None
    content_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    title: str | None = None
    not_modified: bool = False  # a 304 answer to a conditional request
    posts: list[PostItem] = field(default_factory=list)
    venue_info: VenueInfo | None = None
    follow: list[str] = field(default_factory=list)
    links: list[LinkItem] = field(default_factory=list)
    entry_points: list[str] = field(default_factory=list)  # set when the venue was just detected
    page_text_sample: str = ""  # for the locality score of outbound links; never stored
    parse_error: str | None = None
    authors_pseudonymised: bool = False  # set by the pseudonymise pipeline; store checks it
    hijacked: bool = False  # set by the flag step: most posts are spam
    redirect_status: int | None = None  # the first redirect's status when one was followed


@dataclass
class FetchFailure:
    """A leased URL that produced no page: refused, failed, or gone."""

    url: str
    url_fp: str
    venue_id: int | None
    state: str  # ledger state: failed, blocked, skipped
    error: str
    http_status: int | None = None
    retry_after: float | None = None
    attempts: int = 1
