"""SQLAlchemy models: the one description of beatmap's database (``schema.sql`` mirrors it).

Conventions, chosen so that one DDL runs unchanged on SQLite and PostgreSQL:

* ids are ``BIGINT`` made by the application (:mod:`storage.ids`), never sequences;
* times are naive UTC ``TIMESTAMP``; JSON is the portable ``JSON`` type;
* text is ``TEXT`` (no lengths to drift apart between dialects);
* derived tables (mentions, topics, scores) can be rebuilt from pages and posts.

``tests/test_schema.py`` fails when this module and ``schema.sql`` disagree.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names make migrations and the schema comparison stable.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Venue curation states (the project team's review) and machine-set statuses.
CURATION_STATES = ("candidate", "in", "out", "undecided")
VENUE_STATUSES = ("unknown", "live", "dormant", "gone", "hijacked")
LEDGER_STATES = ("queued", "leased", "done", "failed", "skipped", "blocked")
OUTREACH_STATUSES = ("approached", "engaged", "declined", "revisit")
ROLES = ("sergeant", "analyst", "admin")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        int: BigInteger,
        str: Text,
        float: Float,
        bool: Boolean,
        datetime: DateTime(),
        date: Date,
        dict: JSON,
        list: JSON,
    }


def _pk() -> Mapped[int]:
    return mapped_column(BigInteger, primary_key=True, autoincrement=False)


# --- geography -------------------------------------------------------------------------


class Beat(Base):
    """A police beat / neighbourhood: a polygon the ranking is made for."""

    __tablename__ = "beats"
    id: Mapped[int] = _pk()
    key: Mapped[str] = mapped_column(unique=True)  # external id: ward code, police.uk id
    name: Mapped[str]
    force: Mapped[str | None]
    source: Mapped[str]  # file name or "police.uk"
    geometry: Mapped[dict]  # GeoJSON geometry (lon, lat order)
    min_lat: Mapped[float]
    min_lon: Mapped[float]
    max_lat: Mapped[float]
    max_lon: Mapped[float]
    centre_lat: Mapped[float]
    centre_lon: Mapped[float]
    details: Mapped[dict | None]  # police.uk description, contact details, population …
    imported_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BeatTopic(Base):
    """A topic a beat cares about (police.uk priorities, or set by the team)."""

    __tablename__ = "beat_topics"
    beat_id: Mapped[int] = mapped_column(ForeignKey("beats.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(primary_key=True)
    weight: Mapped[float] = mapped_column(default=1.0)
    source: Mapped[str]
    detail: Mapped[str | None]


class Place(Base):
    """A gazetteer entry: a named place with a point and the beat that point falls in."""

    __tablename__ = "places"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index(None, "norm_name"),
        Index(None, "beat_id"),
    )
    id: Mapped[int] = _pk()
    name: Mapped[str]
    norm_name: Mapped[str]  # lower-cased, punctuation-folded key used for matching
    alt_names: Mapped[list]  # list of alternative spellings
    feature_type: Mapped[str]  # area:neighbourhood, street, landmark, pub, town, ward …
    lat: Mapped[float]
    lon: Mapped[float]
    beat_id: Mapped[int | None] = mapped_column(ForeignKey("beats.id", ondelete="SET NULL"))
    locality: Mapped[str | None]
    district: Mapped[str | None]  # local authority name
    prominence: Mapped[float] = mapped_column(default=0.0)  # 0..1, population / stop counts
    coarse: Mapped[bool] = mapped_column(default=False)  # point is only outcode-level
    source: Mapped[str]
    source_id: Mapped[str]


class Postcode(Base):
    """A full UK postcode (unit) with its Code-Point point."""

    __tablename__ = "postcodes"
    __table_args__ = (Index(None, "outcode"),)
    postcode: Mapped[str] = mapped_column(primary_key=True)  # normalised "BN2 9AA"
    outcode: Mapped[str]
    lat: Mapped[float]
    lon: Mapped[float]
    quality: Mapped[int | None]
    beat_id: Mapped[int | None] = mapped_column(ForeignKey("beats.id", ondelete="SET NULL"))


class GeocodeCache(Base):
    """Answers of the optional online geocoder, so each query is asked once."""

    __tablename__ = "geocode_cache"
    query: Mapped[str] = mapped_column(primary_key=True)
    provider: Mapped[str]
    response: Mapped[dict | None]
    fetched_at: Mapped[datetime]


# --- venues and their content ------------------------------------------------------------


class Venue(Base):
    """A community where residents gather: a site, a board, a subreddit, a public group."""

    __tablename__ = "venues"
    __table_args__ = (Index(None, "host"), Index(None, "state"), Index(None, "platform"))
    id: Mapped[int] = _pk()
    key: Mapped[str] = mapped_column(unique=True)  # e.g. "hanover-ra.example", "reddit.com/r/x"
    platform: Mapped[str]  # wordpress, phpbb, discourse, facebook, … or "unknown"
    name: Mapped[str | None]
    description: Mapped[str | None]
    url: Mapped[str]  # canonical URL of the venue's home
    host: Mapped[str]
    crawlable: Mapped[bool] = mapped_column(default=True)
    known_only_reason: Mapped[str | None]  # why we never fetch it (terms, login …)
    state: Mapped[str] = mapped_column(default="candidate")  # CURATION_STATES
    status: Mapped[str] = mapped_column(default="unknown")  # VENUE_STATUSES
    sensitive: Mapped[bool] = mapped_column(default=False)
    sensitive_reason: Mapped[str | None]
    contact: Mapped[dict | None]  # {"email":…, "contact_page":…, "social": […]}
    member_count: Mapped[int | None]
    post_count: Mapped[int] = mapped_column(default=0)
    discovered_via: Mapped[str]  # seed, link, police.uk, directory
    depth: Mapped[int] = mapped_column(Integer, default=0)  # link hops from a seed
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id", ondelete="SET NULL"))
    first_seen_at: Mapped[datetime]
    last_post_at: Mapped[datetime | None]
    last_crawled_at: Mapped[datetime | None]
    revisit_after: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class VenueAlias(Base):
    """Another key that means the same venue (www/non-www, moved URL, a merge)."""

    __tablename__ = "venue_aliases"
    alias: Mapped[str] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str]


class Seed(Base):
    """A starting URL given by the project team, a file, or a beat's published channels."""

    __tablename__ = "seeds"
    id: Mapped[int] = _pk()
    url: Mapped[str] = mapped_column(unique=True)
    beat_id: Mapped[int | None] = mapped_column(ForeignKey("beats.id", ondelete="SET NULL"))
    note: Mapped[str | None]
    source: Mapped[str]  # cli, file name, police.uk
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class Page(Base):
    """A fetched document. Stored in the same transaction as its posts and its ledger entry."""

    __tablename__ = "pages"
    __table_args__ = (Index(None, "venue_id"),)
    id: Mapped[int] = _pk()  # stable_id(url_fp)
    url_fp: Mapped[str] = mapped_column(unique=True)
    url: Mapped[str]
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id", ondelete="SET NULL"))
    kind: Mapped[str]  # home, listing, thread, post, feed, api, sitemap, other
    http_status: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str | None]
    content_hash: Mapped[str | None]
    etag: Mapped[str | None]
    last_modified: Mapped[str | None]
    title: Mapped[str | None]
    fetched_at: Mapped[datetime]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))


