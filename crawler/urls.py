"""URL canonicalisation, fingerprints and crawler-trap detection (pure functions)."""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from storage.ids import fingerprint

DEFAULT_PORTS = {"http": 80, "https": 443}
# Pages repeat the same navigation links; caching the pure canonical form saves most of the
# work. 200k entries ≈ 60 MB at worst, bounded whatever the crawl size.
CANONICAL_CACHE_SIZE = 200_000
# Query parameters that track a click or a session and never change what a page shows.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid",
    "yclid", "_ga", "_gl", "ref_src", "ref_url", "spm",
})
TRACKING_PREFIXES = ("utm_", "pk_", "hsa_")
SESSION_PARAMS = frozenset({
    "sid", "s", "phpsessid", "jsessionid", "aspsessionid", "sessionid", "session_id",
    "sessid", "cfid", "cftoken", "zenid", "osCsid".lower(),
})
# ";jsessionid=…" path parameters (Java servlets) and similar.
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.I)
# A 32+ hex run in a path segment is an opaque session token far more often than content.
_HEX_SESSION_SEGMENT = re.compile(r"^[0-9a-f]{32,}$", re.I)

# Trap thresholds: chosen so that real forum and blog URLs in the sample web and in the
# engines' documentation (e.g. /2024/05/12/slug/, /forum/viewtopic.php?t=1&start=40) pass.
MAX_URL_LENGTH = 2000
MAX_PATH_DEPTH = 12
MAX_SEGMENT_REPEATS = 2  # the same segment three times in one path is a relative-link loop
MAX_QUERY_PARAMS = 12
CALENDAR_YEAR_WINDOW = (1995, 2040)
_DATE_IN_URL = re.compile(r"(?:^|[/=_-])(\d{4})[-/](\d\d?)(?:[-/](\d\d?))?(?:$|[/&?_-])")
_CALENDAR_WORDS = re.compile(r"(calendar|/events?/|[?&](month|year|date|day|week)=)", re.I)


class URLError(ValueError):
    """A URL beatmap cannot crawl (bad scheme, no host, unparsable)."""


