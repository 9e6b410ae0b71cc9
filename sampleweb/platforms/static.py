"""Static residents' sites: hand-written HTML (dates as text) or Hugo output (``index.xml`` RSS).

Small groups publish a home page, a news list and one page per notice; there is no engine
marker on hand-written sites, and Hugo sites carry ``<meta name="generator" content="Hugo …">``.
"""

from __future__ import annotations

from sampleweb import hazards
from sampleweb.model import Post, Venue
from sampleweb.platforms.common import (
    XML_RSS,
    Req,
    Resp,
    contact_block,
    e,
    html,
    iso,
    links_block,
    paras_html,
    rfc822,
    rss,
)
from sampleweb.text import slugify

HUGO_VERSION = "0.121.1"
HOME_ITEMS = 5


def origin(v: Venue) -> str:
    return f"http://{v.host}"


def is_hugo(v: Venue) -> bool:
    return int(v.id[1:]) % 3 == 0 and not v.d.get("hazard_hub")


def external_id(v: Venue, p: Post) -> str:
    ids = v.memo("static-ids", lambda: {q.num: f"{q.published:%Y-%m-%d}-{slugify(q.title)[:40].strip('-')}-{q.num}"
                                        for q in v.posts})
    return ids[p.num]


def post_url(v: Venue, p: Post) -> str:
    urls = v.memo("static-urls", lambda: {q.num: _post_url(v, q) for q in v.posts})
    return urls[p.num]


def _post_url(v: Venue, p: Post) -> str:
    if is_hugo(v):
        return f"{origin(v)}/posts/{external_id(v, p)}/"
    return f"{origin(v)}/news/{external_id(v, p)}.html"


page_url = post_url


def urls(v: Venue) -> list[str]:
    o = origin(v)
    out = [f"{o}/", f"{o}/news.html" if not is_hugo(v) else f"{o}/posts/", f"{o}/about.html",
           f"{o}/contact.html"]
    if is_hugo(v):
        out.append(f"{o}/index.xml")
    if v.d.get("members_area") or v.d.get("hazard_hub"):
        out.append(f"{o}/members/")  # disallowed by robots.txt: listed so tests can check it is served
    return out + [post_url(v, p) for p in v.posts]


def _page(v: Venue, title: str, body: str) -> str:
    o = origin(v)
    gen = f'<meta name="generator" content="Hugo {HUGO_VERSION}">\n' if is_hugo(v) else ""
    feed = f'<link rel="alternate" type="application/rss+xml" href="{o}/index.xml" title="{e(v.name)}">\n' if is_hugo(v) else ""
    news = f"{o}/posts/" if is_hugo(v) else f"{o}/news.html"
    members = f' | <a href="{o}/members/">Members area</a>' if v.d.get("members_area") or v.d.get("hazard_hub") else ""
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n{gen}{feed}"
            f"<title>{e(title)}</title>\n</head>\n<body>\n<div id=\"wrapper\">\n<div id=\"header\"><h1>"
            f"<a href=\"{o}/\">{e(v.name)}</a></h1>\n<p class=\"nav\"><a href=\"{o}/\">Home</a> | "
            f"<a href=\"{news}\">News</a> | <a href=\"{o}/about.html\">About us</a> | "
            f"<a href=\"{o}/contact.html\">Contact</a>{members}</p></div>\n<div id=\"content\">\n{body}\n</div>\n"
            f"<div id=\"footer\"><p>&copy; {v.world.as_of.year} {e(v.name)}</p></div>\n</div>\n</body>\n</html>\n")


def _item(v: Venue, p: Post) -> str:
    when = (f'<time datetime="{iso(p.published)}">{p.published:%-d %B %Y}</time>' if is_hugo(v)
            else f"{p.published:%-d %B %Y}")
    return (f'<li><a href="{post_url(v, p)}">{e(p.title)}</a> <span class="date">{when}</span></li>')


def render(v: Venue, req: Req) -> Resp | None:
    o, path = origin(v), req.path
    if v.d.get("hazard_hub"):
        resp = hazards.render(v, req)
        if resp is not None:
            return resp
    posts = v.posts_newest_first()
    if path in ("/", "/index.html"):
        latest = "".join(_item(v, p) for p in posts[:HOME_ITEMS])
        extra = hazards.hub_links(v) if v.d.get("hazard_hub") else ""
        return html(_page(v, v.name, f"<p>Welcome to the {e(v.name)}. We are run by volunteers.</p>"
                                     f"<h2>Latest news</h2><ul class=\"news\">{latest}</ul>"
                                     f"{links_block(v, 'Other local groups')}{contact_block(v)}{extra}"))
    if path in ("/news.html", "/posts/"):
        if (path == "/posts/") != is_hugo(v):
            return None
        return html(_page(v, f"News - {v.name}", f"<h2>News</h2><ul class=\"news\">"
                                                 f"{''.join(_item(v, p) for p in posts)}</ul>"))
    if path == "/about.html":
        return html(_page(v, f"About - {v.name}", f"<h2>About us</h2><p>The {e(v.name)} represents people "
                                                  f"living in the area and meets every other month.</p>"
                                                  f"{links_block(v, 'Find us on')}"))
    if path == "/contact.html":
        return html(_page(v, f"Contact - {v.name}", f"<h2>Contact</h2>{contact_block(v)}"))
    if path == "/members/" and (v.d.get("members_area") or v.d.get("hazard_hub")):
        return html(_page(v, "Members area", "<h2>Members area</h2><p>Minutes and contact lists for members. "
                                             "Please do not share.</p>"))
    if path == "/index.xml" and is_hugo(v):
        items = [{"title": p.title, "link": post_url(v, p), "pubDate": rfc822(p.published),
                  "guid": post_url(v, p), "guid_permalink": True, "description": paras_html(p)} for p in posts]
        doc = rss({"title": v.name, "link": f"{o}/", "lastBuildDate": rfc822(posts[0].published if posts else v.world.now)},
                  items, generator=f"Hugo {HUGO_VERSION} -- gohugo.io", self_url=f"{o}/index.xml")
        return Resp(200, doc.encode("utf-8"), [], XML_RSS)
    by_path = v.memo("static-paths", lambda: {post_url(v, p)[len(o):]: p for p in v.posts})
    p = by_path.get(path)
    if p is None:
        return None
    byline = (f'<p class="meta">Posted <time datetime="{iso(p.published)}">{p.published:%-d %B %Y}</time> '
              f"by {e(p.author)}</p>" if is_hugo(v) else
              f'<p class="meta">Posted on {p.published:%-d %B %Y} by {e(p.author)}</p>')
    return html(_page(v, f"{p.title} - {v.name}", f"<div class=\"post\"><h2>{e(p.title)}</h2>{byline}"
                                                  f"{paras_html(p)}</div>"))
