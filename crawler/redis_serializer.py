"""Requests in Redis as checked JSON, never pickle: whoever can write to Redis must not run code.

scrapy-redis stores each queued request through ``SCHEDULER_SERIALIZER`` (pickle by default,
so a forged queue entry would execute code in every worker that pops it). This module is our
serializer: :func:`dumps` writes the request dict as JSON (bytes as ``{"$b": base64}``) and
refuses anything that is not plain data; :func:`loads` parses and validates (known keys, http
or https URLs, GET/HEAD, callbacks named as identifiers, JSON-only meta, size limits) and raises
:class:`UnsafeRequest` for anything else. :class:`SafePriorityQueue` is scrapy-redis's priority
queue with one more check on load: callbacks must be among the spider's declared
``redis_callbacks``, and the request class is always :class:`scrapy.Request` (Scrapy's
``request_from_dict`` would import whatever class the entry names).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy_redis.queue import PriorityQueue

FORMAT_VERSION = 1
# Sizes: a crawler request is a URL, a few headers and no body; anything far larger is not ours.
MAX_ENTRY_BYTES = 64 * 1024
MAX_URL_CHARS = 8192
MAX_BODY_BYTES = 16 * 1024
MAX_NESTING = 8
METHODS = frozenset({"GET", "HEAD"})
SCHEMES = frozenset({"http", "https"})
# Keys of Scrapy's Request.to_dict() we accept; "_class" is refused on purpose.
KNOWN_KEYS = frozenset({"v", "url", "callback", "errback", "method", "headers", "body",
                        "cookies", "meta", "encoding", "priority", "dont_filter", "flags",
                        "cb_kwargs"})
BYTES_TAG = "$b"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_ENCODINGS = frozenset({"utf-8", "utf8", "latin-1", "latin1", "ascii", "iso-8859-1"})


class UnsafeRequest(ValueError):
    """A queue entry that is not a request beatmap wrote; it is refused, never executed."""


# --- dumping ---------------------------------------------------------------------------------


def dumps(obj: dict[str, Any]) -> bytes:
    """The request dict (from ``Request.to_dict``) as JSON bytes; refuses non-data values."""
    if "_class" in obj:
        raise UnsafeRequest(f"only plain scrapy.Request objects go to Redis, not {obj['_class']}")
    unknown = set(obj) - KNOWN_KEYS
    if unknown:
        raise UnsafeRequest(f"unknown request fields {sorted(unknown)}")
    data = {key: value for key, value in obj.items()}
    data["v"] = FORMAT_VERSION
    data["headers"] = [[_tag(name), [_tag(v) for v in values]]
                       for name, values in (obj.get("headers") or {}).items()]
    data["body"] = _tag(obj.get("body") or b"")
    for key in ("meta", "cb_kwargs", "cookies", "flags"):
        if key in data:
            _check_plain(data[key], key, 0)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    encoded = text.encode("utf-8")
    if len(encoded) > MAX_ENTRY_BYTES:
        raise UnsafeRequest(f"request too large for the queue ({len(encoded)} bytes)")
    return encoded


def _tag(value: bytes | str) -> dict[str, str] | str:
    if isinstance(value, bytes):
        return {BYTES_TAG: base64.b64encode(value).decode("ascii")}
    if isinstance(value, str):
        return value
    raise UnsafeRequest(f"header or body of type {type(value).__name__}")


def _check_plain(value: Any, where: str, depth: int) -> None:
    """Raise unless ``value`` is JSON data (str keys, no bytes, no objects)."""
    if depth > MAX_NESTING:
        raise UnsafeRequest(f"{where} nested too deeply")
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise UnsafeRequest(f"{where} holds a non-finite number")
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_plain(item, where, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise UnsafeRequest(f"{where} has a non-text key {key!r}")
            if key == BYTES_TAG:
                raise UnsafeRequest(f"{where} uses the reserved key {BYTES_TAG!r}")
            _check_plain(item, f"{where}.{key}", depth + 1)
        return
    raise UnsafeRequest(f"{where} holds a {type(value).__name__}, not JSON data")


# --- loading ---------------------------------------------------------------------------------


def loads(data: bytes | str) -> dict[str, Any]:
    """Parse and validate one queue entry; raise :class:`UnsafeRequest` if it is not ours."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_ENTRY_BYTES:
        raise UnsafeRequest(f"entry of {len(raw)} bytes is larger than any request we write")
    if not raw.startswith(b"{"):
        # pickle starts with b"\x80"; refusing by shape means it is never unpickled
        raise UnsafeRequest("entry is not a JSON request (pickle or other data)")
    try:
        obj = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UnsafeRequest(f"entry is not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise UnsafeRequest("entry is not a JSON object")
    return _validate(obj)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _validate(obj: dict[str, Any]) -> dict[str, Any]:
    unknown = set(obj) - KNOWN_KEYS
    if unknown:
        raise UnsafeRequest(f"unknown fields {sorted(unknown)[:5]}")
    if obj.get("v") != FORMAT_VERSION:
        raise UnsafeRequest(f"unknown format version {obj.get('v')!r}")
    out: dict[str, Any] = {"url": _check_url(obj.get("url"))}
    method = obj.get("method", "GET")
    if method not in METHODS:
        raise UnsafeRequest(f"method {method!r} is not one the crawler uses")
    out["method"] = method
    for key in ("callback", "errback"):
        name = obj.get(key)
        if name is not None and (not isinstance(name, str) or not _NAME.match(name)):
            raise UnsafeRequest(f"{key} {name!r} is not a method name")
        out[key] = name
    out["headers"] = _headers(obj.get("headers", []))
    body = _untag(obj.get("body", ""), "body")
    if len(body) > MAX_BODY_BYTES:
        raise UnsafeRequest("body too large")
    out["body"] = body
    for key in ("meta", "cb_kwargs"):
        value = obj.get(key) or {}
        if not isinstance(value, dict):
            raise UnsafeRequest(f"{key} is not an object")
        _check_plain(value, key, 0)
        out[key] = value
    out["cookies"] = _cookies(obj.get("cookies") or {})
    flags = obj.get("flags") or []
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise UnsafeRequest("flags must be a list of text")
    out["flags"] = flags
    encoding = obj.get("encoding", "utf-8")
    if not isinstance(encoding, str) or encoding.lower() not in _ENCODINGS:
        raise UnsafeRequest(f"encoding {encoding!r} not accepted")
    out["encoding"] = encoding
    priority = obj.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or abs(priority) > 10**9:
        raise UnsafeRequest("priority must be a whole number")
    out["priority"] = priority
    dont_filter = obj.get("dont_filter", False)
    if not isinstance(dont_filter, bool):
        raise UnsafeRequest("dont_filter must be true or false")
    out["dont_filter"] = dont_filter
    return out


def _check_url(url: Any) -> str:
    if not isinstance(url, str) or not url or len(url) > MAX_URL_CHARS:
        raise UnsafeRequest("url missing or too long")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise UnsafeRequest("url contains spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UnsafeRequest(f"url does not parse ({exc})") from None
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise UnsafeRequest(f"url {url[:80]!r} is not http(s) with a host")
    return url


def _untag(value: Any, where: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and set(value) == {BYTES_TAG} and isinstance(value[BYTES_TAG], str):
        try:
            return base64.b64decode(value[BYTES_TAG], validate=True)
        except (binascii.Error, ValueError):
            raise UnsafeRequest(f"{where} is not valid base64") from None
    raise UnsafeRequest(f"{where} is neither text nor tagged bytes")


def _headers(value: Any) -> dict[bytes, list[bytes]]:
    if not isinstance(value, list) or len(value) > 64:
        raise UnsafeRequest("headers must be a short list of [name, [values]]")
    out: dict[bytes, list[bytes]] = {}
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], list)):
            raise UnsafeRequest("headers must be a list of [name, [values]]")
        name = _untag(pair[0], "header name")
        if not re.fullmatch(rb"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}", name):
            raise UnsafeRequest(f"header name {name[:40]!r} is not a token")
        values = [_untag(v, "header value") for v in pair[1]]
        if any(b"\r" in v or b"\n" in v or len(v) > 8192 for v in values):
            raise UnsafeRequest(f"header {name!r} has a line break or is too long")
        out[name] = values
    return out


