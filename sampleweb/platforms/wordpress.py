"""WordPress: themed HTML, ``/feed/`` RSS, the ``/wp-json/wp/v2`` REST API and ``wp-sitemap.xml``.

Shapes follow WordPress 6.x: generator meta and ``<link rel="https://api.w.org/">`` in the head,
``body`` classes such as ``home blog`` / ``single single-post postid-N``, date permalinks
``/YYYY/MM/DD/slug/``, REST posts with ``date_gmt``, ``link``, ``title.rendered``,
``content.rendered`` and a numeric ``author`` plus ``X-WP-Total`` / ``X-WP-TotalPages`` headers.
"""

from __future__ import annotations

from datetime import timedelta

from sampleweb.model import Post, Venue
from sampleweb.platforms.common import (
    XML_RSS,
    Req,
    Resp,
    as_json,
    contact_block,
    e,
    html,
    iso,
    links_block,
    n_pages,
    not_found,
    page_slice,
    paras_html,
    redirect,
    rfc822,
    rss,
    sitemap_index,
    urlset,
    xml,
)
from sampleweb.text import slugify

VERSION = "6.4.3"
PER_PAGE = 10  # WordPress "Blog pages show at most" default
FEED_ITEMS = 10
SITEMAP_MAX = 2000  # wp-sitemap entries per file


def origin(v: Venue) -> str:
    return f"http://{v.host}"


def external_id(v: Venue, p: Post) -> str:
    return str(p.num)


def slug(p: Post) -> str:
    return slugify(p.title)[:50].strip("-") or f"post-{p.num}"


def post_url(v: Venue, p: Post) -> str:
    urls = v.memo("wp-urls", lambda: {q.num: _post_url(v, q) for q in v.posts})
    return urls[p.num]


def _post_url(v: Venue, p: Post) -> str:
    d = p.published
    return f"{origin(v)}/{d:%Y}/{d:%m}/{d:%d}/{slug(p)}/"


page_url = post_url


def _authors(v: Venue) -> dict[str, int]:
    return v.authors()


def urls(v: Venue) -> list[str]:
    o = origin(v)
    pages = n_pages(len(v.posts), PER_PAGE)
    out = [f"{o}/", f"{o}/about/", f"{o}/feed/", f"{o}/wp-json/", f"{o}/wp-json/wp/v2/users",
           f"{o}/wp-sitemap.xml", f"{o}/wp-sitemap-posts-page-1.xml"]
    out += [f"{o}/page/{n}/" for n in range(2, pages + 1)]
    out += [f"{o}/wp-json/wp/v2/posts"] + [f"{o}/wp-json/wp/v2/posts?page={n}" for n in range(2, pages + 1)]
    out += [f"{o}/wp-sitemap-posts-post-{n}.xml" for n in range(1, n_pages(len(v.posts), SITEMAP_MAX) + 1)]
    out += [post_url(v, p) for p in v.posts]
    if v.d.get("calendar"):
        out.append(f"{o}/events/")
    return out


# WordPress joins title parts with a literal "&#8211;" character reference.
SEP = " &#8211; "


def _head(v: Venue, title: str, body_class: str, *parts: str) -> str:
    """Page head; ``title`` and ``parts`` are plain text, joined the way WordPress does."""
    o = origin(v)
    title_html = SEP.join(e(t) for t in (title, *parts))
    return (f'<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="UTF-8" />\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1" />\n'
            f"<title>{title_html}</title>\n"
            f'<link rel="alternate" type="application/rss+xml" title="{e(v.name)} &raquo; Feed" href="{o}/feed/" />\n'
            f'<link rel="https://api.w.org/" href="{o}/wp-json/" />\n'
            f'<link rel="EditURI" type="application/rsd+xml" title="RSD" href="{o}/xmlrpc.php?rsd" />\n'
            f'<meta name="generator" content="WordPress {VERSION}" />\n'
            f"<link rel='stylesheet' id='twenty-twenty-one-style-css' href='{o}/wp-content/themes/twentytwentyone/style.css?ver=2.1' media='all' />\n"
            f'</head>\n<body class="{body_class} wp-embed-responsive is-light-theme no-js">\n'
            f'<div id="page" class="site"><a class="skip-link screen-reader-text" href="#content">Skip to content</a>\n'
            f'<header id="masthead" class="site-header" role="banner"><div class="site-branding">'
            f'<p class="site-title"><a href="{o}/" rel="home">{e(v.name)}</a></p>'
            f'<p class="site-description">{e(_tagline(v))}</p></div>'
            f'<nav id="site-navigation" class="primary-navigation"><ul id="primary-menu-list" class="menu-wrapper">'
            f'<li class="menu-item"><a href="{o}/">Home</a></li><li class="menu-item"><a href="{o}/about/">About</a></li>'
            + (f'<li class="menu-item"><a href="{o}/events/">Events</a></li>' if v.d.get("calendar") else "")
            + '</ul></nav></header>\n<div id="content" class="site-content"><div id="primary" class="content-area">'
              '<main id="main" class="site-main">\n')


