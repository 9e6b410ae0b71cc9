"""Example site adapter: a phpBB board whose theme renamed the post body, on London time."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from crawler.adapters.forum import ForumSelectors
from crawler.adapters.phpbb import SELECTORS, PhpbbAdapter


class ExamplePhpbbForum(PhpbbAdapter):
    """forum.residents-example.example runs phpBB with a custom theme: posts are in
    ``div.message-text``, its admins set the board to Europe/London time, and its feed is
    switched off."""

    hosts: ClassVar[tuple[str, ...]] = ("forum.residents-example.example",)
    selectors: ClassVar[ForumSelectors] = replace(SELECTORS, body="div.message-text, div.content")
    display_tz: ClassVar[str] = "Europe/London"
    feed_paths: ClassVar[tuple[str, ...]] = ()
