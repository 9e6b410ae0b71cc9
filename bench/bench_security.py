"""Security benchmark: cost of hostile pages in the parsers, and the hostile crawl's memory.

Figures: seconds and peak memory (tracemalloc) for the generic adapter on link farms of
growing size, and the wall time and peak RSS of one real crawl of the hostile loopback web
(tests/test_hostile_web.py's sites). Kept well under two minutes.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

LINK_FARMS = (10_000, 50_000, 150_000)  # 150,000 anchors is about 4 MB: under the 5 MB limit


def _farm(n: int) -> bytes:
    return (b"<html><body>" + b"".join(b"<a href=/f/%d>%d</a>" % (i, i) for i in range(n))
            + b"</body></html>")


def _parse_farm(n: int) -> dict:
    from scrapy.http import HtmlResponse

    from crawler.adapters import registry

    body = _farm(n)
    response = HtmlResponse("http://farm.example/page", body=body,
                            headers={"Content-Type": "text/html"})
    tracemalloc.start()
    started = time.perf_counter()
    result = registry.GENERIC.parse(response)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"anchors": n, "bytes": len(body), "seconds": round(seconds, 2),
            "python_peak_mib": round(peak / 2**20, 1), "follow": len(result.follow)}


def _hostile_crawl() -> dict:
    from crawler.run import run_crawl
    from storage.db import init_db
    from tests.hostile.probe import PeakRss
    from tests.hostile.web import HostileWeb
    from tests.test_hostile_web import _config, hostile_sites

    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'hostile.db'}"
        init_db(db)
        web = HostileWeb({})
        web.sites.update(hostile_sites(Path(tmp) / "secret.txt", web.port, web.stop))
        started = time.perf_counter()
        with web, PeakRss() as rss:
            run_crawl(_config(db, web), seeds=[f"http://{h}/" for h in web.sites])
        return {"hosts": len(web.sites), "requests": len(web.log),
                "seconds": round(time.perf_counter() - started, 1),
                "crawl_process_peak_rss_mib": round(rss.peak_mib)}


def run(results: dict) -> None:
    results["link_farm_parse"] = [_parse_farm(n) for n in LINK_FARMS]
    results["hostile_crawl"] = _hostile_crawl()
