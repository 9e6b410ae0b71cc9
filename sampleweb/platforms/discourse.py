"""Discourse: the no-JavaScript crawler view and the JSON API (``latest.json``, ``t/{slug}/{id}.json``,
``categories.json``, ``c/{slug}/{id}.json``), ``latest.rss`` and ``sitemap.xml``.

Real shapes: ``<meta name="generator" content="Discourse 3.x - https://github.com/discourse/discourse
version …">``, ``topic_list.topics[]`` with ``more_topics_url`` paging, ``post_stream.posts[]`` with
``cooked``, ``created_at``, ``username``, ``post_number``; crawler posts are
``div.topic-body.crawler-post`` with ``span.creator`` and ``time[itemprop=datePublished]``.
"""

from __future__ import annotations

from sampleweb.model import Post, Thread, Venue
from sampleweb.platforms import forum as F
from sampleweb.platforms.common import (
    XML_RSS,
    Req,
    Resp,
    as_json,
    e,
    html,
    iso_z,
    links_block,
    n_pages,
    page_slice,
    paras_html,
    rfc822,
    rss,
    sitemap_index,
    urlset,
    xml,
)

VERSION = "3.2.1"
PER_PAGE = 30  # topics per latest.json page


def origin(v: Venue) -> str:
    return f"http://{v.host}"


def external_id(v: Venue, p: Post) -> str:
    return str(p.num)


def topic_path(t: Thread) -> str:
    return f"/t/{F.thread_slug(t)}/{t.num}"


def post_url(v: Venue, p: Post) -> str:
    t = v.threads[p.thread]
    return f"{origin(v)}{topic_path(t)}/{p.pos + 1}"


def page_url(v: Venue, p: Post) -> str:
    return f"{origin(v)}{topic_path(v.threads[p.thread])}"


def cat_path(b: dict) -> str:
    return f"/c/{F.board_slug(b)}/{b['id']}"


def urls(v: Venue) -> list[str]:
    o = origin(v)
    pages = n_pages(len(v.threads), PER_PAGE)
    out = [f"{o}/", f"{o}/latest.rss", f"{o}/categories", f"{o}/categories.json", f"{o}/sitemap.xml",
           f"{o}/sitemap_1.xml", f"{o}/latest.json"]
    out += [f"{o}/latest?page={n}" for n in range(1, pages)]
    out += [f"{o}/latest.json?page={n}" for n in range(1, pages)]
    for b in F.boards(v):
        cp = n_pages(len(F.threads_of(v, b["id"])), PER_PAGE)
        out += [f"{o}{cat_path(b)}", f"{o}{cat_path(b)}.json"]
        out += [f"{o}{cat_path(b)}?page={n}" for n in range(1, cp)]
        out += [f"{o}{cat_path(b)}.json?page={n}" for n in range(1, cp)]
    for t in v.threads:
        out += [f"{o}{topic_path(t)}", f"{o}{topic_path(t)}.json"]
    return out


def _user(v: Venue, name: str) -> dict:
    return {"id": v.authors()[name], "username": name, "name": "", "avatar_template":
            f"/letter_avatar_proxy/v4/letter/{name[0].lower()}/8e7dd6/{{size}}.png"}


def _topic_json(v: Venue, t: Thread) -> dict:
    return {"id": t.num, "title": t.title, "fancy_title": e(t.title), "slug": F.thread_slug(t),
            "posts_count": len(t.posts), "reply_count": len(t.posts) - 1, "highest_post_number": len(t.posts),
            "created_at": iso_z(t.first.published), "last_posted_at": iso_z(t.last.published),
            "bumped": True, "bumped_at": iso_z(t.last.published), "archetype": "regular", "unseen": False,
            "pinned": False, "visible": True, "closed": False, "archived": False, "views": 20 + 13 * len(t.posts),
            "like_count": len(t.posts) // 2, "has_summary": False, "last_poster_username": t.last.author,
            "category_id": t.board if t.board is not None else 1,
            "posters": [{"extras": None, "description": "Original Poster", "user_id": v.authors()[t.first.author]}]}


def _topic_list(v: Venue, threads: list[Thread], page: int, base: str) -> dict:
    chunk = page_slice(threads, page + 1, PER_PAGE)
    users = sorted({p.author for t in chunk for p in (t.first, t.last)})
    tl: dict = {"can_create_topic": False, "per_page": PER_PAGE, "top_tags": [],
                "topics": [_topic_json(v, t) for t in chunk]}
    if (page + 1) * PER_PAGE < len(threads):
        tl["more_topics_url"] = f"{base}?page={page + 1}"
    return {"users": [_user(v, u) for u in users], "primary_groups": [], "topic_list": tl}