def _cookies(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in value.items()):
        raise UnsafeRequest("cookies must be an object of text values")
    return value


# --- the queue -------------------------------------------------------------------------------


def request_from_data(data: dict[str, Any], spider: Spider) -> Request:
    """A :class:`scrapy.Request` from validated data; callbacks only among the spider's own."""
    allowed = frozenset(getattr(spider, "redis_callbacks", ()))
    kwargs = {k: v for k, v in data.items() if k not in ("callback", "errback")}
    for key in ("callback", "errback"):
        name = data.get(key)
        if name is None:
            continue
        method = getattr(type(spider), name, None)
        if name not in allowed or not callable(method):
            raise UnsafeRequest(f"{key} {name!r} is not one of the spider's request callbacks "
                                f"{sorted(allowed)}")
        kwargs[key] = getattr(spider, name)
    return Request(**kwargs)


class SafePriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue (a sorted set), decoding only through :func:`loads`."""

    def _decode_request(self, encoded_request: bytes) -> Request:
        return request_from_data(self.serializer.loads(encoded_request), self.spider)

    def pop_many(self, count: int) -> list[bytes]:
        """Take up to ``count`` raw entries, best priority first, atomically (ZPOPMIN)."""
        return [member for member, _score in self.server.zpopmin(self.key, count)]

    def decode(self, encoded_request: bytes) -> Request:
        return self._decode_request(encoded_request)
