"""A Mastodon instance: public/local and hashtag timeline APIs with Link-header paging, the instance
API, status pages and the JavaScript app shell.

Real shapes: statuses with ``id`` (snowflake string), ``created_at``, ``content`` (HTML),
``url``, ``uri``, ``account.acct``, ``tags``; ``/api/v1/timelines/public?local=true`` and
``/api/v1/timelines/tag/{tag}`` page with ``max_id`` and announce it in
``Link: <…max_id=…>; rel="next", <…min_id=…>; rel="prev"``.
"""

from __future__ import annotations

from bisect import bisect_right

from sampleweb.model import Post, Venue
from sampleweb.platforms.common import (
    Req,
    Resp,
    as_json,
    contact_block,
    e,
    html,
    iso_z,
    links_block,
    n_pages,
    paras_html,
)

VERSION = "4.2.8"
LIMIT = 20  # the API's default page size
MAX_LIMIT = 40


def origin(v: Venue) -> str:
    return f"http://{v.host}"


def sid(p: Post) -> str:
    """A snowflake-like id: milliseconds since the epoch shifted left 16 bits, plus a sequence."""
    return str((int(p.published.timestamp() * 1000) << 16) + (p.num % 65536))


def external_id(v: Venue, p: Post) -> str:
    return sid(p)


def post_url(v: Venue, p: Post) -> str:
    return f"{origin(v)}/@{p.author}/{sid(p)}"


page_url = post_url


def tags_of(v: Venue, p: Post) -> list[str]:
    tags = [t.replace("-", "") for t in p.topics]
    if p.num % 2 == 0:
        tags.append(v.world.city)
    if p.num % 3 == 0:
        tags.append("neighbourhood")
    if p.num % 5 == 0:
        tags.append("localnews")
    return tags


def hashtags(v: Venue) -> list[str]:
    return (v.extra.get("hashtags") or [v.world.city, "neighbourhood", "localnews"])


def _newest(v: Venue, tag: str | None = None) -> list[Post]:
    def make() -> list[Post]:
        ps = v.posts_newest_first()
        return [p for p in ps if tag is None or tag in tags_of(v, p)]
    return v.memo(f"masto:{tag}", make)


def urls(v: Venue) -> list[str]:
    o = origin(v)
    out = [f"{o}/", f"{o}/about", f"{o}/public/local", f"{o}/api/v1/instance", f"{o}/api/v2/instance"]
    for tag in [None, *hashtags(v)]:
        posts = _newest(v, tag)
        base = f"{o}/api/v1/timelines/public?local=true" if tag is None else f"{o}/api/v1/timelines/tag/{tag}"
        out.append(base)
        sep = "&" if "?" in base else "?"
        out += [f"{base}{sep}max_id={sid(posts[n * LIMIT - 1])}" for n in range(1, n_pages(len(posts), LIMIT))]
    return out + [post_url(v, p) for p in v.posts]


def _status(v: Venue, p: Post) -> dict:
    o = origin(v)
    uid = v.authors()[p.author]
    content = paras_html(p)
    tags = tags_of(v, p)
    if tags:
        content = content[:-4] + " " + " ".join(
            f'<a href="{o}/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>' for t in tags) + "</p>"
    return {"id": sid(p), "created_at": iso_z(p.published), "in_reply_to_id": None, "in_reply_to_account_id": None,
            "sensitive": False, "spoiler_text": "", "visibility": "public", "language": "en",
            "uri": f"{o}/users/{p.author}/statuses/{sid(p)}", "url": post_url(v, p), "replies_count": 0,
            "reblogs_count": p.num % 4, "favourites_count": p.num % 7, "edited_at": None, "content": content,
            "reblog": None, "application": None,
            "account": {"id": str(100000 + uid), "username": p.author, "acct": p.author, "display_name": "",
                        "locked": False, "bot": False, "discoverable": True, "group": False,
                        "created_at": "2022-11-07T00:00:00.000Z", "note": "", "url": f"{o}/@{p.author}",
                        "avatar": f"{o}/avatars/original/missing.png", "followers_count": 10 + uid,
                        "following_count": 20, "statuses_count": _status_counts(v)[p.author],
                        "last_status_at": p.published.strftime("%Y-%m-%d"), "emojis": [], "fields": []},
            "media_attachments": [], "mentions": [], "tags": [{"name": t, "url": f"{o}/tags/{t}"} for t in tags],
            "emojis": [], "card": None, "poll": None}


def _status_counts(v: Venue) -> dict[str, int]:
    def make() -> dict[str, int]:
        counts: dict[str, int] = {}
        for q in v.posts:
            counts[q.author] = counts.get(q.author, 0) + 1
        return counts
    return v.memo("masto-counts", make)


