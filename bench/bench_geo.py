"""Geo benchmarks: point-in-beat lookups over the 267 Sussex wards, gazetteer + postcode import.

Figures go under ``results["geo"]`` (see ``bench/__main__.py``); write-up in
``docs/benchmarks.md`` (section ``## geo``). Mention-resolution speed is measured by the NLP
benchmark, not here.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from geo.beats import import_beats
from geo.gazetteer import import_gazetteer
from geo.index import BeatIndex
from storage.db import ROOT, init_db, make_engine, session_scope

SUSSEX_WARDS = ROOT / "data" / "boundaries" / "sussex_wards_2013.geojson"
GAZETTEER = [ROOT / "data" / "gazetteer" / n for n in (
    "sussex_fine_gazetteer_combined.csv", "sussex_places_combined.csv",
    "brighton_and_hove_area_names_curated.csv", "geonames_postal_sussex.csv")]
POSTCODES = ROOT / "data" / "postcodes" / "sussex_postcodes_codepoint_open.csv.gz"
SINGLE_LOOKUPS = 20_000  # one-at-a-time calls: enough for a stable rate in about a second
BULK_POINTS = 500_000  # one vectorised call, the size of a big import
SEED = 20261126


def _index() -> tuple[BeatIndex, float]:
    doc = json.loads(SUSSEX_WARDS.read_text(encoding="utf-8"))
    beats = [SimpleNamespace(id=i + 1, key=f["properties"]["ward_code"],
                             name=f["properties"]["ward_name"], geometry=f["geometry"])
             for i, f in enumerate(doc["features"])]
    started = time.perf_counter()
    index = BeatIndex(beats)
    return index, time.perf_counter() - started


def _points(index: BeatIndex, n: int) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    min_lat, min_lon, max_lat, max_lon = index.bounds()
    return np.column_stack([rng.uniform(min_lat, max_lat, n), rng.uniform(min_lon, max_lon, n)])


def bench_lookups(results: dict) -> None:
    index, build = _index()
    pts = _points(index, SINGLE_LOOKUPS)
    started = time.perf_counter()
    found = sum(index.locate(lat, lon) is not None for lat, lon in pts)
    single = time.perf_counter() - started
    bulk_pts = _points(index, BULK_POINTS)
    started = time.perf_counter()
    bulk = index.locate_many(bulk_pts)
    many = time.perf_counter() - started
    results.update({
        "beats": len(index), "index_build_ms": round(build * 1000, 1),
        "locate_per_second": round(SINGLE_LOOKUPS / single),
        "locate_many_per_second": round(BULK_POINTS / many),
        "share_of_random_bbox_points_in_a_beat": round(found / SINGLE_LOOKUPS, 3),
        "bulk_agrees_with_single": bulk[:1000] == [index.locate(a, b) for a, b in bulk_pts[:1000]],
    })


def bench_import(results: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        init_db(url)
        engine = make_engine(url)
        with session_scope(engine) as s:
            import_beats(s, SUSSEX_WARDS)
        timings, cpu = {}, {}
        for label in ("first", "again"):
            started, cpu_started = time.perf_counter(), time.process_time()
            with session_scope(engine) as s:
                report = import_gazetteer(s, [*GAZETTEER, POSTCODES])
            timings[label] = time.perf_counter() - started
            cpu[label] = time.process_time() - cpu_started
        engine.dispose()
    results.update({
        "import_rows_read": sum(v for k, v in report.counts.items() if k.startswith("rows read")),
        "import_places_written": report.total,
        "import_postcodes_written": report.counts["postcodes"],
        "import_seconds_sqlite": round(timings["first"], 2),
        # CPU seconds of this process: less sensitive to the other work on a shared machine
        "import_cpu_seconds_sqlite": round(cpu["first"], 2),
        "reimport_seconds_sqlite": round(timings["again"], 2),
        "reimport_cpu_seconds_sqlite": round(cpu["again"], 2),
    })


def run(results: dict) -> None:
    bench_lookups(results)
    bench_import(results)


if __name__ == "__main__":
    out: dict = {}
    run(out)
    print(json.dumps(out, indent=2))
