"""A Reddit-style subreddit: old-Reddit HTML and the JSON listings (``/r/{name}/.json``, comments, about).

Real shapes: ``{"kind": "Listing", "data": {"after": "t3_…", "children": [{"kind": "t3", "data":
{"title", "selftext", "author", "created_utc", "permalink", "id", "name", …}}]}}`` paged with
``?after=t3_…&count=N``; a thread's ``.json`` is a two-element array (the t3 listing, then t1
comments). Ground-truth ``external_id`` is the fullname (``t3_…`` / ``t1_…``).
"""

from __future__ import annotations

from sampleweb.model import Post, Thread, Venue
from sampleweb.platforms import forum as F
from sampleweb.platforms.common import (
    Req,
    Resp,
    as_json,
    e,
    html,
    links_block,
    n_pages,
    paras_html,
)

PER_PAGE = 25
B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def b36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = B36[r] + out
        if n == 0:
            return out


def rid(p: Post) -> str:
    # Offset so ids look like real ones (six or seven base-36 characters).
    return b36(60_000_000 + p.num * 37)


def external_id(v: Venue, p: Post) -> str:
    return ("t3_" if p.pos == 0 else "t1_") + rid(p)


def sub(v: Venue) -> str:
    return v.d["sub"]


def permalink(v: Venue, t: Thread) -> str:
    return f"/r/{sub(v)}/comments/{rid(t.first)}/{F.thread_slug(t)[:40].strip('-')}/"


def post_url(v: Venue, p: Post) -> str:
    t = v.threads[p.thread]
    return f"http://{v.host}{permalink(v, t)}" + ("" if p.pos == 0 else f"{rid(p)}/")


def page_url(v: Venue, p: Post) -> str:
    return f"http://{v.host}{permalink(v, v.threads[p.thread])}"


def _newest(v: Venue) -> list[Thread]:
    return v.memo("reddit-newest", lambda: sorted(v.threads, key=lambda t: (t.first.published, t.num), reverse=True))


def urls(v: Venue) -> list[str]:
    o, s = f"http://{v.host}", sub(v)
    threads = _newest(v)
    out = [f"{o}/r/{s}/", f"{o}/r/{s}/.json", f"{o}/r/{s}/about.json"]
    for n in range(1, n_pages(len(threads), PER_PAGE)):
        after = "t3_" + rid(threads[n * PER_PAGE - 1].first)
        out += [f"{o}/r/{s}/?count={n * PER_PAGE}&after={after}", f"{o}/r/{s}/.json?count={n * PER_PAGE}&after={after}"]
    for t in v.threads:
        out += [f"{o}{permalink(v, t)}", f"{o}{permalink(v, t)}.json"]
    return out


def _t3(v: Venue, t: Thread) -> dict:
    p = t.first
    return {"kind": "t3", "data": {
        "approved_at_utc": None, "subreddit": sub(v), "selftext": p.text, "author_fullname": f"t2_{b36(v.authors()[p.author] + 99999)}",
        "title": t.title, "subreddit_name_prefixed": f"r/{sub(v)}", "name": f"t3_{rid(p)}", "score": 3 + len(t.posts),
        "created_utc": float(int(p.published.timestamp())), "domain": f"self.{sub(v)}", "id": rid(p), "author": p.author,
        "num_comments": len(t.posts) - 1, "permalink": permalink(v, t), "url": f"http://{v.host}{permalink(v, t)}",
        "is_self": True, "selftext_html": e(f'<!-- SC_OFF --><div class="md">{paras_html(p)}</div><!-- SC_ON -->'),
        "over_18": False, "stickied": False, "subreddit_id": f"t5_{b36(int(v.id[1:]) + 5000)}", "link_flair_text": None}}


