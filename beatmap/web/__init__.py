"""The web UI: server-rendered pages for sergeants, analysts and admins over beatmap's database."""

from __future__ import annotations

from beatmap.web.app import create_app

__all__ = ["create_app"]
