"""Blogger (``*.blogspot``): classic-template HTML, the Atom feed ``/feeds/posts/default`` and RSS.

Real shapes: ``<meta content='blogger' name='generator'/>``, posts at ``/YYYY/MM/slug.html``,
``post hentry`` / ``post-title entry-title`` / ``post-body entry-content`` classes, the older-posts
pager ``/search?updated-max=…&max-results=N``, Atom entry ids
``tag:blogger.com,1999:blog-BLOGID.post-POSTID`` with openSearch paging (``start-index``).
"""

from __future__ import annotations

from datetime import datetime

from sampleweb.model import Post, Venue
from sampleweb.platforms.common import (
    XML_ATOM,
    XML_RSS,
    Req,
    Resp,
    contact_block,
    e,
    html,
    iso,
    links_block,
    n_pages,
    not_found,
    paras_html,
    rfc822,
    rss,
    urlset,
    xml,
)
from sampleweb.text import slugify

PER_PAGE = 7  # Blogger's default "posts on main page"
FEED_PER_PAGE = 25  # the feed's default max-results


def origin(v: Venue) -> str:
    return f"http://{v.host}"


def blog_id(v: Venue) -> str:
    return v.memo("blogger-id", lambda: str(v.rng("blogid").randrange(10**17, 10**18)))


def external_id(v: Venue, p: Post) -> str:
    return str(7 * 10**17 + p.num * 7919 + int(v.id[1:]))


def post_url(v: Venue, p: Post) -> str:
    urls = v.memo("blogger-urls", lambda: {q.num: _post_url(v, q) for q in v.posts})
    return urls[p.num]


def _post_url(v: Venue, p: Post) -> str:
    return f"{origin(v)}/{p.published:%Y/%m}/{slugify(p.title)[:40].strip('-') or 'post'}-{p.num % 1000}.html"


page_url = post_url


def urls(v: Venue) -> list[str]:
    o = origin(v)
    posts = v.posts_newest_first()
    out = [f"{o}/", f"{o}/feeds/posts/default", f"{o}/feeds/posts/default?alt=rss", f"{o}/sitemap.xml"]
    for n in range(1, n_pages(len(posts), PER_PAGE)):
        out.append(_older(v, posts[n * PER_PAGE - 1]))
    for n in range(1, n_pages(len(posts), FEED_PER_PAGE)):
        out.append(f"{o}/feeds/posts/default?start-index={n * FEED_PER_PAGE + 1}&max-results={FEED_PER_PAGE}")
    return out + [post_url(v, p) for p in v.posts]


def _older(v: Venue, last: Post) -> str:
    return f"{origin(v)}/search?updated-max={last.published.strftime('%Y-%m-%dT%H:%M:%S')}%2B00:00&max-results={PER_PAGE}"


def _head(v: Venue, title: str) -> str:
    o = origin(v)
    return ("<!DOCTYPE html>\n<html class='v2' dir='ltr' lang='en-GB' xmlns='http://www.w3.org/1999/xhtml' "
            "xmlns:b='http://www.google.com/2005/gml/b' xmlns:data='http://www.google.com/2005/gml/data'>\n"
            "<head>\n<meta content='width=1100' name='viewport'/>\n"
            "<meta content='text/html; charset=UTF-8' http-equiv='Content-Type'/>\n"
            "<meta content='blogger' name='generator'/>\n"
            f"<link href='{o}/' rel='canonical'/>\n"
            f'<link rel="alternate" type="application/atom+xml" title="{e(v.name)} - Atom" href="{o}/feeds/posts/default" />\n'
            f'<link rel="alternate" type="application/rss+xml" title="{e(v.name)} - RSS" href="{o}/feeds/posts/default?alt=rss" />\n'
            f'<link rel="service.post" type="application/atom+xml" title="{e(v.name)} - Atom" '
            f'href="https://www.blogger.com/feeds/{blog_id(v)}/posts/default" />\n'
            f"<title>{e(title)}</title>\n</head>\n<body class='loading'>\n"
            f"<div class='content-outer'><header><div class='header-outer'><div class='Header widget' id='Header1'>"
            f"<h1 class='title'><a href='{o}/'>{e(v.name)}</a></h1></div></div></header>\n"
            "<div class='main-outer'><div class='main section' id='main'><div class='widget Blog' id='Blog1'>"
            "<div class='blog-posts hfeed'>\n")


