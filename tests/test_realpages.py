"""Saved real feeds and API bodies (tests/data/realpages, with provenance and licence per file):
every body is detected and parsed, and the gold snippets a person would keep are found.

The corpus is small and has no HTML page yet (see its README): it pins what works on real
material today. Issue 15's targets (detection ≥ 0.97, text recall ≥ 0.90, every feed parsed)
are measured on it as it grows; the JSON Feed file is not read today (known gap, issue 15).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from scrapy.http import TextResponse, XmlResponse

from crawler.adapters import registry

CORPUS = Path(__file__).parent / "data" / "realpages"
MANIFEST = [json.loads(line) for line in
            (CORPUS / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
CONTENT_TYPES = {"xml": "application/xml", "json": "application/json", "html": "text/html"}
EXPECTED_ENGINE = {"feed": "generic", "mastodon": "mastodon", "reddit": "reddit"}
# Bodies today's adapters cannot read yet, with the reason (each is an open issue item).
KNOWN_GAPS = {"feeds/netnewswire-jsonfeed-allthis-partial.json.gz":
              "JSON Feed is not read (issue 15, real forums item)"}
TEXT_RECALL_FLOOR = 1.0  # every gold snippet of every readable body, today
# Share of the gold boilerplate snippets that end up in post text. Measured 2026-12-06: 1 of 8
# (WordPress.com's "Continue reading … →" stays in a feed summary). Issue 15's target: ≤ 0.10.
BOILERPLATE_CEILING = 0.125  # today, pinned: any further snippet let in fails


def response(entry: dict) -> TextResponse:
    body = gzip.decompress((CORPUS / entry["file"]).read_bytes())
    ext = entry["file"].split(".")[-2]
    cls = XmlResponse if ext == "xml" else TextResponse
    return cls(url=entry["url"] or "https://corpus.example/", body=body,
               headers={"Content-Type": CONTENT_TYPES[ext]}, encoding="utf-8")


def test_every_file_has_provenance_and_a_licence():
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*.gz")}
    assert on_disk == {entry["file"] for entry in MANIFEST}
    for entry in MANIFEST:
        assert entry["source_repo"] and entry["source_path"] and entry["licence"], entry["file"]
        assert entry["gold"]["must_contain"], entry["file"]


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_real_bodies_are_detected_and_parsed(entry):
    resp = response(entry)
    adapter = registry.detect(resp)
    assert adapter.platform == EXPECTED_ENGINE[entry["engine"]]
    result = adapter.parse(resp)
    assert result.errors == []
    if entry["file"] in KNOWN_GAPS:
        pytest.xfail(KNOWN_GAPS[entry["file"]])
    assert len(result.posts) == entry["gold"]["posts"]
    text = " ".join(f"{p.title or ''} {p.text or ''}" for p in result.posts)
    found = [s for s in entry["gold"]["must_contain"] if s in text]
    assert len(found) / len(entry["gold"]["must_contain"]) >= TEXT_RECALL_FLOOR, \
        sorted(set(entry["gold"]["must_contain"]) - set(found))


def test_boilerplate_let_in_stays_under_the_ceiling():
    let_in, total = [], 0
    for entry in MANIFEST:
        if entry["file"] in KNOWN_GAPS:
            continue
        result = registry.detect(response(entry)).parse(response(entry))
        text = " ".join(f"{p.title or ''} {p.text or ''}" for p in result.posts)
        total += len(entry["gold"]["must_not_contain"])
        let_in += [s for s in entry["gold"]["must_not_contain"] if s in text]
    assert total and len(let_in) / total <= BOILERPLATE_CEILING, let_in
