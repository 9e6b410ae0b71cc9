"""Invision Community 4: ``/forum/{id}-{slug}/``, ``/topic/{id}-{slug}/`` with ``page/N/``, and an RSS feed.

Real shapes: ``<body class="ipsApp ipsApp_front …" data-pageapp="forums" data-pagecontroller="topic">``,
topic rows ``li.ipsDataItem`` with ``h4.ipsDataItem_title``, posts ``article.cPost.ipsComment``
with ``id="elComment_N"``, the author in ``h3.cAuthorPane_author``, ``<time datetime>`` and
``div[data-role="commentContent"].ipsType_richText``; pagination ``ul.ipsPagination``.
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
    iso_z,
    links_block,
    n_pages,
    page_slice,
    paras_html,
    rfc822,
    rss,
)

TOPICS_PER_PAGE = 25
POSTS_PER_PAGE = 20


def origin(v: Venue) -> str:
    return f"http://{v.host}"


def external_id(v: Venue, p: Post) -> str:
    return str(p.num)


def topic_path(t: Thread) -> str:
    return f"/topic/{t.num}-{F.thread_slug(t)}/"


def forum_path(b: dict) -> str:
    return f"/forum/{b['id']}-{F.board_slug(b)}/"


def post_url(v: Venue, p: Post) -> str:
    return f"{origin(v)}{topic_path(v.threads[p.thread])}?do=findComment&comment={p.num}"


def page_url(v: Venue, p: Post) -> str:
    n = F.page_of(p, POSTS_PER_PAGE)
    return f"{origin(v)}{topic_path(v.threads[p.thread])}" + (f"page/{n}/" if n > 1 else "")


def feed_path(v: Venue) -> str:
    return f"/rss/1-{F.board_slug({'name': v.name, 'id': 1})}.xml/"


def urls(v: Venue) -> list[str]:
    o = origin(v)
    out = [f"{o}/", f"{o}{feed_path(v)}"]
    for b in F.boards(v):
        pages = n_pages(len(F.threads_of(v, b["id"])), TOPICS_PER_PAGE)
        out += [f"{o}{forum_path(b)}" + (f"page/{n}/" if n > 1 else "") for n in range(1, pages + 1)]
    for t in v.threads:
        out += [f"{o}{topic_path(t)}" + (f"page/{n}/" if n > 1 else "")
                for n in range(1, F.thread_pages(t, POSTS_PER_PAGE) + 1)]
    return out


def _wrap(v: Venue, controller: str, title: str, body: str) -> Resp:
    o = origin(v)
    return html(f'<!DOCTYPE html>\n<html lang="en-GB" dir="ltr">\n<head>\n<meta charset="utf-8">\n<title>{e(title)}</title>\n'
                f'<link rel="alternate" type="application/rss+xml" title="{e(v.name)}" href="{o}{feed_path(v)}">\n'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">\n</head>\n'
                f'<body class="ipsApp ipsApp_front ipsJS_none ipsClearfix" data-controller="core.front.core.app" '
                f'data-message="" data-pageapp="forums" data-pagelocation="front" data-pagemodule="forums" '
                f'data-pagecontroller="{controller}">\n<a href="#ipsLayout_mainArea" class="ipsHide">Jump to content</a>\n'
                f'<div id="ipsLayout_header" class="ipsClearfix"><header><div class="ipsLayout_container"><a href="{o}/" '
                f'id="elLogo" accesskey="1">{e(v.name)}</a></div></header></div>\n<main id="ipsLayout_body" class="ipsLayout_container">'
                f'<div id="ipsLayout_contentArea"><div id="ipsLayout_contentWrapper"><div id="ipsLayout_mainArea">{body}</div></div></div></main>\n'
                f'<footer id="ipsLayout_footer" class="ipsClearfix"><div class="ipsLayout_container">{links_block(v, "Partners", "ipsList_inline")}'
                f'<p id="elCopyright"><span id="elCopyright_userLine">{e(v.name)}</span> <a rel="nofollow" title="Invision Community" '
                f'href="https://www.invisioncommunity.com/">Powered by Invision Community</a></p></div></footer>\n</body>\n</html>\n')


def _time(p: Post) -> str:
    return (f'<time datetime="{iso_z(p.published)[:19]}Z" title="{p.published:%d/%m/%y %H:%M}" '
            f'data-short="{p.published:%b %y}">{p.published:%B %-d, %Y}</time>')


def _profile(v: Venue, name: str) -> str:
    return f"{origin(v)}/profile/{v.authors()[name]}-{e(name.lower())}/"


def render(v: Venue, req: Req) -> Resp | None:
    o, path = origin(v), req.path
    if path == "/":
        rows = "".join(f'<li class="cForumRow ipsDataItem ipsDataItem_responsivePhoto ipsClearfix" data-forumid="{b["id"]}">'
                       f'<div class="ipsDataItem_main"><h4 class="ipsDataItem_title ipsType_large ipsType_break">'
                       f'<a href="{o}{forum_path(b)}">{e(b["name"])}</a></h4></div><div class="ipsDataItem_stats">'
                       f'<span class="ipsDataItem_stats_number">{len(F.threads_of(v, b["id"]))}</span> topics</div></li>'
                       for b in F.boards(v))
        return _wrap(v, "index", v.name, f'<ol class="ipsDataList ipsDataList_large ipsDataList_zebra">{rows}</ol>')
    if path == feed_path(v):
        threads = v.threads_newest_first()
        items = [{"title": t.title, "link": f"{o}{topic_path(t)}", "pubDate": rfc822(t.first.published),
                  "guid": f"{t.num}", "description": paras_html(t.first)} for t in threads[:25]]
        doc = rss({"title": v.name, "link": f"{o}/", "description": "Latest topics",
                   "lastBuildDate": rfc822(threads[0].last.published if threads else v.world.now)},
                  items, generator="Invision Community", self_url=f"{o}{feed_path(v)}")
        return Resp(200, doc.encode("utf-8"), [], XML_RSS)
    if path.startswith("/forum/"):
        return _forum(v, path)
    if path.startswith("/topic/"):
        return _topic(v, path, req)
    if path.startswith("/profile/"):
        return _wrap(v, "profile", "Profile", '<div class="ipsMessage ipsMessage_error">Sorry, you do not have '
                                               "permission to view this profile.</div>")
    return None


def _parse(path: str, prefix: str) -> tuple[int, int] | None:
    parts = path[len(prefix):].strip("/").split("/")
    try:
        num = int(parts[0].split("-", 1)[0])
    except ValueError:
        return None
    if len(parts) == 1:
        return num, 1
    if len(parts) == 3 and parts[1] == "page" and parts[2].isdigit():
        return num, int(parts[2])
    return None


def _pagination(base: str, page: int, pages: int) -> str:
    if pages <= 1:
        return ""
    items = "".join(f'<li class="ipsPagination_page{" ipsPagination_active" if n == page else ""}"><a href="{base}'
                    f'{f"page/{n}/" if n > 1 else ""}" data-page="{n}">{n}</a></li>' for n in range(1, pages + 1))
    nxt = (f'<li class="ipsPagination_next"><a href="{base}page/{page + 1}/" rel="next" data-page="{page + 1}">Next</a></li>'
           if page < pages else "")
    return f'<ul class="ipsPagination" data-pages="{pages}">{items}{nxt}</ul>'


def _forum(v: Venue, path: str) -> Resp | None:
    got = _parse(path, "/forum/")
    b = F.board(v, got[0]) if got else None
    if b is None:
        return None
    threads = F.threads_of(v, b["id"])
    chunk = page_slice(threads, got[1], TOPICS_PER_PAGE)
    if not chunk and got[1] != 1:
        return None
    o = origin(v)
    rows = "".join(
        f'<li class="ipsDataItem ipsDataItem_responsivePhoto" data-rowid="{t.num}"><div class="ipsDataItem_main">'
        f'<h4 class="ipsDataItem_title ipsContained_container"><span class="ipsType_break ipsContained">'
        f'<a href="{o}{topic_path(t)}" title="{e(t.title)}"><span>{e(t.title)}</span></a></span></h4>'
        f'<div class="ipsDataItem_meta ipsType_reset ipsType_light ipsType_blendLinks"><span>By <a href="{_profile(v, t.first.author)}">'
        f"{e(t.first.author)}</a>, </span>{_time(t.first)}</div></div></li>" for t in chunk)
    nav = _pagination(f"{o}{forum_path(b)}", got[1], n_pages(len(threads), TOPICS_PER_PAGE))
    return _wrap(v, "forums", b["name"], f'<h1 class="ipsType_pageTitle">{e(b["name"])}</h1>{nav}'
                                         f'<ol class="ipsClear ipsDataList cForumTopicTable cTopicList">{rows}</ol>{nav}')


def _topic(v: Venue, path: str, req: Req) -> Resp | None:
    got = _parse(path, "/topic/")
    t = v.threads_by_num.get(got[0]) if got else None
    if t is None:
        return None
    page = got[1]
    if req.params.get("do") == "findComment":
        p = v.posts_by_num.get(req.param_int("comment"))
        if p is None or p.thread != t.idx:
            return None
        page = F.page_of(p, POSTS_PER_PAGE)
    chunk = page_slice(t.posts, page, POSTS_PER_PAGE)
    if not chunk:
        return None
    o = origin(v)
    posts = "".join(
        f'<a id="comment-{p.num}"></a><article id="elComment_{p.num}" class="cPost ipsBox ipsResponsive_pull ipsComment '
        f'ipsComment_parent ipsClearfix ipsClear ipsColumns ipsColumns_noSpacing ipsColumns_collapsePhone">'
        f'<aside class="ipsComment_author cAuthorPane ipsColumn ipsColumn_medium ipsResponsive_hidePhone">'
        f'<h3 class="ipsType_sectionHead cAuthorPane_author ipsType_blendLinks ipsType_break"><strong>'
        f'<a href="{_profile(v, p.author)}" class="ipsType_break">{e(p.author)}</a></strong></h3></aside>'
        f'<div class="ipsColumn ipsColumn_fluid ipsMargin:none"><div id="comment-{p.num}_wrap" data-controller="core.front.core.comment" '
        f'data-commentapp="forums" data-commenttype="forums" data-commentid="{p.num}" class="ipsComment_content ipsType_medium">'
        f'<div class="ipsComment_meta ipsType_light"><div class="ipsType_reset ipsType_light ipsType_blendLinks">'
        f'<a href="{o}{topic_path(t)}?do=findComment&amp;comment={p.num}" rel="nofollow" class="ipsType_blendLinks">Posted {_time(p)}</a>'
        f'</div></div><div class="cPost_contentWrap"><div data-role="commentContent" class="ipsType_normal ipsType_richText '
        f'ipsPadding_bottom ipsContained" data-controller="core.front.core.lightboxedImages">{paras_html(p)}</div></div></div></div></article>'
        for p in chunk)
    nav = _pagination(f"{o}{topic_path(t)}", page, F.thread_pages(t, POSTS_PER_PAGE))
    return _wrap(v, "topic", t.title, f'<div class="ipsPageHeader"><h1 class="ipsType_pageTitle ipsContained_container">'
                                      f'<span class="ipsType_break ipsContained"><span>{e(t.title)}</span></span></h1></div>'
                                      f'{nav}<div id="comments" data-controller="core.front.core.commentFeed">{posts}</div>{nav}')
