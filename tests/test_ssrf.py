"""SSRF rules: every spelling of a non-global address is refused; the allow-list is exact."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.ssrf import (
    BlockedAddress,
    check_answers,
    check_host,
    check_url,
    is_forbidden,
    normalise_allow_list,
    parse_ip_literal,
)

BLOCKED_URLS = [
    "http://127.0.0.1/", "http://2130706433/", "http://0x7f.1/", "http://0x7f000001/",
    "http://0177.0.0.1/", "http://017700000001/", "http://127.1/", "http://127.0.1/",
    "http://localhost/", "http://LOCALHOST./", "http://api.localhost/",
    "http://[::1]/", "http://[0:0:0:0:0:0:0:1]/", "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/", "http://[::127.0.0.1]/", "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/", "http://[fe80::1%25eth0]/", "http://[fc00::1]/",
    "http://[fd12:3456::1]/", "http://10.0.0.1/", "http://10.1/", "http://012.0.0.1/",
    "http://172.16.5.4/", "http://192.168.0.1/", "http://0xc0.0xa8.0.1/",
    "http://100.64.0.1/", "http://100.127.255.254/", "http://169.254.169.254/latest/meta-data/",
    "http://0xa9fea9fe/", "http://2852039166/", "http://0.0.0.0/", "http://0/",
    "http://224.0.0.1/", "http://255.255.255.255/", "http://198.18.0.1/",
    "http://user:pw@127.0.0.1:8080/", "http://[::]/",
]


@pytest.mark.parametrize("url", BLOCKED_URLS)
def test_every_spelling_of_a_private_address_is_refused(url):
    with pytest.raises(BlockedAddress):
        check_url(url)


@pytest.mark.parametrize("url", ["http://93.184.216.34/", "https://example.org/",
                                 "http://[2606:4700::1111]/", "http://8.8.8.8:8080/x",
                                 "http://1.2.3.4.5/"])
def test_global_addresses_and_names_pass_the_literal_check(url):
    check_url(url)


def test_allow_list_is_explicit_and_exact():
    allow = normalise_allow_list(["127.0.0.1", " Sample.Example "])
    check_url("http://127.0.0.1:8080/", allow)
    check_url("http://0x7f.0.0.1/", allow)  # the same address, spelled otherwise
    check_url("http://sample.example/", allow)
    with pytest.raises(BlockedAddress):
        check_url("http://127.0.0.2/", allow)
    with pytest.raises(BlockedAddress):
        check_url("http://[::1]/", allow)
    with pytest.raises(BlockedAddress):
        check_url("http://169.254.169.254/", allow)


def test_all_dns_answers_must_be_global():
    check_answers("a.example", ["93.184.216.34", "2606:4700::1111"])
    with pytest.raises(BlockedAddress):  # one bad answer among good ones is enough
        check_answers("a.example", ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(BlockedAddress):
        check_answers("a.example", ["::ffff:169.254.169.254"])
    with pytest.raises(BlockedAddress):
        check_answers("a.example", [])
    check_answers("a.example", ["127.0.0.1"], frozenset({"127.0.0.1"}))


PRIVATE_NETS = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
    "169.254.0.0/16", "0.0.0.0/8")]


def _spellings(addr: ipaddress.IPv4Address) -> list[str]:
    n = int(addr)
    a, b, c, d = addr.packed
    return [str(addr), str(n), hex(n), "0" + oct(n)[2:], f"{a}.{(b << 16) | (c << 8) | d}",
            f"{a}.{b}.{(c << 8) | d}", f"{hex(a)}.{hex(b)}.{hex(c)}.{hex(d)}",
            f"0{oct(a)[2:]}.{b}.{c}.{d}", f"[::ffff:{addr}]"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PRIVATE_NETS), st.integers(min_value=0))
def test_property_private_addresses_blocked_in_every_spelling(net, offset):
    addr = net.network_address + (offset % net.num_addresses)
    for spelling in _spellings(addr):
        with pytest.raises(BlockedAddress):
            check_host(spelling)
        assert parse_ip_literal(spelling.strip("[]")) is not None


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_property_inet_aton_forms_agree(n):
    addr = ipaddress.IPv4Address(n)
    for spelling in _spellings(addr)[:-1]:
        assert parse_ip_literal(spelling) == addr
    if is_forbidden(addr):
        with pytest.raises(BlockedAddress):
            check_host(str(n))
    else:
        check_host(str(n))
