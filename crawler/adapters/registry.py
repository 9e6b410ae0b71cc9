"""The ordered list of adapters: most specific first, the generic adapter last."""

from __future__ import annotations

import logging

from scrapy.http import Response

from crawler.adapters.base import Adapter
from crawler.adapters.blogger import BloggerAdapter
from crawler.adapters.discourse import DiscourseAdapter
from crawler.adapters.generic import GenericAdapter
from crawler.adapters.ghost import GhostAdapter
from crawler.adapters.invision import InvisionAdapter
from crawler.adapters.links import site_of
from crawler.adapters.mastodon import MastodonAdapter
from crawler.adapters.mybb import MybbAdapter
from crawler.adapters.phpbb import PhpbbAdapter
from crawler.adapters.reddit import RedditAdapter
from crawler.adapters.sites import SITE_ADAPTERS
from crawler.adapters.smf import SmfAdapter
from crawler.adapters.substack import SubstackAdapter
from crawler.adapters.telegram import TelegramAdapter
from crawler.adapters.vbulletin import VbulletinAdapter
from crawler.adapters.wordpress import WordpressAdapter
from crawler.adapters.xenforo import XenforoAdapter

logger = logging.getLogger(__name__)

_ENGINES: tuple[type[Adapter], ...] = (
    RedditAdapter, MastodonAdapter, TelegramAdapter, DiscourseAdapter, PhpbbAdapter,
    XenforoAdapter, VbulletinAdapter, SmfAdapter, InvisionAdapter, MybbAdapter,
    WordpressAdapter, BloggerAdapter, GhostAdapter, SubstackAdapter, GenericAdapter,
)
# One shared instance each: adapters hold no per-response state.
ADAPTERS: tuple[Adapter, ...] = tuple(sorted((cls() for cls in _ENGINES),
                                             key=lambda a: a.priority))
GENERIC: Adapter = ADAPTERS[-1]
_BY_PLATFORM: dict[str, Adapter] = {a.platform: a for a in ADAPTERS}
_SITES: tuple[Adapter, ...] = tuple(cls() for cls in SITE_ADAPTERS)


def platforms() -> list[str]:
    """Platform names in detection order (generic last)."""
    return [a.platform for a in ADAPTERS]


def site_adapter(url: str) -> Adapter | None:
    """The site-specific adapter configured for ``url``'s host, if any."""
    host, _port = site_of(url)
    for adapter in _SITES:
        if host in adapter.hosts:
            return adapter
    return None


def get(platform: str, url: str | None = None) -> Adapter:
    """The adapter for ``platform`` (a site's own adapter when ``url`` is on its host).

    Platforms without an adapter (``unknown``, a known-only platform) get the generic one.
    """
    if url:
        site = site_adapter(url)
        if site is not None:
            return site
    return _BY_PLATFORM.get(platform, GENERIC)


def detect(response: Response) -> Adapter:
    """The first adapter whose markers the response shows; generic when none does."""
    site = site_adapter(response.url)
    if site is not None:
        return site
    for adapter in ADAPTERS:
        try:
            if adapter.detect(response):
                return adapter
        except Exception:  # noqa: BLE001 - one adapter's bug must not stop detection
            logger.warning("detect failed in %s for %s", adapter.platform, response.url)
    return GENERIC
