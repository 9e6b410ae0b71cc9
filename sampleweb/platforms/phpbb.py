"""phpBB 3.3 (prosilver): ``index.php``, ``viewforum.php?f=``, ``viewtopic.php?t=`` and the Atom feed.

Real shapes: ``<body id="phpbb" class="… section-viewtopic …">``, topic rows ``a.topictitle``,
posts ``div.post`` with ``id="pNNN"``, ``div.postbody``, ``p.author`` with ``a.username`` and
``<time datetime>``, ``div.content``; paging with ``&start=``; guests without cookies get a
``sid=`` on every link; the feed lives at ``app.php/feed`` (Atom).
"""

from __future__ import annotations

from sampleweb.model import Post, Thread, Venue
from sampleweb.platforms import forum as F
from sampleweb.platforms.common import (
    XML_ATOM,
    Req,
    Resp,
    e,
    html,
    iso,
    linked,
    links_block,
    n_pages,
    page_slice,
    paras_html,
)

TOPICS_PER_PAGE = 25
POSTS_PER_PAGE = 10
FEED_ITEMS = 10


def origin(v: Venue) -> str:
    return f"http://{v.host}"


def external_id(v: Venue, p: Post) -> str:
    return str(p.num)


def post_url(v: Venue, p: Post) -> str:
    return f"{origin(v)}/viewtopic.php?p={p.num}#p{p.num}"


def page_url(v: Venue, p: Post) -> str:
    t = v.threads[p.thread]
    start = (F.page_of(p, POSTS_PER_PAGE) - 1) * POSTS_PER_PAGE
    return f"{origin(v)}/viewtopic.php?t={t.num}" + (f"&start={start}" if start else "")


def urls(v: Venue) -> list[str]:
    o = origin(v)
    out = [f"{o}/index.php", f"{o}/app.php/feed"]
    for b in F.boards(v):
        bid = b["id"]
        out.append(f"{o}/app.php/feed/forum/{bid}")
        pages = n_pages(len(F.threads_of(v, b["id"])), TOPICS_PER_PAGE)
        out += [f"{o}/viewforum.php?f={bid}" + (f"&start={(n - 1) * TOPICS_PER_PAGE}" if n > 1 else "")
                for n in range(1, pages + 1)]
    for t in v.threads:
        out += [f"{o}/viewtopic.php?t={t.num}" + (f"&start={(n - 1) * POSTS_PER_PAGE}" if n > 1 else "")
                for n in range(1, F.thread_pages(t, POSTS_PER_PAGE) + 1)]
    return out


class _Page:
    def __init__(self, v: Venue, req: Req):
        self.v, self.o = v, origin(v)
        self.sid = F.session_id(f"{v.host}{req.path}?{req.query}")

    def link(self, target: str) -> str:
        """A relative phpBB link carrying this page's session id."""
        sep = "&amp;" if "?" in target else "?"
        return f"./{target}{sep}sid={self.sid}"

    def wrap(self, section: str, title: str, body: str, crumbs: str = "") -> Resp:
        v, o = self.v, self.o
        return html(
            f'<!DOCTYPE html>\n<html dir="ltr" lang="en-gb">\n<head>\n<meta charset="utf-8" />\n'
            f'<meta http-equiv="X-UA-Compatible" content="IE=edge">\n<title>{e(title)}</title>\n'
            f'<link rel="alternate" type="application/atom+xml" title="Feed - {e(v.name)}" href="{o}/app.php/feed?sid={self.sid}">\n'
            f'<link href="./styles/prosilver/theme/stylesheet.css?assets_version=12" rel="stylesheet">\n</head>\n'
            f'<body id="phpbb" class="nojs notouch section-{section} ltr ">\n<div id="wrap" class="wrap">\n'
            f'<div id="page-header"><div class="headerbar" role="banner"><div class="inner"><div id="site-description" '
            f'class="site-description"><h1>{e(v.name)}</h1><p>Discussion for residents</p></div></div></div>'
            f'<div class="navbar" role="navigation"><ul id="nav-breadcrumbs" class="nav-breadcrumbs linklist navlinks">'
            f'<li class="breadcrumbs"><span class="crumb"><a href="{self.link("index.php")}" accesskey="h">Board index</a></span>'
            f"{crumbs}</li><li class=\"rightside\"><a href=\"{self.link('ucp.php?mode=login')}\">Login</a> "
            f"<a href=\"{self.link('search.php')}\">Search</a> <a href=\"{self.link('memberlist.php')}\">Members</a></li></ul></div></div>\n"
            f'<div id="page-body" class="page-body" role="main">\n{body}\n</div>\n'
            f'<div id="page-footer" class="page-footer" role="contentinfo"><div class="copyright">'
            f'Powered by <a href="https://www.phpbb.com/">phpBB</a>&reg; Forum Software &copy; phpBB Limited</div></div>\n'
            f"</div>\n</body>\n</html>\n")