def _post_json(v: Venue, t: Thread, p: Post) -> dict:
    return {"id": p.num, "name": "", "username": p.author, "avatar_template": _user(v, p.author)["avatar_template"],
            "created_at": iso_z(p.published), "cooked": paras_html(p), "post_number": p.pos + 1, "post_type": 1,
            "updated_at": iso_z(p.published), "reply_count": 0, "reply_to_post_number": None, "quote_count": 0,
            "reads": 10 + p.pos, "score": 1.0, "topic_id": t.num, "topic_slug": F.thread_slug(t),
            "display_username": "", "version": 1, "user_id": v.authors()[p.author]}


def _category_json(v: Venue, b: dict) -> dict:
    ts = F.threads_of(v, b["id"])
    return {"id": b["id"], "name": b["name"], "color": "0088CC", "text_color": "FFFFFF", "slug": F.board_slug(b),
            "topic_count": len(ts), "post_count": sum(len(t.posts) for t in ts), "position": b["id"],
            "description": f"Discussion about {b['name']}", "topic_url": f"/t/about-the-{F.board_slug(b)}-category/{b['id']}",
            "read_restricted": False, "permission": None}


def _head(v: Venue, title: str, body: str) -> Resp:
    o = origin(v)
    return html(f'<!DOCTYPE html>\n<html lang="en" class="desktop-view not-mobile-device text-size-normal anon">\n'
                f'<head>\n<meta charset="utf-8">\n<title>{e(title)}</title>\n'
                f'<meta name="description" content="{e(v.name)}">\n'
                f'<meta name="generator" content="Discourse {VERSION} - https://github.com/discourse/discourse version '
                f'5d6b4a5ea3b2b0e5e7a4d0b6c8a1e2f3a4b5c6d7">\n'
                f'<link rel="alternate" type="application/rss+xml" title="Latest topics" href="{o}/latest.rss" />\n'
                f'<meta name="discourse_theme_id" content="2">\n</head>\n<body class="crawler ">\n'
                f'<header><a href="/"><img src="/uploads/default/logo.png" alt="{e(v.name)}" id="site-logo"></a></header>\n'
                f'<div id="main-outlet" class="wrap" role="main">\n{body}\n</div>\n'
                f'<footer class="container wrap"><nav class="crawler-nav"><ul><li itemscope itemtype="http://schema.org/SiteNavigationElement">'
                f'<span itemprop="name"><a href="/" itemprop="url">Home </a></span></li><li><span itemprop="name">'
                f'<a href="/categories" itemprop="url">Categories </a></span></li></ul></nav>{links_block(v, "Partner groups")}</footer>\n'
                f'<p class="powered-by-link">Powered by <a href="https://www.discourse.org">Discourse</a>, best viewed with JavaScript enabled</p>\n'
                f"</body>\n</html>\n")


def _list_html(v: Venue, threads: list[Thread], page: int, base: str) -> str:
    rows = []
    for i, t in enumerate(page_slice(threads, page + 1, PER_PAGE)):
        b = F.board(v, t.board) if t.board is not None else None
        cat = (f'<div class="link-bottom-line"><a href="{cat_path(b)}" class="badge-wrapper bullet">'
               f'<span class="badge-category clear-badge"><span class="category-name">{e(b["name"])}</span></span></a></div>') if b else ""
        rows.append(f'<tr class="topic-list-item"><td class="main-link" itemprop="itemListElement" itemscope '
                    f'itemtype="http://schema.org/ListItem"><meta itemprop="position" content="{page * PER_PAGE + i + 1}">'
                    f'<span class="link-top-line"><a itemprop="url" href="{topic_path(t)}" class="title raw-link raw-topic-link">'
                    f"{e(t.title)}</a></span>{cat}</td><td class=\"replies\"><span class=\"posts\" title=\"posts\">"
                    f"{len(t.posts) - 1}</span></td><td class=\"views\"><span class=\"views\" title=\"views\">"
                    f"{20 + 13 * len(t.posts)}</span></td><td>{t.last.published:%B %-d, %Y}</td></tr>")
    nav = ""
    if (page + 1) * PER_PAGE < len(threads):
        nav = (f'<div role="navigation" itemscope itemtype="http://schema.org/SiteNavigationElement" class="navigation">'
               f'<span itemprop="name"><a href="{base}?page={page + 1}" rel="next" itemprop="url">next page &rarr;</a></span></div>')
    return (f'<div itemscope itemtype="http://schema.org/ItemList"><meta itemprop="itemListOrder" '
            f'content="http://schema.org/ItemListOrderDescending"><table class="topic-list"><thead><tr><th>Topic</th>'
            f'<th class="replies">Replies</th><th class="views">Views</th><th>Activity</th></tr></thead><tbody>'
            f"{''.join(rows)}</tbody></table></div>{nav}")


