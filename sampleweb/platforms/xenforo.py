"""XenForo 2: ``/forums/{slug}.{id}/``, ``/threads/{slug}.{id}/`` with ``page-N``, RSS, and a login wall.

Real shapes: ``<html id="XF" data-app="public" data-template="thread_view">``, thread rows
``div.structItem--thread`` with ``div.structItem-title a``, posts
``article.message.message--post`` with ``data-author``, ``data-content="post-N"``,
``time.u-dt[datetime]`` and ``div.bbWrapper``; RSS at ``/forums/-/index.rss``.
"""

from __future__ import annotations

from sampleweb.model import Post, Thread, Venue
from sampleweb.platforms import forum as F
from sampleweb.platforms.common import (
    XML_RSS,
    Req,
    Resp,
    e,
    html,
    linked,
    links_block,
    n_pages,
    page_slice,
    paras_html,
    redirect,
    rfc822,
    rss,
)

THREADS_PER_PAGE = 20
POSTS_PER_PAGE = 20


def origin(v: Venue) -> str:
    return f"http://{v.host}"


def external_id(v: Venue, p: Post) -> str:
    return str(p.num)


def thread_path(t: Thread) -> str:
    return f"/threads/{F.thread_slug(t)}.{t.num}/"


def forum_path(b: dict) -> str:
    return f"/forums/{F.board_slug(b)}.{b['id']}/"


def post_url(v: Venue, p: Post) -> str:
    return f"{origin(v)}{thread_path(v.threads[p.thread])}post-{p.num}"


def page_url(v: Venue, p: Post) -> str:
    t = v.threads[p.thread]
    n = F.page_of(p, POSTS_PER_PAGE)
    return f"{origin(v)}{thread_path(t)}" + (f"page-{n}" if n > 1 else "")


def urls(v: Venue) -> list[str]:
    o = origin(v)
    out = [f"{o}/", f"{o}/forums/-/index.rss"]
    for b in F.boards(v):
        pages = n_pages(len(F.threads_of(v, b["id"])), THREADS_PER_PAGE)
        out += [f"{o}{forum_path(b)}" + (f"page-{n}" if n > 1 else "") for n in range(1, pages + 1)]
        out.append(f"{o}{forum_path(b)}index.rss")
    for t in v.threads:
        out += [f"{o}{thread_path(t)}" + (f"page-{n}" if n > 1 else "")
                for n in range(1, F.thread_pages(t, POSTS_PER_PAGE) + 1)]
    return out


def _wrap(v: Venue, template: str, title: str, body: str) -> Resp:
    o = origin(v)
    return html(f'<!DOCTYPE html>\n<html id="XF" lang="en-GB" dir="LTR" data-xf="2.2" data-app="public" '
                f'data-template="{template}" data-logged-in="false" data-cookie-prefix="xf_" '
                f'class="has-no-js template-{template}">\n<head>\n<meta charset="utf-8" />\n<title>{e(title)}</title>\n'
                f'<link rel="alternate" type="application/rss+xml" title="RSS feed for {e(v.name)}" href="{o}/forums/-/index.rss" />\n'
                f'</head>\n<body data-template="{template}">\n<div class="p-pageWrapper" id="top">\n'
                f'<header class="p-header" id="header"><div class="p-header-inner"><div class="p-header-logo">'
                f'<a href="{o}/">{e(v.name)}</a></div></div></header>\n<nav class="p-nav"><ul class="p-nav-list">'
                f'<li><a href="{o}/" class="p-navEl-link">Forums</a></li><li><a href="{o}/members/" class="p-navEl-link">Members</a></li>'
                f'</ul></nav>\n<div class="p-body"><div class="p-body-inner"><div class="p-title"><h1 class="p-title-value">{e(title)}</h1></div>'
                f'<div class="p-body-content">{body}</div></div></div>\n'
                f'<footer class="p-footer" id="footer"><div class="p-footer-inner">{links_block(v, "Useful links", "p-footer-linkList")}'
                f'<div class="p-footer-copyright"><a href="https://xenforo.com" class="u-concealed" dir="ltr" target="_blank" rel="sponsored noopener">'
                f"Community platform by XenForo<sup>&reg;</sup> <span class=\"copyright-year\">&copy; 2010-2024 XenForo Ltd.</span></a></div>"
                f"</div></footer>\n</div>\n</body>\n</html>\n")


