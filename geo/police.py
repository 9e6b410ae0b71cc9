"""data.police.uk client and ``fetch_force``: a force's neighbourhoods as beats, channels, topics.

For each neighbourhood of a force this reads ``/{force}/neighbourhoods``, then
``/{force}/{id}/boundary`` (the beat polygon), ``/{force}/{id}`` (details: the team's
published channels in ``contact_details`` and ``links``) and ``/{force}/{id}/priorities``
(what the team works on). Channels become ``seeds`` (source ``police.uk``) tied to the beat
and are kept in ``Beat.details["channels"]``; priorities become ``beat_topics``.

The HTTP fetcher is injectable (tests pass none and talk to a loopback server); the default
one uses urllib with our User-Agent and a timeout, waits out HTTP 429 ``Retry-After`` a
bounded number of times, and reads bodies with or without a UTF-8 BOM.
"""

from __future__ import annotations

import email.utils
import html
import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from geo.beats import (
    BeatFeature,
    clean_geometry,
    police_boundary_feature,
    police_key,
    reassign_places,
    store_beats,
)
from geo.inputs import MAX_JSON_DEPTH, ImportLimits, human, json_depth
from geo.types import GeoDataError, ImportReport
from storage.db import ROOT, utcnow
from storage.ids import stable_id
from storage.models import BeatTopic, Seed

logger = logging.getLogger(__name__)

CRIME_CATEGORIES_FILE = ROOT / "data" / "police" / "crime_categories.json"
# Retries of one request after HTTP 429 or a 5xx answer. The API allows 15 requests/s with
# bursts of 30; three waits of up to MAX_RETRY_WAIT cover a burst without hanging a command.
MAX_RETRIES = 3
MAX_RETRY_WAIT = 30.0  # seconds: never sleep longer than this on one Retry-After
DEFAULT_RETRY_WAIT = 1.0  # when a 429 carries no usable Retry-After
TIMEOUT = 20.0
# data.police.uk allows 15 requests a second (bursts of 30): pace below that so a whole force
# (about 3 requests per neighbourhood) is fetched without tripping the limit.
MIN_INTERVAL = 1 / 12
RETRY_STATUSES = (429, 500, 502, 503, 504)
# contact_details keys that hold a web channel (others: telephone, email, fax, address …).
CHANNEL_KEYS = ("facebook", "twitter", "youtube", "instagram", "forum", "blog", "rss",
                "website", "web", "flickr", "myspace", "bebo", "e-messaging", "nextdoor")
# Words that map a priority's text to a police.uk crime category key (besides its own name).
CATEGORY_WORDS = {
    "anti-social-behaviour": ("anti-social behaviour", "anti social behaviour",
                              "antisocial behaviour", "asb"),
    "bicycle-theft": ("bicycle theft", "bike theft", "cycle theft"),
    "burglary": ("burglary", "burglaries", "burglar"),
    "criminal-damage-arson": ("criminal damage", "arson", "graffiti", "vandalism"),
    "drugs": ("drug", "drugs", "cannabis"),
    "possession-of-weapons": ("weapon", "weapons", "knife", "knives"),
    "public-order": ("public order",),
    "robbery": ("robbery", "robberies", "mugging"),
    "shoplifting": ("shoplifting", "shop theft"),
    "theft-from-the-person": ("theft from the person", "pickpocket", "pickpocketing"),
    "vehicle-crime": ("vehicle crime", "car crime", "vehicle theft", "theft from vehicles"),
    "violent-crime": ("violent crime", "violence", "assault", "assaults"),
}
SLUG_WORDS = 6  # a priority without a category becomes the slug of its first words
DETAIL_CHARS = 2_000  # a priority's text kept in beat_topics.detail
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