def _foot(v: Venue, pager: str = "") -> str:
    return (f"</div>{pager}</div></div></div><div class='sidebar section' id='sidebar-right-1'>"
            f"<div class='widget LinkList' id='LinkList1'>{links_block(v, 'Local links')}</div>"
            f"<div class='widget Text' id='Text1'>{contact_block(v)}</div></div>"
            "<div class='footer-outer'>Powered by <a href='https://www.blogger.com' target='_blank'>Blogger</a>.</div>"
            "</div>\n</body>\n</html>\n")


def _post(v: Venue, p: Post, full: bool) -> str:
    url = post_url(v, p)
    title = e(p.title) if full else f"<a href='{url}'>{e(p.title)}</a>"
    return (f"<div class='date-outer'><h2 class='date-header'><span>{p.published:%A, %-d %B %Y}</span></h2>"
            f"<div class='post-outer'><div class='post hentry uncustomized-post-template' itemprop='blogPost' "
            f"itemscope='itemscope' itemtype='http://schema.org/BlogPosting'>"
            f"<meta content='{blog_id(v)}' itemprop='blogId'/><meta content='{external_id(v, p)}' itemprop='postId'/>"
            f"<a name='{external_id(v, p)}'></a><h3 class='post-title entry-title' itemprop='name'>{title}</h3>"
            f"<div class='post-header'></div><div class='post-body entry-content' id='post-body-{external_id(v, p)}' "
            f"itemprop='description articleBody'>{paras_html(p)}<div style='clear: both;'></div></div>"
            f"<div class='post-footer'><div class='post-footer-line post-footer-line-1'>"
            f"<span class='post-author vcard'>Posted by <span class='fn' itemprop='author' itemscope='itemscope' "
            f"itemtype='http://schema.org/Person'><span itemprop='name'>{e(p.author)}</span></span></span> "
            f"<span class='post-timestamp'>at <meta content='{url}' itemprop='url'/><a class='timestamp-link' "
            f"href='{url}' rel='bookmark' title='permanent link'><abbr class='published' itemprop='datePublished' "
            f"title='{iso(p.published)}'>{p.published:%H:%M}</abbr></a></span></div></div></div></div></div>\n")


def render(v: Venue, req: Req) -> Resp | None:
    o, path = origin(v), req.path
    posts = v.posts_newest_first()
    if path == "/" or path == "/search":
        if path == "/search":
            cutoff = req.params.get("updated-max", "").replace(" ", "+")
            try:
                limit = datetime.fromisoformat(cutoff)
            except ValueError:
                return not_found()
            shown = [p for p in posts if p.published < limit][:PER_PAGE]
        else:
            shown = posts[:PER_PAGE]
        older = ""
        if shown and shown[-1] is not posts[-1]:
            older = (f"<span id='blog-pager-older-link'><a class='blog-pager-older-link' href='{_older(v, shown[-1])}' "
                     f"id='Blog1_blog-pager-older-link' title='Older Posts'>Older Posts</a></span>")
        pager = (f"<div class='blog-pager' id='blog-pager'>{older}<a class='home-link' href='{o}/'>Home</a></div>")
        return html(_head(v, v.name) + "".join(_post(v, p, False) for p in shown) + _foot(v, pager))
    if path == "/feeds/posts/default":
        return _rss(v, posts) if req.params.get("alt") == "rss" else _atom(v, posts, req)
    if path == "/sitemap.xml":
        return xml(urlset([(post_url(v, p), p.published) for p in posts]))
    by_path = v.memo("blogger-paths", lambda: {post_url(v, p)[len(o):]: p for p in v.posts})
    p = by_path.get(path)
    if p:
        return html(_head(v, f"{v.name}: {p.title}") + _post(v, p, True) + _foot(v))
    return None


