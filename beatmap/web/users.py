"""User accounts of the web UI: argon2id password hashes, roles, and the demo accounts."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import utcnow
from storage.ids import stable_id
from storage.models import ROLES, User

logger = logging.getLogger(__name__)

# argon2-cffi's RFC 9106 "low memory" profile (argon2id, t=3, m=64 MiB, p=4): about 50 ms per
# hash on the 2-core build machine, which is slow for an attacker yet fine for a sign-in.
HASHER = PasswordHasher()
# A dummy hash verified for unknown usernames so a sign-in takes the same time either way.
_DUMMY_HASH = HASHER.hash("beatmap-dummy-password")
MIN_PASSWORD_LENGTH = 10
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
DEMO_USERS = (("sergeant", "sergeant"), ("analyst", "analyst"), ("admin", "admin"))
ROLE_LEVEL = {role: level for level, role in enumerate(ROLES)}


class UserError(ValueError):
    """A user account cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    password: str


def check_username(name: str) -> str:
    """Normalise a user name (lower case) or raise :class:`UserError`.

    >>> check_username("PC.Smith")
    'pc.smith'
    """
    name = (name or "").strip().lower()
    if not USERNAME_RE.match(name):
        raise UserError(f"user name {name!r} must be 2-64 characters: letters, digits, . _ @ -")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted, with its parameters encoded)."""
    return HASHER.hash(password)


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def add_user(session: Session, username: str, role: str, password: str) -> User:
    """Create an account; raises :class:`UserError` if the name is taken or input is bad."""
    username = check_username(username)
    check_role(role)
    check_password(password)
    if get_user(session, username) is not None:
        raise UserError(f"user {username!r} already exists")
    user = User(id=stable_id("user", username), username=username,
                password_hash=hash_password(password), role=role, disabled=False,
                created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def _require(session: Session, username: str) -> User:
    user = get_user(session, username)
    if user is None:
        raise UserError(f"no user called {username!r}")
    return user


def remove_user(session: Session, username: str) -> None:
    """Delete an account (its outreach notes stay, without the author)."""
    session.delete(_require(session, username))
    session.flush()


def end_sessions(user: User) -> None:
    """Make every session cookie issued to ``user`` so far invalid (the next request of each is
    signed out): the cookie's generation no longer matches ``users.session_gen``."""
    user.session_gen = (user.session_gen or 0) + 1


def set_password(session: Session, username: str, password: str) -> None:
    """A new password; ends the user's open sessions."""
    user = _require(session, username)
    user.password_hash = hash_password(check_password(password))
    end_sessions(user)


def set_role(session: Session, username: str, role: str) -> None:
    """A new role; ends the user's open sessions (they sign in again with the new rights)."""
    user = _require(session, username)
    user.role = check_role(role)
    end_sessions(user)


def set_disabled(session: Session, username: str, disabled: bool) -> None:
    """Disable (or enable) an account; either way its open sessions end."""
    user = _require(session, username)
    user.disabled = disabled
    end_sessions(user)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The enabled user whose password matches, else None (same work whether or not it exists)."""
    return check_credentials(session, username, password)[0]


def check_credentials(session: Session, username: str,
                      password: str) -> tuple[User | None, bool]:
    """(the enabled user whose password matches, else None; whether ``username`` is an account).

    The same hashing work is done whether or not the account exists. The second value is for
    the sign-in throttle only (unknown names count against the client address); it is never
    shown to the visitor.
    """
    try:
        name = check_username(username)
    except UserError:
        name = ""
    user = get_user(session, name) if name else None
    stored = user.password_hash if user is not None else _DUMMY_HASH
    try:
        HASHER.verify(stored, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None, user is not None
    if user is None or user.disabled:
        return None, user is not None
    if HASHER.check_needs_rehash(stored):  # parameters were raised since this hash was made
        user.password_hash = hash_password(password)
    return user, True


def has_role(role: str, needed: str) -> bool:
    """Roles are ordered: an admin can do what an analyst can, an analyst what a sergeant can.

    >>> has_role("admin", "analyst"), has_role("sergeant", "analyst")
    (True, False)
    """
    return ROLE_LEVEL.get(role, -1) >= ROLE_LEVEL[needed]


def ensure_demo_users(session: Session) -> list[DemoUser]:
    """Create the demo accounts (``sergeant``, ``analyst``, ``admin``) with fresh passwords.

    Accounts that already exist get a new random password, so the demo can always print a
    working sign-in. Returns the accounts with their clear passwords for the demo to print.
    """
    made = []
    for username, role in DEMO_USERS:
        password = "demo-" + secrets.token_urlsafe(9)
        user = get_user(session, username)
        if user is None:
            add_user(session, username, role, password)
        else:
            user.password_hash, user.role, user.disabled = hash_password(password), role, False
            end_sessions(user)
        made.append(DemoUser(username, role, password))
    session.flush()
    logger.info("demo users ready: %s", ", ".join(u.username for u in made))
    return made
