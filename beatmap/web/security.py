"""Web safety: CSRF tokens, sign-in throttling, trusted proxies, security headers and the
content policy."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from urllib.parse import urlsplit

from flask import Response, abort, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

from storage.config import ConfigError

# Sign-in throttling (issue 16, item 6). Behind the force's proxy every user shares one client
# address, so an address alone must never lock anyone out:
# - per (user name, address): 5 failures are free, then each further failure locks that pair for
#   a backoff that doubles (1, 2, 4, 8 minutes, capped at 15);
# - per user name, from any address: the same from the 10th failure, so a guesser spreading over
#   many addresses is slowed as much as one at a single address;
# - per address, only for user names that are no account: 30 such failures within 15 minutes
#   make every failed sign-in from the address answer "too many" (a spray of names), while a
#   right password for a real account still signs in.
# Counters of a name are kept whether or not the account exists, so the answers never tell
# whether a user name is real. A key with no failure for an hour starts again from zero.
FREE_FAILURES_PER_USER_IP = 5
FREE_FAILURES_PER_USER = 10
BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 15 * 60
FORGET_AFTER_SECONDS = 60 * 60
MAX_UNKNOWN_PER_IP = 30
THROTTLE_WINDOW_SECONDS = 15 * 60
MAX_TRACKED_KEYS = 50_000  # past this, forgotten keys are pruned (bounded memory under a spray)
# Kept for callers of the old names.
MAX_FAILURES_PER_USER_IP = FREE_FAILURES_PER_USER_IP
MAX_FAILURES_PER_IP = MAX_UNKNOWN_PER_IP
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# --- CSRF ---------------------------------------------------------------------------------


def csrf_token() -> str:
    """The session's CSRF token (made on first use); every form carries it as a hidden field."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Refuse (400) a state-changing request whose token is missing or does not match."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(str(expected), str(given)):
        abort(400, description="The form has expired or did not come from this site "
                               "(missing or wrong CSRF token). Go back, reload and try again.")


# --- sign-in throttling ----------------------------------------------------------------------


def backoff_seconds(failures: int, free: int, *, base: float = BACKOFF_BASE_SECONDS,
                    cap: float = BACKOFF_MAX_SECONDS) -> float:
    """How long a key is locked after its ``failures``-th failure (0 while within ``free``).

    >>> [backoff_seconds(n, 5) for n in (4, 5, 6, 7, 8, 9, 20)]
    [0, 60, 120, 240, 480, 900, 900]
    """
    if failures < free:
        return 0
    return min(cap, base * 2 ** min(failures - free, 32))