def _time(p: Post) -> str:
    return (f'<time class="u-dt" dir="auto" datetime="{p.published:%Y-%m-%dT%H:%M:%S%z}" '
            f'data-time="{int(p.published.timestamp())}" data-date-string="{p.published:%b %-d, %Y}" '
            f'data-time-string="{p.published:%-I:%M %p}" title="{p.published:%b %-d, %Y at %-I:%M %p}">'
            f"{p.published:%b %-d, %Y}</time>")


def _member(v: Venue, name: str) -> str:
    return f"/members/{e(name.lower())}.{v.authors()[name]}/"


def render(v: Venue, req: Req) -> Resp | None:
    o, path = origin(v), req.path
    if path == "/":
        rows = "".join(
            f'<div class="node node--forum node--id{b["id"]}"><div class="node-body"><div class="node-main">'
            f'<h3 class="node-title"><a href="{forum_path(b)}" data-xf-init="element-tooltip">{e(b["name"])}</a></h3>'
            f'<div class="node-stats"><dl class="pairs pairs--rows"><dt>Threads</dt><dd>{len(F.threads_of(v, b["id"]))}</dd></dl></div>'
            f"</div></div></div>" for b in F.boards(v))
        return _wrap(v, "forum_list", v.name, f'<div class="block block--category"><div class="block-body">{rows}</div></div>')
    if v.d.get("login_wall") and path.startswith(v.d["login_wall"]):
        return redirect(f"{o}/login/?_xfRedirect={o}{path}", 302)
    if path == "/login/":
        return _wrap(v, "login", "Log in", '<form action="/login/login" method="post" class="block"><input type="text" '
                                          'name="login" /><input type="password" name="password" /></form>')
    if path == "/forums/-/index.rss":
        return _rss(v, v.threads_newest_first(), f"{o}{path}")
    if path.startswith("/forums/"):
        return _forum(v, path)
    if path.startswith("/threads/"):
        return _thread(v, path)
    return None


def _split(path: str, prefix: str) -> tuple[int, str] | None:
    """('slug.123', rest) from /prefix/slug.123/rest."""
    rest = path[len(prefix):]
    head, _, tail = rest.partition("/")
    try:
        return int(head.rsplit(".", 1)[1]), tail
    except (IndexError, ValueError):
        return None


def _page_no(tail: str) -> int:
    if not tail:
        return 1
    if tail.startswith("page-"):
        try:
            return int(tail[5:])
        except ValueError:
            return -1
    return -1


def _forum(v: Venue, path: str) -> Resp | None:
    got = _split(path, "/forums/")
    if got is None:
        return None
    b = F.board(v, got[0])
    if b is None:
        return None
    threads = F.threads_of(v, b["id"])
    if got[1] == "index.rss":
        return _rss(v, threads, f"{origin(v)}{path}")
    page = _page_no(got[1])
    chunk = page_slice(threads, page, THREADS_PER_PAGE)
    if not chunk and page != 1:
        return None
    rows = "".join(
        f'<div class="structItem structItem--thread js-inlineModContainer js-threadListItem-{t.num}" data-author="{e(t.first.author)}">'
        f'<div class="structItem-cell structItem-cell--main"><div class="structItem-title"><a href="{thread_path(t)}" '
        f'data-tp-primary="on">{e(t.title)}</a></div><div class="structItem-minor"><ul class="structItem-parts">'
        f'<li><a href="{_member(v, t.first.author)}" class="username" dir="auto">{e(t.first.author)}</a></li>'
        f'<li class="structItem-startDate"><a href="{thread_path(t)}" rel="nofollow">{_time(t.first)}</a></li></ul></div></div>'
        f'<div class="structItem-cell structItem-cell--meta"><dl class="pairs pairs--justified"><dt>Replies</dt>'
        f"<dd>{len(t.posts) - 1}</dd></dl></div></div>" for t in chunk)
    nav = _nav(forum_path(b), page, n_pages(len(threads), THREADS_PER_PAGE))
    return _wrap(v, "forum_view", b["name"], f'<div class="block-container"><div class="block-body">'
                                             f'<div class="structItemContainer">{rows}</div></div></div>{nav}')


