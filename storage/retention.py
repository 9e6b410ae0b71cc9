"""Retention: erase post text and evidence past their periods, and old audit entries.

What is erased: post title and text (the post row stays as a dated, text-less record so that
counts over time remain true), the tags derived from that text (place mentions, topics, beat
weights), and link evidence (anchor text, example page) last seen before the cut-off. Audit
entries older than their own, longer period are deleted through the one door the PostgreSQL
trigger leaves open. Every run records what it erased as a new audit entry; a second run with
the same cut-offs finds nothing left to do.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from storage import audit
from storage.db import utcnow
from storage.models import AuditEntry, Link, PlaceMention, Post, PostBeat, PostTopic

logger = logging.getLogger(__name__)


@dataclass
class PurgeReport:
    post_cutoff: datetime
    audit_cutoff: datetime
    posts_erased: int = 0
    mentions_deleted: int = 0
    topics_deleted: int = 0
    beat_weights_deleted: int = 0
    links_cleared: int = 0
    audit_deleted: int = 0

    @property
    def anything(self) -> bool:
        return any((self.posts_erased, self.links_cleared, self.audit_deleted))


def _post_age():
    # A post's age is its publication date; undated posts age from when we first stored them.
    return func.coalesce(Post.published_at, Post.created_at)


def purge(session: Session, *, post_days: int, audit_days: int, actor: str,
          now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Erase what is past its retention period, in the caller's transaction."""
    if post_days < 1 or audit_days < 1:
        raise ValueError("retention periods must be at least one day")
    now = now or utcnow()
    report = PurgeReport(post_cutoff=now - timedelta(days=post_days),
                         audit_cutoff=now - timedelta(days=audit_days))
    old_posts = select(Post.id).where(_post_age() < report.post_cutoff, Post.purged_at.is_(None))
    old_links = and_(Link.last_seen_at < report.post_cutoff,
                     or_(Link.anchor_text.is_not(None), Link.example_url.is_not(None)))
    old_audit = AuditEntry.at < report.audit_cutoff
    if dry_run:
        report.posts_erased = session.scalar(select(func.count()).select_from(old_posts.subquery()))
        report.links_cleared = session.scalar(select(func.count()).select_from(Link).where(old_links))
        report.audit_deleted = session.scalar(select(func.count()).select_from(AuditEntry).where(old_audit))
        return report

    ids = list(session.scalars(old_posts))
    for i in range(0, len(ids), 5000):
        chunk = ids[i:i + 5000]
        report.mentions_deleted += session.execute(
            delete(PlaceMention).where(PlaceMention.post_id.in_(chunk))).rowcount
        report.topics_deleted += session.execute(
            delete(PostTopic).where(PostTopic.post_id.in_(chunk))).rowcount
        report.beat_weights_deleted += session.execute(
            delete(PostBeat).where(PostBeat.post_id.in_(chunk))).rowcount
        report.posts_erased += session.execute(
            update(Post).where(Post.id.in_(chunk))
            .values(text=None, title=None, purged_at=now)).rowcount
    report.links_cleared = session.execute(
        update(Link).where(old_links).values(anchor_text=None, example_url=None)).rowcount
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL beatmap.retention_purge = 'on'"))
    report.audit_deleted = session.execute(delete(AuditEntry).where(old_audit)).rowcount
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL beatmap.retention_purge = 'off'"))
    detail = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(report).items()}
    audit.record(session, actor=actor, action="retention.purge", reason="retention policy",
                 detail=detail)
    logger.info("purge: %s", detail)
    return report
