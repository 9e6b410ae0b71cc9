"""A tiny loopback web for crawl tests: many sites on one port, reached as an HTTP proxy.

Each site is a dict path → (status, headers, body); a body may be a callable of the request
count for dynamic answers. Every request is logged as (host, path) so tests can prove what
was, and was not, requested.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Answer = tuple[int, dict[str, str], bytes]
Route = Answer | Callable[[dict[str, str]], Answer]  # callables get the request headers


def html(body: str, title: str = "page", status: int = 200) -> Answer:
    doc = f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"
    return status, {"Content-Type": "text/html; charset=utf-8"}, doc.encode()


def text(body: str, status: int = 200, **headers: str) -> Answer:
    return status, {"Content-Type": "text/plain", **headers}, body.encode()


def gzip_bomb(size: int) -> Answer:
    return 200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, gzip.compress(
        b"<html>" + b" " * size + b"</html>", compresslevel=9)


def request_target(handler: BaseHTTPRequestHandler) -> tuple[str, str]:
    """(host, path) of a request sent to us as a forward proxy (absolute URI) or by Host header."""
    target = handler.path
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        return parts.netloc.lower(), parts.path + (f"?{parts.query}" if parts.query else "")
    return (handler.headers.get("Host") or "").lower(), target


class MiniWeb:
    def __init__(self, sites: dict[str, dict[str, Route]]):
        self.sites = sites
        self.log: list[tuple[str, str]] = []
        self.stamps: list[tuple[str, str, float, dict[str, str]]] = []
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
                    web.log.append((host, path))
                    web.stamps.append((host, path, time.monotonic(), headers_in))
                status, headers, body = web.answer(host, path, headers_in)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.proxy_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, host: str, path: str, headers: dict[str, str]) -> Answer:
        site = self.sites.get(host)
        if site is None:
            return 502, {"Content-Type": "text/plain"}, b"unknown host"
        route = site.get(path)
        if route is None:
            if path == "/robots.txt":
                return 404, {"Content-Type": "text/plain"}, b"no robots"
            return 404, {"Content-Type": "text/html"}, b"<html>not found</html>"
        return route(headers) if callable(route) else route

    def requested(self, host: str) -> list[str]:
        return [p for h, p in self.log if h == host]

    def __enter__(self) -> MiniWeb:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