def _t1(v: Venue, t: Thread, p: Post) -> dict:
    return {"kind": "t1", "data": {
        "id": rid(p), "name": f"t1_{rid(p)}", "author": p.author, "body": p.text,
        "body_html": e(f'<div class="md">{paras_html(p)}</div>'), "created_utc": float(int(p.published.timestamp())),
        "permalink": f"{permalink(v, t)}{rid(p)}/", "parent_id": f"t3_{rid(t.first)}", "link_id": f"t3_{rid(t.first)}",
        "subreddit": sub(v), "score": 1, "replies": "", "depth": 0}}


def _page(v: Venue, req: Req) -> tuple[list[Thread], str | None] | None:
    threads = _newest(v)
    start = 0
    after = req.params.get("after")
    if after:
        positions = v.memo("reddit-pos", lambda: {f"t3_{rid(t.first)}": i for i, t in enumerate(threads)})
        if after not in positions:
            return None
        start = positions[after] + 1
    chunk = threads[start:start + PER_PAGE]
    nxt = f"t3_{rid(chunk[-1].first)}" if chunk and start + PER_PAGE < len(threads) else None
    return chunk, nxt


def render(v: Venue, req: Req) -> Resp | None:
    s, path = sub(v), req.path
    base = f"/r/{s}"
    if path in (f"{base}/.json", f"{base}.json"):
        got = _page(v, req)
        if got is None:
            return None
        chunk, nxt = got
        return as_json({"kind": "Listing", "data": {"after": nxt, "dist": len(chunk), "modhash": "", "geo_filter": "",
                                                    "children": [_t3(v, t) for t in chunk], "before": None}})
    if path == f"{base}/about.json":
        return as_json({"kind": "t5", "data": {"display_name": s, "title": v.name, "display_name_prefixed": f"r/{s}",
                                               "subscribers": 400 + 37 * len(v.threads), "public_description": f"For people living in and around {v.name[2:]}.",
                                               "url": f"/r/{s}/", "name": f"t5_{b36(int(v.id[1:]) + 5000)}", "subreddit_type": "public"}})
    if path in (f"{base}/", base):
        got = _page(v, req)
        if got is None:
            return None
        chunk, nxt = got
        return _listing_html(v, req, chunk, nxt)
    if path.startswith(f"{base}/comments/"):
        parts = path[len(base) + 10:].strip("/").removesuffix(".json").split("/")
        by_id = v.memo("reddit-ids", lambda: {rid(t.first): t for t in v.threads})
        t = by_id.get(parts[0]) if parts else None
        if t is None:
            return None
        if path.endswith(".json"):
            return as_json([{"kind": "Listing", "data": {"after": None, "dist": 1, "children": [_t3(v, t)], "before": None}},
                            {"kind": "Listing", "data": {"after": None, "children": [_t1(v, t, p) for p in t.posts[1:]], "before": None}}])
        return _thread_html(v, t)
    return None


def _wrap(v: Venue, title: str, body: str) -> Resp:
    return html(f'<!doctype html><html xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en"><head><title>{e(title)}</title>'
                f'<meta name="viewport" content="width=1024"><link rel="alternate" type="application/json" href="/r/{sub(v)}/.json">'
                f'</head><body class="listing-page hot-page" ><div id="header" role="banner"><a href="/r/{sub(v)}/" class="redditname">'
                f'{e(v.name)}</a></div><div class="side"><div class="spacer"><div class="titlebox"><div class="usertext-body">'
                f'{links_block(v, "Related communities", "md")}</div></div></div></div><div class="content" role="main">{body}</div></body></html>')


