"""URL → venue rules: sites, blog subdomains, subreddits, Telegram, known-only platforms."""

from __future__ import annotations

import pytest

from crawler.urls import URLError
from crawler.venues import is_known_only, registered_domain, venue_key

CRAWLABLE = [
    ("http://www.hanover-ra.example/news/1", "hanover-ra.example"),
    ("https://hanover-ra.example/", "hanover-ra.example"),
    ("http://m.kemptown-forum.example/viewtopic.php?t=3", "kemptown-forum.example"),
    ("https://forum.kemptown.example/", "forum.kemptown.example"),
    ("https://elmgrove.blogspot.com/2024/05/bins.html", "elmgrove.blogspot.com"),
    ("https://preston-park.wordpress.com/about/", "preston-park.wordpress.com"),
    ("https://brightonlocal.substack.com/p/x", "brightonlocal.substack.com"),
    ("https://www.reddit.com/r/Brighton/comments/abc/title/", "reddit.com/r/brighton"),
    ("https://old.reddit.com/r/brighton/", "reddit.com/r/brighton"),
    ("http://reddit.example/r/Hove/new/", "reddit.example/r/hove"),
    ("https://t.me/s/brightonbins", "t.me/brightonbins"),
    ("https://t.me/brightonbins", "t.me/brightonbins"),
    ("http://127.0.0.1:8123/page", "127.0.0.1:8123"),
    ("https://www.brighton-hove.gov.uk/community/groups", "brighton-hove.gov.uk"),
]

KNOWN_ONLY = [
    ("https://www.facebook.com/groups/hanoverresidents/posts/123", "facebook.com/groups/hanoverresidents", "facebook"),
    ("https://m.facebook.com/HanoverRA/?ref=bookmarks", "facebook.com/hanoverra", "facebook"),
    ("https://fb.com/groups/kemptown", "facebook.com/groups/kemptown", "facebook"),
    ("https://www.instagram.com/levelpark/", "instagram.com/levelpark", "instagram"),
    ("https://nextdoor.co.uk/neighbourhood/hanover--brighton--england/", "nextdoor.com/neighbourhood/hanover--brighton--england", "nextdoor"),
    ("https://chat.whatsapp.com/AbCdEf123", "chat.whatsapp.com/AbCdEf123", "whatsapp"),
    ("https://twitter.com/HanoverRA/status/1", "x.com/hanoverra", "x"),
    ("https://x.com/hanoverra", "x.com/hanoverra", "x"),
    ("https://www.youtube.com/@BrightonLive/videos", "youtube.com/@brightonlive", "youtube"),
    ("https://discord.gg/abc123", "discord.gg/abc123", "discord"),
    ("https://discord.com/invite/abc123", "discord.gg/abc123", "discord"),
    ("https://www.meetup.com/brighton-walkers/events/1/", "meetup.com/brighton-walkers", "meetup"),
    ("https://t.me/joinchat/AAAAAEx", "t.me/AAAAAEx", "telegram"),
    ("https://t.me/+AbCdEf", "t.me/+AbCdEf", "telegram"),
]


@pytest.mark.parametrize(("url", "key"), CRAWLABLE)
def test_crawlable_venue_keys(url, key):
    ref = venue_key(url)
    assert ref.key == key
    assert ref.crawlable and ref.known_only_reason is None


@pytest.mark.parametrize(("url", "key", "platform"), KNOWN_ONLY)
def test_known_only_platforms_are_never_crawlable(url, key, platform):
    ref = venue_key(url)
    assert (ref.key, ref.platform_hint, ref.crawlable) == (key, platform, False)
    assert ref.known_only_reason
    assert is_known_only(url)


def test_aliases_map_to_one_key():
    keys = {venue_key(u).key for u in ("http://hanover-ra.example/", "https://www.hanover-ra.example/x",
                                       "HTTPS://WWW.HANOVER-RA.EXAMPLE:443/y#z")}
    assert keys == {"hanover-ra.example"}


def test_platform_hints_and_home_urls():
    assert venue_key("https://x.blogspot.com/p").platform_hint == "blogger"
    assert venue_key("https://t.me/brightonbins").url == "https://t.me/s/brightonbins"
    assert venue_key("https://www.reddit.com/r/Brighton/x").url == "https://www.reddit.com/r/Brighton/"


def test_registered_domains_offline():
    assert registered_domain("a.b.brighton-hove.gov.uk") == "brighton-hove.gov.uk"
    assert registered_domain("news.hanover-ra.example") == "hanover-ra.example"
    assert registered_domain("x.blogspot.com") == "x.blogspot.com"  # PSL private section


def test_bad_urls_raise():
    with pytest.raises(URLError):
        venue_key("mailto:someone@hanover-ra.example")
