"""The adapters' shared helpers: dates, channel sniffing, counts, contact details, links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from parsel import Selector
from scrapy.http import Response, TextResponse

from crawler.adapters.dates import parse_date
from crawler.adapters.detection import sniff_channel
from crawler.adapters.links import is_share_link, links_in
from crawler.adapters.metadata import contact_info, counts_from_text, parse_count
from crawler.adapters.text import node_text

NOW = datetime(2024, 11, 21, 12, 0, tzinfo=UTC)


def test_forum_and_feed_date_forms():
    cases = {
        "2024-03-04T19:12:00+00:00": datetime(2024, 3, 4, 19, 12, tzinfo=UTC),
        "2024-03-04T20:12:00+0100": datetime(2024, 3, 4, 19, 12, tzinfo=UTC),
        "2024-03-04T19:12:00.123Z": datetime(2024, 3, 4, 19, 12, 0, 123000, tzinfo=UTC),
        "2024-03-04 19:12:00": datetime(2024, 3, 4, 19, 12, tzinfo=UTC),
        "Mon, 04 Mar 2024 19:12:00 GMT": datetime(2024, 3, 4, 19, 12, tzinfo=UTC),
        "Mon Mar 04, 2024 7:12 pm": datetime(2024, 3, 4, 19, 12, tzinfo=UTC),
        "March 04, 2024, 07:12:33 PM": datetime(2024, 3, 4, 19, 12, 33, tzinfo=UTC),
        "« Reply #3 on: March 04, 2024, 07:12:33 PM »": datetime(2024, 3, 4, 19, 12, 33, tzinfo=UTC),
        "Posted: 4 Mar 2024, 19:12": datetime(2024, 3, 4, 19, 12, tzinfo=UTC),
        "4 March 2024": datetime(2024, 3, 4, tzinfo=UTC),
        "1709579520": datetime(2024, 3, 4, 19, 12, tzinfo=UTC),
        "1709579520000": datetime(2024, 3, 4, 19, 12, tzinfo=UTC),
        "Today, 09:15 AM": datetime(2024, 11, 21, 9, 15, tzinfo=UTC),
        "Yesterday at 7:12 PM": datetime(2024, 11, 20, 19, 12, tzinfo=UTC),
        "3 hours ago": NOW - timedelta(hours=3),
        "a day ago": NOW - timedelta(days=1),
    }
    for text, expected in cases.items():
        assert parse_date(text, now=NOW) == expected, text


def test_local_board_time_and_implausible_dates():
    # 19:12 on a board set to London in summer is 18:12 UTC; in winter the same clock.
    assert parse_date("July 04, 2024, 07:12 PM", tz="Europe/London") == datetime(
        2024, 7, 4, 18, 12, tzinfo=UTC)
    assert parse_date("January 04, 2024, 07:12 PM", tz="Europe/London") == datetime(
        2024, 1, 4, 19, 12, tzinfo=UTC)
    for junk in ["", "n/a", "#12", "1.2K", "page 3 of 9", "1970-01-01T00:00:00Z", 0, True, None,
                 "2099-01-01T00:00:00Z", "x" * 500, [2024], "Reply #2"]:
        assert parse_date(junk, now=NOW) is None, junk


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.integers(), st.floats(allow_nan=True),
                 st.datetimes(timezones=st.just(UTC))))
def test_parse_date_never_raises_and_is_always_aware_utc(value):
    result = parse_date(value, tz="Europe/London", now=NOW)
    assert result is None or result.utcoffset() == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_sniffing_arbitrary_bytes(body):
    assert sniff_channel(Response("https://a.example/x", body=body)) in (
        "json", "feed", "sitemap", "html")


def test_sniffing_prefers_the_body_to_the_header():
    def sniff(body: bytes, ctype: str) -> str:
        return sniff_channel(TextResponse("https://a.example/x", body=body,
                                          headers={"Content-Type": ctype}))

    assert sniff(b'\xef\xbb\xbf{"a": 1}', "text/html") == "json"
    assert sniff(b'<?xml version="1.0"?>\n<!-- x --><feed xmlns="http://www.w3.org/2005/Atom">',
                 "text/html") == "feed"
    assert sniff(b'<?xml version="1.0"?><urlset>', "text/plain") == "sitemap"
    assert sniff(b"<!DOCTYPE html><html>", "application/json") == "json"
    assert sniff(b"<!DOCTYPE html><html>", "text/html") == "html"


def test_counts_as_boards_print_them():
    assert counts_from_text("1,877 Posts in 214 Topics by 388 Members.") == (388, 1877)
    assert counts_from_text("Threads\n1,208\nMessages: 14,932\nMembers: 1,377") == (1377, 14932)
    assert counts_from_text("Total Topics\n3,102\nTotal Posts\n41,880") == (None, 41880)
    assert counts_from_text("nothing here") == (None, None)
    assert parse_count("2.5M") == 2_500_000 and parse_count("3 402") == 3402


def test_contact_details_leave_members_words_out():
    page = Selector(text="""<html><body>
      <div class="post"><a href="mailto:resident.jo@mail.example">mail me</a>
        <a href="https://www.facebook.com/jo.person">my profile</a></div>
      <footer>Contact the committee: <a href="mailto:Committee@Group.example?subject=Hi">email</a>
        <a href="/get-in-touch/">Get in touch</a>
        <a href="https://www.facebook.com/sharer/sharer.php?u=x">Share</a>
        <a href="https://www.instagram.com/group_example/">Instagram</a></footer></body></html>""")
    contact = contact_info(page, "https://group.example/", exclude="div.post")
    assert contact == {"email": "committee@group.example",
                       "contact_page": "https://group.example/get-in-touch/",
                       "social": ["https://www.instagram.com/group_example/"]}


def test_obfuscated_emails_only_when_asked():
    page = Selector(text="<p>Write to info (at) group (dot) example please</p>")
    assert contact_info(page, "https://group.example/") == {}
    assert contact_info(page, "https://group.example/", text_emails=True) == {
        "email": "info@group.example"}


def test_links_resolve_and_drop_non_http_and_share_buttons():
    root = Selector(text="""<ul><li><a href="/a">A</a> in Hanover</li>
        <li><a href="javascript:void(0)">x</a><a href="mailto:a@b.example">m</a>
        <a href="tel:0123">t</a><a href="#top">top</a></li>
        <li><a href="https://twitter.com/intent/tweet?text=x">Tweet</a></li>
        <li><a href="//cdn.example/x"><img alt="Logo of the group"></a></li></ul>""").root
    links = links_in(root, "https://group.example/news/")
    assert [(li.url, li.anchor_text) for li in links] == [
        ("https://group.example/a", "A"), ("https://cdn.example/x", "Logo of the group")]
    assert links[0].context == "A in Hanover"
    assert is_share_link("https://www.facebook.com/sharer.php?u=x")
    assert not is_share_link("https://www.facebook.com/groups/hanover")


def test_text_keeps_words_and_drops_scripts_comments_and_skipped_parts():
    root = Selector(text="""<div>Bins<!-- note --> on <b>Elm</b> Grove<script>var x=1</script>
        <blockquote>quoted</blockquote>after<br>next line</div>""").root
    div = root.find(".//div")
    quote = div.find("blockquote")
    assert node_text(div, {quote}) == "Bins on Elm Grove\nafter\nnext line"


def test_generic_link_words_take_their_entrys_name():
    root = Selector(text="""<ul class="directory"><li><h3>Brunswick Allotment Society</h3>
        <dl><dt>Area</dt><dd>Brunswick and Adelaide</dd><dt>Contact</dt>
        <dd><a href="https://brunswick-allotments.example/">Website</a></dd></dl></li></ul>""").root
    (link,) = links_in(root, "https://council.example/directory")
    assert link.anchor_text == "Brunswick Allotment Society"
    assert link.context.startswith("Brunswick Allotment Society Area Brunswick and Adelaide")