def _listing_html(v: Venue, req: Req, chunk: list[Thread], nxt: str | None) -> Resp:
    count = int(req.params.get("count", "0") or 0) if req.params.get("count", "0").isdigit() else 0
    things = "".join(
        f'<div class=" thing id-t3_{rid(t.first)} odd link self" data-fullname="t3_{rid(t.first)}" data-type="link" '
        f'data-author="{e(t.first.author)}" data-subreddit="{sub(v)}" data-timestamp="{int(t.first.published.timestamp()) * 1000}" '
        f'data-permalink="{permalink(v, t)}" data-comments-count="{len(t.posts) - 1}"><div class="entry unvoted"><div class="top-matter">'
        f'<p class="title"><a class="title may-blank " href="{permalink(v, t)}">{e(t.title)}</a></p><p class="tagline ">submitted '
        f'<time title="{t.first.published:%a %b %d %H:%M:%S %Y} UTC" datetime="{t.first.published.isoformat()}" class="live-timestamp">'
        f'{t.first.published:%d %b %Y}</time> by <a href="/user/{e(t.first.author)}" class="author may-blank">{e(t.first.author)}</a></p>'
        f'<ul class="flat-list buttons"><li class="first"><a href="{permalink(v, t)}" class="bylink comments may-blank">'
        f"{len(t.posts) - 1} comments</a></li></ul></div></div></div>" for t in chunk)
    nav = (f'<div class="nav-buttons"><span class="nextprev">view more: <span class="next-button"><a href="/r/{sub(v)}/?count='
           f'{count + PER_PAGE}&amp;after={nxt}" rel="nofollow next">next &rsaquo;</a></span></span></div>') if nxt else ""
    return _wrap(v, v.name, f'<div id="siteTable" class="sitetable linklisting">{things}{nav}</div>')


def _thread_html(v: Venue, t: Thread) -> Resp:
    op = t.first
    comments = "".join(
        f'<div class=" thing id-t1_{rid(p)} comment" data-fullname="t1_{rid(p)}" data-type="comment" data-author="{e(p.author)}" '
        f'data-permalink="{permalink(v, t)}{rid(p)}/"><div class="entry unvoted"><p class="tagline"><a href="/user/{e(p.author)}" '
        f'class="author may-blank">{e(p.author)}</a> <time title="{p.published:%a %b %d %H:%M:%S %Y} UTC" datetime="{p.published.isoformat()}" '
        f'class="live-timestamp">{p.published:%d %b %Y}</time></p><form class="usertext"><div class="usertext-body may-blank-within md-container">'
        f'<div class="md">{paras_html(p)}</div></div></form></div></div>' for p in t.posts[1:])
    body = (f'<div id="siteTable" class="sitetable linklisting"><div class=" thing id-t3_{rid(op)} link self" data-fullname="t3_{rid(op)}" '
            f'data-author="{e(op.author)}" data-permalink="{permalink(v, t)}"><div class="entry unvoted"><p class="title">'
            f'<a class="title may-blank" href="{permalink(v, t)}">{e(t.title)}</a></p><p class="tagline">submitted '
            f'<time datetime="{op.published.isoformat()}" class="live-timestamp">{op.published:%d %b %Y}</time> by '
            f'<a href="/user/{e(op.author)}" class="author may-blank">{e(op.author)}</a></p><div class="expando"><form class="usertext">'
            f'<div class="usertext-body may-blank-within md-container"><div class="md">{paras_html(op)}</div></div></form></div></div></div></div>'
            f'<div class="commentarea"><div class="sitetable nestedlisting">{comments}</div></div>')
    return _wrap(v, f"{t.title} : {sub(v)}", body)


def host_render(world, host: str, req: Req) -> Resp | None:
    """The shared host's own pages: a front page listing the hosted subreddits."""
    subs = [v for v in world.host_venues.get(host, []) if v.platform == "reddit"]
    if req.path.startswith("/user/"):
        name = req.path[6:].strip("/")
        if any(name in v.authors() for v in subs):
            return html(f"<!doctype html><html><head><title>overview for {e(name)}</title></head><body>"
                        f'<div class="titlebox"><h1>{e(name)}</h1></div></body></html>')
        return None
    if req.path != "/":
        return None
    items = "".join(f'<li><a href="/r/{sub(v)}/">r/{sub(v)}</a></li>' for v in subs)
    return html(f"<!doctype html><html><head><title>reddit.example: local communities</title></head><body>"
                f'<ul class="subreddits">{items}</ul></body></html>')
