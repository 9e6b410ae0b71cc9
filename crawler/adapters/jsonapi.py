"""Reading JSON API bodies defensively: bad JSON, wrong shapes and missing keys are normal."""

from __future__ import annotations

import json
import logging
from typing import Any

from scrapy.http import Response

logger = logging.getLogger(__name__)


def load_json(response: Response) -> Any:
    """The decoded body, or None when it is not JSON.

    >>> from scrapy.http import TextResponse
    >>> load_json(TextResponse("https://a.example/x.json", body=b'{"a": [1]}'))
    {'a': [1]}
    >>> load_json(TextResponse("https://a.example/x.json", body=b'{"a": ')) is None
    True
    """
    body = response.body
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def dig(data: Any, *path: str | int, default: Any = None) -> Any:
    """``data[path[0]][path[1]]…`` or ``default`` when any step is missing or the wrong type.

    >>> dig({"title": {"rendered": "Hi"}}, "title", "rendered")
    'Hi'
    >>> dig({"title": "plain"}, "title", "rendered", default="?")
    '?'
    """
    for step in path:
        if isinstance(step, int):
            if not isinstance(data, list) or not -len(data) <= step < len(data):
                return default
        elif not isinstance(data, dict) or step not in data:
            return default
        data = data[step]
    return default if data is None else data


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_dicts(value: Any) -> list[dict]:
    return [v for v in as_list(value) if isinstance(v, dict)]


def as_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