class PoliceAPIError(OSError):
    """data.police.uk could not be reached or answered with an error; the message says which."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


Fetcher = Callable[[str, dict[str, str], float], Response]


def urllib_fetcher(url: str, headers: dict[str, str], timeout: float) -> Response:
    """GET ``url`` with urllib; HTTP errors come back as a Response, network errors raise."""
    request = urllib.request.Request(url, headers=headers)
    cap = ImportLimits.from_config().max_bytes  # an answer is an input like any file
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # scheme checked in PoliceAPI
            answer = Response(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                              resp.read(cap + 1))
    except urllib.error.HTTPError as exc:
        body = exc.read(cap + 1) if exc.fp else b""
        answer = Response(exc.code, {k.lower(): v for k, v in (exc.headers or {}).items()}, body)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PoliceAPIError(f"cannot reach {url}: {reason}") from exc
    if len(answer.body) > cap:
        raise PoliceAPIError(f"{url} answered more than {human(cap)} (setting "
                             "max_import_bytes); refused")
    return answer


class PoliceAPI:
    """A small data.police.uk client.

    Parameters
    ----------
    base_url : the ``police_api_url`` setting, e.g. ``https://data.police.uk/api``.
    user_agent : required; data.police.uk asks clients to identify themselves.
    fetcher : ``(url, headers, timeout) -> Response``; urllib by default.
    sleep : how to wait before a retry (tests pass a recorder).
    min_interval : seconds between the starts of two requests (pacing under the rate limit).
    """

    def __init__(self, base_url: str, *, user_agent: str, fetcher: Fetcher | None = None,
                 timeout: float = TIMEOUT, max_retries: int = MAX_RETRIES,
                 max_wait: float = MAX_RETRY_WAIT, sleep: Callable[[float], None] = time.sleep,
                 min_interval: float = MIN_INTERVAL):
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise PoliceAPIError(f"police_api_url must be an http(s) URL, got {base_url!r}")
        if not user_agent or not user_agent.strip():
            raise PoliceAPIError("a User-Agent is required for data.police.uk")
        self.base_url = base_url.rstrip("/")
        self.user_agent = user_agent
        self.fetcher = fetcher or urllib_fetcher
        self.timeout, self.max_retries, self.max_wait, self.sleep = timeout, max_retries, max_wait, sleep
        self.min_interval = min_interval
        self.requests = 0
        self._last_start = -float("inf")

    def _pace(self) -> None:
        wait = self._last_start + self.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)  # pacing, not a retry: not reported through ``sleep``
        self._last_start = time.monotonic()

    def url(self, *parts: str) -> str:
        return self.base_url + "/" + "/".join(urllib.parse.quote(p, safe="") for p in parts)

    def get_json(self, *parts: str) -> Any | None:
        """The decoded JSON answer; ``None`` for 404 or an empty body."""
        url = self.url(*parts)
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        for attempt in range(self.max_retries + 1):
            self._pace()
            self.requests += 1
            resp = self.fetcher(url, headers, self.timeout)
            if resp.status in RETRY_STATUSES and attempt < self.max_retries:
                wait = self._retry_wait(resp)
                logger.warning("%s answered %d; retrying in %.1fs", url, resp.status, wait)
                self.sleep(wait)
                continue
            return self._decode(url, resp)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_wait(self, resp: Response) -> float:
        value = resp.headers.get("retry-after", "").strip()
        wait = DEFAULT_RETRY_WAIT
        if value.isdigit():
            wait = float(value)
        elif value:  # an HTTP date; anything unreadable falls back to the default wait
            try:
                wait = max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError, IndexError):
                logger.debug("unreadable Retry-After %r", value)
        return min(wait, self.max_wait)

    def _decode(self, url: str, resp: Response) -> Any | None:
        if resp.status == 404:
            return None
        if resp.status == 429:
            raise PoliceAPIError(f"data.police.uk rate limit (HTTP 429) at {url} after "
                                 f"{self.max_retries} retries; try again later")
        if resp.status != 200:
            raise PoliceAPIError(f"{url} answered HTTP {resp.status}")
        text = resp.body.decode("utf-8-sig", errors="replace").strip()
        if not text:
            return None
        if json_depth(resp.body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise PoliceAPIError(f"{url} answered JSON nested more than {MAX_JSON_DEPTH} levels "
                                 "deep; refused")
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise PoliceAPIError(f"{url} did not answer JSON ({exc})") from exc

    def neighbourhoods(self, force: str) -> list[dict] | None:
        return self.get_json(force, "neighbourhoods")

    def boundary(self, force: str, neighbourhood: str) -> list[dict] | None:
        return self.get_json(force, neighbourhood, "boundary")

    def neighbourhood(self, force: str, neighbourhood: str) -> dict | None:
        return self.get_json(force, neighbourhood)

    def priorities(self, force: str, neighbourhood: str) -> list[dict] | None:
        return self.get_json(force, neighbourhood, "priorities")


# --- turning answers into rows -------------------------------------------------------------------


def strip_html(text: str | None) -> str:
    """Plain text of an HTML fragment from the API.

    >>> strip_html("<p>Leake &amp; Keyworth</p>\\n<p>two</p>")
    'Leake & Keyworth two'
    """
    return _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", text or ""))).strip()


def _is_web_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urllib.parse.urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def channels_of(details: dict) -> list[dict[str, str]]:
    """The web channels a neighbourhood publishes: ``[{"channel", "url", "title"}]``."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    contact = details.get("contact_details") or {}
    for key in CHANNEL_KEYS:
        url = contact.get(key) if isinstance(contact, dict) else None
        if _is_web_url(url) and url.strip() not in seen:
            seen.add(url.strip())
            out.append({"channel": key, "url": url.strip(), "title": key})
    for link in details.get("links") or []:
        url = (link or {}).get("url")
        if _is_web_url(url) and url.strip() not in seen:
            seen.add(url.strip())
            out.append({"channel": "link", "url": url.strip(),
                        "title": strip_html(link.get("title")) or url.strip()})
    return out


