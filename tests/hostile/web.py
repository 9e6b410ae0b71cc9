"""A hostile loopback web: sites reached through one forward proxy whose routes may misbehave.

Like ``tests.crawlsite.MiniWeb`` (many sites, one port, every request logged with its
headers), but a route may also be a :class:`Raw` writer that owns the socket: it can stream
an endless body, drip bytes slowly, lie about lengths or send compressed bombs with any
Content-Encoding. Everything binds 127.0.0.1.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.crawlsite import request_target

Answer = tuple[int, dict[str, str], bytes]
Writer = Callable[[BaseHTTPRequestHandler], None]

BOMB_CHUNK = 1 << 20  # compress the bomb a megabyte at a time, so building it stays cheap


class Raw:
    """A route that writes the whole response itself (status line, headers, body)."""

    def __init__(self, write: Writer):
        self.write = write


Route = Answer | Raw | Callable[[dict[str, str]], Answer]  # a site's "*" takes the path


def html(body: str, title: str = "page", *, charset: str | None = "utf-8",
         encoding: str = "utf-8", head: str = "") -> Answer:
    doc = (f"<!doctype html><html><head><title>{title}</title>{head}</head>"
           f"<body>{body}</body></html>")
    ctype = "text/html" + (f"; charset={charset}" if charset else "")
    return 200, {"Content-Type": ctype}, doc.encode(encoding)


def raw_bytes(body: bytes, ctype: str = "text/html", status: int = 200, **headers: str) -> Answer:
    return status, {"Content-Type": ctype, **headers}, body


def redirect(location: str, status: int = 302) -> Answer:
    return status, {"Location": location, "Content-Type": "text/plain"}, b""


def _zeros_compressed(size: int, compressor) -> bytes:
    out = [compressor.compress(b"<html><body>")]
    block = b"\0" * BOMB_CHUNK
    for _ in range(size // BOMB_CHUNK):
        out.append(compressor.compress(block))
    out.append(compressor.flush())
    return b"".join(out)


def bomb(size: int, encoding: str) -> Answer:
    """``size`` inflated bytes, compressed with gzip, deflate (zlib) or br, built in chunks."""
    if encoding == "gzip":
        body = _zeros_compressed(size, zlib.compressobj(9, zlib.DEFLATED, 31))  # gzip wrapper
    elif encoding == "deflate":
        body = _zeros_compressed(size, zlib.compressobj(9))
    elif encoding == "br":
        import brotli

        body = _zeros_compressed(size, _Brotli(brotli.Compressor(quality=5)))
    else:
        raise ValueError(f"unknown encoding {encoding}")
    return 200, {"Content-Type": "text/html", "Content-Encoding": encoding}, body


class _Brotli:
    """brotli's Compressor with zlib's compress/flush names."""

    def __init__(self, compressor):
        self.c = compressor

    def compress(self, data: bytes) -> bytes:
        return self.c.process(data)

    def flush(self) -> bytes:
        return self.c.finish()


def endless(chunk: bytes = b"<p>" + b"x" * 65_536 + b"</p>", *, pause: float = 0.0,
            chunked: bool = True, stop: threading.Event | None = None) -> Raw:
    """A body that never ends (until the client hangs up or ``stop`` is set)."""
    def write(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.write(b"<html><body>" if not chunked else b"c\r\n<html><body>\r\n")
        while stop is None or not stop.is_set():
            data = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
            h.wfile.write(data)
            h.wfile.flush()
            if pause:
                time.sleep(pause)
    return Raw(write)


def lying_length(declared: int, sent: bytes = b"<html>short</html>") -> Raw:
    """Declares a huge Content-Length, sends a little, then hangs up."""
    def write(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", str(declared))
        h.end_headers()
        h.wfile.write(sent)
        h.wfile.flush()
        h.close_connection = True
    return Raw(write)


def drip(body: bytes, every: float, *, step: int = 1, stop: threading.Event | None = None,
         ctype: str = "text/html") -> Raw:
    """Sends ``step`` bytes every ``every`` seconds (a slowloris from the server side)."""
    def write(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for i in range(0, len(body), step):
            if stop is not None and stop.is_set():
                return
            h.wfile.write(body[i:i + step])
            h.wfile.flush()
            time.sleep(every)
    return Raw(write)


def stall(stop: threading.Event, seconds: float = 120.0) -> Callable[[dict[str, str]], Answer]:
    """Never answers in time: holds the request until ``stop`` is set (the server closes)."""
    def answer(_headers: dict[str, str]) -> Answer:
        stop.wait(seconds)
        return html("late")
    return answer


class HostileWeb:
    """Sites by host name, served on 127.0.0.1 as an HTTP forward proxy (or by Host header)."""

    def __init__(self, sites: dict[str, dict[str, Route]]):
        self.sites = sites
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                host, path = request_target(self)
                headers_in = {k.lower(): v for k, v in self.headers.items()}
                with web._lock:
                    web.log.append((host, path, headers_in))
                route = web.route(host, path)
                try:
                    if isinstance(route, Raw):
                        route.write(self)
                        return
                    status, headers, body = route(headers_in) if callable(route) else route
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the crawler hung up: what a bomb should get

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.proxy_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def route(self, host: str, path: str) -> Route:
        site = self.sites.get(host)
        if site is None:
            return 502, {"Content-Type": "text/plain"}, b"unknown host"
        found = site.get(path)
        if found is not None:
            return found
        fallback = site.get("*")
        if callable(fallback):  # a generated site: the route is built from the path
            return fallback(path)
        if path == "/robots.txt":
            return 404, {"Content-Type": "text/plain"}, b"no robots"
        return 404, {"Content-Type": "text/html"}, b"<html>not found</html>"

    def requested(self, host: str) -> list[str]:
        return [p for h, p, _ in self.log if h == host]

    def headers_seen(self, host: str) -> list[dict[str, str]]:
        return [hd for h, _, hd in self.log if h == host]

    def __enter__(self) -> HostileWeb:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
