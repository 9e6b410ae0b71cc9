"""URL canonicalisation and trap detection (pure functions, with property tests)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.urls import URLError, canonicalize, is_profile_url, trap_reason, url_fp


@pytest.mark.parametrize(("raw", "expected"), [
    ("HTTP://Example.ORG:80/a/./b/../c?b=2&a=1#frag", "http://example.org/a/c?a=1&b=2"),
    ("https://example.org:443", "https://example.org/"),
    ("https://example.org:8443/x", "https://example.org:8443/x"),
    ("http://a.example/p?utm_source=x&utm_medium=y&id=3&fbclid=abc&gclid=q", "http://a.example/p?id=3"),
    ("http://a.example/viewtopic.php?t=5&sid=0123456789abcdef0123456789abcdef",
     "http://a.example/viewtopic.php?t=5"),
    ("http://a.example/shop;jsessionid=ABC123/item", "http://a.example/shop/item"),
    ("http://a.example/%7Euser/", "http://a.example/~user/"),
    ("http://a.example//double//slash", "http://a.example/double/slash"),
    ("http://a.example./x", "http://a.example/x"),
    ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ("http://bücher.example/", "http://xn--bcher-kva.example/"),
])
def test_canonical_forms(raw, expected):
    assert canonicalize(raw) == expected


@pytest.mark.parametrize("bad", ["ftp://a.example/", "javascript:alert(1)", "http:///nohost",
                                 "mailto:x@a.example", "http://a.example:99999/"])
def test_unusable_urls_raise_a_clear_error(bad):
    with pytest.raises(URLError):
        canonicalize(bad)


def test_aliases_share_a_fingerprint():
    assert url_fp("http://A.example/x?b=1&a=2#top") == url_fp("http://a.example:80/x?a=2&b=1")
    assert url_fp("http://a.example/x") != url_fp("https://a.example/x")


@pytest.mark.parametrize(("url", "reason"), [
    ("http://a.example/x/y/x/y/x/y/", "repeating path segments"),
    ("http://a.example/" + "/".join(f"d{i}" for i in range(20)), "path too deep"),
    ("http://a.example/cal/?month=2099-01&calendar=1", "calendar outside 1995-2040"),
    ("http://a.example/events/calendar/1850-03/", "calendar outside 1995-2040"),
    ("http://a.example/s/0123456789abcdef0123456789abcdef/page", "session id in path"),
    ("http://a.example/x?" + "&".join(f"p{i}=1" for i in range(20)), "too many query parameters"),
])
def test_traps(url, reason):
    assert trap_reason(url) == reason


@pytest.mark.parametrize("url", [
    "http://a.example/2024/05/12/spring-clean/",
    "http://a.example/forum/viewtopic.php?f=2&t=15&start=40",
    "http://a.example/events/calendar/2025-03/",
    "http://a.example/t/bins-on-elm-grove/123.json",
])
def test_ordinary_urls_are_not_traps(url):
    assert trap_reason(url) is None


_segment = st.text(alphabet="abcXYZ019-._~%", min_size=0, max_size=6)
_urls = st.builds(
    lambda scheme, host, port, segs, query, frag: (
        f"{scheme}://{host}{port}/{'/'.join(segs)}" + (f"?{query}" if query else "")
        + (f"#{frag}" if frag else "")),
    st.sampled_from(["http", "HTTP", "https"]),
    st.from_regex(r"[a-zA-Z][a-zA-Z0-9-]{0,10}\.(example|org|co\.uk)", fullmatch=True),
    st.sampled_from(["", ":80", ":443", ":8080"]),
    st.lists(_segment, max_size=5),
    st.lists(st.tuples(st.sampled_from(["a", "b", "utm_source", "fbclid", "sid", "page"]),
                       st.text(alphabet="xyz12", max_size=4)), max_size=4)
      .map(lambda kv: "&".join(f"{k}={v}" for k, v in kv)),
    st.text(alphabet="abc", max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(_urls)
def test_canonicalize_is_idempotent_and_clean(url):
    once = canonicalize(url)
    assert canonicalize(once) == once
    assert "#" not in once
    assert "utm_" not in once and "fbclid" not in once and "sid=" not in once
    scheme, rest = once.split("://", 1)
    assert scheme in ("http", "https")
    assert rest.split("/", 1)[0] == rest.split("/", 1)[0].lower()
    assert ":80/" not in once or scheme == "https"


# Author, member and profile pages as the engines (and the sample web's renderers of them) link
# to them: each is recognised as written and in its canonical form, which is what the ledger
# would hold (SMF's "action=profile;u=3" is escaped by canonicalize).
PROFILE_URLS = [
    "http://a.example/author/jane_doe_1987/",  # WordPress, Ghost
    "http://a.example/members/jane_doe_1987",  # generic
    "http://a.example/profile.php?user=jane_doe_1987",  # generic
    "http://a.example/members/jane_doe_1987.3/",  # XenForo
    "http://a.example/u/jane_doe_1987",  # Discourse
    "http://a.example/user/jane_doe_1987",  # Reddit
    "http://a.example/@jane_doe_1987",  # Mastodon
    "http://a.example/users/jane_doe_1987",  # Mastodon (ActivityPub actor), generic
    "http://a.example/profile/3-jane_doe_1987/",  # Invision
    "http://a.example/memberlist.php?mode=viewprofile&u=3&sid=0123456789abcdef",  # phpBB
    "http://a.example/index.php?PHPSESSID=0123abcd&action=profile;u=3",  # SMF
    "http://a.example/member.php?u=3",  # vBulletin
    "http://a.example/member.php?action=profile&uid=3",  # MyBB
    "http://a.example/profile/01234567890",  # Blogger
]
NOT_PROFILE_URLS = [
    "http://a.example/",
    "http://a.example/members/",  # a members list names no one in its URL
    "http://a.example/2024/05/12/spring-clean/",
    "http://a.example/t/bins-on-elm-grove/123",
    "http://a.example/threads/bins-on-elm-grove.3/",
    "http://a.example/viewtopic.php?t=41&start=40",
    "http://a.example/showthread.php?tid=3",
    "http://a.example/index.php?topic=3.0",
    "http://a.example/r/brighton/",
    "http://a.example/api/v1/statuses/1234567",
]


@pytest.mark.parametrize("url", PROFILE_URLS)
def test_profile_pages_of_every_engine_are_recognised(url):
    assert is_profile_url(url)
    assert is_profile_url(canonicalize(url)), canonicalize(url)


@pytest.mark.parametrize("url", NOT_PROFILE_URLS)
def test_venue_pages_are_not_profile_pages(url):
    assert not is_profile_url(url)
