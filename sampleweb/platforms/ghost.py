"""Ghost: Casper-style HTML with JSON-LD, ``/rss/`` RSS 2.0 and the ``sitemap.xml`` index.

Real shapes: ``<meta name="generator" content="Ghost 5.x">``, ``home-template`` / ``post-template``
body classes, posts at ``/slug/``, 24-hex object ids as RSS guids (``isPermaLink="false"``),
``dc:creator`` and ``content:encoded``; the HTML byline shows the date only, the JSON-LD and
the feed carry the full time.
"""

from __future__ import annotations

import json

from sampleweb.model import Post, Venue
from sampleweb.platforms.common import (
    XML_RSS,
    Req,
    Resp,
    contact_block,
    e,
    html,
    iso_z,
    links_block,
    n_pages,
    not_found,
    page_slice,
    paras_html,
    rfc822,
    rss,
    sitemap_index,
    urlset,
    xml,
)
from sampleweb.text import slugify

VERSION = "5.82"
PER_PAGE = 15
RSS_ITEMS = 15


def origin(v: Venue) -> str:
    return f"http://{v.host}"


def external_id(v: Venue, p: Post) -> str:
    """A MongoDB-style object id: creation seconds then a per-venue counter, as Ghost makes them."""
    return f"{int(p.published.timestamp()):08x}{int(v.id[1:]):06x}{p.num:010x}"


def post_url(v: Venue, p: Post) -> str:
    urls = v.memo("ghost-urls", lambda: {q.num: _post_url(v, q) for q in v.posts})
    return urls[p.num]


def _post_url(v: Venue, p: Post) -> str:
    return f"{origin(v)}/{slugify(p.title)[:50].strip('-') or 'post'}-{p.num}/"


page_url = post_url


def urls(v: Venue) -> list[str]:
    o = origin(v)
    pages = n_pages(len(v.posts), PER_PAGE)
    out = [f"{o}/", f"{o}/about/", f"{o}/rss/", f"{o}/sitemap.xml", f"{o}/sitemap-posts.xml",
           f"{o}/sitemap-pages.xml"]
    out += [f"{o}/page/{n}/" for n in range(2, pages + 1)]
    return out + [post_url(v, p) for p in v.posts]


def _head(v: Venue, title: str, body_class: str, ld: dict | None = None) -> str:
    o = origin(v)
    ld_json = f'<script type="application/ld+json">{json.dumps(ld)}</script>\n' if ld else ""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{e(title)}</title>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<link rel="canonical" href="{o}/">\n{ld_json}'
            f'<meta name="generator" content="Ghost {VERSION}">\n'
            f'<link rel="alternate" type="application/rss+xml" title="{e(v.name)}" href="{o}/rss/">\n'
            f'</head>\n<body class="{body_class} is-head-left-logo has-cover">\n<div class="viewport">\n'
            f'<header id="gh-head" class="gh-head outer"><div class="gh-head-inner inner">'
            f'<a class="gh-head-logo" href="{o}">{e(v.name)}</a><nav class="gh-head-menu"><ul class="nav">'
            f'<li class="nav-home"><a href="{o}/">Home</a></li><li class="nav-about"><a href="{o}/about/">About</a></li>'
            f"</ul></nav></div></header>\n<div class=\"site-content\">\n")


def _foot(v: Venue) -> str:
    return (f'</div><footer class="site-footer outer"><div class="inner">{links_block(v, "Friends", "footer-links")}'
            f'<div class="gh-powered-by"><a href="https://ghost.org/" target="_blank" rel="noopener">Powered by Ghost</a>'
            f"</div></div></footer></div>\n</body>\n</html>\n")


def _card(v: Venue, p: Post) -> str:
    return (f'<article class="post-card post tag-{slugify(p.topics[0]) if p.topics else "news"}">'
            f'<a class="post-card-content-link" href="{post_url(v, p)}"><header class="post-card-header">'
            f'<h2 class="post-card-title">{e(p.title)}</h2></header><div class="post-card-excerpt">'
            f"{e(p.paras[0][:160])}</div></a><footer class=\"post-card-meta\"><time class=\"post-card-meta-date\" "
            f'datetime="{p.published:%Y-%m-%d}">{p.published:%-d %b %Y}</time></footer></article>')


