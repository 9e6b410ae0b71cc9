"""The SSRF guard folds compatibility spellings itself (NFKC, IDNA dots, punycode) rather than
relying on Scrapy to normalise hosts first."""

from __future__ import annotations

import pytest

from crawler.ssrf import BlockedAddress, check_answers, check_url, normalise_allow_list

LOOPBACK_SPELLINGS = [
    "http://①②⑦.⓪.⓪.①:1/",
    "http://127。0。0。1/",
    "http://127．0．0．1/",
    "http://127｡0｡0｡1/",
    "http://ℓocalhost/",
    "http://ＬＯＣＡＬＨＯＳＴ/",
    "http://１２７.０.０.１/",
    "http://⑯⑨.②⑤④.⑯⑨.②⑤④/latest/meta-data/",
    "http://sub.ｌｏｃａｌｈｏｓｔ/",
]


@pytest.mark.parametrize("url", LOOPBACK_SPELLINGS)
def test_non_ascii_spellings_of_forbidden_hosts_are_refused(url):
    with pytest.raises(BlockedAddress):
        check_url(url)


@pytest.mark.parametrize("url", ["http://bücher.example/", "http://example.com/",
                                 "http://xn--bcher-kva.example/"])
def test_ordinary_international_names_pass(url):
    check_url(url)


def test_allow_list_matches_the_folded_spelling():
    allow = normalise_allow_list(["127.0.0.1", "hanover.example"])
    check_url("http://①②⑦.⓪.⓪.①:8155/", allow)
    check_answers("ｈａｎｏｖｅｒ.example", ["10.0.0.1"], allow)
