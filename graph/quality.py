"""Ranking quality against a ground truth (the sample web's ``ground_truth.json``).

Gains come from the truth's per-venue beat weights: a live venue that serves a beat with
weight w has gain w for that beat; dormant, spam, hijacked, distractor, duplicate and
sensitive venues have none (sensitive ones are hidden from default lists, so the ideal list
leaves them out too). nDCG@k uses linear gains and the usual log2 discount, and the ideal
ranking is built from *every* venue of the truth, so venues the crawl never found count
against the score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from graph.queries import beat_ranking
from storage.models import Beat

BAD_TRUTH_STATUSES = frozenset({"dormant", "spam", "hijacked", "gone"})


INDEX_PAGES = ("/index.php", "/index.html", "/index.htm")


def url_key(url: str) -> str:
    """A URL reduced to what identifies a venue in both the truth and the database.

    >>> url_key("HTTPS://www.Hanover-RA.example/forum/"), url_key("http://x.example/index.php")
    ('hanover-ra.example/forum', 'x.example')
    """
    text = url.strip().lower().split("#", 1)[0].split("?", 1)[0]
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if text.startswith("www."):
        text = text[4:]
    for page in INDEX_PAGES:
        if text.endswith(page):
            text = text[: -len(page)]
    return text.rstrip("/")


def site_path_key(url: str) -> str:
    """The site's first name label and the path: ``nextdoor.co.uk/x`` and ``nextdoor.com/x``
    are one venue (platforms serve the same community under several national domains).

    >>> site_path_key("https://nextdoor.co.uk/neighbourhood/hanover/")
    'nextdoor/neighbourhood/hanover'
    """
    key = url_key(url)
    host, _, path = key.partition("/")
    return host.split(".", 1)[0] + ("/" + path if path else "")


def dcg(gains: list[float]) -> float:
    """Discounted cumulative gain with linear gains.

    >>> round(dcg([1.0, 1.0, 0.0]), 4)
    1.6309
    """
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranked_gains: list[float], all_gains: list[float], k: int = 10) -> float:
    """nDCG@k of a ranking (gains in ranked order) against the ideal order of ``all_gains``.

    >>> ndcg_at_k([1, 1, 0.5], [1, 1, 0.5])
    1.0
    >>> round(ndcg_at_k([0.5, 1, 1], [1, 1, 0.5]), 4)
    0.8671
    >>> ndcg_at_k([], [])
    1.0
    """
    ideal = dcg(sorted(all_gains, reverse=True)[:k])
    if ideal == 0:
        return 1.0
    return dcg(list(ranked_gains[:k])) / ideal


def truth_gain(venue: dict[str, Any], beat_key: str) -> float:
    """The gain of a truth venue for a beat (0 for venues a sergeant should not approach)."""
    if (venue.get("status") in BAD_TRUTH_STATUSES or venue.get("distractor")
            or venue.get("duplicate_of") or venue.get("sensitive")):
        return 0.0
    return float((venue.get("beats") or {}).get(beat_key, 0.0))


@dataclass
class QualityReport:
    mean_ndcg: float = 0.0
    per_beat: dict[str, float] = field(default_factory=dict)
    dormant_in_top5: list[tuple[str, str]] = field(default_factory=list)
    distractor_in_top10: list[tuple[str, str]] = field(default_factory=list)
    unmatched: int = 0


def evaluate(session: Session, truth: dict[str, Any], *, k: int = 10) -> QualityReport:
    """Score the stored ranking of every beat named in the truth against it."""
    venues = truth["venues"]
    by_key: dict[str, dict[str, Any]] = {}
    # A duplicate under another URL (www. mirror) may fold onto its original's key: the
    # original wins, so the venue the crawler keeps is judged as the one the truth means.
    for v in sorted((v for v in venues if v.get("url")), key=lambda v: bool(v.get("duplicate_of"))):
        by_key.setdefault(url_key(v["url"]), v)
    by_site: dict[str, list[dict]] = {}
    for v in venues:
        if v.get("url"):
            by_site.setdefault(site_path_key(v["url"]), []).append(v)

    def match(row: dict[str, Any]) -> dict[str, Any] | None:
        for text in (row["url"], row["venue_key"]):
            if url_key(text) in by_key:
                return by_key[url_key(text)]
        found = by_site.get(site_path_key(row["url"]), [])
        return found[0] if len(found) == 1 else None

    beat_keys = {b for v in venues for b in (v.get("beats") or {})}
    report = QualityReport()
    for beat in session.scalars(select(Beat).where(Beat.key.in_(sorted(beat_keys)))):
        rows = beat_ranking(session, beat)
        ranked = []
        for i, row in enumerate(rows):
            tv = match(row)
            if tv is None:
                report.unmatched += 1
                ranked.append(0.0)
                continue
            ranked.append(truth_gain(tv, beat.key))
            if i < 5 and tv.get("status") == "dormant":
                report.dormant_in_top5.append((beat.key, row["name"]))
            if i < 10 and tv.get("distractor"):
                report.distractor_in_top10.append((beat.key, row["name"]))
        ideal = [truth_gain(v, beat.key) for v in venues]
        report.per_beat[beat.key] = round(ndcg_at_k(ranked, ideal, k), 4)
    if report.per_beat:
        report.mean_ndcg = round(sum(report.per_beat.values()) / len(report.per_beat), 4)
    return report
