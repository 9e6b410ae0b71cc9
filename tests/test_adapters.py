"""Each engine adapter on saved pages of that engine: detection, posts, venue facts, follow, links."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.adapters import registry
from tests.test_adapters_fixtures import FIXTURES, platform_of, response_for


def parse(name: str):
    return registry.get(platform_of(name)).parse(response_for(name))


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_every_saved_page_is_detected_as_its_engine(name):
    assert registry.detect(response_for(name)).platform == platform_of(name)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_saved_pages_parse_cleanly_with_aware_utc_dates(name):
    result = parse(name)
    assert result.errors == []
    for post in result.posts:
        assert post.url.startswith("https://")
        assert post.text or post.title
        if post.published_at is not None:
            assert post.published_at.utcoffset().total_seconds() == 0


# name → (kind, number of posts, fields of the first post)
POSTS = {
    "wordpress/single.html": ("post", 1, dict(
        external_id="212", author="Jo Secretary", board="Meetings",
        title="Spring meeting at St Luke\u2019s", published_at=datetime(2024, 3, 12, 18, 30, tzinfo=UTC),
        url="https://hanover-ra.example/2024/03/12/spring-meeting-st-lukes/")),
    "wordpress/posts.json": ("api", 2, dict(external_id="212", author="user-2",
                                            published_at=datetime(2024, 3, 12, 18, 30, tzinfo=UTC))),
    "wordpress/feed.xml": ("feed", 2, dict(external_id="212", author="Jo Secretary")),
    "blogger/feed.xml": ("feed", 2, dict(external_id="4411223344556677001", author="Pat G",
                                         published_at=datetime(2024, 5, 2, 8, 10, tzinfo=UTC))),
    "blogger/post.html": ("post", 1, dict(external_id="4411223344556677001", author="Pat G",
                                          published_at=datetime(2024, 5, 2, 8, 10, tzinfo=UTC))),
    "ghost/rss.xml": ("feed", 1, dict(external_id=None, author="Alex Rowe")),
    "ghost/post.html": ("post", 1, dict(external_id=None, author="Alex Rowe",
                                        published_at=datetime(2024, 5, 10, 7, 30, tzinfo=UTC))),
    "substack/feed.xml": ("feed", 1, dict(author="Morgan Lee")),
    "substack/post.html": ("post", 1, dict(author="Morgan Lee", title="Fiveways fair is back",
                                           published_at=datetime(2024, 6, 16, 6, 45, tzinfo=UTC))),
    "phpbb/viewtopic.html": ("thread", 2, dict(
        external_id="301", author="rosie_w", board="Crime and safety",
        thread="Scooters on Whitehawk Road at night",
        published_at=datetime(2024, 4, 2, 20, 11, tzinfo=UTC))),
    # phpBB 3.0: no <time> element, the date is text in the author line; plain user links.
    "phpbb/viewtopic_30.html": ("thread", 1, dict(
        external_id="410", author="plotholder_ann", board="Events and notices",
        thread="Allotment water turned off", published_at=datetime(2024, 11, 9, 10, 5, tzinfo=UTC))),
    "phpbb/feed.xml": ("feed", 1, dict(external_id="305", board="Crime and safety",
                                       thread="Scooters on Whitehawk Road at night")),
    "discourse/topic.json": ("thread", 2, dict(external_id="231/1", author="kt_resident")),
    "discourse/topic.html": ("thread", 2, dict(external_id="231/1", author="kt_resident",
                                               board="Nights out")),
    "xenforo/thread.html": ("thread", 2, dict(
        external_id="1402", author="busfan", board="Lewes Road and the buses",
        published_at=datetime(2024, 9, 14, 21, 3, tzinfo=UTC))),
    # XenForo 1: li.message, blockquote.messageText, the date in a span's title.
    "xenforo/thread_xf1.html": ("thread", 1, dict(
        external_id="611", author="coldean_carol", board="Coldean", thread="Speeding on Coldean Lane",
        published_at=datetime(2024, 1, 15, 8, 5, tzinfo=UTC))),
    "vbulletin/thread.html": ("thread", 2, dict(
        external_id="6021", author="greenfingers", thread="Fly-tipping behind Hollingdean depot",
        board="Hollingdean and Round Hill",
        # vBulletin's default date format is month-day-year, shown in UTC by default.
        published_at=datetime(2024, 6, 3, 19, 42, tzinfo=UTC))),
    "vbulletin/thread_vb5.html": ("thread", 1, dict(
        external_id="7001", author="greenfingers", board="Hollingdean and Round Hill",
        thread="Hedgehog house on Ditchling Road",
        published_at=datetime(2024, 6, 3, 19, 22, tzinfo=UTC))),
    "smf/topic.html": ("thread", 2, dict(
        external_id="9120", author="kathy_p", board="Roads and parking",
        thread="Parking on Boundary Road", published_at=datetime(2024, 3, 4, 19, 12, 33, tzinfo=UTC))),
    # SMF 2.0: the date is text in "« on: … »"; the title decorated with "Topic: … (Read n times)".
    "smf/topic_20.html": ("thread", 1, dict(
        external_id="9301", author="oakdweller", board="Mile Oak", thread="Mile Oak Road bus shelter",
        url="https://portslade-forum.example/index.php?topic=90.msg9301",
        published_at=datetime(2024, 2, 12, 8, 30, tzinfo=UTC))),
    "smf/feed.xml": ("feed", 1, dict(external_id="9124")),
    "mybb/thread.html": ("thread", 2, dict(
        external_id="8810", author="lagoonwalker", board="Wish Ward and the Lagoon",
        published_at=datetime(2024, 3, 4, 19, 12, tzinfo=UTC))),
    "invision/topic.html": ("thread", 2, dict(
        external_id="90211", author="dialsdweller", board="Seven Dials & Montpelier",
        published_at=datetime(2024, 10, 1, 17, 20, tzinfo=UTC))),
    "reddit/new.json": ("api", 2, dict(external_id="t3_1c9zz02", author="ldnroad_lou",
                                       board="r/BrightonLocal",
                                       published_at=datetime(2024, 4, 19, 21, 0, tzinfo=UTC))),
    "reddit/comments.json": ("thread", 3, dict(external_id="t3_1c9zz02")),
    "mastodon/public.json": ("api", 1, dict(external_id="112233445566778899",
                                            author="lewesroadbuses")),
    "telegram/channel.html": ("listing", 2, dict(external_id="bevendeanupdates/120", author=None,
                                                 board="bevendeanupdates")),
    "generic/ra_news.html": ("listing", 2, dict(
        title="Speed watch on Queen's Park Road",
        url="https://queenspark-ra.example/news.html#speed-watch",
        published_at=datetime(2024, 3, 14, 0, 0, tzinfo=UTC))),
}


@pytest.mark.parametrize("name", sorted(POSTS))
def test_posts_extracted_with_their_fields(name):
    kind, count, fields = POSTS[name]
    result = parse(name)
    assert result.kind == kind
    assert len(result.posts) == count
    first = result.posts[0]
    for key, value in fields.items():
        assert getattr(first, key) == value, key


def test_quoted_posts_stay_out_of_replies():
    for name, quoted in [("phpbb/viewtopic.html", "Has anyone reported it"),
                         ("xenforo/thread.html", "Anyone coming back"),
                         ("smf/topic.html", "Vans are parking"),
                         ("mybb/thread.html", "Could we ask"),
                         ("vbulletin/thread.html", "another sofa"),
                         ("invision/topic.html", "tagged again"),
                         ("discourse/topic.html", "playing music"),
                         ("discourse/topic.json", "playing music")]:
        reply = parse(name).posts[1]
        assert quoted not in reply.text, name
        assert reply.text.count(reply.text[:20]) == 1, name  # no doubled text


def test_handles_in_bodies_are_left_out():
    discourse = parse("discourse/topic.json").posts[1].text
    assert "@kt_resident" not in discourse and "kt_resident" not in discourse
    mastodon = parse("mastodon/public.json").posts[0].text
    assert "#LewesRoad" in mastodon and "someone" not in mastodon
    assert "Statistics: Posted by" not in parse("phpbb/feed.xml").posts[0].text


def test_wordpress_home_venue_contact_and_follow():
    result = parse("wordpress/home.html")
    venue = result.venue
    assert venue.name == "Hanover Residents' Association"
    assert venue.contact["email"] == "secretary@hanover-ra.example"
    assert venue.contact["contact_page"] == "https://hanover-ra.example/contact-us/"
    assert "https://www.facebook.com/groups/hanoverelmgrove" in venue.contact["social"]
    assert result.follow == ["https://hanover-ra.example/contact-us/",  # contact details live there
                             "https://hanover-ra.example/2024/03/12/spring-meeting-st-lukes/",
                             "https://hanover-ra.example/2024/02/20/islingword-road-resurfacing/",
                             "https://hanover-ra.example/page/2/", "https://hanover-ra.example/feed/"]
    anchors = {link.url: link for link in result.links}
    assert anchors["https://friends-of-the-level.example/"].anchor_text == "Friends of the Level"
    assert "park group" in anchors["https://friends-of-the-level.example/"].context


def test_wordpress_api_pages_on_from_the_total_pages_header():
    result = parse("wordpress/posts.json")
    assert result.follow == ["https://hanover-ra.example/wp-json/wp/v2/posts?per_page=100&page=2"]
    assert result.posts[1].author == "Sam Parker"  # from _embedded when asked for
    assert result.links[0].url == "https://brighton-hove-council.example/parking"


def test_wordpress_sitemap_skips_user_and_taxonomy_sitemaps():
    assert parse("wordpress/wp-sitemap.xml").follow == [
        "https://hanover-ra.example/wp-sitemap-posts-post-1.xml",
        "https://hanover-ra.example/wp-sitemap-posts-page-1.xml"]


def test_share_buttons_are_not_links():
    assert all("sharer" not in link.url for link in parse("wordpress/single.html").links)


def test_forum_index_pages_give_counts_boards_and_contact():
    phpbb = parse("phpbb/index.html")
    assert (phpbb.venue.member_count, phpbb.venue.post_count) == (212, 137)
    assert phpbb.venue.contact["email"] == "admins@whitehawk-forum.example"
    assert "https://whitehawk-forum.example/viewforum.php?f=2" in phpbb.follow
    xf = parse("xenforo/index.html").venue
    assert (xf.member_count, xf.post_count) == (1377, 14932)
    assert xf.contact["contact_page"] == "https://moulsecoomb-neighbours.example/misc/contact"
    vb = parse("vbulletin/forum.html").venue
    assert (vb.member_count, vb.post_count) == (903, 19540)
    smf = parse("smf/index.html").venue
    assert (smf.member_count, smf.post_count) == (388, 1877)
    mybb = parse("mybb/index.html").venue
    assert (mybb.member_count, mybb.post_count) == (512, 4210)
    ips = parse("invision/index.html")
    assert ips.venue.member_count == 2661
    assert ips.follow == ["https://brighton-hub.example/forum/12-seven-dials-montpelier/",
                          "https://brighton-hub.example/forum/13-north-laine/"]


def test_forum_listings_follow_threads_and_next_page():
    assert parse("phpbb/viewforum.html").follow == [
        "https://whitehawk-forum.example/viewtopic.php?t=41",
        "https://whitehawk-forum.example/viewtopic.php?t=39",
        "https://whitehawk-forum.example/viewforum.php?f=2&start=25"]
    assert parse("xenforo/forum.html").follow[-1] == (
        "https://moulsecoomb-neighbours.example/forums/lewes-road.2/page-2")
    assert parse("smf/topic.html").follow == ["https://portslade-forum.example/index.php?topic=77.15"]
    assert parse("mybb/thread.html").follow == [
        "https://hove-seafront-forum.example/showthread.php?tid=310&page=2"]


def test_relative_forum_dates_use_the_server_date():
    # "Yesterday, 09:15 AM" on a page served Thu 21 Nov 2024 (GMT).
    assert parse("vbulletin/thread.html").posts[1].published_at == datetime(
        2024, 11, 20, 9, 15, tzinfo=UTC)
    # MyBB keeps the real day in a title attribute (month-day-year by default).
    assert parse("mybb/thread.html").posts[1].published_at == datetime(
        2024, 11, 20, 18, 30, tzinfo=UTC)


def test_discourse_json_walks_lists_topics_and_pages():
    latest = parse("discourse/latest.json")
    assert latest.follow == [
        "https://talk.kemptown.example/t/noise-from-the-marine-parade-bars/231.json",
        "https://talk.kemptown.example/t/welcome-to-kemp-town-talk/228.json",
        "https://talk.kemptown.example/latest.json?no_definitions=true&page=1"]
    topic = parse("discourse/topic.json")
    assert topic.follow == [
        "https://talk.kemptown.example/t/noise-from-the-marine-parade-bars/231.json?page=2"]
    assert parse("discourse/categories.json").follow == [
        "https://talk.kemptown.example/c/nights-out/5.json",
        "https://talk.kemptown.example/c/streets-and-bins/6.json"]
    about = parse("discourse/about.json").venue
    assert (about.name, about.member_count, about.post_count) == ("Kemp Town Talk", 488, 3104)
    assert about.contact["email"] == "hello@talk.kemptown.example"
    # The crawler HTML and the JSON name a post the same way, so channels deduplicate.
    html_ids = [p.external_id for p in parse("discourse/topic.html").posts]
    assert html_ids == [p.external_id for p in topic.posts]


def test_same_post_has_the_same_id_on_every_channel():
    wp = {p.external_id for p in parse("wordpress/posts.json").posts}
    assert wp == {p.external_id for p in parse("wordpress/feed.xml").posts}
    assert parse("wordpress/single.html").posts[0].external_id in wp
    assert (parse("blogger/post.html").posts[0].external_id
            == parse("blogger/feed.xml").posts[0].external_id)
    assert "305" in {p.external_id for p in parse("phpbb/feed.xml").posts}
    assert (parse("ghost/post.html").posts[0].url == parse("ghost/rss.xml").posts[0].url)


def test_reddit_listing_comments_and_about():
    listing = parse("reddit/new.json")
    assert listing.follow == [
        "https://reddit-like.example/r/BrightonLocal/comments/1c9zz02/sirens_at_preston_circus_last_night/.json",
        "https://reddit-like.example/r/BrightonLocal/new.json?limit=100&after=t3_1c9zz01"]
    assert "**" not in listing.posts[0].text
    assert listing.posts[1].author is None  # [deleted]
    urls = {link.url for link in listing.links}
    assert "https://hollingdean-garden.example/open-day" in urls  # a link post's target
    comments = parse("reddit/comments.json")
    assert [p.external_id for p in comments.posts] == ["t3_1c9zz02", "t1_kz001", "t1_kz002"]
    assert comments.posts[2].thread == "Sirens at Preston Circus last night"
    about = parse("reddit/about.json").venue
    assert (about.name, about.member_count) == ("r/BrightonLocal", 18342)


def test_reddit_venue_key_is_the_subreddit():
    adapter = registry.get("reddit")
    assert adapter.venue_key("https://www.reddit-like.example/r/BrightonLocal/new.json") == (
        "reddit-like.example/r/brightonlocal")
    assert adapter.entry_points("https://reddit-like.example/r/BrightonLocal/") == [
        "https://reddit-like.example/r/BrightonLocal/.json?limit=100",
        "https://reddit-like.example/r/BrightonLocal/about.json"]
    # Another subreddit on the same host is another venue: a link, never followed.
    assert not adapter.is_same_venue("https://reddit-like.example/r/hove/",
                                     "https://reddit-like.example/r/BrightonLocal/")


def test_mastodon_public_statuses_and_link_header_paging():
    result = parse("mastodon/public.json")
    assert len(result.posts) == 1  # the unlisted status is not read
    assert result.follow == ["https://brighton.social.example/api/v1/timelines/public"
                             "?local=true&limit=40&max_id=112233445566778800"]
    assert [link.url for link in result.links] == ["https://buses.example/diversions"]
    venue = parse("mastodon/instance.json").venue
    assert (venue.name, venue.member_count, venue.contact["email"]) == (
        "Brighton Social", 2214, "admin@brighton.social.example")
    adapter = registry.get("mastodon")
    assert adapter.entry_points("https://brighton.social.example/tags/hove")[0] == (
        "https://brighton.social.example/api/v1/timelines/tag/hove?limit=40")
    assert adapter.entry_points("https://brighton.social.example/@hanoverra")[0] == (
        "https://brighton.social.example/@hanoverra.rss")


def test_telegram_channel_preview():
    result = parse("telegram/channel.html")
    assert result.posts[1].author == "Chris, centre volunteer"
    assert result.venue.member_count == 1200
    assert result.follow == ["https://t.me/s/bevendeanupdates?before=120"]
    adapter = registry.get("telegram")
    assert adapter.venue_key("https://t.me/s/BevendeanUpdates?before=3") == "t.me/bevendeanupdates"
    assert adapter.entry_points("https://t.me/bevendeanupdates") == ["https://t.me/s/bevendeanupdates"]


def test_generic_static_site_contact_social_and_text():
    result = parse("generic/ra_home.html")
    contact = result.venue.contact
    assert contact["email"] == "qpra@queenspark-ra.example"  # written out as [at] / [dot]
    assert contact["contact_page"] == "https://queenspark-ra.example/contact.html"
    assert "https://chat.whatsapp.com/Qp1Ra2Sb3Tc" in contact["social"]
    # The home page describes the venue (who it serves, where); it is not a post.
    assert result.posts == []
    assert result.venue.description.startswith("Residents of Queen's Park")
    assert "Egremont Place" in result.venue.description
    assert "https://queenspark-ra.example/news.html" in result.follow


def test_generic_news_page_splits_articles_and_skips_files():
    result = parse("generic/ra_news.html")
    assert [p.url for p in result.posts] == [
        "https://queenspark-ra.example/news.html#speed-watch",
        "https://queenspark-ra.example/news/tennis-courts.html"]
    assert result.posts[1].published_at == datetime(2024, 2, 2, tzinfo=UTC)
    assert not any(url.endswith(".pdf") for url in result.follow)
    assert result.follow[0] == "https://queenspark-ra.example/news.xml"  # the feed first


def test_council_directory_links_carry_their_descriptions():
    result = parse("generic/council_directory.html")
    links = {link.url: link for link in result.links}
    assert links["https://elm-grove-lat.example/"].context.startswith("Elm Grove Local Action Team")
    # A table cell with only the link: the row gives the area served.
    assert "Egremont Place" in links["https://queenspark-ra.example/"].context
    assert "https://www.facebook.com/groups/tillstonestreet" in links


def test_substack_archive_queues_posts_and_the_next_slice():
    assert parse("substack/archive.json").follow == [
        "https://prestonparkpost.example/p/fiveways-fair-is-back",
        "https://prestonparkpost.example/p/velodrome-update",
        "https://prestonparkpost.example/api/v1/archive?sort=new&offset=2&limit=2"]


def test_feeds_with_entity_declarations_are_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rss version="2.0"><channel>'
            b'<title>&b;</title><item><title>x</title><link>https://a.example/1</link></item>'
            b'</channel></rss>')
    result = registry.get("wordpress").parse(response_for("wordpress/feed.xml", bomb))
    assert result.posts == [] and result.errors


def test_sitemap_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file://{secret}">]>'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            '<url><loc>https://hanover-ra.example/a&x;</loc></url></urlset>').encode()
    result = registry.get("wordpress").parse(response_for("wordpress/wp-sitemap.xml", body))
    assert all("TOP-SECRET" not in url for url in result.follow)


def test_a_site_adapter_can_read_text_dates_in_local_time():
    from crawler.adapters.vbulletin import VbulletinAdapter

    class LondonBoard(VbulletinAdapter):
        display_tz = "Europe/London"

    post = LondonBoard().parse(response_for("vbulletin/thread.html")).posts[0]
    assert post.published_at == datetime(2024, 6, 3, 18, 42, tzinfo=UTC)  # 19:42 BST


def test_site_adapter_reads_its_theme_where_the_engine_adapter_cannot():
    from scrapy.http import HtmlResponse

    page = (b'<html><body id="phpbb"><h2 class="topic-title">Bins on Elm Grove</h2>'
            b'<div id="p9" class="post"><p class="author"><a href="./viewtopic.php?p=9#p9">x</a>'
            b'<time datetime="2024-03-04T19:12:00+00:00">4 Mar</time></p>'
            b'<div class="message-text">The bins on Elm Grove were missed again.</div></div>'
            b"</body></html>")
    url = "https://forum.residents-example.example/viewtopic.php?t=3"
    response = HtmlResponse(url, body=page)
    site = registry.detect(response)
    assert site.__class__.__name__ == "ExamplePhpbbForum"
    assert site.parse(response).posts[0].text == "The bins on Elm Grove were missed again."
    assert registry.get("phpbb").parse(response).posts == []
    assert site.entry_points("https://forum.residents-example.example/") == [
        "https://forum.residents-example.example/"]
