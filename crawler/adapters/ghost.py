"""Ghost: generator meta "Ghost", RSS at /rss/, post-template pages."""

from __future__ import annotations

from typing import ClassVar

from scrapy.http import Response

from crawler.adapters.blog import BlogAdapter, BlogSelectors
from crawler.adapters.detection import has_marker, html_generator
from crawler.adapters.feeds import feed_generator
from crawler.adapters.links import under

SELECTORS = BlogSelectors(
    single="body.post-template, body.page-template",
    article="article.article, article.gh-article, article.post, main article",
    title="h1.article-title, h1.gh-article-title, h1.post-full-title, h1",
    body=".gh-content, .post-content, .article-content, .post-full-content",
    date="time.byline-meta-date, .gh-article-meta time, time[datetime]",
    author=".author-name a, .gh-article-author-name a, .author-name",
    category=".article-tag a, .post-card-primary-tag, .gh-article-tag",
    post_link="a.post-card-content-link, a.post-card-image-link, .gh-card a.gh-card-link, "
              "article.post-card a[href]",
    next_page="a.older-posts, .pagination a.older-posts",
    drop=".kg-signup-card, .gh-post-upgrade-cta, .kg-button-card",
)
MARKERS = (b"ghost-portal", b"/ghost/api/", b"data-ghost", b"ghost-sdk")


class GhostAdapter(BlogAdapter):
    """Ghost posts carry no id in their HTML, so URLs identify them on every channel."""

    platform: ClassVar[str] = "ghost"
    priority: ClassVar[int] = 300
    selectors: ClassVar[BlogSelectors] = SELECTORS

    def detect(self, response: Response) -> bool:
        return (html_generator(response).startswith("ghost")
                or feed_generator(response.body).startswith("ghost")
                or has_marker(response, *MARKERS))

    def entry_points(self, home_url: str) -> list[str]:
        return [under(home_url, "rss/"), home_url]