class Post(Base):
    """One post, article or message of a venue. ``author_key`` is a keyed hash, never a handle."""

    __tablename__ = "posts"
    __table_args__ = (Index(None, "venue_id", "published_at"), Index(None, "page_id"))
    id: Mapped[int] = _pk()  # stable_id(post_fp)
    post_fp: Mapped[str] = mapped_column(unique=True)  # venue key + external id or URL
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"))
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id", ondelete="SET NULL"))
    url: Mapped[str]
    title: Mapped[str | None]
    text: Mapped[str | None]  # None once purged by retention
    published_at: Mapped[datetime | None]
    author_key: Mapped[str | None]
    thread: Mapped[str | None]
    board: Mapped[str | None]
    created_at: Mapped[datetime]
    tagged_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]


class PlaceMention(Base):
    """A place or postcode found in a post, resolved to a gazetteer entry when confident."""

    __tablename__ = "place_mentions"
    __table_args__ = (Index(None, "post_id"), Index(None, "place_id"), Index(None, "beat_id"))
    id: Mapped[int] = _pk()  # stable_id(post_id, start, end)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    kind: Mapped[str]  # place, postcode, outcode
    surface: Mapped[str]
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="SET NULL"))
    postcode: Mapped[str | None]
    beat_id: Mapped[int | None] = mapped_column(ForeignKey("beats.id", ondelete="SET NULL"))
    confidence: Mapped[float]
    ambiguous: Mapped[bool] = mapped_column(default=False)


class Topic(Base):
    """A topic residents talk about: police.uk crime categories plus community topics."""

    __tablename__ = "topics"
    key: Mapped[str] = mapped_column(primary_key=True)  # e.g. anti-social-behaviour
    label: Mapped[str]
    category: Mapped[str]  # crime, community
    safety: Mapped[bool] = mapped_column(default=False)  # counts towards community safety