def load_categories(path: Path = CRIME_CATEGORIES_FILE) -> dict[str, str]:
    """police.uk crime categories ``{key: name}`` (bundled file, without ``all-crime``)."""
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    return {c["url"]: c["name"] for c in data if c.get("url") and c["url"] != "all-crime"}


def slugify(text: str, words: int = SLUG_WORDS) -> str:
    """A short topic key from text.

    >>> slugify("To reduce street drinking in and around Museum Square, Leicester.")
    'to-reduce-street-drinking-in-and'
    """
    tokens = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(tokens[:words]) or "priority"


def priority_topic(issue: str, categories: dict[str, str]) -> str:
    """The crime category a priority's text names first, else a slug of its first words.

    >>> cats = {"drugs": "Drugs", "anti-social-behaviour": "Anti-social behaviour"}
    >>> priority_topic("To reduce street drinking and drug use", cats)
    'drugs'
    >>> priority_topic("Parking on pavements near the school", cats)
    'parking-on-pavements-near-the-school'
    """
    lowered = issue.lower()
    best: tuple[int, str] | None = None
    for key, name in categories.items():
        for word in (name.lower(), *CATEGORY_WORDS.get(key, ())):
            m = re.search(rf"\b{re.escape(word)}\b", lowered)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), key)
    return best[1] if best else slugify(issue)


def topics_of(priorities: Iterable[dict], categories: dict[str, str]) -> dict[str, str]:
    """``{topic: detail}`` for a neighbourhood's priorities (details of one topic joined)."""
    topics: dict[str, str] = {}
    for p in priorities:
        text = strip_html((p or {}).get("issue"))
        if not text:
            continue
        topic = priority_topic(text, categories)
        joined = f"{topics[topic]} | {text}" if topic in topics else text
        topics[topic] = joined[:DETAIL_CHARS]
    return topics


# --- fetching a force ---------------------------------------------------------------------------


@dataclass
class Neighbourhood:
    id: str
    name: str
    feature: BeatFeature | None = None
    details: dict | None = None
    priorities: list[dict] | None = None


