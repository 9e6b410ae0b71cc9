"""URL → venue rules: which community a URL belongs to, and whether we may ever fetch it.

A venue is a community, not a page: a site (host without ``www.``/``m.``), a blog on a blog
host (``x.blogspot.com``), a subreddit on any Reddit-style host (``host/r/x``), a Telegram
channel, or a group/page/account on a platform that is *known only*: recorded from the links
that point at it, never fetched (Meta's terms forbid automated collection; the others need a
login or forbid scraping). Registered domains come from tldextract's bundled public-suffix
snapshot; nothing is downloaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

from crawler.urls import URLError, canonicalize

# Offline extractor: empty suffix_list_urls and no cache dir = only the bundled snapshot.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None,
                                 include_psl_private_domains=True)
# Reserved names (RFC 2606/6761) are not in the public-suffix list; treat them as suffixes.
RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost", "local", "internal"})
HOST_PREFIXES = ("www.", "m.", "mobile.", "web.")

META_TERMS = "Meta's terms forbid automated collection; login required"
LOGIN_WALL = "content needs a login; the platform forbids automated collection"


@dataclass(frozen=True)
class VenueRef:
    """Where a URL belongs: ``key`` is the venue's identity, ``url`` its home."""

    key: str
    platform_hint: str  # platform when the URL alone says it, else "unknown"
    crawlable: bool
    known_only_reason: str | None = None
    url: str = ""


@dataclass(frozen=True)
class KnownPlatform:
    platform: str
    domains: tuple[str, ...]  # registered domains (any subdomain matches)
    reason: str
    # (path regex, number of leading path segments forming the key); first match wins.
    patterns: tuple[tuple[str, int], ...] = ((r"^/[^/]+", 1),)


KNOWN_ONLY: tuple[KnownPlatform, ...] = (
    KnownPlatform("facebook", ("facebook.com", "fb.com", "fb.me", "fb.watch"), META_TERMS,
                  ((r"^/groups/[^/]+", 2), (r"^/pages/[^/]+/[^/]+", 3),
                   (r"^/profile\.php", 1), (r"^/[^/]+", 1))),
    KnownPlatform("instagram", ("instagram.com", "instagr.am"), META_TERMS),
    KnownPlatform("whatsapp", ("whatsapp.com", "wa.me"), META_TERMS,
                  ((r"^/channel/[^/]+", 2), (r"^/[^/]+", 1))),
    KnownPlatform("threads", ("threads.net", "threads.com"), META_TERMS),
    KnownPlatform("nextdoor", ("nextdoor.com", "nextdoor.co.uk"), LOGIN_WALL,
                  ((r"^/neighbou?rhood/[^/]+", 2), (r"^/(pages|g|groups)/[^/]+", 2),
                   (r"^/[^/]+", 1))),
    KnownPlatform("x", ("x.com", "twitter.com", "t.co"), LOGIN_WALL),
    KnownPlatform("youtube", ("youtube.com", "youtu.be"), "the platform's terms forbid "
                  "automated collection outside its API",
                  ((r"^/(channel|c|user)/[^/]+", 2), (r"^/@[^/]+", 1), (r"^/[^/]+", 1))),
    KnownPlatform("discord", ("discord.gg", "discord.com", "discordapp.com"), LOGIN_WALL,
                  ((r"^/invite/[^/]+", 2), (r"^/[^/]+", 1))),
    KnownPlatform("meetup", ("meetup.com",), LOGIN_WALL),
    KnownPlatform("linkedin", ("linkedin.com",), LOGIN_WALL,
                  ((r"^/(company|groups|in|school)/[^/]+", 2), (r"^/[^/]+", 1))),
    KnownPlatform("tiktok", ("tiktok.com",), LOGIN_WALL),
    KnownPlatform("snapchat", ("snapchat.com",), LOGIN_WALL),
)
_KNOWN_BY_DOMAIN = {d: p for p in KNOWN_ONLY for d in p.domains}

