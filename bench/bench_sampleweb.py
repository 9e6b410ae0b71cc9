"""Sample web: build time at demo size and at 100k pages, and pages/s served over loopback.

The client runs in separate processes (keep-alive connections through the proxy, absolute
URIs), so the figure is what a crawler on the same machine could get from the server.
"""

from __future__ import annotations

import http.client
import multiprocessing as mp
import os
import resource
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from sampleweb import SampleWeb, build, load_area_from_files
from sampleweb.truth import venue_pages

AS_OF = date(2026, 11, 1)
DEMO_PAGES = 4000
LARGE_PAGES = 100_000
# Pages fetched for the throughput figure: enough for a stable rate, small enough for ~15 s.
SERVE_PAGES = 20_000
CLIENT_PROCESSES = 2
CONNECTIONS_PER_PROCESS = 4


def _fetch(port: int, urls: list[str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    done = 0
    for url in urls:
        conn.request("GET", url, headers={"User-Agent": "beatmap-bench"})
        r = conn.getresponse()
        r.read()
        done += r.status == 200
    conn.close()
    return done


def _client(port: int, urls: list[str], out: mp.Queue) -> None:
    parts = [urls[i::CONNECTIONS_PER_PROCESS] for i in range(CONNECTIONS_PER_PROCESS)]
    counts = [0] * len(parts)

    def work(i: int) -> None:
        counts[i] = _fetch(port, parts[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(parts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(sum(counts))


def _serve_rate(web: SampleWeb, urls: list[str]) -> tuple[float, int]:
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    procs = [ctx.Process(target=_client, args=(web.base_port, urls[i::CLIENT_PROCESSES], queue))
             for i in range(CLIENT_PROCESSES)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    ok = sum(queue.get(timeout=600) for _ in procs)
    for p in procs:
        p.join()
    return time.perf_counter() - started, ok


def run(results: dict) -> None:
    # Other work on the machine slows every figure here; record it beside them.
    results["load_average_at_start"] = round(os.getloadavg()[0], 2)
    area = load_area_from_files()
    with tempfile.TemporaryDirectory() as tmp:
        demo, large = Path(tmp) / "demo", Path(tmp) / "large"
        r = build(demo, seed=1, area=area, pages=DEMO_PAGES, as_of=AS_OF)
        results["demo_build_seconds"] = r.seconds
        results["demo_pages"] = r.pages
        results["demo_venues"] = r.venues
        results["demo_posts"] = r.posts
        r = build(large, seed=1, area=area, pages=LARGE_PAGES, as_of=AS_OF)
        results["large_build_seconds"] = r.seconds
        results["large_pages"] = r.pages
        results["large_posts"] = r.posts
        results["large_spec_kb"] = round((large / "site_spec.json").stat().st_size / 1024)
        results["large_truth_kb"] = round((large / "ground_truth.json").stat().st_size / 1024)
        with SampleWeb.start(large, slow_delay=0.0) as web:
            urls = [u for v in web.world.venues if not v.d.get("slow") for u in venue_pages(v)]
            # Interleave venues so every client meets cold venues (lazy generation) as a crawler would.
            urls = urls[::max(1, len(urls) // SERVE_PAGES)][:SERVE_PAGES]
            seconds, ok = _serve_rate(web, urls)
            results["serve_pages"] = len(urls)
            results["serve_ok"] = ok
            results["serve_seconds"] = round(seconds, 2)
            results["serve_pages_per_s"] = round(len(urls) / seconds)
            # Second pass: warm venues (posts already generated), pure rendering and HTTP.
            seconds, ok = _serve_rate(web, urls)
            results["serve_warm_pages_per_s"] = round(len(urls) / seconds)
        results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