def render(v: Venue, req: Req) -> Resp | None:
    path = req.path
    if path in ("/", "/index.php"):
        return _index(v, req)
    if path == "/viewforum.php":
        return _forum(v, req)
    if path == "/viewtopic.php":
        return _topic(v, req)
    if path.startswith("/app.php/feed"):
        return _feed(v, path)
    if path in ("/memberlist.php", "/ucp.php", "/search.php", "/posting.php"):
        return _Page(v, req).wrap("ucp", "Information", '<div class="panel"><p>You must be registered and '
                                                         "logged in to view this page.</p></div>")
    return None


def _index(v: Venue, req: Req) -> Resp:
    pg = _Page(v, req)
    rows = []
    for b in F.boards(v):
        bid = b["id"]
        ts = F.threads_of(v, bid)
        last = max((t.last for t in ts), key=lambda p: p.published, default=None)
        uid = v.authors()[last.author] if last else 0
        last_html = (f'<dd class="lastpost"><span>by <a href="{pg.link(f"memberlist.php?mode=viewprofile&amp;u={uid}")}" '
                     f'class="username">{e(last.author)}</a> <time datetime="{iso(last.published)}">'
                     f"{last.published:%a %b %d, %Y %-I:%M %p}</time></span></dd>") if last else ""
        rows.append(f'<li class="row"><dl class="row-item forum_read"><dt title="No unread posts"><div class="list-inner">'
                    f'<a href="{pg.link(f"viewforum.php?f={bid}")}" class="forumtitle">{e(b["name"])}</a>'
                    f'<br />Local discussion</div></dt><dd class="topics">{len(ts)} <dfn>Topics</dfn></dd>'
                    f'<dd class="posts">{sum(len(t.posts) for t in ts)} <dfn>Posts</dfn></dd>{last_html}</dl></li>')
    body = (f'<div class="forabg"><div class="inner"><ul class="topiclist"><li class="header"><dl class="row-item">'
            f'<dt><div class="list-inner">Forums</div></dt></dl></li></ul><ul class="topiclist forums">{"".join(rows)}'
            f'</ul></div></div><div class="stat-block statistics"><h3>Statistics</h3><p>Total posts <strong>{len(v.posts)}</strong> '
            f"&bull; Total topics <strong>{len(v.threads)}</strong></p></div>{links_block(v, 'Friends of the forum')}")
    return pg.wrap("index", f"{v.name} - Index page", body)


def _forum(v: Venue, req: Req) -> Resp | None:
    b = F.board(v, req.param_int("f"))
    start = req.param_int("start", 0)
    if b is None or start < 0:
        return None
    pg = _Page(v, req)
    bid = b["id"]
    ts = F.threads_of(v, bid)
    page = start // TOPICS_PER_PAGE + 1
    chunk = page_slice(ts, page, TOPICS_PER_PAGE)
    if not chunk and page > 1:
        return None
    rows = "".join(_topic_row(v, pg, t, i) for i, t in enumerate(chunk))
    nav = _pagination(pg, f"viewforum.php?f={bid}", page, n_pages(len(ts), TOPICS_PER_PAGE), TOPICS_PER_PAGE)
    crumbs = f'<span class="crumb"><a href="{pg.link(f"viewforum.php?f={bid}")}">{e(b["name"])}</a></span>'
    body = (f'<h2 class="forum-title"><a href="{pg.link(f"viewforum.php?f={bid}")}">{e(b["name"])}</a></h2>'
            f'<div class="action-bar bar-top">{nav}</div><div class="forumbg"><div class="inner"><ul class="topiclist topics">'
            f"{rows}</ul></div></div>")
    return pg.wrap("viewforum", f"{b['name']} - {v.name}", body, crumbs)


def _topic_row(v: Venue, pg: _Page, t: Thread, i: int) -> str:
    first = t.first
    uid = v.authors()[first.author]
    return (f'<li class="row bg{1 + i % 2}"><dl class="row-item topic_read"><dt title="No unread posts"><div class="list-inner">'
            f'<a href="{pg.link(f"viewtopic.php?t={t.num}")}" class="topictitle">{e(t.title)}</a><br />'
            f'<div class="topic-poster responsive-hide left-box">by <a href="{pg.link(f"memberlist.php?mode=viewprofile&amp;u={uid}")}" '
            f'class="username">{e(first.author)}</a> &raquo; <time datetime="{iso(first.published)}">'
            f"{first.published:%a %b %d, %Y %-I:%M %p}</time></div></div></dt>"
            f'<dd class="posts">{len(t.posts) - 1} <dfn>Replies</dfn></dd></dl></li>')


def _pagination(pg: _Page, base: str, page: int, pages: int, per: int) -> str:
    if pages <= 1:
        return '<div class="pagination">Page <strong>1</strong> of <strong>1</strong></div>'
    items = []
    for n in range(1, pages + 1):
        href = pg.link(base + (f"&amp;start={(n - 1) * per}" if n > 1 else ""))
        items.append(f'<li class="active"><span>{n}</span></li>' if n == page
                     else f'<li><a class="button" href="{href}" role="button">{n}</a></li>')
    if page < pages:
        items.append(f'<li class="arrow next"><a class="button button-icon-only" href="{pg.link(base + f"&amp;start={page * per}")}" '
                     f'rel="next" role="button">Next</a></li>')
    return f'<div class="pagination">Page <strong>{page}</strong> of <strong>{pages}</strong><ul>{"".join(items)}</ul></div>'


