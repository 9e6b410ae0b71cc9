"""Starting a crawl from the web UI: the crawler's ``run_crawl`` in a background thread."""

from __future__ import annotations

import logging
import shlex
import threading

from flask import Flask

from crawler.run import check_ready, run_crawl
from storage.config import Config

logger = logging.getLogger(__name__)


class CrawlStartError(RuntimeError):
    """A crawl cannot be started from the web UI; the message says what to do instead."""


def command_line(config: Config) -> str:
    """The shell command that runs the same crawl (shown beside the web UI's button)."""
    purpose = config.get("crawl_purpose") or "<purpose>"
    return f"beatmap crawl --purpose {shlex.quote(purpose)}"


def active(app: Flask) -> list[str]:
    """Descriptions of crawls this server started that are still running."""
    threads: dict[str, threading.Thread] = app.extensions["beatmap"]["crawls"]
    return [name for name, thread in threads.items() if thread.is_alive()]


def start(app: Flask, config: Config, *, actor: str, purpose: str) -> threading.Thread:
    """Run ``crawler.run.run_crawl`` in a daemon thread; one web-started crawl at a time."""
    if active(app):
        raise CrawlStartError("a crawl started from the web UI is still running")
    crawl_config = config.replace(crawl_purpose=purpose)
    try:  # refuse here, where the user sees it, not in the thread
        check_ready(crawl_config, purpose)
    except ValueError as exc:
        raise CrawlStartError(f"cannot start the crawl: {exc}") from exc

    def work() -> None:
        try:
            run_crawl(crawl_config, actor=actor, purpose=purpose)
        except Exception:  # the run's own record says what failed; keep the server up
            logger.exception("crawl started by %s failed", actor)

    name = f"crawl by {actor}: {purpose[:60]}"
    thread = threading.Thread(target=work, name=name, daemon=True)
    app.extensions["beatmap"]["crawls"][name] = thread
    thread.start()
    return thread