# Hosts where each subdomain is somebody's blog or site (on top of the PSL private section).
BLOG_HOSTS = frozenset({
    "blogspot.com", "blogger.com", "wordpress.com", "substack.com", "ghost.io", "tumblr.com",
    "wixsite.com", "weebly.com", "github.io", "medium.com", "squarespace.com", "jimdosite.com",
    "webflow.io", "netlify.app", "neocities.org", "typepad.com", "livejournal.com",
})
BLOG_PLATFORM = {"blogspot.com": "blogger", "blogger.com": "blogger", "wordpress.com": "wordpress",
                 "substack.com": "substack", "ghost.io": "ghost", "tumblr.com": "tumblr"}

TELEGRAM_DOMAINS = frozenset({"t.me", "telegram.me", "telegram.dog"})
# Sites that are software vendors, standards bodies or services linked from page footers
# ("powered by", licences, avatars): never communities, so discovery ignores their links.
NOT_COMMUNITIES = frozenset({
    "wordpress.org", "wordpress.com", "blogger.com", "blogspot.com", "phpbb.com",
    "discourse.org", "ghost.org", "mybb.com", "xenforo.com", "vbulletin.com",
    "invisioncommunity.com", "invisionpower.com", "simplemachines.org", "substack.com",
    "joinmastodon.org", "mastodon.social", "w3.org", "creativecommons.org", "gravatar.com",
    "google.com", "googleapis.com", "gstatic.com", "jquery.com", "cloudflare.com",
    "schema.org", "ogp.me", "gmpg.org", "feedburner.com", "apple.com", "play.google.com",
})
_SUBREDDIT = re.compile(r"^/r/([A-Za-z0-9_]{2,32})(?:/|$)")
_TELEGRAM_INVITE = re.compile(r"^/(joinchat/|\+)")
_TELEGRAM_CHANNEL = re.compile(r"^/(?:s/)?([A-Za-z][A-Za-z0-9_]{3,31})(?:/|$)")


def split_host(host: str) -> tuple[str, str]:
    """(registered domain, suffix) of ``host``; reserved TLDs count as suffixes.

    >>> split_host("news.hanover-ra.example")
    ('hanover-ra.example', 'example')
    >>> split_host("x.blogspot.com")[0]
    'x.blogspot.com'
    """
    ext = _EXTRACT(host)
    if ext.suffix:
        return ext.top_domain_under_public_suffix or host, ext.suffix
    labels = host.split(".")
    if len(labels) >= 2 and labels[-1] in RESERVED_TLDS:
        return ".".join(labels[-2:]), labels[-1]
    return host, ""


def registered_domain(host: str) -> str:
    return split_host(host)[0]


def site_host(host: str) -> str:
    """``host`` without the prefixes that never make a different community (www., m. …)."""
    host = host.lower().rstrip(".")
    for prefix in HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix):]
    return host


def _known_platform(host: str) -> KnownPlatform | None:
    domain = registered_domain(host)
    if domain in _KNOWN_BY_DOMAIN:
        return _KNOWN_BY_DOMAIN[domain]
    # Public-suffix private entries can split a platform (e.g. "x.fb.me"): fall back to the
    # last two labels.
    return _KNOWN_BY_DOMAIN.get(".".join(host.split(".")[-2:]))


# Invite codes are case-sensitive; names of groups, pages and accounts are not.
CASE_SENSITIVE = frozenset({"whatsapp", "discord", "telegram"})
_INVITE_PREFIX = re.compile(r"^(invite|channel)/")


def _known_only_ref(platform: KnownPlatform, host: str, path: str, query: str) -> VenueRef:
    if platform.platform == "whatsapp":
        base = "chat.whatsapp.com" if host.startswith("chat.") else registered_domain(host)
        if not path.strip("/") or host.startswith("chat."):
            code = path.strip("/").split("/")[0]
            key = f"{base}/{code}" if code else base
            return VenueRef(key, "whatsapp", False, platform.reason, f"https://{key}")
    if platform.platform == "discord":
        code = _INVITE_PREFIX.sub("", path.strip("/")).split("/")[0]
        key = f"discord.gg/{code}" if code else "discord.gg"
        return VenueRef(key, "discord", False, platform.reason, f"https://{key}")
    base = platform.domains[0]
    for pattern, n_segments in platform.patterns:
        if re.match(pattern, path):
            segments = [s for s in path.split("/") if s][:n_segments]
            if segments == ["profile.php"]:
                ident = re.search(r"(?:^|&)id=(\d+)", query)
                segments = [f"profile.php?id={ident.group(1)}"] if ident else segments
            key = f"{base}/{'/'.join(segments)}"
            if platform.platform not in CASE_SENSITIVE:
                key = key.lower()
            return VenueRef(key, platform.platform, False, platform.reason, f"https://{key}")
    return VenueRef(base, platform.platform, False, platform.reason, f"https://{base}/")