class LoginThrottle:
    """Failed sign-ins per (user, address) and per user with backoff; per address for unknown
    user names over a sliding window. See the constants above for the rules.

    In memory on purpose: state is per server process (``beatmap serve`` runs one process with
    threads), so a restart clears it; the audit log keeps the permanent record of failures.
    """

    def __init__(self, *, per_pair: int = FREE_FAILURES_PER_USER_IP,
                 per_user: int = FREE_FAILURES_PER_USER, per_ip: int = MAX_UNKNOWN_PER_IP,
                 window: float = THROTTLE_WINDOW_SECONDS, base: float = BACKOFF_BASE_SECONDS,
                 cap: float = BACKOFF_MAX_SECONDS, forget: float = FORGET_AFTER_SECONDS,
                 clock=time.monotonic):
        self.per_pair, self.per_user, self.per_ip = per_pair, per_user, per_ip
        self.window, self.base, self.cap, self.forget = window, base, cap, forget
        self.clock = clock
        # key -> [failures, time of the last failure]; keys ("pair", user, ip) and ("user", user)
        self._fails: dict[tuple[str, ...], list[float]] = {}
        self._unknown: dict[str, deque[float]] = {}  # address -> times of unknown-name failures
        self._lock = threading.Lock()

    def _entry(self, key: tuple[str, ...], now: float) -> list[float] | None:
        entry = self._fails.get(key)
        if entry is not None and now - entry[1] > self.forget:
            del self._fails[key]
            return None
        return entry

    def _wait(self, key: tuple[str, ...], free: int, now: float) -> int:
        entry = self._entry(key, now)
        if entry is None:
            return 0
        left = entry[1] + backoff_seconds(int(entry[0]), free, base=self.base,
                                          cap=self.cap) - now
        return int(left) + 1 if left > 0 else 0

    def _recent_unknown(self, ip: str, now: float) -> deque[float]:
        q = self._unknown.setdefault(ip, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def retry_after(self, username: str, ip: str) -> int:
        """Seconds until ``username`` may try again from ``ip`` (0 = allowed now): the longer of
        the (user, address) and the user's own backoff. The address alone never locks."""
        with self._lock:
            now = self.clock()
            return max(self._wait(("pair", username, ip), self.per_pair, now),
                       self._wait(("user", username), self.per_user, now))

    def address_wait(self, ip: str) -> int:
        """Seconds until ``ip`` is back under its limit of failures with unknown user names."""
        with self._lock:
            now = self.clock()
            q = self._recent_unknown(ip, now)
            if len(q) < self.per_ip:
                if not q:
                    self._unknown.pop(ip, None)
                return 0
            return int(self.window - (now - q[-self.per_ip])) + 1

    def failed(self, username: str, ip: str, *, known: bool = True) -> None:
        """Count a failed sign-in; ``known`` is whether ``username`` is an account."""
        with self._lock:
            now = self.clock()
            for key in (("pair", username, ip), ("user", username)):
                entry = self._entry(key, now)
                if entry is None:
                    self._fails[key] = [1, now]
                else:
                    entry[0] += 1
                    entry[1] = now
            if not known:
                self._recent_unknown(ip, now).append(now)
            if len(self._fails) + len(self._unknown) > MAX_TRACKED_KEYS:
                self._prune(now)

    def succeeded(self, username: str, ip: str) -> None:
        """A right password: that user's counters start again."""
        with self._lock:
            self._fails.pop(("pair", username, ip), None)
            self._fails.pop(("user", username), None)

    def _prune(self, now: float) -> None:
        for key in [k for k, (_, last) in self._fails.items() if now - last > self.forget]:
            del self._fails[key]
        for ip in [a for a, q in self._unknown.items() if not q or now - q[-1] > self.window]:
            del self._unknown[ip]


# --- client address behind a proxy ----------------------------------------------------------


def trusted_proxies(value) -> int | tuple[IPv4Network | IPv6Network, ...]:
    """Parse the ``web_trusted_proxies`` setting: 0/empty (off), a count, or a list of addresses.

    >>> trusted_proxies(""), trusted_proxies("no"), trusted_proxies(2)
    (0, 0, 2)
    >>> [str(n) for n in trusted_proxies("10.0.0.5, 192.168.0.0/24")]
    ['10.0.0.5/32', '192.168.0.0/24']
    """
    text = str(value if value is not None else "").strip().lower()
    if text in ("", "0", "no", "off", "false", "none"):
        return 0
    if text.isdigit():
        return int(text)
    try:
        return tuple(ip_network(part.strip(), strict=False)
                     for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"web_trusted_proxies must be a count of proxies or a comma-separated "
                          f"list of proxy addresses/networks, not {value!r} ({exc})") from None


class TrustedProxyList:
    """WSGI middleware: when the peer is one of the listed proxies, the client address is the
    right-most ``X-Forwarded-For`` entry that is not itself a listed proxy (the entry the
    nearest untrusted hop could not forge); ``X-Forwarded-Proto`` sets the scheme. From any
    other peer the headers are ignored."""

    def __init__(self, app, networks):
        self.app, self.networks = app, tuple(networks)

    def _trusted(self, address: str) -> bool:
        try:
            ip = ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in net for net in self.networks if net.version == ip.version)

    def __call__(self, environ, start_response):
        peer = environ.get("REMOTE_ADDR", "")
        if self._trusted(peer):
            hops = [h.strip() for h in environ.get("HTTP_X_FORWARDED_FOR", "").split(",")]
            client = peer
            for hop in reversed([h for h in hops if h]):
                if self._trusted(hop):
                    continue
                try:
                    client = str(ip_address(hop))
                except ValueError:
                    client = peer  # garbage where the proxy writes the client: keep the proxy
                break
            environ["beatmap.proxy_peer"] = peer
            environ["REMOTE_ADDR"] = client
            proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
        return self.app(environ, start_response)


def wrap_trusted_proxies(wsgi_app, setting):
    """``wsgi_app`` behind the proxy rule of ``web_trusted_proxies`` (unchanged when off)."""
    rule = trusted_proxies(setting)
    if not rule:
        return wsgi_app
    if isinstance(rule, int):
        return ProxyFix(wsgi_app, x_for=rule, x_proto=rule, x_host=0, x_port=0, x_prefix=0)
    return TrustedProxyList(wsgi_app, rule)


# --- headers -------------------------------------------------------------------------------


def content_security_policy(tile_url: str = "") -> str:
    """A strict policy: our own scripts and styles only, no inline script, no framing.

    >>> "script-src 'self'" in content_security_policy()
    True
    >>> "img-src 'self' data: https://tiles.example" in content_security_policy(
    ...     "https://tiles.example/{z}/{x}/{y}.png")
    True
    """
    img = "'self' data:"
    if tile_url:
        parts = urlsplit(tile_url)
        # Leaflet fills {s} with sub-domains a, b, c: allow any of them.
        origin = f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"
        img += " " + origin
    return ("default-src 'none'; script-src 'self'; style-src 'self'; "
            f"img-src {img}; connect-src 'self'; font-src 'self'; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'; object-src 'none'")


def add_security_headers(response: Response, *, csp: str, hsts: bool) -> Response:
    h = response.headers
    h.setdefault("Content-Security-Policy", csp)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    # Venue links go to the open web: never tell a site that a police tool sent the visitor.
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if hsts:
        h.setdefault("Strict-Transport-Security", "max-age=31536000")
    if not request.path.startswith(("/static/", "/vendor/")):
        # Pages hold police working data: keep them out of shared caches and the back-forward
        # cache of a shared machine.
        h.setdefault("Cache-Control", "no-store")
    return response
