"""A council community directory: a paginated list of local groups with their web and social links."""

from __future__ import annotations

from sampleweb.model import Post, Venue
from sampleweb.platforms.common import FIND_US, Req, Resp, e, html, n_pages, page_slice

PER_PAGE = 30


def origin(v: Venue) -> str:
    return f"http://{v.host}"


def external_id(v: Venue, p: Post) -> str:  # pragma: no cover - the directory has no posts
    return str(p.num)


def post_url(v: Venue, p: Post) -> str:  # pragma: no cover
    return v.url


page_url = post_url


def _entries(v: Venue) -> list[Venue]:
    return [v.world.by_id[i] for i in v.d.get("links", [])]


def urls(v: Venue) -> list[str]:
    pages = n_pages(len(_entries(v)), PER_PAGE)
    return [f"{origin(v)}/", v.url] + [f"{v.url}?page={n}" for n in range(2, pages + 1)]


def _page(v: Venue, title: str, body: str) -> str:
    o = origin(v)
    return (f'<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n<title>{e(title)}</title>\n'
            f'</head>\n<body class="council">\n<header class="site-header"><a href="{o}/">{e(v.name.split(" Council")[0])} '
            f'Council</a><nav><a href="{o}/search">Search</a> <a href="{o}/my-account/">My account</a></nav></header>\n'
            f'<main id="main-content">{body}</main>\n<footer><p>Listings are supplied by the groups themselves.</p>'
            f"</footer>\n</body>\n</html>\n")


def _entry(g: Venue) -> str:
    beats = g.d.get("beats") or {}
    wards = ", ".join(g.world.spec_beat_name(k) for k in sorted(beats, key=lambda k: -beats[k])[:2]) or "City-wide"
    platform = g.d.get("known_only_platform")
    link = (f'<a href="{e(g.url)}" class="social">{e(FIND_US.get(platform, platform))}</a>' if platform
            else f'<a href="{e(g.url)}" class="website">Website</a>')
    return (f'<li class="directory-entry"><h3 class="directory-entry__title">{e(g.name)}</h3>'
            f'<dl><dt>Area</dt><dd class="ward">{e(wards)}</dd><dt>Category</dt>'
            f'<dd>{e(g.d["kind"].replace("_", " "))}</dd><dt>Contact</dt><dd>{link}</dd></dl></li>')


def render(v: Venue, req: Req) -> Resp | None:
    o = origin(v)
    if req.path == "/":
        return html(_page(v, "Council", f'<h1>Welcome</h1><p><a href="{v.url}">Community directory</a>: '
                                        f"local groups, residents' associations and clubs.</p>"))
    if req.path != v.url[len(o):]:
        return None
    entries = _entries(v)
    page = req.param_int("page", 1)
    pages = n_pages(len(entries), PER_PAGE)
    if page < 1 or page > pages:
        return None
    nav = ""
    if page > 1:
        nav += f'<a rel="prev" href="{v.url}?page={page - 1}">Previous</a> '
    if page < pages:
        nav += f'<a rel="next" href="{v.url}?page={page + 1}">Next</a>'
    items = "".join(_entry(g) for g in page_slice(entries, page, PER_PAGE))
    return html(_page(v, f"Community directory (page {page} of {pages})",
                      f'<h1>Community directory</h1><ul class="directory">{items}</ul>'
                      f'<nav class="pagination">{nav}</nav>'))
