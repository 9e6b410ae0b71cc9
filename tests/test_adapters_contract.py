"""The adapter contract, checked for every adapter: naming, registry, bounds, robustness."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import random
import re

import pytest
from scrapy.http import HtmlResponse, Response, TextResponse

import crawler.adapters
import crawler.adapters.sites
from crawler.adapters import registry
from crawler.adapters.base import MAX_FOLLOW, Adapter
from crawler.adapters.types import ParseResult
from tests.test_adapters_fixtures import FIXTURES, PAGES, platform_of, response_for

# Modules of shared machinery: they define no registered adapter.
HELPERS = {"base", "blog", "dates", "detection", "feeds", "forum", "jsonapi", "links", "metadata",
           "registry", "sitemaps", "text", "types"}
ENGINE_MODULES = sorted(m.name for m in pkgutil.iter_modules(crawler.adapters.__path__)
                        if not m.ispkg and m.name not in HELPERS)
SITE_MODULES = sorted(m.name for m in pkgutil.iter_modules(crawler.adapters.sites.__path__))
HOME = "https://venue.example/"


def _adapter_classes(module) -> list[type[Adapter]]:
    return [cls for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Adapter) and cls.__module__ == module.__name__]


@pytest.mark.parametrize("name", ENGINE_MODULES)
def test_each_engine_module_defines_one_registered_adapter_with_fixtures(name):
    module = importlib.import_module(f"crawler.adapters.{name}")
    classes = _adapter_classes(module)
    assert len(classes) == 1, f"{name} must define exactly one Adapter subclass"
    cls = classes[0]
    assert cls.platform == name, "platform must equal the module name"
    assert cls.__name__ == f"{name.capitalize()}Adapter"
    assert registry.get(name).__class__ is cls
    assert "detect" in cls.__dict__, "an engine adapter detects its own markers"
    pages = list((PAGES / name).glob("*"))
    assert pages, f"tests/fixtures/pages/{name}/ needs saved pages"
    assert all(f"{name}/{p.name}" in FIXTURES for p in pages), "every saved page is in FIXTURES"


def test_platform_names_are_unique_and_generic_is_last():
    names = registry.platforms()
    assert len(names) == len(set(names))
    assert set(names) == set(ENGINE_MODULES)
    assert names[-1] == "generic"
    assert [a.priority for a in registry.ADAPTERS] == sorted(a.priority for a in registry.ADAPTERS)


def test_helper_modules_register_nothing():
    for name in HELPERS:
        module = importlib.import_module(f"crawler.adapters.{name}")
        for cls in _adapter_classes(module):
            assert cls.platform in ("", "generic") and cls.platform not in registry.platforms()[:-1]


@pytest.mark.parametrize("name", SITE_MODULES)
def test_site_adapters_are_a_few_attributes_on_an_engine(name):
    module = importlib.import_module(f"crawler.adapters.sites.{name}")
    (cls,) = _adapter_classes(module)
    assert cls.hosts and cls in crawler.adapters.sites.SITE_ADAPTERS
    assert cls.platform in registry.platforms()  # inherits its engine's platform
    url = f"https://{cls.hosts[0]}/viewtopic.php?t=1"
    assert isinstance(registry.get(cls.platform, url), cls)
    assert isinstance(registry.detect(HtmlResponse(url, body=b"<html></html>")), cls)
    # Few lines: no methods of its own, only configuration.
    own = [k for k, v in vars(cls).items() if inspect.isfunction(v)]
    assert own == []


def test_unknown_platforms_get_the_generic_adapter():
    assert registry.get("unknown") is registry.GENERIC
    assert registry.get("tumblr").platform == "generic"


@pytest.mark.parametrize("adapter", registry.ADAPTERS, ids=lambda a: a.platform)
def test_entry_points_stay_on_the_venue_and_end_with_html(adapter):
    homes = {"reddit": "https://reddit-like.example/r/Hove/", "telegram": "https://t.me/s/hovenews"}
    home = homes.get(adapter.platform, HOME)
    points = adapter.entry_points(home)
    assert points and len(points) == len(set(points))
    assert all(adapter.is_same_venue(url, home) for url in points)
    for url in adapter.fallback_entry_points(home):
        assert adapter.is_same_venue(url, home)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_follow_is_same_venue_and_links_leave_it(name):
    adapter = registry.get(platform_of(name))
    response = response_for(name)
    result = adapter.parse(response)
    assert len(result.follow) <= MAX_FOLLOW
    assert all(adapter.is_same_venue(url, response.url) for url in result.follow)
    assert all(not adapter.is_same_venue(link.url, response.url) for link in result.links)
    assert len({link.url for link in result.links}) == len(result.links)


@pytest.mark.parametrize("adapter", registry.ADAPTERS, ids=lambda a: a.platform)
def test_every_adapter_survives_every_other_engines_pages(adapter):
    for name in FIXTURES:
        result = adapter.parse(response_for(name))
        assert isinstance(result, ParseResult)


def _mutations(body: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    flipped = bytearray(body)
    for _ in range(max(1, len(body) // 50)):
        i = rng.randrange(len(flipped))
        flipped[i] = rng.randrange(256)
    no_close = re.sub(rb"</[a-zA-Z][^>]*>", b"", body)
    no_open = re.sub(rb"<(div|a|p|li|article|span)\b", b"", body, count=len(body) // 200 + 1)
    return [
        b"", b"\x00\xff" * 100, body[: len(body) // 3], body[: len(body) * 2 // 3], body[:-7],
        bytes(flipped), no_close, no_open, body.replace(b'"', b""), body.replace(b"<", b"<<"),
        body.decode("utf-8", "replace").encode("utf-16"),
    ]


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_mutated_pages_never_raise(name):
    adapters = {registry.get(platform_of(name)), registry.GENERIC}
    body = (PAGES / name).read_bytes()
    for i, mutated in enumerate(_mutations(body, seed=len(name))):
        response = response_for(name, mutated)
        for adapter in adapters:
            result = adapter.parse(response)  # must not raise
            assert isinstance(result, ParseResult), (name, i)
        registry.detect(response)


def _huge_page() -> bytes:
    post = (b'<div id="p%d" class="post"><div class="postbody"><p class="author">'
            b'<time datetime="2024-01-01T00:00:00+00:00">x</time></p>'
            b'<div class="content">Bins on Elm Grove again %d</div></div></div>')
    posts = b"".join(post % (i, i) for i in range(20_000))
    return b'<html><body id="phpbb">' + posts + b"<div>" * 50_000 + b"</body></html>"


def test_huge_and_deeply_nested_pages_are_bounded():
    response = HtmlResponse("https://forum.example/viewtopic.php?t=1", body=_huge_page())
    result = registry.detect(response).parse(response)
    assert registry.detect(response).platform == "phpbb"
    assert len(result.posts) == 20_000
    assert len(result.follow) <= MAX_FOLLOW


def test_wrong_and_missing_charsets():
    text = "<html><body><article><h1>Caf\u00e9 on St James\u2019s Street</h1><p>" + \
        "Late opening caf\u00e9 near the Royal Pavilion, residents say it is too noisy. " * 5 + \
        "</p></article></body></html>"
    for body, header in [(text.encode("cp1252"), "text/html; charset=utf-8"),
                         (text.encode("utf-8"), "text/html; charset=iso-8859-1"),
                         (text.encode("utf-8"), "text/html")]:
        response = HtmlResponse("https://cafe.example/post", body=body,
                                headers={"Content-Type": header})
        result = registry.GENERIC.parse(response)
        assert result.posts and "Royal Pavilion" in result.posts[0].text
    binary = Response("https://cafe.example/x", body=b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert isinstance(registry.GENERIC.parse(binary), ParseResult)


def test_json_of_the_wrong_shape_gives_nothing_not_an_error():
    for body in [b"[]", b"{}", b"null", b'"text"', b"[1, 2, 3]", b'{"post_stream": 5}',
                 b'{"kind": "Listing", "data": {"children": [{"kind": "t3", "data": 7}]}}',
                 b'[{"link": 5, "title": {"rendered": null}, "content": []}]']:
        response = TextResponse("https://api.example/x.json", body=body,
                                headers={"Content-Type": "application/json"})
        for adapter in registry.ADAPTERS:
            result = adapter.parse(response)
            assert result.posts == [] and result.errors == [], (adapter.platform, body)


def test_author_handles_never_reach_the_logs(caplog):
    authors = set()
    with caplog.at_level(logging.DEBUG):
        for name in FIXTURES:
            for post in registry.get(platform_of(name)).parse(response_for(name)).posts:
                if post.author:
                    authors.add(post.author)
        for name in FIXTURES:  # also through failures: every adapter on every page
            for adapter in registry.ADAPTERS:
                adapter.parse(response_for(name, (PAGES / name).read_bytes()[:300]))
    assert authors
    logged = caplog.text
    assert not [a for a in authors if a in logged]


def test_pages_that_only_mention_engines_stay_generic():
    page = b"""<html><head><title>Hanover news</title>
    <link rel="stylesheet" href="/style.css"></head><body><article><h1>Our new forum</h1>
    <p>We moved from phpBB (phpbb_cookie problems) to a hosted board. Others use
    <a href="https://mybb.com">MyBB</a>, <a href="https://www.simplemachines.org">Simple Machines</a>,
    <a href="https://www.vbulletin.com">vBulletin</a>, <a href="https://invisioncommunity.com">Invision</a>,
    <a href="https://t.me/s/hanovernews">our Telegram channel</a> or Mastodon.</p>
    <img src="https://substackcdn.com/image/fetch/x.png" alt="newsletter">
    <p>Reddit fans: see /r/brighton.</p></article></body></html>"""
    response = HtmlResponse("https://hanover-news.example/2024/forum", body=page)
    assert registry.detect(response).platform == "generic"