def _topic_html(v: Venue, t: Thread) -> Resp:
    posts = []
    for p in t.posts:
        prop, kind = ("mainEntity", "DiscussionForumPosting") if p.pos == 0 else ("comment", "Comment")
        posts.append(
            f'<div id="post_{p.pos + 1}" itemprop="{prop}" itemscope '
            f'itemtype="http://schema.org/{kind}" class="topic-body crawler-post">'
            f'<div class="crawler-post-meta"><span class="creator" itemprop="author" itemscope itemtype="http://schema.org/Person">'
            f'<a itemprop="url" href="/u/{e(p.author)}"><span itemprop="name">{e(p.author)}</span></a></span>'
            f'<link itemprop="mainEntityOfPage" href="{topic_path(t)}"><span class="crawler-post-infos">'
            f'<time itemprop="datePublished" datetime="{iso_z(p.published)}" class="post-time">'
            f"{p.published:%B %-d, %Y, %-I:%M%p}</time><meta itemprop=\"dateModified\" content=\"{iso_z(p.published)}\">"
            f'<span itemprop="position">{p.pos + 1}</span></span></div>'
            f'<div class="post" itemprop="text">{paras_html(p)}</div></div>')
    b = F.board(v, t.board) if t.board is not None else None
    crumbs = (f'<div id="breadcrumbs"><div itemscope itemtype="http://schema.org/BreadcrumbList"><a href="{cat_path(b)}" '
              f'itemprop="item"><span itemprop="name">{e(b["name"])}</span></a></div></div>') if b else ""
    body = (f'<div id="topic-title"><h1><a href="{topic_path(t)}">{e(t.title)}</a></h1>{crumbs}</div>'
            f'{"".join(posts)}')
    return _head(v, f"{t.title} - {v.name}", body)


def render(v: Venue, req: Req) -> Resp | None:
    o, path = origin(v), req.path
    page = max(0, req.param_int("page", 0))
    threads = v.threads_newest_first()
    if path in ("/", "/latest"):
        return _head(v, v.name, _list_html(v, threads, page, "/latest"))
    if path == "/latest.json":
        return as_json(_topic_list(v, threads, page, "/latest"))
    if path == "/categories.json":
        return as_json({"category_list": {"can_create_category": False, "can_create_topic": False,
                                          "categories": [_category_json(v, b) for b in F.boards(v)]}})
    if path == "/categories":
        items = "".join(f'<li><a href="{cat_path(b)}">{e(b["name"])}</a></li>' for b in F.boards(v))
        return _head(v, f"Categories - {v.name}", f'<ul class="category-list">{items}</ul>')
    if path == "/latest.rss":
        items = [{"title": t.title, "link": f"{o}{topic_path(t)}", "creator": f"@{t.first.author}",
                  "pubDate": rfc822(t.first.published), "guid": f"{v.host}-topic-{t.num}",
                  "description": paras_html(t.first)} for t in threads[:PER_PAGE]]
        doc = rss({"title": f"{v.name} - Latest topics", "link": f"{o}/latest", "description": "Latest topics",
                   "lastBuildDate": rfc822(threads[0].last.published if threads else v.world.now)},
                  items, generator="Discourse", self_url=f"{o}/latest.rss")
        return Resp(200, doc.encode("utf-8"), [], XML_RSS)
    if path == "/sitemap.xml":
        return xml(sitemap_index([f"{o}/sitemap_1.xml"]))
    if path == "/sitemap_1.xml":
        return xml(urlset([(f"{o}{topic_path(t)}", t.last.published) for t in v.threads]))
    if path.startswith("/c/"):
        return _category(v, path, page)
    if path.startswith("/t/"):
        return _topic(v, path)
    if path.startswith("/u/") or path.startswith("/search"):
        return _head(v, "Profile", "<p>This page is only available to signed-in users.</p>")
    return None


def _category(v: Venue, path: str, page: int) -> Resp | None:
    as_json_req = path.endswith(".json")
    parts = path.removesuffix(".json").strip("/").split("/")
    if len(parts) != 3:
        return None
    try:
        b = F.board(v, int(parts[2]))
    except ValueError:
        return None
    if b is None or parts[1] != F.board_slug(b):
        return None
    threads = F.threads_of(v, b["id"])
    if as_json_req:
        return as_json(_topic_list(v, threads, page, cat_path(b)))
    return _head(v, f"{b['name']} - {v.name}", f"<h1>{e(b['name'])}</h1>" + _list_html(v, threads, page, cat_path(b)))


def _topic(v: Venue, path: str) -> Resp | None:
    as_json_req = path.endswith(".json")
    parts = path.removesuffix(".json").strip("/").split("/")
    try:
        num = int(parts[2] if len(parts) >= 3 else parts[1])
    except (ValueError, IndexError):
        return None
    t = v.threads_by_num.get(num)
    if t is None:
        return None
    if as_json_req:
        data = _topic_json(v, t)
        data["post_stream"] = {"posts": [_post_json(v, t, p) for p in t.posts], "stream": [p.num for p in t.posts]}
        data["details"] = {"created_by": _user(v, t.first.author), "last_poster": _user(v, t.last.author)}
        return as_json(data)
    return _topic_html(v, t)
