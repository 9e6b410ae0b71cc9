"""Example site adapter: a phpBB board whose theme renamed the post body and shows UTC."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from crawler.adapters.forum import ForumSelectors
from crawler.adapters.phpbb import SELECTORS, PhpbbAdapter


class ExamplePhpbbForum(PhpbbAdapter):
    """forum.residents-example.example runs phpBB with a custom theme: posts are in
    ``div.message-text`` and times are shown in UTC; its feed is switched off."""

    hosts: ClassVar[tuple[str, ...]] = ("forum.residents-example.example",)
    selectors: ClassVar[ForumSelectors] = replace(SELECTORS, body="div.message-text, div.content")
    display_tz: ClassVar[str] = "UTC"
    feed_paths: ClassVar[tuple[str, ...]] = ()
