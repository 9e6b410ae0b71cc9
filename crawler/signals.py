"""Signals of our own components (sent with ``crawler.signals.send_catch_log``)."""

from __future__ import annotations

# A host asked for a minimum delay between requests (robots.txt Crawl-delay, Retry-After).
# Arguments: host (str), delay (float seconds).
host_delay_floor = object()
