"""vBulletin 4: ``forum.php``, ``forumdisplay.php?f=``, ``showthread.php?t=`` and ``external.php`` RSS.

Real shapes: ``<meta name="generator" content="vBulletin 4.2.5" />``, thread rows ``li.threadbit``
with ``a.title``, posts ``li.postcontainer`` with ``id="post_N"``, ``div#post_message_N``
``blockquote.postcontent`` and the date as text (default ``m-d-Y, h:i A``) in ``span.date``.
"""

from __future__ import annotations

from sampleweb.model import Post, Venue
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
    rfc822,
    rss,
)

VERSION = "4.2.5"
THREADS_PER_PAGE = 20
POSTS_PER_PAGE = 10


def origin(v: Venue) -> str:
    return f"http://{v.host}"


def external_id(v: Venue, p: Post) -> str:
    return str(p.num)


def post_url(v: Venue, p: Post) -> str:
    return f"{origin(v)}/showthread.php?p={p.num}#post{p.num}"


def page_url(v: Venue, p: Post) -> str:
    n = F.page_of(p, POSTS_PER_PAGE)
    return f"{origin(v)}/showthread.php?t={v.threads[p.thread].num}" + (f"&page={n}" if n > 1 else "")


def urls(v: Venue) -> list[str]:
    o = origin(v)
    out = [f"{o}/forum.php", f"{o}/external.php?type=RSS2"]
    for b in F.boards(v):
        pages = n_pages(len(F.threads_of(v, b["id"])), THREADS_PER_PAGE)
        out += [f"{o}/forumdisplay.php?f={b['id']}" + (f"&page={n}" if n > 1 else "") for n in range(1, pages + 1)]
    for t in v.threads:
        out += [f"{o}/showthread.php?t={t.num}" + (f"&page={n}" if n > 1 else "")
                for n in range(1, F.thread_pages(t, POSTS_PER_PAGE) + 1)]
    return out


def _date(p: Post) -> str:
    return f'<span class="date">{p.published:%m-%d-%Y},&nbsp;<span class="time">{p.published:%I:%M %p}</span></span>'


def _wrap(v: Venue, title: str, body: str) -> Resp:
    o = origin(v)
    return html(f'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
                f'<html xmlns="http://www.w3.org/1999/xhtml" dir="ltr" lang="en" id="vbulletin_html">\n<head>\n'
                f'<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n'
                f'<meta name="generator" content="vBulletin {VERSION}" />\n'
                f'<link rel="alternate" type="application/rss+xml" title="{e(v.name)} RSS Feed" href="{o}/external.php?type=RSS2" />\n'
                f'<script type="text/javascript">var SESSIONURL = ""; var SECURITYTOKEN = "guest";</script>\n'
                f"<title>{e(title)}</title>\n</head>\n<body>\n<div class=\"above_body\"><div id=\"header\" class=\"floatcontainer doc_header\">"
                f'<a name="top" href="{o}/forum.php" class="logo-image">{e(v.name)}</a></div></div>\n'
                f'<div class="body_wrapper">{body}</div>\n<div id="footer" class="floatcontainer footer">{links_block(v, "Links", "footer_links")}'
                f'<div id="footer_copyright" class="shade footer_copyright">Powered by <a href="https://www.vbulletin.com" id="vbulletinlink">vBulletin&reg;</a> '
                f"Version {VERSION}<br />Copyright &copy; 2024 vBulletin Solutions Inc. All rights reserved.</div></div>\n</body>\n</html>\n")


def render(v: Venue, req: Req) -> Resp | None:
    path = req.path
    if path in ("/", "/forum.php", "/index.php"):
        rows = "".join(f'<li class="forumbit_post L1" id="forum{b["id"]}"><div class="forumrow table"><div class="foruminfo td">'
                       f'<div class="forumdata"><div class="datacontainer"><div class="titleline"><h2 class="forumtitle">'
                       f'<a href="forumdisplay.php?f={b["id"]}">{e(b["name"])}</a></h2></div></div></div></div></div></li>'
                       for b in F.boards(v))
        return _wrap(v, v.name, f'<ol id="forums" class="floatcontainer">{rows}</ol>')
    if path == "/forumdisplay.php":
        return _forum(v, req)
    if path == "/showthread.php":
        return _thread(v, req)
    if path == "/member.php":
        return _wrap(v, "Profile", '<div class="blockbody"><p>You are not logged in or you do not have '
                                   'permission to access this page.</p></div>')
    if path == "/external.php":
        posts = [t.first for t in v.threads_newest_first()][:15]
        items = [{"title": p.title, "link": f"{origin(v)}/showthread.php?t={v.threads[p.thread].num}",
                  "creator": p.author, "pubDate": rfc822(p.published),
                  "guid": f"{origin(v)}/showthread.php?t={v.threads[p.thread].num}", "guid_permalink": True,
                  "description": p.paras[0], "content": paras_html(p)} for p in posts]
        doc = rss({"title": v.name, "link": f"{origin(v)}/", "description": "",
                   "lastBuildDate": rfc822(posts[0].published if posts else v.world.now)},
                  items, generator=f"vBulletin {VERSION}", self_url=f"{origin(v)}/external.php?type=RSS2")
        return Resp(200, doc.encode("utf-8"), [], XML_RSS)
    return None