def _timeline(v: Venue, req: Req, tag: str | None, base: str) -> Resp:
    posts = _newest(v, tag)
    limit = min(MAX_LIMIT, max(1, req.param_int("limit", LIMIT)))
    max_id = req.params.get("max_id")
    if max_id and max_id.isdigit():
        # Ids fall as the list goes on: bisect on the negated ids for the first one below max_id.
        negated = v.memo(f"masto-neg:{tag}", lambda: [-int(sid(p)) for p in posts])
        posts = posts[bisect_right(negated, -int(max_id)):]
    since = req.params.get("min_id") or req.params.get("since_id")
    if since and since.isdigit():
        posts = [p for p in posts if int(sid(p)) > int(since)]
        posts = posts[-limit:]
    chunk = posts[:limit]
    headers = []
    if chunk:
        sep = "&" if "?" in base else "?"
        headers.append(("Link", f'<{base}{sep}max_id={sid(chunk[-1])}>; rel="next", '
                                f'<{base}{sep}min_id={sid(chunk[0])}>; rel="prev"'))
    return as_json([_status(v, p) for p in chunk], headers)


def _shell(v: Venue, title: str, extra: str = "") -> Resp:
    o = origin(v)
    return html(f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{e(title)}</title>\n"
                f'<meta content="{e(v.name)}" property="og:site_name">\n<meta content="website" property="og:type">\n'
                f'<meta content="{o}/" property="og:url">\n<meta name="robots" content="noindex">\n'
                f'<link href="{o}/api/oembed" rel="alternate" type="application/json+oembed">\n'
                f'<script id="initial-state" type="application/json">{{"meta":{{"domain":"{v.host}","version":"{VERSION}"}}}}</script>\n'
                f"</head>\n<body class=\"app-body theme-default no-reduce-motion\">\n"
                f"<div class=\"app-holder\" data-props='{{\"locale\":\"en\"}}' id=\"mastodon\">\n<noscript>"
                f"<p>To use the Mastodon web application, please enable JavaScript. Alternatively, try one of the "
                f"native apps for Mastodon for your platform.</p>{extra}</noscript>\n</div>\n</body>\n</html>\n")


def render(v: Venue, req: Req) -> Resp | None:
    o, path = origin(v), req.path
    if path in ("/", "/public/local", "/public"):
        return _shell(v, v.name, f'<p><a href="{o}/about">About this server</a></p>{links_block(v, "Friends of the server")}')
    if path == "/about":
        return _shell(v, f"About - {v.name}", f"<h1>{e(v.name)}</h1><p>A Mastodon server for neighbours.</p>"
                                              f"{contact_block(v)}{links_block(v, 'Friends of the server')}")
    if path == "/api/v1/instance":
        return as_json({"uri": v.host, "title": v.name, "short_description": "A Mastodon server for neighbours.",
                        "description": "A Mastodon server for neighbours.", "email": f"admin@{v.host}",
                        "version": VERSION, "urls": {"streaming_api": f"ws://{v.host}"},
                        "stats": {"user_count": len(v.authors()), "status_count": len(v.posts), "domain_count": 1},
                        "thumbnail": None, "languages": ["en"], "registrations": False, "approval_required": True,
                        "invites_enabled": False, "contact_account": None, "rules": []})
    if path == "/api/v2/instance":
        return as_json({"domain": v.host, "title": v.name, "version": VERSION, "source_url": "https://github.com/mastodon/mastodon",
                        "description": "A Mastodon server for neighbours.", "usage": {"users": {"active_month": len(v.authors())}},
                        "languages": ["en"], "contact": {"email": f"admin@{v.host}", "account": None}, "rules": []})
    if path == "/api/v1/timelines/public":
        return _timeline(v, req, None, f"{o}/api/v1/timelines/public?local=true")
    if path.startswith("/api/v1/timelines/tag/"):
        tag = path.rsplit("/", 1)[1].lower()
        return _timeline(v, req, tag, f"{o}/api/v1/timelines/tag/{tag}")
    if path.startswith("/tags/"):
        return _shell(v, f"#{path[6:]} - {v.name}")
    if path.startswith("/@") and "/" not in path[2:]:
        return _shell(v, f"@{path[2:]} - {v.name}") if path[2:] in v.authors() else None
    if path.startswith("/@"):
        by_url = v.memo("masto-paths", lambda: {post_url(v, p)[len(o):]: p for p in v.posts})
        p = by_url.get(path)
        if p is not None:
            return html(f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(p.author)}: "{e(p.paras[0][:60])}" - {e(v.name)}</title>'
                        f'<meta content="{e(p.text)}" property="og:description"><meta content="{iso_z(p.published)}" property="og:published_time">'
                        f'<meta content="{o}/@{e(p.author)}" property="profile:username"></head><body class="app-body">'
                        f'<div class="entry h-entry"><div class="status"><div class="status__info"><a class="status__relative-time u-url u-uid" '
                        f'href="{post_url(v, p)}"><time class="dt-published" datetime="{iso_z(p.published)}">{p.published:%d %b %Y, %H:%M}</time></a>'
                        f'<a class="status__display-name p-author h-card" href="{o}/@{e(p.author)}"><span class="display-name__account">@{e(p.author)}</span></a></div>'
                        f'<div class="status__content emojify"><div class="e-content" lang="en">{_status(v, p)["content"]}</div></div></div></div></body></html>')
    return None
