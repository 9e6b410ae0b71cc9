"""The loopback server: an HTTP forward proxy (and Host-routed server) for the sample web only.

It binds 127.0.0.1, answers absolute-URI requests (``GET http://host.example/path HTTP/1.1``)
and plain requests routed by ``Host``, serves only the hosts of the spec, and never opens a
connection anywhere. An asyncio protocol on one background thread keeps it fast (keep-alive,
pipelining, thousands of small pages a second) and lets slow, stalled and streamed responses
wait without tying up threads. Every request is logged for tests (robots compliance, "zero
requests to X").
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from email.utils import formatdate
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from sampleweb import site
from sampleweb.model import World
from sampleweb.platforms.common import Req, Resp

logger = logging.getLogger(__name__)

BIND_HOST = "127.0.0.1"
MAX_HEAD_BYTES = 65536
# How long a stalled response (robots.txt that "times out") holds the connection before
# closing it; longer than any sensible crawler timeout on the sample web's scale.
STALL_SECONDS = 60.0
LOCAL_NAMES = ("127.0.0.1", "localhost")
REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified", 400: "Bad Request",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests",
           431: "Request Header Fields Too Large", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable"}


class RequestRecord(NamedTuple):
    """One logged request. A tuple of plain values, so the garbage collector stops tracking it:
    a long log then costs no collector time (a dataclass log halved the warm serving rate)."""

    time: float  # time.time() when the request was answered
    host: str
    path: str  # path with ?query
    status: int  # 0 when the server never answered (stall)
    user_agent: str
    method: str = "GET"


class SampleWeb:
    """A running sample web. Use ``with SampleWeb.start(out_dir) as web: …``."""

    def __init__(self, world: World, *, port: int = 0, slow_delay: float = 1.0,
                 stall_seconds: float = STALL_SECONDS):
        self.world = world
        world.slow_delay = slow_delay
        self.stall_seconds = stall_seconds
        self.request_log: list[RequestRecord] = []
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[_Conn] = set()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._date = (0, "")

    # --- life cycle ---------------------------------------------------------------------

    @classmethod
    def start(cls, source: str | Path | dict | World, *, port: int = 0, slow_delay: float = 1.0,
              stall_seconds: float = STALL_SECONDS) -> SampleWeb:
        """Load a spec (a build directory, a ``site_spec.json``, a spec dict or a World) and serve it."""
        world = source if isinstance(source, World) else (
            World(source) if isinstance(source, dict) else World.load(source))
        web = cls(world, port=port, slow_delay=slow_delay, stall_seconds=stall_seconds)
        web._start()
        return web

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sampleweb", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise OSError(f"sample web could not listen on {BIND_HOST}:{self._port}: {self._error}")
        logger.info("sample web serving %d hosts at %s", len(self.world.hosts), self.proxy_url)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                loop.create_server(lambda: _Conn(self), BIND_HOST, self._port, reuse_address=True))
        except OSError as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown())
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for conn in list(self._conns):
            conn.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        """Stop serving and join the server thread (safe to call twice)."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> SampleWeb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses and the log -------------------------------------------------------------

    @property
    def base_port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    @property
    def proxy_url(self) -> str:
        return f"http://{BIND_HOST}:{self.base_port}"

    def requests_for(self, host: str) -> list[RequestRecord]:
        """Logged requests whose host is ``host`` or one of its subdomains."""
        host = host.lower()
        return [r for r in self.request_log if r.host == host or r.host.endswith("." + host)]

    def robots_violations(self, user_agent: str | None = None) -> list[RequestRecord]:
        """Requests a robots.txt-obeying crawler (failing closed) should not have made.

        ``user_agent``: only consider requests whose User-Agent contains it.
        """
        out = []
        for r in self.request_log:
            if user_agent and user_agent not in r.user_agent:
                continue
            if r.host not in self.world.hosts or r.path == "/robots.txt":
                continue
            _mode, allow, disallow = site.robots_rules(self.world, r.host)
            if not site.is_allowed(allow, disallow, r.path):
                out.append(r)
        return out

    def clear_log(self) -> None:
        self.request_log.clear()

    # --- request handling (runs on the server thread) ----------------------------------------

    def http_date(self) -> str:
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, formatdate(now, usegmt=True))
        return self._date[1]

    def respond(self, method: str, target: str, headers: dict[str, str]) -> tuple[str, Resp]:
        """(host, response) for one parsed request."""
        if method == "CONNECT":
            return target.split(":")[0].lower(), Resp(405, b"CONNECT is not supported by the sample web\n",
                                                      [], "text/plain")
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            host, path, query = (parts.hostname or "").lower(), parts.path or "/", parts.query
        else:
            host = headers.get("host", "").rsplit(":", 1)[0].strip("[]").lower()
            path, _, query = target.partition("?")
        if method not in ("GET", "HEAD"):
            return host, Resp(405, b"Method Not Allowed\n", [("Allow", "GET, HEAD")], "text/plain")
        if host in LOCAL_NAMES or not host:
            return host, self._status_page(path)
        if host not in self.world.hosts:
            if host.endswith(".example"):
                return host, Resp(502, f"sample web: no such host {host}\n".encode(), [], "text/plain")
            return host, Resp(403, f"sample web: {host} is not part of the sample web; "
                                   f"nothing outside it is ever contacted\n".encode(), [], "text/plain")
        try:
            return host, site.handle(self.world, Req(host, path, query, headers))
        except Exception:  # a renderer bug must not kill the connection or the server
            logger.exception("sample web: error rendering http://%s%s", host, path)
            return host, Resp(500, b"Internal Server Error\n", [], "text/plain")

    def _status_page(self, path: str) -> Resp:
        if path != "/":
            return Resp(404, b"Not Found\n", [], "text/plain")
        seeds = "\n".join(s["url"] for s in self.world.spec.get("seeds", []))
        text = (f"beatmap sample web (synthetic, offline): {len(self.world.hosts)} hosts.\n"
                f"Use this address as an HTTP proxy. Seeds:\n{seeds}\n")
        return Resp(200, text.encode(), [], "text/plain; charset=utf-8")