def _clean_host(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise URLError(f"invalid host name {host!r}") from exc


def _clean_path(path: str) -> str:
    path = _PATH_SESSION.sub("", path)
    if not path:
        return "/"
    trailing = path.endswith("/")
    normal = posixpath.normpath(path)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    if trailing and not normal.endswith("/"):
        normal += "/"
    # Re-quote with one canonical spelling: decode unreserved escapes, keep reserved ones.
    return quote(unquote(normal), safe="/:@!$&'()*+,;=-._~%")


def _is_junk_param(name: str) -> bool:
    low = name.lower()
    return (low in TRACKING_PARAMS or low in SESSION_PARAMS
            or any(low.startswith(p) for p in TRACKING_PREFIXES))


@lru_cache(maxsize=CANONICAL_CACHE_SIZE)
def canonicalize(url: str) -> str:
    """Return the one spelling of ``url`` the crawler stores and de-duplicates on.

    Lower-cases scheme and host, drops default ports, fragments, tracking and session
    parameters, resolves dot segments and sorts the query.

    >>> canonicalize("HTTP://Example.ORG:80/a/./b/../c?utm_source=x&b=2&a=1#top")
    'http://example.org/a/c?a=1&b=2'
    >>> canonicalize("https://example.org")
    'https://example.org/'
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise URLError(f"cannot parse URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise URLError(f"not an http(s) URL: {url!r}")
    if not parts.hostname:
        raise URLError(f"URL has no host: {url!r}")
    host = _clean_host(parts.hostname)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _is_junk_param(k)]
    query.sort()
    return urlunsplit((scheme, netloc, _clean_path(parts.path), urlencode(query, doseq=True), ""))


def url_fp(url: str) -> str:
    """Fingerprint of the canonical form of ``url`` (the ledger and pages key)."""
    return fingerprint(canonicalize(url))


def host_of(url: str) -> str:
    """Lower-case host (without port) of ``url``; '' when there is none."""
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def trap_reason(url: str) -> str | None:
    """Why ``url`` looks like a crawler trap, or None.

    >>> trap_reason("http://a.example/x/y/x/y/x/y/")
    'repeating path segments'
    >>> trap_reason("http://a.example/events/calendar?month=2091-03")
    'calendar outside 1995-2040'
    >>> trap_reason("http://a.example/2024/05/12/spring-clean/") is None
    True
    """
    if len(url) > MAX_URL_LENGTH:
        return "URL too long"
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) > MAX_PATH_DEPTH:
        return "path too deep"
    counts = Counter(segments)
    if counts and max(counts.values()) > MAX_SEGMENT_REPEATS:
        return "repeating path segments"
    if any(_HEX_SESSION_SEGMENT.match(s) for s in segments):
        return "session id in path"
    if _PATH_SESSION.search(parts.path):
        return "session id in path"
    params = parse_qsl(parts.query, keep_blank_values=True)
    if len(params) > MAX_QUERY_PARAMS:
        return "too many query parameters"
    if any(k.lower() in SESSION_PARAMS and len(v) >= 16 for k, v in params):
        return "session id in query"
    return _calendar_reason(url)


def _calendar_reason(url: str) -> str | None:
    if not _CALENDAR_WORDS.search(url):
        return None
    low, high = CALENDAR_YEAR_WINDOW
    for match in _DATE_IN_URL.finditer(url):
        year = int(match.group(1))
        if not low <= year <= high:
            return f"calendar outside {low}-{high}"
    for _, value in parse_qsl(urlsplit(url).query):
        if value.isdigit() and len(value) == 4 and not low <= int(value) <= high:
            return f"calendar outside {low}-{high}"
    return None


# Pages about one person (author archives, member profiles, user pages), per engine and generic.
# Their URLs carry a handle, so they are never queued, fetched or stored: the crawler maps
# venues, never people. Path patterns match the path; query patterns match parameter names.
PROFILE_PATHS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (engine, re.compile(pattern, re.I)) for engine, pattern in (
        ("wordpress", r"^/author/[^/]+"),
        ("ghost", r"^/author/[^/]+"),
        ("blogger", r"^/profile/\d+"),
        ("xenforo", r"^/(?:index\.php\?)?members/[^/]+"),
        ("invision", r"^/profile/\d+-"),
        ("vbulletin", r"^/member(?:\.php|/\d+)"),
        ("mybb", r"^/user-\d+\.html"),
        ("discourse", r"^/u(?:sers)?/[^/]+"),
        ("reddit", r"^/(?:u|user)/[^/]+"),
        ("mastodon", r"^/@[^/]+/?$"),  # the account page; its statuses are /@name/<id>
        ("generic", r"^/(?:members?|users?|people|profiles?|authors?|~)/[^/]+"),
        ("generic", r"^/(?:profile|userinfo|memberlist|member|user)\.(?:php|aspx?|html?)$"),
    ))
PROFILE_QUERY_MARKS: frozenset[str] = frozenset({
    "author", "user", "username", "un", "uid", "u", "userid", "user_id", "member", "memberid",
    "profile", "showuser",
})
# Query values that name a profile view (phpBB "mode=viewprofile", SMF/MyBB "action=profile").
PROFILE_ACTIONS: frozenset[str] = frozenset({"viewprofile", "profile", "memberlist", "userinfo"})


def is_profile_url(url: str) -> bool:
    """True when ``url`` is a page about one person (author archive, member profile).

    >>> is_profile_url("https://hanover-ra.example/author/jane_doe_1987/")
    True
    >>> is_profile_url("https://forum.example/members/jane_doe_1987.42/")
    True
    >>> is_profile_url("https://forum.example/profile.php?user=jane_doe_1987")
    True
    >>> is_profile_url("https://forum.example/memberlist.php?mode=viewprofile&u=2")
    True
    >>> is_profile_url("https://forum.example/index.php?action=profile;u=7")
    True
    >>> is_profile_url("https://forum.example/index.php?action=profile%3Bu%3D7")
    True
    >>> is_profile_url("https://social.example/@jane_doe_1987")
    True
    >>> is_profile_url("https://forum.example/viewtopic.php?t=41")
    False
    >>> is_profile_url("https://hanover-ra.example/2024/03/12/spring-meeting/")
    False
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    path = parts.path or "/"
    if any(pattern.search(path) for _, pattern in PROFILE_PATHS):
        return True
    # SMF writes its query with ";" separators ("action=profile;u=7"), which canonicalize()
    # escapes ("action=profile%3Bu%3D7"): read both spellings.
    query = unquote(parts.query).replace(";", "&")
    params = parse_qsl(query, keep_blank_values=True)
    if any(value.lower() in PROFILE_ACTIONS for name, value in params
           if name.lower() in {"mode", "action", "do", "page"}):
        return True
    if path.rstrip("/").rsplit("/", 1)[-1].lower() in {"", "index.php", "viewtopic.php",
                                                        "showthread.php", "forumdisplay.php",
                                                        "viewforum.php", "topic.php"}:
        # Listing and thread pages take "u"/"author" filters too; only the profile views count.
        return False
    return any(name.lower() in PROFILE_QUERY_MARKS and value for name, value in params)
