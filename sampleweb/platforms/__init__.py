"""One renderer module per platform, each shaped like that engine's real output.

Every module offers ``render(venue, req) -> Resp | None`` (None: not a page of this venue),
``urls(venue)`` (every ordinary page, for sizing and tests), ``post_url`` (the engine's permalink
of a post), ``page_url`` (the HTML page that shows the post) and ``external_id`` (the engine's
own id of the post). Shared hosts (reddit.example, telegram.example) add ``host_render``.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

PLATFORMS = ("wordpress", "blogger", "ghost", "static", "directory", "phpbb", "discourse", "xenforo",
             "vbulletin", "smf", "mybb", "invision", "reddit", "mastodon", "telegram")
_CACHE: dict[str, ModuleType] = {}


def renderer(platform: str) -> ModuleType:
    """The renderer module of ``platform`` (KeyError for known-only platforms)."""
    if platform not in PLATFORMS:
        raise KeyError(platform)
    if platform not in _CACHE:
        _CACHE[platform] = import_module(f"sampleweb.platforms.{platform}")
    return _CACHE[platform]
