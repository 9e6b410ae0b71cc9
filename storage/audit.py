"""The append-only audit log: who crawled, exported, viewed or changed what, when and why."""

from __future__ import annotations

import getpass
from typing import Any

from sqlalchemy.orm import Session

from storage.db import utcnow
from storage.ids import new_id
from storage.models import AuditEntry


def cli_actor() -> str:
    """The actor name recorded for command-line use."""
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli:unknown"


def record(session: Session, *, actor: str, action: str, object_type: str | None = None,
           object_id: object | None = None, reason: str | None = None,
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Add an audit entry to ``session`` (committed with the caller's transaction)."""
    entry = AuditEntry(id=new_id(), at=utcnow(), actor=actor, action=action,
                       object_type=object_type,
                       object_id=None if object_id is None else str(object_id),
                       reason=reason, detail=detail)
    session.add(entry)
    return entry