def _tagline(v: Venue) -> str:
    if v.d.get("content") == "spam":
        return "Top casino bonuses and free spins"
    return f"News and notices from the {v.name}"


def _foot(v: Venue) -> str:
    return (f'</main></div></div><aside class="widget-area">{links_block(v, "Links", "widget widget_links")}'
            f"</aside>\n<footer id=\"colophon\" class=\"site-footer\"><div class=\"powered-by\">"
            f'Proudly powered by <a href="https://wordpress.org/">WordPress</a>.</div>'
            f"</footer></div>\n</body>\n</html>\n")


def _entry_meta(v: Venue, p: Post) -> str:
    aid = _authors(v)[p.author]
    return (f'<footer class="entry-footer default-max-width"><div class="posted-by">'
            f'<span class="posted-on">Published <time class="entry-date published updated" '
            f'datetime="{iso(p.published)}">{p.published:%B %-d, %Y}</time></span>'
            f'<span class="byline">By <span class="author vcard"><a class="url fn n" '
            f'href="{origin(v)}/author/{slugify(p.author)}/">{e(p.author)}</a></span></span></div>'
            f'<div class="post-taxonomies"><span class="cat-links">Categorized as '
            f'{", ".join(e(t) for t in p.topics) or "Uncategorized"}</span></div>'
            f'<!-- author-id {aid} --></footer>')


def _article(v: Venue, p: Post, full: bool) -> str:
    title = (f'<h1 class="entry-title">{e(p.title)}</h1>' if full else
             f'<h2 class="entry-title default-max-width"><a href="{post_url(v, p)}">{e(p.title)}</a></h2>')
    body = paras_html(p) if full else f"<p>{e(p.paras[0][:180])}&hellip;</p>"
    return (f'<article id="post-{p.num}" class="post-{p.num} post type-post status-publish format-standard '
            f'hentry entry">\n<header class="entry-header">{title}</header>\n'
            f'<div class="entry-content">{body}</div>\n{_entry_meta(v, p)}</article>\n')


