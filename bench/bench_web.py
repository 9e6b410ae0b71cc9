"""Web UI latency: a beat page under concurrent load, served by ``beatmap serve`` (waitress)
and requested from a separate load process over 127.0.0.1, for a demo-sized database and a
10k-venue one (both synthesised with bulk inserts by ``sampleweb.uidata``)."""

from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from beatmap.web.users import add_user
from sampleweb.uidata import build_sample
from storage.db import init_db, make_engine, session_scope

# Sizes: the demo crawl of the Brighton & Hove sample web finds a few hundred venues; 10k is
# a whole force after months of discovery.
# Requests per size (after WARMUP): enough for a stable p95, bounded to keep `make bench` short.
SIZES = (("demo", 400, 400), ("10k", 10_000, 120))
WARMUP = 20
# Simultaneous users: four people opening beat pages at the same instant is a busy morning for
# one force's neighbourhood teams (each person reads a page for minutes, not milliseconds).
CONCURRENCY = 4
SINGLE_REQUESTS = 40
PASSWORD = "bench-password-1"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _sign_in(host: str, port: int) -> str:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", "/login")
    resp = conn.getresponse()
    page = resp.read().decode()
    cookie = resp.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = urlencode({"username": "bench", "password": PASSWORD, "csrf_token": token})
    conn.request("POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    resp = conn.getresponse()
    resp.read()
    if resp.status != 302:
        raise RuntimeError(f"bench sign-in failed: HTTP {resp.status}")
    return resp.getheader("Set-Cookie").split(";", 1)[0]


def _load(base: str, paths: list[str], requests: int, concurrency: int, out) -> None:
    """The load process: ``concurrency`` threads, each on its own keep-alive connection."""
    parts = urlsplit(base)
    cookie = _sign_in(parts.hostname, parts.port)
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    counter = iter(range(WARMUP + requests))
    wall = [0.0]

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        while True:
            with lock:
                i = next(counter, None)
                if i == WARMUP:
                    wall[0] = time.perf_counter()
            if i is None:
                return
            started = time.perf_counter()
            conn.request("GET", paths[i % len(paths)], headers={"Cookie": cookie})
            resp = conn.getresponse()
            body = resp.read()
            elapsed = time.perf_counter() - started
            with lock:
                if resp.status != 200 or b'class="ranking"' not in body:
                    errors.append(resp.status)
                elif i >= WARMUP:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    duration = time.perf_counter() - wall[0]
    out.put({"latencies": latencies, "errors": errors, "seconds": duration})


def _serve(url: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "BEATMAP_DB": url, "BEATMAP_CONFIG": str(workdir / "none.toml")}
    proc = subprocess.Popen([sys.executable, "-m", "beatmap", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = proc.stdout.readline()
    if not line.startswith("beatmap web UI at "):
        proc.kill()
        raise RuntimeError(f"beatmap serve did not start: {line!r}")
    return proc, line.split()[4].rstrip("/")


def _one(label: str, venues: int, requests: int, workdir: Path) -> dict:
    url = f"sqlite:///{workdir / f'{label}.db'}"
    init_db(url)
    engine = make_engine(url)
    started = time.perf_counter()
    info = build_sample(engine, venues=venues, seed=11)
    build_seconds = time.perf_counter() - started
    with session_scope(engine) as session:
        add_user(session, "bench", "sergeant", PASSWORD)
    engine.dispose()
    proc, base = _serve(url, workdir)
    try:
        paths = [f"/beats/{key}" for key in info.beat_keys]
        # One user alone gives the service time of a page; CONCURRENCY users the latency
        # people see at a busy moment (queueing behind each other on the server).
        single = _measure(base, paths, max(SINGLE_REQUESTS, requests // 4), 1)
        loaded = _measure(base, paths, requests, CONCURRENCY)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {"venues": venues, "beats": len(info.beat_keys), "build_seconds": round(build_seconds, 1),
            "one_user": _summary(single, 1), "concurrent": _summary(loaded, CONCURRENCY),
            "load_average_1min": round(os.getloadavg()[0], 1)}


def _measure(base: str, paths: list[str], requests: int, concurrency: int) -> dict:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    loader = ctx.Process(target=_load, args=(base, paths, requests, concurrency, queue))
    loader.start()
    result = queue.get(timeout=600)
    loader.join()
    return result


def _summary(result: dict, concurrency: int) -> dict:
    lat = result["latencies"]
    return {"concurrency": concurrency, "requests": len(lat), "errors": len(result["errors"]),
            "median_ms": round(statistics.median(lat) * 1000, 1),
            "p95_ms": round(_percentile(lat, 0.95) * 1000, 1),
            "max_ms": round(max(lat) * 1000, 1),
            "requests_per_second": round(len(lat) / result["seconds"], 1)}


def run(results: dict) -> None:
    with tempfile.TemporaryDirectory(prefix="beatmap-bench-web-") as tmp:
        for label, venues, requests in SIZES:
            results[f"beat_page_{label}"] = _one(label, venues, requests, Path(tmp))
            print(label, results[f"beat_page_{label}"], flush=True)
    results["target"] = "demo p95 < 200 ms"
    results["target_met"] = results["beat_page_demo"]["concurrent"]["p95_ms"] < 200


if __name__ == "__main__":
    out: dict = {}
    run(out)