@lru_cache(maxsize=65536)
def venue_key(url: str) -> VenueRef:
    """The venue ``url`` belongs to.

    >>> venue_key("https://www.Facebook.com/groups/HanoverResidents/posts/1?ref=x").key
    'facebook.com/groups/hanoverresidents'
    >>> venue_key("http://WWW.hanover-ra.example/news/2024/").key
    'hanover-ra.example'
    >>> venue_key("https://old.reddit.com/r/Brighton/comments/abc/x/").key
    'reddit.com/r/brighton'
    >>> venue_key("https://chat.whatsapp.com/AbCdEf123").crawlable
    False
    """
    try:
        canonical = canonicalize(url)
    except URLError:
        raise
    parts = urlsplit(canonical)
    host = parts.hostname or ""
    path = parts.path
    known = _known_platform(host)
    if known is not None:
        return _known_only_ref(known, host, path, parts.query)
    domain = registered_domain(host)
    if domain in TELEGRAM_DOMAINS or domain.split(".")[0] == "telegram":
        return _telegram_ref(host, parts.port, path, parts.scheme)
    sub = _SUBREDDIT.match(path)
    if sub:
        real = domain in ("reddit.com", "redd.it")
        base = "reddit.com" if real else site_host(host) + (f":{parts.port}" if parts.port else "")
        home = "www.reddit.com" if real else parts.netloc
        return VenueRef(f"{base}/r/{sub.group(1).lower()}", "reddit", True, None,
                        f"{parts.scheme}://{home}/r/{sub.group(1)}/")
    # A non-default port is part of the site (loopback test servers share one address).
    port = f":{parts.port}" if parts.port else ""
    site = site_host(host) + port
    url_host = f"[{host}]" if ":" in host else host  # IPv6 literals keep their brackets
    return VenueRef(site, _blog_platform(host), True, None, f"{parts.scheme}://{url_host}{port}/")


def _blog_platform(host: str) -> str:
    labels = host.split(".")
    for i in range(1, len(labels) - 1):
        parent = ".".join(labels[i:])
        if parent in BLOG_HOSTS:
            return BLOG_PLATFORM.get(parent, "unknown")
    return "unknown"


def _telegram_ref(host: str, port: int | None, path: str, scheme: str) -> VenueRef:
    """Telegram (t.me, or a Telegram-style preview host): a channel per first path segment."""
    real = registered_domain(host) in TELEGRAM_DOMAINS
    base = "t.me" if real else site_host(host) + (f":{port}" if port else "")
    origin = "https://t.me" if real else f"{scheme}://{host}" + (f":{port}" if port else "")
    if _TELEGRAM_INVITE.match(path):
        code = path.strip("/").split("/")[-1]
        key = f"{base}/{code}"
        return VenueRef(key, "telegram", False, "private invite: membership needed",
                        f"{origin}{path}")
    match = _TELEGRAM_CHANNEL.match(path)
    if not match:
        return VenueRef(base, "telegram", False, "not a public channel", f"{origin}/")
    name = match.group(1).lower()
    # Public channels have a login-free preview at /s/<name>, the one page we read.
    return VenueRef(f"{base}/{name}", "telegram", True, None, f"{origin}/s/{name}")


def is_not_a_community(url: str) -> bool:
    """True for links to software vendors and web services (footer links), not venues.

    >>> is_not_a_community("https://wordpress.org/")
    True
    >>> is_not_a_community("https://hanover.wordpress.com/")
    False
    """
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return True
    return site_host(host) in NOT_COMMUNITIES or host in NOT_COMMUNITIES


def is_known_only(url: str) -> bool:
    try:
        return not venue_key(url).crawlable
    except URLError:
        return False