def fetch_force(session: Session, api: PoliceAPI, force: str, *,
                neighbourhoods: Iterable[str] | None = None, limit: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import ``force``'s neighbourhoods from data.police.uk as beats, seeds and topics.

    Everything is fetched before anything is written. A neighbourhood without a usable
    boundary is skipped with a warning; a failing API (after retries) raises
    :class:`PoliceAPIError` and writes nothing.
    """
    started = time.perf_counter()
    force = force.strip().lower()
    if not re.fullmatch(r"[a-z0-9-]+", force):
        raise GeoDataError(f"{force!r} is not a police.uk force id (e.g. 'sussex', 'metropolitan')")
    report = ImportReport(source=f"police.uk/{force}")
    listed = _list_neighbourhoods(api, force, neighbourhoods, limit)
    fetched = []
    for i, hood in enumerate(listed, start=1):
        if _fetch_one(api, force, hood, report):
            fetched.append(hood)
        if progress:
            progress(i, len(listed))
    if not fetched:
        raise GeoDataError(f"none of the {len(listed)} neighbourhoods of {force} has a usable "
                           "boundary; nothing imported")
    _store(session, force, fetched, report)
    reassign_places(session, report)
    report.counts["requests"] = api.requests
    report.seconds = time.perf_counter() - started
    logger.info("%s", report.summary(), extra={"summary": True})
    return report


def _list_neighbourhoods(api: PoliceAPI, force: str, wanted: Iterable[str] | None,
                         limit: int | None) -> list[Neighbourhood]:
    listing = api.neighbourhoods(force)
    if listing is None:
        raise GeoDataError(f"data.police.uk does not know the force {force!r} (HTTP 404 or empty)")
    if not isinstance(listing, list):
        raise PoliceAPIError(f"unexpected answer for {force} neighbourhoods: not a list")
    hoods = [Neighbourhood(str(n["id"]), strip_html(n.get("name")) or str(n["id"]))
             for n in listing if isinstance(n, dict) and n.get("id")]
    if not hoods:
        raise GeoDataError(f"data.police.uk lists no neighbourhoods for {force!r}")
    if wanted is not None:
        wanted = set(wanted)
        hoods = [h for h in hoods if h.id in wanted]
        missing = wanted - {h.id for h in hoods}
        if missing:
            raise GeoDataError(f"not neighbourhoods of {force}: {', '.join(sorted(missing))}")
    return hoods[:limit] if limit else hoods


def _fetch_one(api: PoliceAPI, force: str, hood: Neighbourhood, report: ImportReport) -> bool:
    points = api.boundary(force, hood.id)
    if not points:
        report.skipped += 1
        report.warn(f"{force}/{hood.id} ({hood.name}): no boundary published; skipped")
        return False
    try:
        hood.feature = police_boundary_feature(points, police_key(force, hood.id), name=hood.name,
                                               label=f"{force}/{hood.id} ({hood.name})")
        hood.feature.geometry, repaired = clean_geometry(hood.feature)
    except GeoDataError as exc:
        report.skipped += 1
        report.warn(f"{exc}; skipped")
        return False
    report.repaired += int(repaired)
    hood.details = api.neighbourhood(force, hood.id) or {}
    hood.priorities = api.priorities(force, hood.id) or []
    return True


def _details(hood: Neighbourhood) -> dict:
    d = hood.details or {}
    return {"police_uk": {
        "id": hood.id, "name": hood.name, "description": strip_html(d.get("description")),
        "population": d.get("population"), "url_force": d.get("url_force"),
        "contact_details": d.get("contact_details") or {}, "links": d.get("links") or [],
        "centre": d.get("centre"), "locations": d.get("locations") or [],
        "fetched_at": utcnow().isoformat(timespec="seconds")},
        "channels": channels_of(d)}


def _store(session: Session, force: str, hoods: list[Neighbourhood], report: ImportReport) -> None:
    items = [(h.feature, h.feature.geometry) for h in hoods]
    details = {h.feature.key: _details(h) for h in hoods}
    ids = store_beats(session, items, source="police.uk", force=force, report=report,
                      details=details)
    categories = load_categories()
    report.counts["seeds"] = _store_seeds(session, list(zip(hoods, ids, strict=True)), details)
    report.counts["topics"] = sum(
        _store_topics(session, beat_id, topics_of(hood.priorities or [], categories))
        for hood, beat_id in zip(hoods, ids, strict=True))


def _store_seeds(session: Session, hoods: list[tuple[Neighbourhood, int]],
                 details: dict[str, dict]) -> int:
    """One seed per channel URL; a URL several neighbourhoods list (a force-wide page) is
    not tied to any one beat."""
    users: dict[str, list[tuple[Neighbourhood, int, dict]]] = {}
    for hood, beat_id in hoods:
        for ch in details[hood.feature.key]["channels"]:
            users.setdefault(ch["url"], []).append((hood, beat_id, ch))
    now, stored = utcnow(), 0
    for url, uses in users.items():
        hood, beat_id, ch = uses[0]
        what = f"{ch['channel']} channel" if ch["channel"] != "link" else f"link '{ch['title']}'"
        if len(uses) == 1:
            note = f"police.uk {what} of neighbourhood {hood.name}"
        else:
            names = ", ".join(sorted({u[0].name for u in uses}))
            note, beat_id = f"police.uk {what} shared by {len(uses)} neighbourhoods: {names}", None
        seed = session.scalars(select(Seed).where(Seed.url == url)).first()
        if seed is None:
            session.add(Seed(id=stable_id("seed", url), url=url, beat_id=beat_id, note=note[:500],
                             source="police.uk", created_at=now))
        elif seed.source == "police.uk":
            seed.beat_id, seed.note = beat_id, note[:500]
        else:
            continue  # given by the team: keep their note and beat
        stored += 1
    session.flush()
    return stored


def _store_topics(session: Session, beat_id: int, topics: dict[str, str]) -> int:
    # Priorities are the team's current list: replace what police.uk said last time.
    session.execute(delete(BeatTopic).where(BeatTopic.beat_id == beat_id,
                                            BeatTopic.source == "police.uk"))
    taken = set(session.scalars(select(BeatTopic.topic).where(BeatTopic.beat_id == beat_id)))
    for topic, detail in topics.items():
        if topic not in taken:  # a topic the team set by hand stays theirs
            session.add(BeatTopic(beat_id=beat_id, topic=topic, weight=1.0, source="police.uk",
                                  detail=detail))
    session.flush()
    return len([t for t in topics if t not in taken])
