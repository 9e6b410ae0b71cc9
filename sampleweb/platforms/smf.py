"""SMF 2.0 (Simple Machines Forum): ``index.php?board=N.S``, ``index.php?topic=N.S`` and the RSS action.

Real shapes: the ``var smf_theme_url`` / ``var smf_scripturl`` script block, board rows
``a.subject``, posts ``div.post_wrapper`` with ``div.poster h4 a``, ``h5#subject_N``, the date as
text in ``div.smalltext`` ("« on: March 01, 2024, 10:15:30 am »") and ``div.inner#msg_N``;
``;``-separated parameters, offsets not page numbers, and ``PHPSESSID`` in links for cookie-less clients.
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

VERSION = "2.0.19"
TOPICS_PER_PAGE = 20
POSTS_PER_PAGE = 15


def origin(v: Venue) -> str:
    return f"http://{v.host}"


def external_id(v: Venue, p: Post) -> str:
    return str(p.num)


def post_url(v: Venue, p: Post) -> str:
    return f"{origin(v)}/index.php?topic={v.threads[p.thread].num}.msg{p.num}#msg{p.num}"


def page_url(v: Venue, p: Post) -> str:
    start = (F.page_of(p, POSTS_PER_PAGE) - 1) * POSTS_PER_PAGE
    return f"{origin(v)}/index.php?topic={v.threads[p.thread].num}.{start}"


def urls(v: Venue) -> list[str]:
    o = origin(v)
    out = [f"{o}/index.php", f"{o}/index.php?action=.xml;type=rss"]
    for b in F.boards(v):
        pages = n_pages(len(F.threads_of(v, b["id"])), TOPICS_PER_PAGE)
        out += [f"{o}/index.php?board={b['id']}.{(n - 1) * TOPICS_PER_PAGE}" for n in range(1, pages + 1)]
    for t in v.threads:
        out += [f"{o}/index.php?topic={t.num}.{(n - 1) * POSTS_PER_PAGE}"
                for n in range(1, F.thread_pages(t, POSTS_PER_PAGE) + 1)]
    return out


def _smf_date(p: Post) -> str:
    return p.published.strftime("%B %d, %Y, %I:%M:%S ").lstrip() + p.published.strftime("%p").lower()


class _Page:
    def __init__(self, v: Venue, req: Req):
        self.v, self.o = v, origin(v)
        self.sess = F.session_id(f"{v.host}{req.path}?{req.query}", 26)

    def link(self, query: str) -> str:
        return f"{self.o}/index.php?PHPSESSID={self.sess}&amp;{query}"

    def wrap(self, title: str, body: str) -> Resp:
        o = self.o
        return html(f'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
                    f'<html xmlns="http://www.w3.org/1999/xhtml">\n<head>\n<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n'
                    f'<script type="text/javascript"><!-- // --><![CDATA[\n\tvar smf_theme_url = "{o}/Themes/default";\n'
                    f'\tvar smf_default_theme_url = "{o}/Themes/default";\n\tvar smf_images_url = "{o}/Themes/default/images";\n'
                    f'\tvar smf_scripturl = "{o}/index.php?PHPSESSID={self.sess}&amp;";\n\tvar smf_iso_case_folding = false;\n'
                    f'\tvar smf_charset = "UTF-8";\n// ]]></script>\n<title>{e(title)}</title>\n'
                    f'<link rel="alternate" type="application/rss+xml" title="{e(self.v.name)} - RSS" href="{o}/index.php?type=rss;action=.xml" />\n'
                    f'</head>\n<body>\n<div id="wrapper" style="width: 90%"><div id="header"><div class="frame"><div id="top_section">'
                    f'<h1 class="forumtitle"><a href="{self.link("")}">{e(self.v.name)}</a></h1></div></div></div>\n'
                    f'<div id="content_section"><div class="frame"><div id="main_content_section">{body}</div></div></div>\n'
                    f'<div id="footer_section"><div class="frame">{links_block(self.v, "Links", "reset")}<ul class="reset">'
                    f'<li class="copyright"><span class="smalltext" style="display: inline; visibility: visible; font-family: Verdana, Arial, sans-serif;">'
                    f'<a href="{self.link("action=credits")}" title="Simple Machines Forum" target="_blank" class="new_win">SMF {VERSION}</a> | '
                    f'<a href="http://www.simplemachines.org/about/smf/license.php" title="License" target="_blank" class="new_win">SMF &copy; 2021</a>, '
                    f'<a href="http://www.simplemachines.org" title="Simple Machines" target="_blank" class="new_win">Simple Machines</a></span></li>'
                    f"</ul></div></div></div>\n</body></html>\n")


def render(v: Venue, req: Req) -> Resp | None:
    if req.path not in ("/", "/index.php"):
        return None
    params = req.params
    pg = _Page(v, req)
    if params.get("action") == ".xml":
        return _rss(v)
    if "board" in params:
        return _board(v, pg, params["board"])
    if "topic" in params:
        return _topic(v, pg, params["topic"])
    if "action" in params:
        return pg.wrap("Login", '<div class="errorbox">Only registered members are allowed to access this section.</div>')
    rows = "".join(_board_row(v, pg, b) for b in F.boards(v))
    return pg.wrap(f"{v.name} - Index", f'<div id="boardindex_table"><table class="table_list"><tbody class="content">{rows}</tbody></table></div>')


def _board_row(v: Venue, pg: _Page, b: dict) -> str:
    bid = b["id"]
    return (f'<tr id="board_{bid}" class="windowbg2"><td class="info"><a class="subject" href="{pg.link(f"board={bid}.0")}" '
            f'name="b{bid}">{e(b["name"])}</a><p>Local discussion</p></td><td class="stats windowbg"><p>'
            f"{len(F.threads_of(v, bid))} Topics</p></td></tr>")


def _split(value: str) -> tuple[int, str]:
    head, _, tail = value.partition(".")
    try:
        return int(head), tail
    except ValueError:
        return -1, ""


def _board(v: Venue, pg: _Page, value: str) -> Resp | None:
    bid, tail = _split(value)
    b = F.board(v, bid)
    if b is None or not (tail or "0").isdigit():
        return None
    start = int(tail or "0")
    threads = F.threads_of(v, bid)
    page = start // TOPICS_PER_PAGE + 1
    chunk = page_slice(threads, page, TOPICS_PER_PAGE)
    if not chunk and page != 1:
        return None
    rows = "".join(
        f'<tr><td class="subject windowbg2"><div><span id="msg_{t.first.num}"><a href="{pg.link(f"topic={t.num}.0")}">{e(t.title)}</a></span>'
        f'<p>Started by <a href="{pg.link(f"action=profile;u={v.authors()[t.first.author]}")}" title="View the profile of {e(t.first.author)}">'
        f"{e(t.first.author)}</a></p></div></td><td class=\"stats windowbg\">{len(t.posts) - 1} Replies</td></tr>" for t in chunk)
    pages = n_pages(len(threads), TOPICS_PER_PAGE)
    links = " ".join(f"[<strong>{n}</strong>]" if n == page else
                     f'<a class="navPages" href="{pg.link(f"board={bid}.{(n - 1) * TOPICS_PER_PAGE}")}">{n}</a>'
                     for n in range(1, pages + 1))
    return pg.wrap(f"{b['name']} - {v.name}", f'<div class="pagesection"><div class="pagelinks floatleft">Pages: {links}</div></div>'
                                              f'<div class="tborder topic_table" id="messageindex"><table class="table_grid"><tbody>{rows}</tbody></table></div>')


def _topic(v: Venue, pg: _Page, value: str) -> Resp | None:
    tid, tail = _split(value)
    t = v.threads_by_num.get(tid)
    if t is None:
        return None
    if tail.startswith("msg"):
        p = v.posts_by_num.get(int(tail[3:]) if tail[3:].isdigit() else -1)
        if p is None or p.thread != t.idx:
            return None
        page = F.page_of(p, POSTS_PER_PAGE)
    elif (tail or "0").isdigit():
        page = int(tail or "0") // POSTS_PER_PAGE + 1
    else:
        return None
    chunk = page_slice(t.posts, page, POSTS_PER_PAGE)
    if not chunk:
        return None
    posts = "".join(
        f'<a id="msg{p.num}"></a><div class="windowbg{"2" if i % 2 else ""}"><span class="topslice"><span></span></span>'
        f'<div class="post_wrapper"><div class="poster"><h4><a href="{pg.link(f"action=profile;u={v.authors()[p.author]}")}" '
        f'title="View the profile of {e(p.author)}">{e(p.author)}</a></h4></div><div class="postarea"><div class="flow_hidden">'
        f'<div class="keyinfo"><div class="messageicon"><img src="{pg.o}/Themes/default/images/post/xx.gif" alt="" /></div>'
        f'<h5 id="subject_{p.num}"><a href="{pg.link(f"topic={t.num}.msg{p.num}#msg{p.num}")}" rel="nofollow">{e(p.title)}</a></h5>'
        f'<div class="smalltext">&#171; <strong>{"" if p.pos == 0 else f"Reply #{p.pos} "}on:</strong> {_smf_date(p)} &#187;</div>'
        f'<div id="msg_{p.num}_quick_mod"></div></div></div><div class="post"><div class="inner" id="msg_{p.num}">'
        f'{"<br />".join(linked(x) for x in p.paras)}</div></div></div></div><span class="botslice"><span></span></span></div>'
        for i, p in enumerate(chunk))
    pages = F.thread_pages(t, POSTS_PER_PAGE)
    links = " ".join(f"[<strong>{n}</strong>]" if n == page else
                     f'<a class="navPages" href="{pg.link(f"topic={t.num}.{(n - 1) * POSTS_PER_PAGE}")}">{n}</a>'
                     for n in range(1, pages + 1))
    return pg.wrap(f"{t.title}", f'<div class="pagesection"><div class="pagelinks floatleft">Pages: {links}</div></div>'
                                 f'<div id="forumposts"><div class="cat_bar"><h3 class="catbg">Topic: {e(t.title)}</h3></div>'
                                 f'<form id="quickModForm">{posts}</form></div>')


def _rss(v: Venue) -> Resp:
    o = origin(v)
    posts = v.posts_newest_first()[:5 * 2]
    items = [{"title": p.title, "link": post_url(v, p), "pubDate": rfc822(p.published),
              "guid": post_url(v, p), "guid_permalink": True, "description": paras_html(p),
              "categories": [b["name"] for b in F.boards(v) if b["id"] == p.board]} for p in posts]
    doc = rss({"title": v.name, "link": f"{o}/index.php", "description": "Live information from the forum",
               "lastBuildDate": rfc822(posts[0].published if posts else v.world.now)},
              items, generator=f"SMF {VERSION}", self_url=f"{o}/index.php?action=.xml;type=rss")
    return Resp(200, doc.encode("utf-8"), [], XML_RSS)
