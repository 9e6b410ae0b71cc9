"""``make demo``: the whole job end to end on the bundled default (Brighton & Hove).

Steps: create the database; import the 21 Brighton & Hove wards as beats with the Sussex
gazetteer and postcodes; build the synthetic sample web for that area and serve it on
loopback; import its seeds; crawl it with the production crawler (tagging inside the crawl);
flag sensitive venues; rank every beat; write the exports; print a few beats' top venues and
how to open the web UI. Re-running reuses what is already there.

The sample web is synthetic: it stands in for the real local web so the demo runs offline.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from beatmap.export import export
from beatmap.web.users import ensure_demo_users
from crawler.run import run_crawl
from crawler.seeds import add_seeds, read_seed_file
from geo.demo import import_default_area
from graph.queries import beat_ranking
from graph.rank import rank_all
from sampleweb.generate import DEMO_PAGES, build
from sampleweb.server import SampleWeb
from storage.config import Config
from storage.db import init_db, open_engine, session_scope
from storage.models import Beat, VenueScore
from storage.sensitive import flag_sensitive

DEMO_SEED = 7
DEMO_CONTACT = "http://127.0.0.1/beatmap-demo"  # a loopback page: the demo talks to no one else
DEMO_PURPOSE = "beatmap demo on the synthetic Brighton & Hove sample web"
TOP_BEATS = 3  # beats whose top venues the demo prints
EXPORTS = (("xlsx", "beatmap.xlsx"), ("csv", "beatmap.csv"), ("geojson", "beatmap.geojson"),
           ("gexf", "beatmap.gexf"), ("graphml", "beatmap.graphml"), ("html", "map.html"))


class Steps:
    """Numbered progress lines on stdout, with the time each step took."""

    def __init__(self, total: int):
        self.total, self.n, self.started = total, 0, time.perf_counter()

    def __call__(self, text: str) -> None:
        self.n += 1
        print(f"[{self.n}/{self.total}] {text}", flush=True)

    def done(self, text: str) -> None:
        print(f"      {text}", flush=True)


def _crawl_progress(snapshot: dict[str, Any]) -> None:
    line = (f"      crawling: {snapshot.get('pages', 0)} pages, {snapshot.get('posts', 0)} posts, "
            f"{snapshot.get('venues', 0)} venues, queue {snapshot.get('queue', 0)}, "
            f"{snapshot.get('errors', 0)} errors, {snapshot.get('rate', 0):.0f} pages/s")
    print(line, flush=True)


def run(out: Path, *, seed: int = DEMO_SEED, pages: int | None = None) -> int:
    out.mkdir(parents=True, exist_ok=True)
    config = Config.load()
    step = Steps(8)

    step(f"database at {config.db}")
    step.done(f"schema revision {init_db(config.db)}")
    engine = open_engine(config.db)

    step("beats, gazetteer and postcodes (Brighton & Hove wards, Sussex names)")
    with session_scope(engine) as session:
        area = import_default_area(session)
    step.done(f"{area['beats']} beats, {area['places']} places ({area['places_in_beats']} in "
              f"beats), {area['postcodes']} postcodes"
              + (" — already imported" if area["skipped"] else f" in {area['seconds']} s"))

    web_dir = out / "sampleweb"
    step(f"synthetic sample web (seed {seed}) in {web_dir}")
    if (web_dir / "site_spec.json").exists() and (web_dir / "seeds.csv").exists():
        step.done("already built")
    else:
        result = build(web_dir, seed=seed, pages=pages or DEMO_PAGES)
        step.done(f"built {result.venues} venues ({result.crawlable_venues} crawlable), "
                  f"{result.posts} posts, {result.pages} pages in {result.seconds:.1f} s")

    with SampleWeb.start(web_dir) as web:
        step(f"serving it on {web.proxy_url} (loopback only); importing its seeds")
        with session_scope(engine) as session:
            added = add_seeds(session, read_seed_file(web_dir / "seeds.csv"), source="demo")
        step.done(f"{added} new seeds")

        step("crawling (production crawler, through the sample web's proxy)")
        crawl_config = config.replace(
            proxy=web.proxy_url, allow_private_hosts="127.0.0.1",
            contact_url=config.contact_url or DEMO_CONTACT,
            crawl_purpose=config.crawl_purpose or DEMO_PURPOSE, download_delay=0.0,
            crawl_delay_cap=0.0)
        run_id = run_crawl(crawl_config, purpose=crawl_config.crawl_purpose,
                           progress=_crawl_progress)
        step.done(f"crawl run {run_id} finished")

    return _rank_and_export(engine, out, step, web_dir)


def _rank_and_export(engine, out: Path, step: Steps, web_dir: Path) -> int:
    step("flagging sensitive venues and ranking every beat")
    with session_scope(engine) as session:
        sensitive = flag_sensitive(session)
        stats = rank_all(session)
    step.done(f"{sensitive} sensitive venues hidden by default; {stats.rows} ranked entries for "
              f"{stats.venues} venues over {stats.beats} beats in {stats.seconds:.1f} s")

    step(f"exports in {out}/")
    with session_scope(engine) as session:
        for fmt, name in EXPORTS:
            result = export(session, fmt, out / name, reason="demo run", actor="demo")
            step.done(f"{fmt:8} {result.path} ({result.rows} rows)")

    step("top venues of a few beats")
    with session_scope(engine) as session:
        _print_top(session)
        users = ensure_demo_users(session)

    print()
    print("Open the web UI:  make serve   (or .venv/bin/beatmap serve; then http://127.0.0.1:8150/)")
    for user in users:
        print(f"  sign in as {user.username!r} ({user.role}) with password {user.password!r}")
    print(f"Spreadsheet: {out / 'beatmap.xlsx'}   map: {out / 'map.html'}")
    print(f"Sample web ground truth: {web_dir / 'ground_truth.json'}")
    return 0


def _print_top(session) -> None:
    busiest = session.execute(
        select(Beat).join(VenueScore, VenueScore.beat_id == Beat.id).group_by(Beat.id)
        .order_by(func.count().desc(), Beat.name).limit(TOP_BEATS)).scalars().all()
    for beat in busiest:
        print(f"\n  {beat.name} ({beat.key})")
        for row in beat_ranking(session, beat, limit=5):
            print(f"   {row['rank']:>2}. {row['score']:.2f}  {row['name'] or row['venue_key']}"
                  f" [{row['platform']}] — {row['reason']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sampleweb.demo", description=__doc__)
    parser.add_argument("--out", default="out", help="folder for the exports and the sample web")
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--pages", type=int, default=None, help="sample web size")
    args = parser.parse_args(argv)
    try:
        return run(Path(args.out), seed=args.seed, pages=args.pages)
    except (ValueError, OSError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
