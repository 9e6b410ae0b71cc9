"""Starting a crawl from the web UI: the crawler's ``run_crawl`` in a background thread."""

from __future__ import annotations

import importlib
import inspect
import logging
import shlex
import threading
from typing import Any

from flask import Flask

from storage.config import Config

logger = logging.getLogger(__name__)

RUNNER = ("crawler.run", "run_crawl")


class CrawlStartError(RuntimeError):
    """A crawl cannot be started from the web UI; the message says what to do instead."""


def _runner():
    try:
        module = importlib.import_module(RUNNER[0])
    except ImportError:
        return None
    return getattr(module, RUNNER[1], None)


def runner_available() -> bool:
    return _runner() is not None


def command_line(config: Config) -> str:
    """The shell command that runs the same crawl (shown when the web UI cannot start it)."""
    purpose = config.get("crawl_purpose") or "<purpose>"
    return f"beatmap crawl --purpose {shlex.quote(purpose)}"


def active(app: Flask) -> list[str]:
    """Descriptions of crawls this server started that are still running."""
    threads: dict[str, threading.Thread] = app.extensions["beatmap"]["crawls"]
    return [name for name, thread in threads.items() if thread.is_alive()]


def start(app: Flask, config: Config, *, actor: str, purpose: str) -> threading.Thread:
    """Run ``crawler.run.run_crawl`` in a daemon thread; one web-started crawl at a time."""
    run_crawl = _runner()
    if run_crawl is None:
        raise CrawlStartError("this installation cannot start crawls from the web UI; run: "
                              + command_line(config))
    if active(app):
        raise CrawlStartError("a crawl started from the web UI is still running")
    kwargs = _supported_kwargs(run_crawl, actor=actor, purpose=purpose)
    crawl_config = config.replace(crawl_purpose=purpose)
    check_ready = getattr(importlib.import_module(RUNNER[0]), "check_ready", None)
    if check_ready is not None:  # refuse here, where the user sees it, not in the thread
        try:
            check_ready(crawl_config, purpose)
        except ValueError as exc:
            raise CrawlStartError(f"cannot start the crawl: {exc}") from exc

    def work() -> None:
        try:
            run_crawl(crawl_config, **kwargs)
        except Exception:  # the run's own record says what failed; keep the server up
            logger.exception("crawl started by %s failed", actor)

    name = f"crawl by {actor}: {purpose[:60]}"
    thread = threading.Thread(target=work, name=name, daemon=True)
    app.extensions["beatmap"]["crawls"][name] = thread
    thread.start()
    return thread


def _supported_kwargs(func: Any, **wanted: Any) -> dict[str, Any]:
    """Only the keyword arguments ``func`` accepts (the crawler owns its signature)."""
    params = inspect.signature(func).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return wanted
    return {k: v for k, v in wanted.items() if k in params}