def render(v: Venue, req: Req) -> Resp | None:
    o, path = origin(v), req.path
    posts = v.posts_newest_first()
    if path == "/" and "p" in req.params:
        p = v.posts_by_num.get(req.param_int("p"))
        return redirect(post_url(v, p)) if p else not_found("Nothing here")
    if path == "/" or (path.startswith("/page/") and path.count("/") == 3):
        page = 1 if path == "/" else _int(path.split("/")[2])
        if page < 1 or page > n_pages(len(posts), PER_PAGE):
            return not_found("Page not found")
        items = "".join(_article(v, p, False) for p in page_slice(posts, page, PER_PAGE))
        nav = ""
        if page < n_pages(len(posts), PER_PAGE):
            nav += f'<div class="nav-previous"><a href="{o}/page/{page + 1}/">Older posts</a></div>'
        if page > 1:
            nav += f'<div class="nav-next"><a href="{o}/{"" if page == 2 else f"page/{page - 1}/"}">Newer posts</a></div>'
        body_class = "home blog" if page == 1 else "blog paged paged-" + str(page)
        return html(_head(v, v.name, body_class) + items +
                    f'<nav class="navigation posts-navigation" aria-label="Posts"><div class="nav-links">{nav}</div></nav>'
                    + _foot(v))
    if path == "/about/":
        return html(_head(v, "About", "page-template-default page", v.name)
                    + f'<article class="page type-page status-publish hentry"><header class="entry-header">'
                      f'<h1 class="entry-title">About</h1></header><div class="entry-content">'
                      f"<p>{e(v.name)} brings neighbours together. Everyone living locally is welcome.</p>"
                      f"{contact_block(v)}{links_block(v, 'Find us elsewhere')}</div></article>" + _foot(v))
    if path == "/feed/":
        return _feed(v, posts, req.param_int("paged", 1) or 1)
    if path.startswith("/wp-json"):
        return _api(v, path, req)
    if path == "/wp-sitemap.xml":
        n = n_pages(len(posts), SITEMAP_MAX)
        return xml(sitemap_index([f"{o}/wp-sitemap-posts-post-{i}.xml" for i in range(1, n + 1)]
                                 + [f"{o}/wp-sitemap-posts-page-1.xml"]))
    if path.startswith("/wp-sitemap-posts-post-"):
        n = _int(path.rsplit("-", 1)[1].split(".")[0])
        chunk = page_slice(sorted(v.posts, key=lambda p: p.num), n, SITEMAP_MAX)
        return xml(urlset([(post_url(v, p), p.published) for p in chunk])) if chunk else not_found()
    if path == "/wp-sitemap-posts-page-1.xml":
        return xml(urlset([(f"{o}/about/", None)]))
    if path.startswith("/wp-admin"):
        return redirect(f"{o}/wp-login.php?redirect_to={o}{path}&reauth=1", 302)
    if path == "/wp-login.php":
        return html(_head(v, "Log In", "login") + '<form name="loginform" id="loginform" method="post">'
                    '<input type="text" name="log" /><input type="password" name="pwd" /></form>' + _foot(v))
    if path.startswith("/author/") and path.endswith("/"):
        return _author(v, path.split("/")[2])
    if path.startswith("/events/") and v.d.get("calendar"):
        return _calendar(v, req)
    return _single(v, path)


def _single(v: Venue, path: str) -> Resp | None:
    by_path = v.memo("wp-paths", lambda: {post_url(v, p)[len(origin(v)):]: p for p in v.posts})
    p = by_path.get(path)
    if p is not None:
        newest = v.posts_newest_first()
        i = newest.index(p)
        older = newest[i + 1] if i + 1 < len(newest) else None
        nav = (f'<nav class="navigation post-navigation"><a href="{post_url(v, older)}" '
               f'rel="prev">Previous post</a></nav>') if older else ""
        return html(_head(v, p.title,
                          f"post-template-default single single-post postid-{p.num} single-format-standard",
                          v.name)
                    + _article(v, p, True) + nav + _foot(v))
    return None


def _feed(v: Venue, posts: list[Post], paged: int) -> Resp:
    o = origin(v)
    chunk = page_slice(posts, paged, FEED_ITEMS)
    if not chunk:
        return not_found()
    items = [{"title": p.title, "link": post_url(v, p), "creator": p.author, "pubDate": rfc822(p.published),
              "categories": p.topics or ["Uncategorized"], "guid": f"{o}/?p={p.num}",
              "description": p.paras[0][:160], "content": paras_html(p)} for p in chunk]
    last = posts[0].published if posts else v.world.now
    doc = rss({"title": v.name, "link": o, "description": _tagline(v), "lastBuildDate": rfc822(last)},
              items, generator=f"https://wordpress.org/?v={VERSION}", self_url=f"{o}/feed/",
              extra_ns=' xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
                       'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"')
    return Resp(200, doc.encode("utf-8"), [], XML_RSS)


def _api_post(v: Venue, p: Post) -> dict:
    o = origin(v)
    local = p.published.replace(tzinfo=None)
    return {
        "id": p.num, "date": local.isoformat(), "date_gmt": local.isoformat(),
        "guid": {"rendered": f"{o}/?p={p.num}"},
        "modified": (local + timedelta(hours=1)).isoformat(),
        "modified_gmt": (local + timedelta(hours=1)).isoformat(), "slug": slug(p),
        "status": "publish", "type": "post", "link": post_url(v, p),
        "title": {"rendered": e(p.title)},
        "content": {"rendered": paras_html(p) + "\n", "protected": False},
        "excerpt": {"rendered": f"<p>{e(p.paras[0][:160])}</p>\n", "protected": False},
        "author": _authors(v)[p.author], "featured_media": 0, "comment_status": "open",
        "ping_status": "open", "sticky": False, "template": "", "format": "standard", "meta": [],
        "categories": [1], "tags": [],
        "_links": {"self": [{"href": f"{o}/wp-json/wp/v2/posts/{p.num}"}],
                   "author": [{"embeddable": True, "href": f"{o}/wp-json/wp/v2/users/{_authors(v)[p.author]}"}]},
    }


