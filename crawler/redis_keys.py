"""Redis keys, client settings and connection of a distributed crawl (used by all its parts)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import redis
from sqlalchemy.engine import make_url

from storage.config import ConfigError

logger = logging.getLogger(__name__)

# Client timeouts: short enough that a lost Redis never freezes a worker's reactor for long,
# long enough for a busy server across a LAN.
REDIS_PARAMS = {"socket_timeout": 10, "socket_connect_timeout": 3, "health_check_interval": 15}
HEARTBEAT_TTL = 30  # seconds a worker's heartbeat key lives; renewed every HEARTBEAT_SECONDS
_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class RedisUnavailable(OSError):
    """Redis cannot be reached or refused our credentials; the message says which."""


def safe_redis_url(url: str) -> str:
    """``url`` without its password, for messages.

    >>> safe_redis_url("redis://crawler:s3cret@10.0.0.5:6379/2")
    'redis://crawler:***@10.0.0.5:6379/2'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown by scheme only
        return url.split("://", 1)[0] + "://…"


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix or ""):
        raise ConfigError(f"redis_prefix {prefix!r} must be 1-64 letters, digits or _ . : -")
    return prefix


@dataclass(frozen=True)
class RedisKeys:
    """Every Redis key of one installation (``prefix``) and one run."""

    prefix: str
    run_id: int = 0

    @property
    def current_run(self) -> str:
        return f"{self.prefix}:current-run"

    @property
    def workers(self) -> str:  # sorted set: worker name → last heartbeat (unix time)
        return f"{self.prefix}:workers"

    def worker(self, name: str) -> str:
        return f"{self.prefix}:worker:{name}"

    def run(self, part: str) -> str:
        return f"{self.prefix}:run:{self.run_id}:{part}"

    @property
    def queue(self) -> str:
        return self.run("requests")

    @property
    def seen(self) -> str:
        return self.run("dupefilter")

    @property
    def rejected(self) -> str:
        return self.run("rejected")

    @property
    def epoch(self) -> str:  # present while Redis still holds this run's queue
        return self.run("epoch")

    def host_slots(self, host: str) -> str:
        return f"{self.prefix}:host:{host}:slots"

    def host_next(self, host: str) -> str:
        return f"{self.prefix}:host:{host}:next"

    def robots(self, origin: str) -> str:
        return f"{self.prefix}:robots:{origin}"


def connect_redis(url: str):
    """A checked Redis client for ``url`` (redis://, rediss://, user:password@ supported)."""
    try:
        client = redis.Redis.from_url(url, **REDIS_PARAMS)
        client.ping()
    except redis.AuthenticationError as exc:
        raise RedisUnavailable(f"Redis at {safe_redis_url(url)} refused the credentials in "
                               f"redis_url ({exc})") from None
    except (redis.RedisError, ValueError) as exc:
        raise RedisUnavailable(f"cannot reach Redis at {safe_redis_url(url)} ({exc}); check "
                               f"redis_url and that the server is up") from None
    return client