def _topic(v: Venue, req: Req) -> Resp | None:
    if "p" in req.params:
        p = v.posts_by_num.get(req.param_int("p"))
        if p is None:
            return None
        t, page = v.threads[p.thread], F.page_of(p, POSTS_PER_PAGE)
    else:
        t = v.threads_by_num.get(req.param_int("t"))
        start = req.param_int("start", 0)
        if t is None or start < 0:
            return None
        page = start // POSTS_PER_PAGE + 1
    chunk = page_slice(t.posts, page, POSTS_PER_PAGE)
    if not chunk:
        return None
    pg = _Page(v, req)
    b = F.board(v, t.board) if t.board is not None else None
    bid = b["id"] if b else 0
    posts = "".join(_post(v, pg, p, i) for i, p in enumerate(chunk))
    nav = _pagination(pg, f"viewtopic.php?t={t.num}", page, F.thread_pages(t, POSTS_PER_PAGE), POSTS_PER_PAGE)
    crumbs = (f'<span class="crumb"><a href="{pg.link(f"viewforum.php?f={bid}")}">{e(b["name"])}</a></span>' if b else "")
    body = (f'<h2 class="topic-title"><a href="{pg.link(f"viewtopic.php?t={t.num}")}">{e(t.title)}</a></h2>'
            f'<div class="action-bar bar-top">{nav}</div>{posts}<div class="action-bar bar-bottom">{nav}</div>')
    return pg.wrap("viewtopic", f"{t.title} - {v.name}", body, crumbs)


def _post(v: Venue, pg: _Page, p: Post, i: int) -> str:
    uid = v.authors()[p.author]
    profile = pg.link(f"memberlist.php?mode=viewprofile&amp;u={uid}")
    return (f'<div id="p{p.num}" class="post has-profile bg{2 - i % 2}"><div class="inner">'
            f'<dl class="postprofile" id="profile{p.num}"><dt class="has-profile-rank no-avatar"><a href="{profile}" '
            f'class="username">{e(p.author)}</a></dt><dd class="profile-posts"><strong>Posts:</strong> {uid * 7}</dd></dl>'
            f'<div class="postbody"><div id="post_content{p.num}"><h3 class="{"first" if i == 0 else ""}">'
            f'<a href="#p{p.num}">{e(p.title)}</a></h3><p class="author"><a class="unread" href="{pg.link(f"viewtopic.php?p={p.num}")}#p{p.num}" '
            f'title="Post"><span class="sr-only">Post</span></a> <span class="responsive-hide">by <strong>'
            f'<a href="{profile}" class="username">{e(p.author)}</a></strong> &raquo; </span>'
            f'<time datetime="{iso(p.published)}">{p.published:%a %b %d, %Y %-I:%M %p}</time></p>'
            f'<div class="content">{"<br>".join(linked(x) for x in p.paras)}</div></div></div>'
            f'<div class="back2top"><a href="#top" class="top" title="Top">Top</a></div></div></div><hr class="divider" />')


def _feed(v: Venue, path: str) -> Resp | None:
    o = origin(v)
    posts = v.posts_newest_first()
    if path.startswith("/app.php/feed/forum/"):
        try:
            bid = int(path.rsplit("/", 1)[1])
        except ValueError:
            return None
        if F.board(v, bid) is None:
            return None
        posts = [p for p in posts if (p.board if v.boards else 1) == bid]
    elif path not in ("/app.php/feed", "/app.php/feed/"):
        return None
    updated = iso(posts[0].published) if posts else iso(v.world.now)
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-gb">',
           f'<link rel="self" type="application/atom+xml" href="{o}{path}" />', f"<title>{e(v.name)}</title>",
           f'<link href="{o}/index.php" />', f"<updated>{updated}</updated>",
           f"<author><name><![CDATA[{v.name}]]></name></author>", f"<id>{o}{path}</id>"]
    for p in posts[:FEED_ITEMS]:
        b = F.board(v, p.board) if p.board is not None else None
        bname = b["name"] if b else v.name
        out.append(f"<entry><author><name><![CDATA[{p.author}]]></name></author><updated>{iso(p.published)}</updated>"
                   f"<published>{iso(p.published)}</published><id>{o}/viewtopic.php?p={p.num}#p{p.num}</id>"
                   f'<link href="{o}/viewtopic.php?p={p.num}#p{p.num}"/><title type="html"><![CDATA[{bname} &bull; {p.title}]]></title>'
                   f'<category term="{e(bname)}" scheme="{o}/viewforum.php?f={b["id"] if b else 1}" label="{e(bname)}"/>'
                   f'<content type="html" xml:base="{o}/viewtopic.php?p={p.num}#p{p.num}"><![CDATA[{paras_html(p)}]]></content></entry>')
    out.append("</feed>")
    return Resp(200, "\n".join(out).encode("utf-8"), [], XML_ATOM)