def _nav(base: str, page: int, pages: int) -> str:
    if pages <= 1:
        return ""
    links = "".join(f'<li class="pageNav-page{" pageNav-page--current" if n == page else ""}">'
                    f'<a href="{base}{f"page-{n}" if n > 1 else ""}">{n}</a></li>' for n in range(1, pages + 1))
    nxt = f'<a href="{base}page-{page + 1}" class="pageNav-jump pageNav-jump--next">Next</a>' if page < pages else ""
    return f'<div class="pageNavWrapper pageNavWrapper--mixed"><nav class="pageNavWrapper"><div class="pageNav"><ul class="pageNav-main">{links}</ul>{nxt}</div></nav></div>'


def _thread(v: Venue, path: str) -> Resp | None:
    got = _split(path, "/threads/")
    if got is None:
        return None
    t = v.threads_by_num.get(got[0])
    if t is None:
        return None
    tail = got[1]
    if tail.startswith("post-"):
        p = v.posts_by_num.get(int(tail[5:]) if tail[5:].isdigit() else -1)
        if p is None or p.thread != t.idx:
            return None
        page = F.page_of(p, POSTS_PER_PAGE)
    else:
        page = _page_no(tail)
    chunk = page_slice(t.posts, page, POSTS_PER_PAGE)
    if not chunk:
        return None
    posts = "".join(
        f'<article class="message message--post js-post js-inlineModContainer" data-author="{e(p.author)}" '
        f'data-content="post-{p.num}" id="js-post-{p.num}"><span class="u-anchorTarget" id="post-{p.num}"></span>'
        f'<div class="message-inner"><div class="message-cell message-cell--user"><section class="message-user">'
        f'<div class="message-userDetails"><h4 class="message-name"><a href="{_member(v, p.author)}" class="username" '
        f'dir="auto" data-user-id="{v.authors()[p.author]}">{e(p.author)}</a></h4></div></section></div>'
        f'<div class="message-cell message-cell--main"><div class="message-main js-quickEditTarget">'
        f'<header class="message-attribution message-attribution--split"><ul class="message-attribution-main listInline">'
        f'<li class="u-concealed"><a href="{thread_path(t)}post-{p.num}" rel="nofollow">{_time(p)}</a></li></ul>'
        f'<ul class="message-attribution-opposite listInline"><li><a href="{thread_path(t)}post-{p.num}" rel="nofollow">#{p.pos + 1}</a></li></ul></header>'
        f'<div class="message-content js-messageContent"><div class="message-userContent lbContainer js-lbContainer" '
        f'data-lb-id="post-{p.num}"><article class="message-body js-selectToQuote"><div class="bbWrapper">'
        f'{"<br />".join(linked(x) for x in p.paras)}</div></article></div></div></div></div></div></article>' for p in chunk)
    nav = _nav(thread_path(t), page, F.thread_pages(t, POSTS_PER_PAGE))
    return _wrap(v, "thread_view", t.title, f'<div class="block block--messages"><div class="block-container">'
                                            f'<div class="block-body js-replyNewMessageContainer">{posts}</div></div></div>{nav}')


def _rss(v: Venue, threads: list[Thread], self_url: str) -> Resp:
    o = origin(v)
    items = [{"title": t.title, "link": f"{o}{thread_path(t)}", "creator": t.first.author,
              "pubDate": rfc822(t.first.published), "guid": f"{o}{thread_path(t)}", "guid_permalink": True,
              "description": paras_html(t.first), "content": paras_html(t.first)} for t in threads[:20]]
    doc = rss({"title": f"Latest threads - {v.name}", "link": f"{o}/", "description": "",
               "lastBuildDate": rfc822(threads[0].last.published if threads else v.world.now)},
              items, generator=v.name, self_url=self_url)
    return Resp(200, doc.encode("utf-8"), [], XML_RSS)
