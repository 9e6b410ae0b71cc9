"""The Redis request serializer: JSON round trips, and every forged entry refused unexecuted."""

from __future__ import annotations

import base64
import json
import pickle
import uuid

import pytest
import scrapy

from crawler import redis_serializer as rs
from crawler.redis_serializer import SafePriorityQueue, UnsafeRequest, dumps, loads


class _Spider(scrapy.Spider):
    name = "t"
    redis_callbacks = ("parse", "on_error")

    def parse(self, response):
        return None

    def on_error(self, failure):
        return None

    def helper(self, response):  # a method, but not a declared request callback
        return None


def _entry(**changes) -> bytes:
    spider = _Spider()
    request = scrapy.Request("http://venue.example/forum?page=2", callback=spider.parse,
                             errback=spider.on_error, priority=35, meta={"ledger_fp": "ab12"},
                             headers={"If-None-Match": '"x"'})
    data = json.loads(dumps(request.to_dict(spider=spider)))
    data.update(changes)
    return json.dumps(data).encode()


class _Boom:
    """Unpickling this runs code: the marker shows whether it ever happened."""

    path = ""

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_round_trip_keeps_the_request():
    spider = _Spider()
    request = scrapy.Request("https://venue.example/a?b=1", callback=spider.parse,
                             errback=spider.on_error, priority=-7, dont_filter=True,
                             meta={"ledger_fp": "f00", "handle_httpstatus_list": [304, 404]},
                             headers={"Accept": "text/html"}, body=b"\x00\xffraw")
    request = request.replace(method="GET")
    data = loads(dumps(request.to_dict(spider=spider)))
    back = rs.request_from_data(data, spider)
    assert (back.url, back.priority, back.dont_filter, back.body) == \
        (request.url, -7, True, b"\x00\xffraw")
    assert back.meta == {"ledger_fp": "f00", "handle_httpstatus_list": [304, 404]}
    assert back.headers.getlist("Accept") == [b"text/html"]
    assert back.callback == spider.parse and back.errback == spider.on_error


def test_the_encoding_is_plain_json_with_tagged_bytes():
    text = dumps(scrapy.Request("http://a.example/", body=b"\x01").to_dict()).decode()
    data = json.loads(text)
    assert data["body"] == {"$b": base64.b64encode(b"\x01").decode()}
    assert data["v"] == 1


@pytest.mark.parametrize("meta", [{"lease": object()}, {"when": b"bytes"}, {1: "int key"},
                                  {"$b": "reserved"}, {"x": float("nan")}])
def test_dumps_refuses_values_that_are_not_data(meta):
    with pytest.raises(UnsafeRequest):
        dumps(scrapy.Request("http://a.example/", meta=meta).to_dict())


def test_dumps_refuses_request_subclasses():
    with pytest.raises(UnsafeRequest, match="plain scrapy.Request"):
        dumps(scrapy.FormRequest("http://a.example/", formdata={"a": "b"}).to_dict())


@pytest.mark.parametrize("changes, reason", [
    ({"url": "file:///etc/passwd"}, "http"),
    ({"url": "javascript:alert(1)"}, "http"),
    ({"url": "http://a.example/\r\nX: y"}, "control"),
    ({"method": "POST"}, "method"),
    ({"callback": "os.system"}, "method name"),
    ({"callback": "__class__"}, "method name"),
    ({"errback": 12}, "method name"),
    ({"_class": "subprocess.Popen"}, "unknown fields"),
    ({"v": 99}, "version"),
    ({"meta": {"x": {"$b": "AAAA"}}}, "reserved"),
    ({"meta": "not an object"}, "object"),
    ({"priority": "high"}, "whole number"),
    ({"dont_filter": "yes"}, "true or false"),
    ({"headers": [["Bad Header", ["v"]]]}, "token"),
    ({"headers": [["X-A", ["a\r\nInjected: 1"]]]}, "line break"),
    ({"encoding": "rot13"}, "encoding"),
])
def test_loads_refuses_forged_fields(changes, reason):
    with pytest.raises(UnsafeRequest, match=reason):
        loads(_entry(**changes))


def test_loads_refuses_pickle_without_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    _Boom.path = str(marker)
    payload = pickle.dumps(_Boom(), protocol=pickle.HIGHEST_PROTOCOL)
    with pytest.raises(UnsafeRequest, match="not a JSON request"):
        loads(payload)
    assert not marker.exists()


@pytest.mark.parametrize("payload", [b"", b"[1,2]", b"{" * 5000, b'{"v": NaN}',
                                     b"\xff\xfe{}", b"{" + b" " * rs.MAX_ENTRY_BYTES + b"}"])
def test_loads_refuses_garbage(payload):
    with pytest.raises(UnsafeRequest):
        loads(payload)


def test_callbacks_must_be_declared_by_the_spider():
    spider = _Spider()
    for name in ("helper", "close", "from_crawler", "start", "missing"):
        with pytest.raises(UnsafeRequest, match="request callbacks"):
            rs.request_from_data(loads(_entry(callback=name)), spider)


@pytest.fixture
def redis_client():
    from tests.conftest import redis_available

    if not redis_available():
        pytest.skip("no Redis server answers at 127.0.0.1:6379")
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    key = f"bmtest:{uuid.uuid4().hex}:requests"
    yield client, key
    client.delete(key)
    client.close()


@pytest.mark.redis
def test_a_pickle_in_the_real_queue_is_refused_unexecuted(redis_client, tmp_path):
    client, key = redis_client
    marker = tmp_path / "pwned"
    _Boom.path = str(marker)
    queue = SafePriorityQueue(client, _Spider(), key, serializer=rs)
    client.zadd(key, {pickle.dumps(_Boom()): -1000})  # what an attacker with Redis access writes
    queue.push(scrapy.Request("http://venue.example/ok", priority=5))
    raw = queue.pop_many(10)
    assert len(raw) == 2
    decoded, refused = [], []
    for entry in raw:
        try:
            decoded.append(queue.decode(entry))
        except UnsafeRequest as exc:
            refused.append(str(exc))
    assert [r.url for r in decoded] == ["http://venue.example/ok"]
    assert refused and "pickle" in refused[0]
    assert not marker.exists()
