"""Crawl benchmark: end-to-end pages/s on the sample web as a ratio to Scrapy's own benchmark
run in the same invocation, and the crawl process's peak memory at 10k and 50k pages.

Scrapy's ``scrapy bench`` command starts its benchmark server on all interfaces (port 8998);
the rules here allow loopback only, so the same server code (``scrapy.utils.benchserver``)
and the same spider and settings (``scrapy.commands.bench``) are run with the server bound
to 127.0.0.1 on a free port. That is the ``scrapy bench`` figure.

``python -m bench --only crawl``; ``BEATMAP_BENCH_CRAWL_PAGES`` changes the size of the
throughput web (default 20,000 pages); ``BEATMAP_BENCH_CRAWL_LARGE=1`` adds the 50k-page
memory crawl (about 20 minutes on two cores, so off by default). Scrapy's benchmark runs
before and after the crawl and the ratio uses their mean, because other work on the machine
changes both over several minutes.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRAPY_BENCH_SECONDS = 15  # scrapy bench itself stops at 10 s; a little longer is steadier
THROUGHPUT_PAGES = int(os.environ.get("BEATMAP_BENCH_CRAWL_PAGES", "20000"))
MEMORY_MARKS = (10_000, 50_000)
# Resident memory is sampled as the crawl passes these page counts, to show it stays flat.
RSS_MARKS = (2_500, 5_000, 10_000, 15_000, 20_000, 30_000, 40_000, 50_000)
RSS_POLL_SECONDS = 0.5
# scrapy bench runs with Scrapy's defaults: 16 requests in flight, 8 per host, no delay. The
# throughput crawl uses the same concurrency so the ratio compares the work per page, not
# politeness; the production default (1 per host) is reported beside it.
BENCH_CONCURRENCY = {"concurrent_requests": 16, "concurrent_per_host": 8, "download_delay": 0.0}


# --- scrapy bench, on loopback -------------------------------------------------------------

def _serve_bench() -> None:
    """Child: Scrapy's benchmark server bound to 127.0.0.1 on a free port."""
    from scrapy.utils.benchserver import Root
    from twisted.internet import reactor
    from twisted.web.server import Site

    port = reactor.listenTCP(0, Site(Root()), interface="127.0.0.1")
    print(port.getHost().port, flush=True)
    reactor.run()


def _run_bench_spider(port: int) -> None:
    """Child: Scrapy's bench spider and settings against the loopback server; stats as JSON."""
    from scrapy.commands.bench import Command, _BenchSpider
    from scrapy.crawler import CrawlerProcess

    settings = dict(Command.default_settings, CLOSESPIDER_TIMEOUT=SCRAPY_BENCH_SECONDS,
                    LOG_LEVEL="WARNING", TELNETCONSOLE_ENABLED=False)
    _BenchSpider.baseurl = f"http://127.0.0.1:{port}"
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(_BenchSpider)
    process.crawl(crawler, total=100000)
    process.start()
    stats = crawler.stats.get_stats()
    print(json.dumps({"pages": stats.get("response_received_count", 0),
                      "seconds": stats.get("elapsed_time_seconds", 0.0)}), flush=True)


