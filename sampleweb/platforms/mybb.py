"""MyBB 1.8: ``forumdisplay.php?fid=``, ``showthread.php?tid=`` with ``&page=``, and ``syndication.php`` RSS.

Real shapes: ``jscripts/general.js?ver=18xx`` and ``my_post_key`` in the head, "Powered By MyBB"
in the footer, thread rows ``span.subject_old`` links, posts ``div.post`` with ``id="post_N"``,
``div.post_author``, ``span.post_date`` (default ``m-d-Y, h:i A``) and ``div.post_body#pid_N``.
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

VERSION_CODE = "1836"
THREADS_PER_PAGE = 20
POSTS_PER_PAGE = 10


def origin(v: Venue) -> str:
    return f"http://{v.host}"


def external_id(v: Venue, p: Post) -> str:
    return str(p.num)


def post_url(v: Venue, p: Post) -> str:
    return f"{origin(v)}/showthread.php?tid={v.threads[p.thread].num}&pid={p.num}#pid{p.num}"


def page_url(v: Venue, p: Post) -> str:
    n = F.page_of(p, POSTS_PER_PAGE)
    return f"{origin(v)}/showthread.php?tid={v.threads[p.thread].num}" + (f"&page={n}" if n > 1 else "")


def urls(v: Venue) -> list[str]:
    o = origin(v)
    out = [f"{o}/index.php", f"{o}/syndication.php"]
    for b in F.boards(v):
        pages = n_pages(len(F.threads_of(v, b["id"])), THREADS_PER_PAGE)
        out += [f"{o}/forumdisplay.php?fid={b['id']}" + (f"&page={n}" if n > 1 else "") for n in range(1, pages + 1)]
    for t in v.threads:
        out += [f"{o}/showthread.php?tid={t.num}" + (f"&page={n}" if n > 1 else "")
                for n in range(1, F.thread_pages(t, POSTS_PER_PAGE) + 1)]
    return out


def _wrap(v: Venue, title: str, body: str) -> Resp:
    o = origin(v)
    return html(f'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
                f'<html xml:lang="en" lang="en" xmlns="http://www.w3.org/1999/xhtml">\n<head>\n<title>{e(title)}</title>\n'
                f'<link rel="alternate" type="application/rss+xml" title="Latest Threads (RSS 2.0)" href="{o}/syndication.php" />\n'
                f'<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n'
                f'<script type="text/javascript" src="{o}/jscripts/jquery.js?ver={VERSION_CODE}"></script>\n'
                f'<script type="text/javascript" src="{o}/jscripts/general.js?ver={VERSION_CODE}"></script>\n'
                f'<script type="text/javascript">\n<!--\n\tvar cookieDomain = ".{v.host}";\n\tvar my_post_key = "{F.session_id(v.host)}";\n// -->\n</script>\n'
                f'</head>\n<body>\n<div id="container"><a name="top" id="top"></a><div id="header"><div id="logo"><div class="wrapper">'
                f'<a href="{o}/index.php">{e(v.name)}</a></div></div></div>\n<div id="content"><div class="wrapper">{body}</div></div>\n'
                f'<div id="footer"><div class="lower"><div class="wrapper">{links_block(v, "Links", "menu bottom_links")}'
                f'<span id="copyright">Powered By <a href="https://mybb.com" target="_blank" rel="noopener">MyBB</a>, &copy; 2002-2024 '
                f'<a href="https://mybb.com" target="_blank" rel="noopener">MyBB Group</a>.</span></div></div></div>\n</div>\n</body>\n</html>\n')


def _date(p: Post) -> str:
    return f"{p.published:%m-%d-%Y, %I:%M %p}"


def render(v: Venue, req: Req) -> Resp | None:
    path = req.path
    if path in ("/", "/index.php"):
        rows = "".join(f'<tr><td class="trow1"><strong><a href="forumdisplay.php?fid={b["id"]}">{e(b["name"])}</a></strong>'
                       f'<div class="smalltext">Local discussion</div></td><td class="trow1" align="center">'
                       f'{len(F.threads_of(v, b["id"]))}</td></tr>' for b in F.boards(v))
        return _wrap(v, v.name, f'<table border="0" cellspacing="0" cellpadding="5" class="tborder"><tbody>{rows}</tbody></table>')
    if path == "/forumdisplay.php":
        return _forum(v, req)
    if path == "/showthread.php":
        return _thread(v, req)
    if path == "/member.php":
        return _wrap(v, "Profile", '<div class="blockbody"><p>You are not logged in or you do not have '
                                   'permission to access this page.</p></div>')
    if path == "/syndication.php":
        threads = v.threads_newest_first()
        fid = req.param_int("fid", 0)
        if fid:
            threads = F.threads_of(v, fid)
        items = [{"title": t.title, "link": f"{origin(v)}/showthread.php?tid={t.num}", "pubDate": rfc822(t.first.published),
                  "guid": f"{origin(v)}/showthread.php?tid={t.num}", "guid_permalink": False,
                  "description": paras_html(t.first), "content": paras_html(t.first), "creator": t.first.author}
                 for t in threads[:15]]
        doc = rss({"title": f"{v.name} - All Forums", "link": f"{origin(v)}/", "description": f"{v.name} - {origin(v)}",
                   "lastBuildDate": rfc822(threads[0].last.published if threads else v.world.now)},
                  items, generator="MyBB", self_url=f"{origin(v)}/syndication.php")
        return Resp(200, doc.encode("utf-8"), [], XML_RSS)
    return None


def _forum(v: Venue, req: Req) -> Resp | None:
    b = F.board(v, req.param_int("fid"))
    page = req.param_int("page", 1)
    if b is None:
        return None
    threads = F.threads_of(v, b["id"])
    chunk = page_slice(threads, page, THREADS_PER_PAGE)
    if not chunk and page != 1:
        return None
    rows = "".join(
        f'<tr class="inline_row"><td class="trow1 forumdisplay_regular"><div><span><span class=" subject_old" id="tid_{t.num}">'
        f'<a href="showthread.php?tid={t.num}">{e(t.title)}</a></span></span><div class="author smalltext">'
        f'<a href="member.php?action=profile&amp;uid={v.authors()[t.first.author]}">{e(t.first.author)}</a></div></div></td>'
        f'<td align="center" class="trow1 forumdisplay_regular">{len(t.posts) - 1}</td>'
        f'<td class="trow1 forumdisplay_regular" style="white-space: nowrap; text-align: right;"><span class="lastpost smalltext">'
        f"{_date(t.last)}</span></td></tr>" for t in chunk)
    pages = n_pages(len(threads), THREADS_PER_PAGE)
    nav = _pages(f"forumdisplay.php?fid={b['id']}", page, pages)
    return _wrap(v, f"{b['name']} - {v.name}", f'{nav}<table border="0" cellspacing="0" cellpadding="5" class="tborder clear">'
                                               f"<tbody>{rows}</tbody></table>{nav}")


def _pages(base: str, page: int, pages: int) -> str:
    if pages <= 1:
        return ""
    items = " ".join(f'<span class="pagination_current">{n}</span>' if n == page else
                     f'<a href="{base}&amp;page={n}" class="pagination_page">{n}</a>' for n in range(1, pages + 1))
    nxt = f' <a href="{base}&amp;page={page + 1}" class="pagination_next">Next &raquo;</a>' if page < pages else ""
    return f'<div class="pagination"><span class="pages">Pages ({pages}):</span> {items}{nxt}</div>'


def _thread(v: Venue, req: Req) -> Resp | None:
    if "pid" in req.params and "tid" not in req.params:
        p = v.posts_by_num.get(req.param_int("pid"))
        if p is None:
            return None
        t, page = v.threads[p.thread], F.page_of(p, POSTS_PER_PAGE)
    else:
        t = v.threads_by_num.get(req.param_int("tid"))
        if t is None:
            return None
        page = req.param_int("page", 1)
        if "pid" in req.params:
            p = v.posts_by_num.get(req.param_int("pid"))
            if p is None or p.thread != t.idx:
                return None
            page = F.page_of(p, POSTS_PER_PAGE)
    chunk = page_slice(t.posts, page, POSTS_PER_PAGE)
    if not chunk:
        return None
    posts = "".join(
        f'<a name="pid{p.num}" id="pid{p.num}"></a><div class="post " style="" id="post_{p.num}"><div class="post_author scaleimages">'
        f'<div class="author_information"><strong><span class="largetext"><a href="{origin(v)}/member.php?action=profile&amp;uid='
        f'{v.authors()[p.author]}">{e(p.author)}</a></span></strong></div></div><div class="post_content"><div class="post_head">'
        f'<div class="float_right" style="vertical-align: top"><strong><a href="showthread.php?tid={t.num}&amp;pid={p.num}#pid{p.num}" '
        f'title="{e(p.title)}">#{p.pos + 1}</a></strong></div><span class="post_date">{_date(p)} <span class="post_edit" '
        f'id="edited_by_{p.num}"></span></span></div><div class="post_body scaleimages" id="pid_{p.num}">'
        f'{"<br />".join(linked(x) for x in p.paras)}</div></div></div>' for p in chunk)
    nav = _pages(f"showthread.php?tid={t.num}", page, F.thread_pages(t, POSTS_PER_PAGE))
    return _wrap(v, t.title, f'<div class="float_left">{nav}</div><table border="0" cellspacing="0" cellpadding="5" class="tborder tfixed clear">'
                             f'<tr><td class="thead"><div><strong>{e(t.title)}</strong></div></td></tr></table>'
                             f'<div id="posts_container"><div id="posts">{posts}</div></div>')
