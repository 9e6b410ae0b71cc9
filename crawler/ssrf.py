"""SSRF rules: which addresses the crawler may connect to, in every spelling (pure functions).

The guard refuses any address that is not globally routable: loopback, private, link-local
(including the 169.254.169.254 cloud metadata address), carrier-grade NAT (100.64.0.0/10),
multicast, reserved and unspecified ranges, IPv6 unique-local and link-local, and IPv4 mapped
or embedded in IPv6 (``::ffff:127.0.0.1``, 6to4, NAT64). Host literals are parsed the way C's
``inet_aton`` does, so ``2130706433``, ``0x7f.1``, ``0177.0.0.1`` and ``127.1`` are all seen
as 127.0.0.1. Only hosts or addresses in an explicit allow-list pass anyway.
"""

from __future__ import annotations

import ipaddress
import socket
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges Python's ``is_global`` already rejects are refused too; these are listed explicitly
# so the rule does not depend on the Python version's view of the IANA registries.
EXTRA_BLOCKED_NETS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "192.0.0.0/24", "198.18.0.0/15",
    "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    "64:ff9b::/96", "64:ff9b:1::/48", "2001:db8::/32",
))
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


# Characters IDNA treats as label separators besides "." (ideographic, full-width and half-width
# full stops, UTS #46 section 2.3).
DOT_VARIANTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


class BlockedAddress(ValueError):
    """A URL or DNS answer points at an address the crawler must not reach."""


def normalise_host(host: str) -> str:
    """The ASCII spelling a resolver would use for ``host``: NFKC, IDNA dots, lower case, punycode.

    Hosts reach the guard as written in pages, so compatibility spellings must be folded before
    any rule is applied: circled or full-width digits, ideographic dots, letterlike symbols.

    >>> normalise_host("\u2460\u2461\u2466.\u24ea.\u24ea.\u2460")
    '127.0.0.1'
    >>> normalise_host("127\u30020\u30020\u30021")
    '127.0.0.1'
    >>> normalise_host("\u2113ocalhost"), normalise_host("\uff2c\uff2f\uff23\uff21\uff2c\uff28\uff2f\uff33\uff34")
    ('localhost', 'localhost')
    >>> normalise_host("b\u00fccher.example")
    'xn--bcher-kva.example'
    """
    name = unicodedata.normalize("NFKC", host).translate(DOT_VARIANTS).strip().strip("[]")
    name = name.rstrip(".").lower()
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise BlockedAddress(f"host {host!r} is not a valid international name") from exc


def _parse_part(part: str) -> int:
    low = part.lower()
    if low.startswith("0x"):
        return int(low[2:] or "0", 16)
    if len(low) > 1 and low.startswith("0"):
        return int(low, 8)
    return int(low, 10)


def parse_ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """Parse ``host`` as ``inet_aton`` would (decimal, octal, hex, 1 to 4 parts), else None.

    >>> str(parse_ipv4_literal("0x7f.1"))
    '127.0.0.1'
    >>> str(parse_ipv4_literal("2130706433"))
    '127.0.0.1'
    >>> parse_ipv4_literal("example.org") is None
    True
    """
    text = host.strip().rstrip(".")
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    try:
        values = [_parse_part(p) for p in parts]
    except ValueError:
        return None
    *head, last = values
    if any(v < 0 or v > 255 for v in head) or last < 0 or last >= 256 ** (5 - len(parts)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (5 - len(parts)) + last
    return ipaddress.IPv4Address(number) if number < 2 ** 32 else None


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` spells, if it is an IP literal in any form, else None."""
    text = host.strip().strip("[]")
    if "%" in text:  # IPv6 zone index: fe80::1%eth0
        text = text.split("%", 1)[0]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return parse_ipv4_literal(text)


def embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried inside an IPv6 one (mapped, compatible, 6to4, NAT64)."""
    if addr.ipv4_mapped:
        return addr.ipv4_mapped
    if addr.sixtofour:
        return addr.sixtofour
    if addr in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if int(addr) >> 32 == 0 and int(addr) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(addr))
    return None


def is_forbidden(addr: IPAddress) -> bool:
    """True when ``addr`` is not a public, globally routable unicast address.

    >>> is_forbidden(ipaddress.ip_address("169.254.169.254"))
    True
    >>> is_forbidden(ipaddress.ip_address("::ffff:127.0.0.1"))
    True
    >>> is_forbidden(ipaddress.ip_address("93.184.216.34"))
    False
    """
    if isinstance(addr, ipaddress.IPv6Address):
        inner = embedded_ipv4(addr)
        if inner is not None and is_forbidden(inner):
            return True
    if any(addr in net for net in EXTRA_BLOCKED_NETS if net.version == addr.version):
        return True
    return not addr.is_global or addr.is_multicast


def normalise_allow_list(entries: Iterable[str]) -> frozenset[str]:
    """Lower-cased host names plus canonical spellings of any IP entries."""
    out: set[str] = set()
    for entry in entries:
        text = entry.strip().lower()
        if not text:
            continue
        ip = parse_ip_literal(text)
        out.add(str(ip) if ip is not None else text.rstrip("."))
    return frozenset(out)


def check_host(host: str, allow: frozenset[str] = frozenset()) -> None:
    """Raise :class:`BlockedAddress` when ``host`` is a forbidden IP literal.

    Names (not literals) pass here: their DNS answers are checked by :func:`check_answers`.
    """
    name = normalise_host(host)
    if name in allow:
        return
    if name == "localhost" or name.endswith(".localhost"):
        raise BlockedAddress(f"{host} is a loopback name")
    ip = parse_ip_literal(name)
    if ip is not None and str(ip) not in allow and is_forbidden(ip):
        raise BlockedAddress(f"{host} is a non-global address ({ip})")


def check_url(url: str, allow: frozenset[str] = frozenset()) -> None:
    """Raise :class:`BlockedAddress` when ``url`` names a forbidden host literal."""
    try:
        host = urlsplit(url).hostname
    except ValueError as exc:
        raise BlockedAddress(f"unparsable URL {url!r}") from exc
    if not host:
        raise BlockedAddress(f"URL without host {url!r}")
    check_host(host, allow)


def check_answers(host: str, answers: Iterable[str], allow: frozenset[str] = frozenset()) -> None:
    """Raise :class:`BlockedAddress` unless EVERY DNS answer for ``host`` is allowed."""
    if normalise_host(host) in allow:
        return
    seen = False
    for answer in answers:
        seen = True
        ip = parse_ip_literal(answer)
        if ip is None or (str(ip) not in allow and is_forbidden(ip)):
            raise BlockedAddress(f"{host} resolves to a non-global address ({answer})")
    if not seen:
        raise BlockedAddress(f"{host} has no address")


def resolve_all(host: str) -> list[str]:
    """Every address ``host`` resolves to (blocking; call it in a thread)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({info[4][0] for info in infos})