def scrapy_bench() -> dict[str, Any]:
    server = subprocess.Popen([sys.executable, "-m", "bench.bench_crawl", "serve-bench"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().strip())
        out = subprocess.run([sys.executable, "-m", "bench.bench_crawl", "bench-spider",
                              str(port)], cwd=ROOT, capture_output=True, text=True,
                             timeout=SCRAPY_BENCH_SECONDS + 60, check=True)
    finally:
        server.kill()
        server.wait()
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["pages_per_s"] = round(figures["pages"] / max(figures["seconds"], 1e-9), 1)
    return figures


# --- the end-to-end crawl ------------------------------------------------------------------

def _crawl_child_pid() -> int | None:
    me = os.getpid()
    try:
        for task in Path(f"/proc/{me}/task").iterdir():
            for pid in (task / "children").read_text().split():
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"crawler.run" in cmdline and b"--child" in cmdline:
                    return int(pid)
    except OSError:
        return None
    return None


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class _Sampler:
    """Polls the crawl subprocess's resident memory while it runs."""

    def __init__(self) -> None:
        self.peak = 0.0
        self.current = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            pid = _crawl_child_pid()
            rss = _rss_mb(pid) if pid else None
            if rss:
                self.current = rss
                self.peak = max(self.peak, rss)
            self._stop.wait(RSS_POLL_SECONDS)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def crawl_sample_web(pages: int, *, marks: tuple[int, ...] = (), **settings: Any) -> dict[str, Any]:
    """Build a sample web of about ``pages`` pages, crawl it from its seeds, report figures."""
    from crawler.run import run_crawl
    from sampleweb.area import DEFAULT_BEATS, load_area_from_files
    from sampleweb.generate import build
    from sampleweb.server import SampleWeb
    from storage.config import Config
    from storage.db import init_db

    with tempfile.TemporaryDirectory(prefix="beatmap-bench-crawl-") as tmp:
        out = Path(tmp)
        built = build(out / "web", seed=11, area=load_area_from_files(DEFAULT_BEATS),
                      pages=pages, as_of=date(2026, 11, 1))
        seeds = [row["url"] for row in csv.DictReader((out / "web" / "seeds.csv").open())]
        db = f"sqlite:///{out / 'bench.db'}"
        init_db(db)
        at_marks: dict[int, float] = {}
        last: dict[str, Any] = {}
        with SampleWeb.start(out / "web", slow_delay=0.2) as web, _Sampler() as sampler:
            def progress(snap: dict[str, Any]) -> None:
                last.update(snap)
                for mark in marks:
                    if snap.get("pages", 0) >= mark and mark not in at_marks:
                        at_marks[mark] = round(sampler.current, 1)

            config = Config.load({
                "db": db, "contact_url": "https://police.example/bench", "proxy": web.proxy_url,
                "allow_private_hosts": "127.0.0.1", "crawl_purpose": "benchmark",
                "download_timeout": 5, "max_pages": pages * 2,
                # the whole web is the job here: no per-host budget cuts the big forums short
                "max_pages_per_host": pages, **settings}, environ={})
            started = time.perf_counter()
            run_crawl(config, seeds=seeds, progress=progress)
            wall = time.perf_counter() - started
            requests = len(web.request_log)
        crawl_seconds = float(last.get("elapsed") or wall)
        db_bytes = sum(p.stat().st_size for p in out.glob("bench.db*"))
        return {
            "web_pages": built.pages, "pages_stored": last.get("pages", 0),
            "posts_stored": last.get("posts", 0), "requests": requests,
            "crawl_seconds": round(crawl_seconds, 1), "wall_seconds": round(wall, 1),
            "pages_per_s": round(last.get("pages", 0) / max(crawl_seconds, 1e-9), 1),
            "peak_rss_mb": round(sampler.peak, 1),
            "rss_mb_at_pages": {str(k): v for k, v in at_marks.items()},
            "db_mb": round(db_bytes / 1e6, 1), "settings": settings,
        }


def run(results: dict) -> None:
    before = scrapy_bench()
    e2e = crawl_sample_web(THROUGHPUT_PAGES, marks=RSS_MARKS, **BENCH_CONCURRENCY)
    after = scrapy_bench()
    reference = (before["pages_per_s"] + after["pages_per_s"]) / 2
    results["scrapy_bench"] = {"before": before, "after": after,
                               "mean_pages_per_s": round(reference, 1)}
    results["crawl"] = e2e
    results["ratio_to_scrapy_bench"] = round(e2e["pages_per_s"] / max(reference, 1e-9), 2)
    results["rss_mb_10k_pages"] = e2e["rss_mb_at_pages"].get(str(MEMORY_MARKS[0]))
    if os.environ.get("BEATMAP_BENCH_CRAWL_LARGE", "0") == "1":
        large = crawl_sample_web(MEMORY_MARKS[1], marks=RSS_MARKS, **BENCH_CONCURRENCY)
        results["crawl_50k"] = large
        results["rss_mb_50k_pages"] = large["peak_rss_mb"]


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "serve-bench":
        _serve_bench()
    elif command == "bench-spider":
        _run_bench_spider(int(sys.argv[2]))
    else:
        figures: dict = {}
        run(figures)
        print(json.dumps(figures, indent=2))