class PostTopic(Base):
    __tablename__ = "post_topics"
    __table_args__ = (Index(None, "topic"),)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=1)


class PostBeat(Base):
    """The weight with which a post speaks about a beat (derived by tagging)."""

    __tablename__ = "post_beats"
    __table_args__ = (Index(None, "beat_id"),)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    beat_id: Mapped[int] = mapped_column(ForeignKey("beats.id", ondelete="CASCADE"), primary_key=True)
    weight: Mapped[float]


class Link(Base):
    """Evidence that one venue links to another (how discovery finds candidates)."""

    __tablename__ = "links"
    __table_args__ = (Index(None, "dst_venue_id"),)
    src_venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"), primary_key=True)
    dst_venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    anchor_text: Mapped[str | None]  # a short sample, for the evidence shown to people
    example_url: Mapped[str | None]  # the page it was seen on
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class VenueScore(Base):
    """A venue's score for a beat and its named parts (written by ``beatmap rank``)."""

    __tablename__ = "venue_scores"
    __table_args__ = (Index(None, "beat_id", "score"),)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"), primary_key=True)
    beat_id: Mapped[int] = mapped_column(ForeignKey("beats.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float]
    locality: Mapped[float]
    activity: Mapped[float]
    reach: Mapped[float]
    topical: Mapped[float]
    feedback: Mapped[float]
    reason: Mapped[str]
    evidence: Mapped[dict]  # places, topics, counts behind the parts
    computed_at: Mapped[datetime]


# --- crawling ----------------------------------------------------------------------------


class CrawlRun(Base):
    __tablename__ = "crawl_runs"
    id: Mapped[int] = _pk()  # new_id()
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str]  # running, finished, failed, interrupted
    purpose: Mapped[str]
    actor: Mapped[str | None]
    mode: Mapped[str] = mapped_column(default="single")  # single, distributed
    config: Mapped[dict]
    stats: Mapped[dict]


class LedgerEntry(Base):
    """The crawl ledger: the record of every URL the crawler meant to fetch, and how it went."""

    __tablename__ = "crawl_ledger"
    __table_args__ = (Index(None, "state", "next_fetch_at"), Index(None, "venue_id"),
                      Index(None, "host", "state"))
    url_fp: Mapped[str] = mapped_column(primary_key=True)
    url: Mapped[str]
    host: Mapped[str | None]  # for per-host budgets and politeness across workers
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(default="queued")  # LEDGER_STATES
    lease_owner: Mapped[str | None]
    lease_expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None]
    http_status: Mapped[int | None] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    priority: Mapped[float] = mapped_column(default=0.0)
    discovered_at: Mapped[datetime]
    fetched_at: Mapped[datetime | None]
    next_fetch_at: Mapped[datetime | None]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    etag: Mapped[str | None]
    last_modified: Mapped[str | None]


# --- people and accountability -------------------------------------------------------------


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = _pk()
    username: Mapped[str] = mapped_column(unique=True)
    password_hash: Mapped[str]  # argon2id
    role: Mapped[str]  # ROLES
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    last_seen_beats_at: Mapped[datetime | None]  # for "new candidates since last visit"
    # Raised by sign-out, a password, role or state change: a session cookie carries the value
    # it was issued with and is refused once they differ (beatmap/web/auth.py).
    session_gen: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class Outreach(Base):
    """A neighbourhood team's contact with a venue."""

    __tablename__ = "outreach"
    __table_args__ = (Index(None, "venue_id", "created_at"),)
    id: Mapped[int] = _pk()  # new_id()
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"))
    beat_id: Mapped[int | None] = mapped_column(ForeignKey("beats.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str]  # OUTREACH_STATUSES
    note: Mapped[str | None]
    revisit_on: Mapped[date | None]
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Append-only log of crawls, exports, views of sensitive venues, curation, logins."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "at"), Index(None, "action"))
    id: Mapped[int] = _pk()  # new_id(): time-ordered
    at: Mapped[datetime]
    actor: Mapped[str]  # user name, or "cli:<os user>"
    action: Mapped[str]  # crawl.start, export, venue.view_sensitive, curation, login …
    object_type: Mapped[str | None]
    object_id: Mapped[str | None]
    reason: Mapped[str | None]
    detail: Mapped[dict | None]


class Meta(Base):
    """Small key/value facts about the database (gazetteer version, pseudonym key period)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[str]
    updated_at: Mapped[datetime]
