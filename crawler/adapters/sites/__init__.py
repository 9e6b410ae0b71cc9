"""Site-specific adapters: a few class attributes on top of an engine adapter."""

# Each module here defines one subclass of an engine adapter with ``hosts`` (the site it is
# for) and the selectors, entry points or timezone that differ from the engine's defaults.
# List it in ``SITE_ADAPTERS``; the registry prefers it for those hosts.

from __future__ import annotations

from crawler.adapters.base import Adapter
from crawler.adapters.sites.example_phpbb_forum import ExamplePhpbbForum

SITE_ADAPTERS: tuple[type[Adapter], ...] = (ExamplePhpbbForum,)