def _forum(v: Venue, req: Req) -> Resp | None:
    b = F.board(v, req.param_int("f"))
    page = req.param_int("page", 1)
    if b is None:
        return None
    threads = F.threads_of(v, b["id"])
    chunk = page_slice(threads, page, THREADS_PER_PAGE)
    if not chunk and page != 1:
        return None
    rows = "".join(
        f'<li class="threadbit" id="thread_{t.num}"><div class="rating0 nonsticky"><div class="threadinfo">'
        f'<div class="inner"><h3 class="threadtitle"><a class="title" href="showthread.php?t={t.num}" '
        f'id="thread_title_{t.num}">{e(t.title)}</a></h3><div class="threadmeta"><div class="author">'
        f'<span class="label">Started by <a href="member.php?u={v.authors()[t.first.author]}" class="username understate">'
        f"{e(t.first.author)}</a>,&nbsp;{t.first.published:%m-%d-%Y}&nbsp;{t.first.published:%I:%M %p}</span></div></div>"
        f"</div></div></div></li>" for t in chunk)
    pages = n_pages(len(threads), THREADS_PER_PAGE)
    nav = (f'<div class="pagination_top"><div class="pagination"><span><a rel="next" href="forumdisplay.php?f={b["id"]}&amp;page={page + 1}">'
           f"Next Page &rsaquo;</a></span></div></div>") if page < pages else ""
    return _wrap(v, f"{b['name']} - {v.name}", f'<div id="threadlist" class="threadlist"><ol id="threads" class="threads">{rows}</ol></div>{nav}')


def _thread(v: Venue, req: Req) -> Resp | None:
    if "p" in req.params:
        p = v.posts_by_num.get(req.param_int("p"))
        if p is None:
            return None
        t, page = v.threads[p.thread], F.page_of(p, POSTS_PER_PAGE)
    else:
        t = v.threads_by_num.get(req.param_int("t"))
        page = req.param_int("page", 1)
        if t is None:
            return None
    chunk = page_slice(t.posts, page, POSTS_PER_PAGE)
    if not chunk:
        return None
    posts = "".join(
        f'<li class="postbitlegacy postbitim postcontainer old" id="post_{p.num}"><div class="posthead">'
        f'<span class="postdate old">{_date(p)}</span><span class="nodecontrols"><a name="post{p.num}" '
        f'href="showthread.php?t={t.num}&amp;p={p.num}#post{p.num}" class="postcounter">#{p.pos + 1}</a></span></div>'
        f'<div class="postdetails"><div class="userinfo"><div class="username_container"><a class="username offline popupctrl" '
        f'href="member.php?u={v.authors()[p.author]}" title="{e(p.author)} is offline"><strong>{e(p.author)}</strong></a></div></div>'
        f'<div class="postbody"><div class="postrow"><h2 class="title icon">{e(p.title)}</h2><div class="content">'
        f'<div id="post_message_{p.num}"><blockquote class="postcontent restore ">{"<br />".join(linked(x) for x in p.paras)}'
        f"</blockquote></div></div></div></div></div></li>" for p in chunk)
    pages = F.thread_pages(t, POSTS_PER_PAGE)
    nav = (f'<div class="pagination_bottom"><span><a rel="next" href="showthread.php?t={t.num}&amp;page={page + 1}">Next Page &rsaquo;</a></span></div>'
           if page < pages else "")
    return _wrap(v, f"{t.title} - {v.name}", f'<div id="postlist" class="postlist restrain"><ol id="posts" class="posts">{posts}</ol></div>{nav}')