def _api(v: Venue, path: str, req: Req) -> Resp | None:
    o = origin(v)
    posts = v.posts_newest_first()
    if path in ("/wp-json", "/wp-json/"):
        return as_json({"name": v.name, "description": _tagline(v), "url": o, "home": o,
                        "gmt_offset": "0", "timezone_string": "Europe/London",
                        "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1"],
                        "routes": {"/wp/v2/posts": {"namespace": "wp/v2", "methods": ["GET"]}}})
    if path.rstrip("/") == "/wp-json/wp/v2/posts":
        per_page = min(100, max(1, req.param_int("per_page", PER_PAGE)))
        page = req.param_int("page", 1)
        total_pages = n_pages(len(posts), per_page)
        if page < 1 or page > total_pages:
            return Resp(400, b'{"code":"rest_post_invalid_page_number","message":"The page number '
                             b'requested is larger than the number of pages available.","data":{"status":400}}',
                        [], "application/json; charset=UTF-8")
        headers = [("X-WP-Total", str(len(posts))), ("X-WP-TotalPages", str(total_pages))]
        links = []
        if page > 1:
            links.append(f'<{o}/wp-json/wp/v2/posts?page={page - 1}>; rel="prev"')
        if page < total_pages:
            links.append(f'<{o}/wp-json/wp/v2/posts?page={page + 1}>; rel="next"')
        if links:
            headers.append(("Link", ", ".join(links)))
        return as_json([_api_post(v, p) for p in page_slice(posts, page, per_page)], headers)
    if path.startswith("/wp-json/wp/v2/posts/"):
        p = v.posts_by_num.get(_int(path.rstrip("/").rsplit("/", 1)[1]))
        return as_json(_api_post(v, p)) if p else None
    if path.rstrip("/") == "/wp-json/wp/v2/users":
        return as_json([_user(v, n, i) for n, i in _authors(v).items()])
    if path.startswith("/wp-json/wp/v2/users/"):
        uid = _int(path.rstrip("/").rsplit("/", 1)[1])
        for name, i in _authors(v).items():
            if i == uid:
                return as_json(_user(v, name, i))
    return None


def _user(v: Venue, name: str, uid: int) -> dict:
    return {"id": uid, "name": name, "url": "", "description": "", "slug": slugify(name),
            "link": f"{origin(v)}/author/{slugify(name)}/"}


def _author(v: Venue, author_slug: str) -> Resp | None:
    posts = [p for p in v.posts_newest_first() if slugify(p.author) == author_slug]
    if not posts:
        return None
    items = "".join(_article(v, p, False) for p in posts[:PER_PAGE])
    return html(_head(v, posts[0].author, "archive author", v.name)
                + f'<header class="page-header"><h1 class="page-title">Author: <span class="vcard">{e(posts[0].author)}</span></h1></header>'
                + items + _foot(v))


def _calendar(v: Venue, req: Req) -> Resp:
    """An events calendar whose next/previous links never end: a crawler trap."""
    o = origin(v)
    month = req.params.get("month") or f"{v.world.as_of:%Y-%m}"
    try:
        y, m = (int(x) for x in month.split("-")[:2])
    except ValueError:
        y, m = v.world.as_of.year, v.world.as_of.month
    prev_m, next_m = (y, m - 1) if m > 1 else (y - 1, 12), (y, m + 1) if m < 12 else (y + 1, 1)
    nav = (f'<a class="tribe-events-c-nav__prev" href="{o}/events/?month={prev_m[0]:04d}-{prev_m[1]:02d}">Previous month</a> '
           f'<a class="tribe-events-c-nav__next" href="{o}/events/?month={next_m[0]:04d}-{next_m[1]:02d}">Next month</a>')
    return html(_head(v, f"Events for {y:04d}-{m:02d}", "post-type-archive post-type-archive-tribe_events")
                + f'<div class="tribe-events-calendar-month"><h1>Events {y:04d}-{m:02d}</h1>'
                  f"<p>No events listed this month.</p>{nav}</div>" + _foot(v))


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1
