"""Parse throughput of each platform adapter on the sample web's pages of its engine."""

# Pages come from the sample web's renderers in-process (no sockets), so the figures are the
# adapters' own cost: detection and ``parse`` (posts, venue facts, follow, links) per page.

from __future__ import annotations

import logging
import time
from datetime import date
from urllib.parse import urljoin, urlsplit

from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse

from crawler.adapters import registry

# Pages per platform: enough for a stable rate, few enough to stay well under a minute.
PAGES_PER_PLATFORM = 300
# Each platform is parsed repeatedly until this much time has passed, for a steady figure.
MIN_SECONDS = 1.0
ADAPTER_FOR = {"static": "generic", "directory": "generic"}
SEED, SIZE, AS_OF = 1, 4000, date(2026, 11, 1)


def _world():
    from sampleweb.area import load_area_from_files
    from sampleweb.generate import make_spec
    from sampleweb.model import World

    return World(make_spec(load_area_from_files(), seed=SEED, pages=SIZE, as_of=AS_OF))


def _fetch(world, url: str) -> Response | None:
    from sampleweb.platforms.common import Req
    from sampleweb.site import handle

    for _ in range(5):
        parts = urlsplit(url)
        if parts.netloc not in world.hosts:
            return None
        resp = handle(world, Req(host=parts.netloc, path=parts.path or "/", query=parts.query))
        if resp.status in (301, 302) and resp.headers:
            url = urljoin(url, dict((k.lower(), v) for k, v in resp.headers).get("location", ""))
            continue
        if resp.status != 200 or resp.stall or resp.chunks is not None:
            return None
        ctype = resp.content_type or ""
        headers = {**dict(resp.headers), "Content-Type": ctype}
        cls = (HtmlResponse if "html" in ctype else XmlResponse if "xml" in ctype
               else TextResponse if "json" in ctype or "text" in ctype else Response)
        return cls(url=url, body=resp.body, headers=headers)
    return None


def _pages(world, platform: str) -> list[Response]:
    from sampleweb.platforms import renderer

    out: list[Response] = []
    venues = [v for v in world.venues if v.platform == platform and v.crawlable]
    module = renderer(platform)
    for venue in venues:
        for url in module.urls(venue):
            response = _fetch(world, url)
            if response is not None:
                out.append(response)
            if len(out) >= PAGES_PER_PLATFORM:
                return out
    return out


def _rate(fn, items: list) -> tuple[float, int]:
    done = 0
    started = time.perf_counter()
    while True:
        for item in items:
            fn(item)
        done += len(items)
        elapsed = time.perf_counter() - started
        if elapsed >= MIN_SECONDS:
            return done / elapsed, done


def run(results: dict) -> None:
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    started = time.perf_counter()
    world = _world()
    results["sample_web"] = {"seed": SEED, "size_pages": SIZE}
    per_platform: dict[str, dict] = {}
    every: list[Response] = []
    from sampleweb.platforms import PLATFORMS

    for platform in PLATFORMS:
        pages = _pages(world, platform)
        if not pages:
            continue
        every.extend(pages)
        adapter = registry.get(ADAPTER_FOR.get(platform, platform))
        rate, _ = _rate(adapter.parse, pages)
        size = sum(len(p.body) for p in pages) / len(pages)
        posts = sum(len(adapter.parse(p).posts) for p in pages)
        per_platform[platform] = {"adapter": adapter.platform, "pages": len(pages),
                                  "parse_pages_per_s": round(rate, 1),
                                  "ms_per_page": round(1000 / rate, 2),
                                  "mean_page_kb": round(size / 1024, 1),
                                  "posts_per_page": round(posts / len(pages), 2)}
    results["parse"] = per_platform
    detect_rate, _ = _rate(registry.detect, every)
    results["detect_pages_per_s"] = round(detect_rate, 1)
    results["all_pages_parse_pages_per_s"] = round(
        _rate(lambda r: registry.detect(r).parse(r), every)[0], 1)
    results["pages_measured"] = len(every)
    results["setup_seconds"] = round(time.perf_counter() - started, 1)