def render(v: Venue, req: Req) -> Resp | None:
    o, path = origin(v), req.path
    posts = v.posts_newest_first()
    if path == "/" or (path.startswith("/page/") and path.count("/") == 3):
        page = 1 if path == "/" else _int(path.split("/")[2])
        chunk = page_slice(posts, page, PER_PAGE)
        if not chunk and page != 1:
            return not_found()
        nav = ""
        if page < n_pages(len(posts), PER_PAGE):
            nav = f'<nav class="pagination"><a class="older-posts" href="{o}/page/{page + 1}/">Older Posts &rarr;</a></nav>'
        return html(_head(v, v.name, "home-template" if page == 1 else "paged archive-template")
                    + f'<main id="site-main" class="site-main outer"><div class="inner posts"><div class="post-feed">'
                      f'{"".join(_card(v, p) for p in chunk)}</div>{nav}</div></main>' + _foot(v))
    if path == "/about/":
        return html(_head(v, f"About - {v.name}", "page-template page-about")
                    + f'<main id="site-main"><article class="article page"><h1 class="article-title">About</h1>'
                      f'<section class="gh-content gh-canvas"><p>{e(v.name)} writes about life in the neighbourhood.</p>'
                      f"{contact_block(v)}{links_block(v, 'Elsewhere')}</section></article></main>" + _foot(v))
    if path == "/rss/":
        items = [{"title": p.title, "link": post_url(v, p), "creator": p.author, "pubDate": rfc822(p.published),
                  "guid": external_id(v, p), "description": p.paras[0][:160], "content": paras_html(p),
                  "categories": p.topics} for p in posts[:RSS_ITEMS]]
        last = rfc822(posts[0].published if posts else v.world.now)
        doc = rss({"title": v.name, "link": f"{o}/", "description": f"Thoughts, stories and ideas from {v.name}.",
                   "lastBuildDate": last}, items, generator=f"Ghost {VERSION}", self_url=f"{o}/rss/")
        return Resp(200, doc.encode("utf-8"), [], XML_RSS)
    if path == "/sitemap.xml":
        return xml(sitemap_index([f"{o}/sitemap-pages.xml", f"{o}/sitemap-posts.xml"]))
    if path == "/sitemap-posts.xml":
        return xml(urlset([(post_url(v, p), p.published) for p in posts]))
    if path == "/sitemap-pages.xml":
        return xml(urlset([(f"{o}/about/", None)]))
    by_path = v.memo("ghost-paths", lambda: {post_url(v, p)[len(o):]: p for p in v.posts})
    p = by_path.get(path)
    if p is None:
        return None
    ld = {"@context": "https://schema.org", "@type": "Article", "publisher": {"@type": "Organization", "name": v.name},
          "author": {"@type": "Person", "name": p.author}, "headline": p.title, "url": post_url(v, p),
          "datePublished": iso_z(p.published), "dateModified": iso_z(p.published)}
    return html(_head(v, p.title, f"post-template tag-{slugify(p.topics[0]) if p.topics else 'news'}", ld)
                + f'<main id="site-main" class="site-main"><article class="article post">'
                  f'<header class="article-header gh-canvas"><h1 class="article-title">{e(p.title)}</h1>'
                  f'<div class="article-byline"><div class="article-byline-meta"><h4 class="author-name">'
                  f"{e(p.author)}</h4><div class=\"byline-meta-content\"><time class=\"byline-meta-date\" "
                  f'datetime="{p.published:%Y-%m-%d}">{p.published:%-d %b %Y}</time></div></div></div></header>'
                  f'<section class="gh-content gh-canvas">{paras_html(p)}</section></article></main>' + _foot(v))


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1
