"""Optional online geocoding of names missing from the gazetteer (geopy's Nominatim).

Off by default (setting ``geocoder`` empty) and never called on the crawl's hot path: it is
for a person checking a name (``beatmap gazetteer lookup NAME --online``) or a batch job.
Every answer, a miss included, is cached in ``geocode_cache``, so a name is asked once.
Requests are spaced by geopy's ``RateLimiter`` (Nominatim's usage policy: at most one per
second) and carry our own User-Agent; geopy's default or an empty one is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim
from geopy.geocoders import options as geopy_options
from sqlalchemy import null
from sqlalchemy.orm import Session

from geo.names import normalise
from geo.types import LatLon
from storage.config import Config
from storage.db import utcnow
from storage.models import GeocodeCache

logger = logging.getLogger(__name__)

PROVIDERS = ("nominatim",)
# Nominatim's public usage policy allows one request per second.
MIN_DELAY_SECONDS = 1.0
MAX_RETRIES = 2  # RateLimiter retries after an error, waiting ERROR_WAIT_SECONDS between
ERROR_WAIT_SECONDS = 5.0
TIMEOUT = 10.0
# Cached answers older than this are asked again (places and names change slowly).
CACHE_DAYS = 180
COUNTRY_CODES = "gb"


class GeocoderConfigError(ValueError):
    """The geocoder settings cannot be used (unknown provider, missing user agent …)."""


@dataclass
class GeocodeResult:
    query: str
    point: LatLon
    display_name: str
    kind: str  # Nominatim class:type, e.g. "place:suburb"
    cached: bool
    raw: dict

    def as_dict(self) -> dict:
        return {"query": self.query, "lat": self.point.lat, "lon": self.point.lon,
                "display_name": self.display_name, "kind": self.kind, "cached": self.cached}


def check_user_agent(user_agent: str | None) -> str:
    """Return ``user_agent`` if it identifies us; refuse empty, template or geopy's default."""
    ua = (user_agent or "").strip()
    if not ua:
        raise GeocoderConfigError("the geocoder needs a User-Agent that identifies this "
                                  "deployment (setting user_agent)")
    if ua.startswith("geopy/") or ua == geopy_options.default_user_agent:
        raise GeocoderConfigError(f"refusing geopy's default User-Agent {ua!r}: set user_agent "
                                  "to one that identifies this deployment")
    if "{" in ua or "(+)" in ua:
        raise GeocoderConfigError(f"User-Agent {ua!r} is incomplete: set contact_url so it "
                                  "says who is asking")
    return ua


def user_agent_of(config: Config) -> str:
    """The configured User-Agent with ``{contact_url}`` filled in."""
    template = config.user_agent or ""
    if "{contact_url}" in template and not (config.contact_url or "").strip():
        raise GeocoderConfigError("set contact_url: Nominatim asks every client to identify "
                                  "itself, and the User-Agent names that address")
    return check_user_agent(template.replace("{contact_url}", config.contact_url or ""))


def parse_answer(raw: dict[str, Any]) -> tuple[LatLon, str, str]:
    """Point, display name and ``class:type`` of one Nominatim /search JSON place.

    >>> parse_answer({"lat": "50.82", "lon": "-0.14", "display_name": "Brighton",
    ...               "class": "place", "type": "city"})
    (LatLon(lat=50.82, lon=-0.14), 'Brighton', 'place:city')
    """
    point = LatLon(float(raw["lat"]), float(raw["lon"]))
    kind = f"{raw.get('class') or raw.get('category') or ''}:{raw.get('type') or ''}"
    return point, str(raw.get("display_name") or ""), kind


class Geocoder:
    """Nominatim through geopy with a rate limiter and a database cache.

    Parameters
    ----------
    url : Nominatim base URL (setting ``geocoder_url``), ``http://127.0.0.1:8080`` in tests.
    user_agent : required, identifying this deployment.
    viewbox : optional ((south, west), (north, east)) to prefer answers inside the force area.
    """

    provider = "nominatim"

    def __init__(self, url: str, *, user_agent: str, min_delay: float = MIN_DELAY_SECONDS,
                 timeout: float = TIMEOUT, viewbox: tuple[LatLon, LatLon] | None = None,
                 country_codes: str | None = COUNTRY_CODES, proxies: dict | None = None):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise GeocoderConfigError(f"geocoder_url must be an http(s) URL, got {url!r}")
        self.user_agent = check_user_agent(user_agent)
        kwargs: dict[str, Any] = {"user_agent": self.user_agent, "domain": parts.netloc + parts.path.rstrip("/"),
                                  "scheme": parts.scheme, "timeout": timeout}
        if proxies is not None:
            kwargs["proxies"] = proxies
        self.nominatim = Nominatim(**kwargs)
        self._geocode: Callable[..., Any] = RateLimiter(
            self.nominatim.geocode, min_delay_seconds=min_delay, max_retries=MAX_RETRIES,
            error_wait_seconds=ERROR_WAIT_SECONDS if min_delay else 0.0, swallow_exceptions=False)
        self.viewbox, self.country_codes = viewbox, country_codes
        self.requests = 0

    @classmethod
    def from_config(cls, config: Config, **kwargs: Any) -> Geocoder | None:
        """The configured geocoder, or ``None`` when the ``geocoder`` setting is empty (off)."""
        name = (config.geocoder or "").strip().lower()
        if not name:
            return None
        if name not in PROVIDERS:
            raise GeocoderConfigError(f"unknown geocoder {name!r}; choose one of "
                                      f"{', '.join(PROVIDERS)} or leave it empty")
        return cls(config.geocoder_url, user_agent=user_agent_of(config), **kwargs)

    def cache_key(self, query: str) -> str:
        box = "" if self.viewbox is None else "|" + ",".join(f"{v:.3f}" for p in self.viewbox for v in p)
        return f"{self.provider}|{self.country_codes or ''}{box}|{normalise(query)}"

    def geocode(self, session: Session, query: str) -> GeocodeResult | None:
        """The best answer for ``query`` (cached), or ``None`` when Nominatim knows none."""
        if not normalise(query):
            return None
        key = self.cache_key(query)
        row = session.get(GeocodeCache, key)
        if row is not None and row.fetched_at > utcnow() - timedelta(days=CACHE_DAYS):
            return self._result(query, row.response, cached=True)
        raw = self._ask(query)
        if row is None:
            row = GeocodeCache(query=key, provider=self.provider)
            session.add(row)
        # A miss is stored as SQL NULL (not JSON 'null') so "no answer" is queryable.
        row.response, row.fetched_at = (raw if raw is not None else null()), utcnow()
        session.flush()
        return self._result(query, raw, cached=False)

    def _ask(self, query: str) -> dict | None:
        self.requests += 1
        try:
            location = self._geocode(query, exactly_one=True, country_codes=self.country_codes,
                                     viewbox=self.viewbox, bounded=False)
        except GeopyError as exc:
            raise OSError(f"geocoder at {self.nominatim.domain} failed for {query!r}: {exc}") from exc
        return None if location is None else dict(location.raw)

    @staticmethod
    def _result(query: str, raw: dict | None, *, cached: bool) -> GeocodeResult | None:
        if not raw:
            return None
        point, name, kind = parse_answer(raw)
        return GeocodeResult(query=query, point=point, display_name=name, kind=kind,
                             cached=cached, raw=raw)
