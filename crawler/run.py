"""Programmatic crawl entry: :func:`run_crawl` prepares a run and runs Scrapy in a subprocess.

The crawl runs in a child process (``python -m crawler.run --child …``) because Twisted's
reactor cannot be restarted inside one process, and callers (the CLI, the demo, the web UI's
"start a crawl" button) must be able to start crawl after crawl. The child reports progress
as JSON lines on its stdout; the parent passes them to ``progress``, forwards SIGTERM/SIGINT
for a graceful stop, and records the run's end. The child dies with its parent (Linux
PR_SET_PDEATHSIG), so no orphan keeps crawling. Killing the child at any moment loses nothing:
the ledger is resumed by the next run (``resume=True`` continues the same run).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import Any

from scrapy.crawler import CrawlerProcess
from sqlalchemy import select, update

from crawler import ledger as ledger_mod
from crawler.discovery import SEED_PRIORITY, ensure_venue
from crawler.ledger import Ledger, _owner_alive, make_owner
from crawler.progress import PROGRESS_PREFIX
from crawler.settings import build_settings
from crawler.spiders.community import CommunitySpider
from crawler.ssrf import BlockedAddress, check_url, normalise_allow_list
from crawler.urls import URLError, canonicalize, host_of, is_profile_url, url_fp
from crawler.venues import venue_key
from storage.audit import cli_actor, record
from storage.config import Config, ConfigError
from storage.db import open_engine, session_scope, utcnow
from storage.ids import new_id
from storage.models import CrawlRun, LedgerEntry, Seed

logger = logging.getLogger(__name__)

# Settings never copied into crawl_runs.config (secrets).
SECRET_SETTINGS = frozenset({"pseudonym_key", "secret_key", "db", "redis_url"})
ProgressFn = Callable[[dict[str, Any]], None]


class CrawlSetupError(ConfigError):
    """The crawl cannot start as configured; the message says what to set."""


def check_ready(config: Config, purpose: str) -> None:
    """Refuse to crawl without an identifying contact URL and a stated purpose."""
    contact = (config.contact_url or "").strip()
    if not contact.startswith(("http://", "https://", "mailto:")):
        raise CrawlSetupError("set contact_url (e.g. BEATMAP_CONTACT_URL=https://your-force/"
                              "crawler) so site owners can see who is crawling and why")
    if not purpose.strip():
        raise CrawlSetupError("state the crawl's purpose (--purpose TEXT or setting "
                              "crawl_purpose)")
    if config.proxy:
        try:
            check_url(config.proxy, normalise_allow_list(config.allowed_private_hosts))
        except BlockedAddress as exc:
            raise CrawlSetupError(f"proxy {config.proxy} is private and not in "
                                  f"allow_private_hosts ({exc})") from exc


def check_seed(url: str) -> str:
    """The canonical seed URL; refuses known-only (deny-listed) platforms and pages about one
    person (author archives, member profiles), whose URL carries a handle."""
    try:
        canonical = canonicalize(url)
    except URLError as exc:
        raise ValueError(f"bad seed URL: {exc}") from exc
    ref = venue_key(canonical)
    if not ref.crawlable:
        raise ValueError(f"seed {url} is on {ref.platform_hint}, which beatmap never crawls "
                         f"({ref.known_only_reason}); record it as a known venue instead")
    if is_profile_url(canonical) or is_profile_url(url):
        # The message leaves the URL out: it carries a person's handle.
        raise ValueError(f"a seed on {host_of(canonical)} is a page about one person (an author, "
                         f"member or user profile); beatmap maps venues, not people: seed the "
                         f"venue instead ({ref.url})")
    return canonical


def _safe_config(config: Config) -> dict[str, Any]:
    return {k: v for k, v in config.as_dict().items() if k not in SECRET_SETTINGS}


def prepare_run(config: Config, *, seeds: Iterable[str] | None, purpose: str, actor: str,
                max_pages: int, seeds_only: bool, resume: bool, mode: str = "single") -> int:
    """Create (or reopen) the run, queue its seeds and due revisits; return the run id.

    ``mode`` is recorded on the run: "single", or "distributed" (crawler.distributed).
    """
    engine = open_engine(config.db)
    try:
        if mode == "single":
            _refuse_if_running(engine)
        if resume:
            run_id = _reopen(engine)
            if run_id is not None:
                return run_id
        run_id = new_id()
        with session_scope(engine) as session:
            seed_urls = _seed_urls(session, seeds)
            queued_before = session.execute(
                select(LedgerEntry.url_fp).where(LedgerEntry.state.in_(("queued", "leased")))
                .limit(1)).first()
            if not seed_urls and queued_before is None:
                raise CrawlSetupError("no seeds: add some with `beatmap seeds add URL` or "
                                      "`beatmap seeds import FILE`")
            session.add(CrawlRun(id=run_id, started_at=utcnow(), status="running",
                                 purpose=purpose, actor=actor, mode=mode,
                                 config={**_safe_config(config), "max_pages": max_pages,
                                         "seeds_only": seeds_only},
                                 stats={}))
            _queue_seeds(session, seed_urls, run_id)
            record(session, actor=actor, action="crawl.start", object_type="crawl_run",
                   object_id=run_id, reason=purpose,
                   detail={"seeds": len(seed_urls), "max_pages": max_pages,
                           "seeds_only": seeds_only,
                           "allow_private_hosts": sorted(config.allowed_private_hosts),
                           "proxy": bool(config.proxy)})
        Ledger(engine, make_owner(run_id)).requeue_due()
        return run_id
    finally:
        engine.dispose()


def _refuse_if_running(engine) -> None:
    """One single-process crawl at a time: another live worker holding leases means no."""
    with session_scope(engine) as session:
        owners = session.execute(select(LedgerEntry.lease_owner).distinct()
                                 .where(LedgerEntry.state == "leased")).scalars().all()
    live = [o for o in owners if o and not o.startswith("@") and _owner_alive(o)]
    if live:
        raise CrawlSetupError(f"another crawl is running ({live[0]}); wait for it to end or "
                              "stop it (it resumes with --resume)")


def _reopen(engine) -> int | None:
    with session_scope(engine) as session:
        run = session.execute(select(CrawlRun)
                              .where(CrawlRun.status.in_(("running", "interrupted")))
                              .order_by(CrawlRun.started_at.desc()).limit(1)).scalar_one_or_none()
        if run is None:
            return None
        run.status = "running"
        run.finished_at = None
        return run.id


def _seed_urls(session, seeds: Iterable[str] | None) -> list[str]:
    if seeds is not None:
        return [check_seed(u) for u in seeds]
    return [check_seed(u) for u in session.execute(select(Seed.url)).scalars()]


def _queue_seeds(session, urls: list[str], run_id: int) -> None:
    cache: dict = {}
    rows = []
    for url in urls:
        ref = venue_key(url)
        venue, _ = ensure_venue(session, ref, discovered_via="seed", depth=0, cache=cache)
        session.execute(update(Seed).where(Seed.url == url, Seed.venue_id.is_(None))
                        .values(venue_id=venue.id))
        for target in dict.fromkeys([url, ref.url]):  # the seed page and its venue's home
            rows.append(ledger_mod.entry_row(target, url_fp(target), host_of(target),
                                             venue_id=venue.id, depth=0,
                                             priority=SEED_PRIORITY, run_id=run_id))
    ledger_mod.enqueue(session, rows)
    # A seed given again is fetched again now, whatever its earlier state.
    fps = [r["url_fp"] for r in rows]
    if fps:
        session.execute(update(LedgerEntry)
                        .where(LedgerEntry.url_fp.in_(fps),
                               LedgerEntry.state.in_(("done", "failed", "skipped", "blocked")))
                        .values(state="queued", next_fetch_at=None))


def finish_run(config: Config, run_id: int, returncode: int, actor: str) -> dict[str, Any]:
    """Record the run's end (when the child could not) and the crawl.finish audit entry."""
    engine = open_engine(config.db)
    try:
        with session_scope(engine) as session:
            run = session.get(CrawlRun, run_id)
            if run is None:
                raise ValueError(f"no crawl run {run_id}")
            if run.status == "running":
                run.status = "interrupted" if returncode < 0 or returncode == 143 else "failed"
                run.finished_at = utcnow()
            progress = dict((run.stats or {}).get("progress", {}))
            record(session, actor=actor, action="crawl.finish", object_type="crawl_run",
                   object_id=run_id, reason=run.purpose,
                   detail={"status": run.status, "returncode": returncode, **progress})
            return {"run_id": run_id, "status": run.status, **progress}
    finally:
        engine.dispose()


