"""Jinja filters. All return plain text that autoescaping then escapes; none marks text safe."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

__all__ = ["when", "day", "names", "score", "safe_href", "contact_routes", "stat_items",
           "run_summary"]

SAFE_SCHEMES = ("http", "https")
# Crawl stats that mean something went wrong (the crawler's namespaced counters), shown on
# the runs table; everything else stays behind "all stats".
PROBLEM_PREFIXES = ("fetch/error", "fetch/blocked", "fetch/too_large", "robots/disallowed",
                    "robots/error", "robots/refused", "ledger/failed", "ledger/blocked",
                    "places/unresolved", "parse/error", "store/error")
HEADLINE_KEYS = ("pages", "posts", "venues", "errors", "blocked", "elapsed")


def when(value: Any) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM`` (UTC), or a dash.

    >>> when(datetime(2026, 3, 1, 9, 5, 30)), when(None), when("2026-03-01 09:05:30")
    ('2026-03-01 09:05', '—', '2026-03-01 09:05')
    """
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def day(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y-%m-%d")
    return when(value)[:10] if value else "—"


def names(value: Any, limit: int = 6) -> str:
    """A list of places/topics (strings, pairs or dicts) as ``a, b, c +2``.

    >>> names(["Elm Grove", ["Hanover", 4], {"name": "BN2 9"}], limit=2)
    'Elm Grove, Hanover +1'
    """
    items = []
    for item in value or []:
        if isinstance(item, dict):
            item = item.get("name") or item.get("label") or item.get("key") or ""
        elif isinstance(item, (list, tuple)):
            item = item[0] if item else ""
        if item:
            items.append(str(item))
    text = ", ".join(items[:limit])
    return text + (f" +{len(items) - limit}" if len(items) > limit else "")


def score(value: Any) -> str:
    """A score part as two decimals (they are 0..1 or small sums).

    >>> score(0.12345), score(None)
    ('0.12', '—')
    """
    if value is None:
        return "—"
    try:
        return f"{float(value):.2f}"
    except (TypeError, ValueError):
        return str(value)


def safe_href(url: Any) -> str | None:
    """``url`` if it is a plain http(s) link, else None: scraped ``javascript:`` or ``data:``
    URLs must never become a link, escaped or not.

    >>> safe_href("https://hanover.example/"), safe_href("javascript:alert(1)")
    ('https://hanover.example/', None)
    >>> safe_href(" JaVaScRiPt:alert(1)")
    """
    text = str(url or "").strip()
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return None
    return text if scheme in SAFE_SCHEMES and "://" in text else None


def contact_routes(contact: Any) -> list[tuple[str, str, str | None]]:
    """(kind, text, safe link or None) for each contact route of a venue.

    >>> contact_routes({"email": "chair@ra.example", "contact_page": "javascript:x"})
    [('email', 'chair@ra.example', 'mailto:chair@ra.example'), ('contact page', 'javascript:x', None)]
    """
    out: list[tuple[str, str, str | None]] = []
    if not isinstance(contact, dict):
        return out
    for kind, value in contact.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not item:
                continue
            text = str(item)
            if kind == "email" and "@" in text and ":" not in text and " " not in text:
                link = "mailto:" + text
            else:
                link = safe_href(text)
            out.append((str(kind).replace("_", " "), text, link))
    return out


def stat_items(stats: Any, prefix: str = "") -> list[tuple[str, float]]:
    """A crawl run's numeric stats, nested dicts flattened with ``/``, sorted by name.

    >>> stat_items({"pages": 3, "progress": {"errors": 1, "rate": 2.5}, "note": "x"})
    [('pages', 3), ('progress/errors', 1), ('progress/rate', 2.5)]
    """
    out: list[tuple[str, float]] = []
    if not isinstance(stats, dict):
        return out
    for key, value in stats.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            out.append((name, value))
        elif isinstance(value, dict):
            out.extend(stat_items(value, name + "/"))
    return sorted(out)


def run_summary(stats: Any) -> dict[str, list[tuple[str, float]]]:
    """A crawl run's stats split for the runs table: headline figures, problems, and all.

    >>> s = run_summary({"progress": {"pages": 9, "errors": 1}, "fetch/error/Timeout": 1,
    ...                  "downloader/request_count": 10})
    >>> s["headline"], s["problems"], len(s["all"])
    ([('pages', 9), ('errors', 1)], [('fetch/error/Timeout', 1)], 4)
    """
    items = stat_items(stats)
    progress = stats.get("progress") if isinstance(stats, dict) else None
    progress = progress if isinstance(progress, dict) else {}
    headline = [(k, progress[k]) for k in HEADLINE_KEYS
                if isinstance(progress.get(k), (int, float)) and not isinstance(progress[k], bool)]
    problems = [(k, n) for k, n in items if k.startswith(PROBLEM_PREFIXES) and n]
    return {"headline": headline, "problems": problems, "all": items}