def _atom(v: Venue, posts: list[Post], req: Req) -> Resp:
    o = origin(v)
    start = max(1, req.param_int("start-index", 1))
    size = min(500, max(1, req.param_int("max-results", FEED_PER_PAGE)))
    chunk = posts[start - 1:start - 1 + size]
    updated = iso(posts[0].published) if posts else iso(v.world.now)
    out = ["<?xml version='1.0' encoding='UTF-8'?>",
           "<feed xmlns='http://www.w3.org/2005/Atom' xmlns:openSearch='http://a9.com/-/spec/opensearchrss/1.0/' "
           "xmlns:blogger='http://schemas.google.com/blogger/2008' xmlns:georss='http://www.georss.org/georss' "
           "xmlns:gd='http://schemas.google.com/g/2005' xmlns:thr='http://purl.org/syndication/thread/1.0'>",
           f"<id>tag:blogger.com,1999:blog-{blog_id(v)}</id><updated>{updated}</updated>",
           f"<title type='text'>{e(v.name)}</title><subtitle type='html'></subtitle>",
           f"<link rel='http://schemas.google.com/g/2005#feed' type='application/atom+xml' href='{o}/feeds/posts/default'/>",
           f"<link rel='self' type='application/atom+xml' href='{o}/feeds/posts/default?start-index={start}&amp;max-results={size}'/>",
           f"<link rel='alternate' type='text/html' href='{o}/'/>"]
    if start - 1 + size < len(posts):
        out.append(f"<link rel='next' type='application/atom+xml' href='{o}/feeds/posts/default?start-index={start + size}&amp;max-results={size}'/>")
    out += ["<author><name>Unknown</name><email>noreply@blogger.com</email></author>",
            "<generator version='7.00' uri='http://www.blogger.com'>Blogger</generator>",
            f"<openSearch:totalResults>{len(posts)}</openSearch:totalResults>",
            f"<openSearch:startIndex>{start}</openSearch:startIndex>",
            f"<openSearch:itemsPerPage>{size}</openSearch:itemsPerPage>"]
    for p in chunk:
        cats = "".join(f"<category scheme='http://www.blogger.com/atom/ns#' term='{e(t)}'/>" for t in p.topics)
        out.append(
            f"<entry><id>tag:blogger.com,1999:blog-{blog_id(v)}.post-{external_id(v, p)}</id>"
            f"<published>{iso(p.published)}</published><updated>{iso(p.published)}</updated>{cats}"
            f"<title type='text'>{e(p.title)}</title><content type='html'>{e(paras_html(p))}</content>"
            f"<link rel='alternate' type='text/html' href='{post_url(v, p)}' title='{e(p.title)}'/>"
            f"<author><name>{e(p.author)}</name><email>noreply@blogger.com</email></author></entry>")
    out.append("</feed>")
    return Resp(200, "\n".join(out).encode("utf-8"), [], XML_ATOM)


def _rss(v: Venue, posts: list[Post]) -> Resp:
    items = [{"title": p.title, "link": post_url(v, p), "creator": p.author, "pubDate": rfc822(p.published),
              "guid": f"tag:blogger.com,1999:blog-{blog_id(v)}.post-{external_id(v, p)}",
              "description": paras_html(p), "categories": p.topics} for p in posts[:FEED_PER_PAGE]]
    last = rfc822(posts[0].published if posts else v.world.now)
    doc = rss({"title": v.name, "link": f"{origin(v)}/", "lastBuildDate": last}, items,
              generator="Blogger", self_url=f"{origin(v)}/feeds/posts/default?alt=rss")
    return Resp(200, doc.encode("utf-8"), [], XML_RSS)