def _die_with_parent() -> None:
    """Child side of fork: ask Linux to SIGTERM us when the parent dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def run_crawl(config: Config, *, seeds: Iterable[str] | None = None,
              max_pages: int | None = None, purpose: str | None = None,
              progress: ProgressFn | None = None, seeds_only: bool = False,
              resume: bool = False, actor: str | None = None) -> int:
    """Run one crawl to its end in a subprocess and return its ``crawl_runs`` id.

    ``seeds``: URLs to start from (default: every seed in the database). ``progress`` is called
    with a dict (pages, posts, venues, queue, errors, rate, elapsed, final) every couple of
    seconds. Raises :class:`CrawlSetupError` when contact URL or purpose are missing.
    """
    purpose = (purpose if purpose is not None else config.crawl_purpose) or ""
    check_ready(config, purpose)
    actor = actor or cli_actor()
    budget = max_pages if max_pages is not None else config.max_pages
    run_id = prepare_run(config, seeds=seeds, purpose=purpose, actor=actor, max_pages=budget,
                         seeds_only=seeds_only, resume=resume)
    env = dict(os.environ)
    env["BEATMAP_CRAWL_CONFIG"] = json.dumps(config.as_dict())
    # The crawl logs as verbosely as its caller (the CLI's -v/-vv), so progress stays readable.
    env["BEATMAP_CRAWL_LOG_LEVEL"] = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    cmd = [sys.executable, "-m", "crawler.run", "--child", "--run-id", str(run_id),
           "--max-pages", str(budget)] + (["--seeds-only"] if seeds_only else [])
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env,  # noqa: S603
                             preexec_fn=_die_with_parent)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def forward(signum, _frame):
        child.send_signal(signal.SIGTERM)  # graceful in the child: leases go back

    try:
        for sig in previous:
            signal.signal(sig, forward)
    except ValueError:  # not the main thread (web UI): signals stay with the caller
        previous = {}
    try:
        _pump(child, progress)
        returncode = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    summary = finish_run(config, run_id, returncode, actor)
    if progress is not None:
        progress({**summary, "final": True})
    return run_id


def _pump(child: subprocess.Popen, progress: ProgressFn | None) -> None:
    assert child.stdout is not None
    for raw in child.stdout:
        line = raw.decode("utf-8", "replace")
        if line.startswith(PROGRESS_PREFIX) and progress is not None:
            try:
                progress(json.loads(line[len(PROGRESS_PREFIX):]))
            except json.JSONDecodeError:
                continue


def child_main(run_id: int, max_pages: int, seeds_only: bool) -> int:
    """Inside the subprocess: run the Scrapy crawl for ``run_id``."""
    overrides = json.loads(os.environ.get("BEATMAP_CRAWL_CONFIG", "{}"))
    config = Config.load(overrides)
    settings = build_settings(config, run_id=run_id, max_pages=max_pages,
                              seeds_only=seeds_only, owner=make_owner(run_id),
                              progress_fd=sys.stdout.fileno())
    settings["LOG_LEVEL"] = os.environ.get("BEATMAP_CRAWL_LOG_LEVEL", settings["LOG_LEVEL"])
    process = CrawlerProcess(settings)
    process.crawl(CommunitySpider)
    process.start()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.run",
                                     description="Run a beatmap crawl (settings as for beatmap).")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--run-id", type=int)
    parser.add_argument("--max-pages", type=int)
    parser.add_argument("--seeds-only", action="store_true")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--purpose")
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.run_id, args.max_pages, args.seeds_only)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    config = Config.load()
    try:
        run_id = run_crawl(config, max_pages=args.max_pages, purpose=args.purpose,
                           seeds_only=args.seeds_only, resume=args.resume,
                           progress=lambda p: print(json.dumps(p), file=sys.stderr))
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(run_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