class _Conn(asyncio.Protocol):
    """One client connection: parses pipelined HTTP/1.x requests and answers them in order."""

    def __init__(self, web: SampleWeb):
        self.web = web
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.closed = False
        self.can_write = asyncio.Event()
        self.can_write.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.web._conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.can_write.set()
        self.web._conns.discard(self)

    def pause_writing(self) -> None:
        self.can_write.clear()

    def resume_writing(self) -> None:
        self.can_write.set()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._process()

    def _process(self) -> None:
        while not self.busy and not self.closed:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD_BYTES:
                    self._write_simple(431, close=True)
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            lines = head.split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                self._write_simple(400, close=True)
                return
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0) if headers.get("content-length", "0").isdigit() else 0
            if len(self.buf) < end + 4 + length:
                return
            del self.buf[:end + 4 + length]
            keep = _keep_alive(version, headers)
            host, resp = self.web.respond(method, target, headers)
            ua = headers.get("user-agent", "")
            path = target if not target.startswith(("http://", "https://")) else _path_of(target)
            if resp.stall or resp.delay or resp.chunks is not None:
                self.busy = True
                asyncio.ensure_future(self._slow(method, host, path, ua, resp, keep, headers))
                return
            self._send(method, host, path, ua, resp, keep, headers)

    def _write_simple(self, status: int, close: bool) -> None:
        assert self.transport is not None
        self.transport.write(f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nContent-Length: 0\r\n"
                             f"Connection: close\r\n\r\n".encode())
        if close:
            self.transport.close()
            self.closed = True

    def _send(self, method: str, host: str, path: str, ua: str, resp: Resp, keep: bool,
              req_headers: dict[str, str]) -> None:
        status, body = resp.status, resp.body
        etag = None
        if status == 200 and body and resp.chunks is None:
            etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
            if req_headers.get("if-none-match") == etag:
                status, body = 304, b""
        self.web.request_log.append(RequestRecord(time.time(), host, path, status, ua, method))
        head = self._head(status, resp, len(body) if resp.chunks is None else resp.length, keep, etag)
        assert self.transport is not None
        if self.transport.is_closing():
            return
        self.transport.write(head + (b"" if method == "HEAD" else body))
        if not keep:
            self.transport.close()
            self.closed = True

    def _head(self, status: int, resp: Resp, length: int | None, keep: bool, etag: str | None) -> bytes:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}", "Server: beatmap-sampleweb",
                 f"Date: {self.web.http_date()}"]
        if resp.content_type and status != 304:
            lines.append(f"Content-Type: {resp.content_type}")
        if length is not None:
            lines.append(f"Content-Length: {length}")
        if etag:
            lines.append(f"ETag: {etag}")
        lines += [f"{k}: {v}" for k, v in resp.headers]
        lines.append("Connection: keep-alive" if keep else "Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _slow(self, method: str, host: str, path: str, ua: str, resp: Resp, keep: bool,
                    req_headers: dict[str, str]) -> None:
        try:
            if resp.stall:
                self.web.request_log.append(RequestRecord(time.time(), host, path, 0, ua, method))
                await asyncio.sleep(self.web.stall_seconds)
                self.close()
                return
            if resp.delay:
                await asyncio.sleep(resp.delay)
            if self.closed:
                return
            if resp.chunks is None:
                self._send(method, host, path, ua, resp, keep, req_headers)
            else:
                await self._stream(method, host, path, ua, resp, keep)
        finally:
            self.busy = False
            if not self.closed:
                self._process()

    async def _stream(self, method: str, host: str, path: str, ua: str, resp: Resp, keep: bool) -> None:
        self.web.request_log.append(RequestRecord(time.time(), host, path, resp.status, ua, method))
        assert self.transport is not None
        self.transport.write(self._head(resp.status, resp, resp.length, keep, None))
        if method != "HEAD":
            for chunk in _iter(resp.chunks):
                # A set Event does not yield to the loop, so without the explicit check a client
                # that hung up would get writes until asyncio reports the lost connection.
                if self.closed or self.transport.is_closing():
                    return
                await self.can_write.wait()
                self.transport.write(chunk)
                await asyncio.sleep(0)
        if not keep:
            self.close()


def _iter(chunks: Any) -> Iterable[bytes]:
    return chunks


def _path_of(target: str) -> str:
    parts = urlsplit(target)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _keep_alive(version: str, headers: dict[str, str]) -> bool:
    conn = headers.get("connection", "").lower()
    if version.upper() == "HTTP/1.0":
        return "keep-alive" in conn
    return "close" not in conn
