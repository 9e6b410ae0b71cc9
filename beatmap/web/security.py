"""Web safety: CSRF tokens, sign-in throttling, security headers and the content policy."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from urllib.parse import urlsplit

from flask import Response, abort, request, session

# Sign-in throttling, per (user name, client address): 5 failures within 15 minutes lock that
# pair for the rest of the window. Chosen so a sergeant who mistypes twice is never bothered,
# while an online guesser gets 20 tries an hour per address. A second, looser limit per address
# (30 failures / 15 min) stops one address spraying many user names.
MAX_FAILURES_PER_USER_IP = 5
MAX_FAILURES_PER_IP = 30
THROTTLE_WINDOW_SECONDS = 15 * 60
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


class LoginThrottle:
    """Failed sign-ins per (user, address) and per address, in memory, over a sliding window.

    In memory on purpose: state is per server process (``beatmap serve`` runs one process with
    threads), so a restart clears it; the audit log keeps the permanent record of failures.
    """

    def __init__(self, *, per_pair: int = MAX_FAILURES_PER_USER_IP,
                 per_ip: int = MAX_FAILURES_PER_IP, window: float = THROTTLE_WINDOW_SECONDS,
                 clock=time.monotonic):
        self.per_pair, self.per_ip, self.window, self.clock = per_pair, per_ip, window, clock
        self._fails: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        now = self.clock()
        q = self._fails.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def retry_after(self, username: str, ip: str) -> int:
        """Seconds until ``username`` may try again from ``ip`` (0 = allowed now)."""
        with self._lock:
            waits = []
            for key, limit in (((username, ip), self.per_pair), (("", ip), self.per_ip)):
                q = self._recent(key)
                if len(q) >= limit:
                    waits.append(int(self.window - (self.clock() - q[-limit])) + 1)
            return max(waits, default=0)

    def failed(self, username: str, ip: str) -> None:
        with self._lock:
            now = self.clock()
            self._recent((username, ip)).append(now)
            self._recent(("", ip)).append(now)

    def succeeded(self, username: str, ip: str) -> None:
        with self._lock:
            self._fails.pop((username, ip), None)


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
