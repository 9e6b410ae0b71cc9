"""Scrapy settings of the beatmap crawler (static part) and :func:`build_settings`, which
overlays beatmap's own settings (``storage.config``) for one run.

Every component of ours is switched on here through the priority dicts. Downloader
middleware numbers interleave with Scrapy's base ones on purpose: our refusals run first
(known-only, profile pages, SSRF, robots) and the size check sits after decompression (590).
"""

from __future__ import annotations

from typing import Any

BOT_NAME = "beatmap"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Politeness (the values from beatmap settings replace these in build_settings()).
ROBOTSTXT_OBEY = False  # Scrapy's own fails open; ours (robots_fail_closed) fails closed
BEATMAP_ROBOTS_OBEY = True
BEATMAP_ROBOTS_AGENT = "beatmap"
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
COOKIES_ENABLED = False  # no logins, no sessions: every page as an anonymous reader sees it
# No consoles into a running crawl: Scrapy's telnet console and its remote-control HTTP server
# (which runs Python code sent to it) are off; progress comes from crawl_runs.stats instead.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
REDIRECT_MAX_TIMES = 5
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
HTTPERROR_ALLOWED_CODES = [304]
DOWNLOAD_TIMEOUT = 20
DOWNLOAD_MAXSIZE = 5_000_000
DOWNLOAD_WARNSIZE = 2_000_000
DNS_TIMEOUT = 10
TWISTED_DNS_RESOLVER = "crawler.resolver.GuardedResolver"
DNSCACHE_ENABLED = False  # GuardedResolver keeps its own short cache of checked answers
DEPTH_LIMIT = 0  # venue depth is budgeted by discovery, not by Scrapy's page depth
# The ledger de-duplicates (on canonical URLs); a second filter could drop a leased request
# silently and leave its lease hanging.
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"
# The ledger decides what to fetch; Scrapy's queue holds only the leased batch, so the
# scheduler can be swapped (scrapy-redis in distributed mode) without changing the record.
SCHEDULER = "scrapy.core.scheduler.Scheduler"
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.DownloaderAwarePriorityQueue"
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.known_platforms.KnownPlatformsMiddleware": 100,
    "crawler.middlewares.profiles.ProfilePagesMiddleware": 150,
    "crawler.middlewares.ssrf_guard.SsrfGuardMiddleware": 200,
    "crawler.middlewares.robots_fail_closed.RobotsFailClosedMiddleware": 300,
    "crawler.middlewares.conditional.ConditionalRequestMiddleware": 450,
    "crawler.middlewares.retry_after.RetryAfterMiddleware": 560,
    "crawler.middlewares.size_limits.SizeLimitsMiddleware": 585,
    "crawler.middlewares.proxy.ProxyMiddleware": 740,
}
# The item pipeline in processing order. Tag, discover and flag add their writes to the store
# step's per-batch transaction through signals (crawler.signals), in this order; refresh
# recounts venues after each committed batch.
ITEM_PIPELINES = {
    "crawler.pipelines.pseudonymise.PseudonymisePipeline": 100,
    "crawler.pipelines.normalise.NormalisePipeline": 200,
    "crawler.pipelines.tag.TagPipeline": 300,
    "crawler.pipelines.discover.DiscoverPipeline": 400,
    "crawler.pipelines.flag.FlagPipeline": 500,
    "crawler.pipelines.store.StorePipeline": 900,
    "crawler.pipelines.refresh.RefreshVenuesPipeline": 950,
}
EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.throttle.PoliteThrottle": 100,
    "crawler.progress.ProgressReporter": 200,
}


def user_agent(template: str, contact_url: str) -> str:
    """The User-Agent string, with the contact URL filled in.

    >>> user_agent("beatmap/0.1 (+{contact_url})", "https://police.example/crawl")
    'beatmap/0.1 (+https://police.example/crawl)'
    """
    text = template.replace("{contact_url}", contact_url)
    if contact_url not in text:
        text = f"{text} (+{contact_url})"
    return text


def build_settings(config: Any, *, run_id: int, max_pages: int, seeds_only: bool = False,
                   owner: str = "", progress_fd: int | None = None) -> dict[str, Any]:
    """Scrapy settings for one run from a :class:`storage.config.Config`."""
    values: dict[str, Any] = {k: v for k, v in globals().items()
                              if k.isupper() and not k.startswith("_")}
    values.update({
        "USER_AGENT": user_agent(config.user_agent, config.contact_url),
        "CONCURRENT_REQUESTS": config.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": config.concurrent_per_host,
        "DOWNLOAD_TIMEOUT": config.download_timeout,
        "DOWNLOAD_MAXSIZE": config.max_response_bytes,
        "DOWNLOAD_WARNSIZE": min(DOWNLOAD_WARNSIZE, config.max_response_bytes),
        "DOWNLOAD_DELAY": float(config.get("download_delay", DOWNLOAD_DELAY)),
        "AUTOTHROTTLE_START_DELAY": max(float(config.get("download_delay", DOWNLOAD_DELAY)),
                                        0.0),
        "BEATMAP_CRAWL_DELAY_CAP": config.crawl_delay_cap,
        "BEATMAP_ALLOW_PRIVATE_HOSTS": [h for h in config.allowed_private_hosts],
        "BEATMAP_PROXY": config.proxy,
        "BEATMAP_DB": config.db,
        "BEATMAP_RUN_ID": run_id,
        "BEATMAP_OWNER": owner,
        "BEATMAP_MAX_PAGES": max_pages,
        "BEATMAP_MAX_PAGES_PER_HOST": config.max_pages_per_host,
        "BEATMAP_MAX_DEPTH": config.max_depth,
        "BEATMAP_SEEDS_ONLY": seeds_only,
        "BEATMAP_PSEUDONYM_KEY": config.pseudonym_key,
        "BEATMAP_PSEUDONYM_PERIOD": config.pseudonym_period,
        "BEATMAP_PROGRESS_FD": progress_fd,
    })
    return values
