"""The ground truth of a sample web: every venue, its posts and the hazards, as the scorers need it."""

from __future__ import annotations

from typing import Any

from sampleweb.model import Post, Venue, World
from sampleweb.platforms import renderer
from sampleweb.platforms.common import iso
from sampleweb.site import robots_rules

TRUTH_FORMAT = "beatmap-sampleweb-truth/1"
# Platforms whose HTML shows only a day (or a local date string): scorers compare dates there
# at day precision unless they read the feed, which carries the full time.
DAY_PRECISION = frozenset({"static", "ghost", "vbulletin", "mybb", "smf"})


def post_truth(v: Venue, p: Post) -> dict[str, Any]:
    module = renderer(v.platform)
    return {"url": module.post_url(v, p), "page_url": module.page_url(v, p),
            "external_id": module.external_id(v, p), "published": iso(p.published), "author": p.author,
            "title": p.title, "thread": v.threads[p.thread].title if v.is_forum else None,
            "places": [{"name": n, "beat": b} for n, b in p.places], "postcodes": list(p.postcodes),
            "topics": list(p.topics), "beat": p.beat, "links": list(p.links)}


def venue_pages(v: Venue) -> list[str]:
    if not (v.crawlable or v.d.get("served")) or v.d.get("mirror") or v.d.get("redirects_to"):
        return []
    return renderer(v.platform).urls(v)


def venue_truth(world: World, v: Venue, linked_from: dict[str, list[str]], full_posts: bool) -> dict[str, Any]:
    d = v.d
    has_posts = (v.crawlable or d.get("served")) and not d.get("mirror") and not d.get("redirects_to")
    posts = v.posts if has_posts else []
    out: dict[str, Any] = {
        "id": d["id"], "url": d["url"], "name": d["name"], "platform": d["platform"], "kind": d["kind"],
        "host": d["host"], "crawlable": bool(d["crawlable"]), "known_only_platform": d["known_only_platform"],
        "uncrawlable_reason": d.get("uncrawlable_reason"),
        "robots_blocked": world.hosts.get(d["host"], {}).get("robots", "allow") != "allow",
        "status": d["status"],
        "duplicate_of": d["duplicate_of"], "distractor": bool(d["distractor"]), "homonym": d.get("homonym"),
        "sensitive": bool(d["sensitive"]), "sensitive_reason": d.get("sensitive_reason"),
        "beats": d["beats"], "linked_from": linked_from.get(d["id"], []),
        "links_to": [world.by_id[i].url for i in d.get("links", [])],
        "boards": [{"id": b["id"], "name": b["name"], "beats": b["beats"]} for b in v.boards],
        "contact_email": d.get("email"), "date_precision": "day" if d["platform"] in DAY_PRECISION else "second",
        "post_count": len(posts),
        "last_post": iso(max(p.published for p in posts)) if posts else None,
        "first_post": iso(min(p.published for p in posts)) if posts else None,
        "planted_handle_author": bool(d.get("planted")) and has_posts,
    }
    if full_posts:
        out["posts"] = [post_truth(v, p) for p in posts]
    else:
        out["posts_by_beat"] = _count_by(posts, lambda p: p.beat or "")
        out["topics"] = _count_by(posts, lambda p: p.topics)
    return out


def _count_by(posts: list[Post], key) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in posts:
        keys = key(p)
        for k in keys if isinstance(keys, list) else [keys]:
            counts[k] = counts.get(k, 0) + 1
    return dict(sorted(counts.items()))


def ground_truth(world: World, *, full_posts: bool = True) -> dict[str, Any]:
    spec = world.spec
    linked_from: dict[str, list[str]] = {}
    for v in world.venues:
        for target in v.d.get("links", []):
            linked_from.setdefault(target, []).append(v.url)
    venues = [venue_truth(world, v, linked_from, full_posts) for v in world.venues]
    pages = sum(len(venue_pages(v)) for v in world.venues)
    robots = {}
    for host in sorted(world.hosts):
        mode, allow, disallow = robots_rules(world, host)
        if disallow:
            robots[host] = disallow
    return {
        "format": TRUTH_FORMAT, "synthetic": True,
        "note": "Synthetic sample web for offline development and tests; every name of a person is invented.",
        "seed": spec["seed"], "as_of": spec["as_of"], "size": spec["size"], "pages": pages,
        "full_posts": full_posts, "area": spec["area"], "city": spec["city"], "seeds": [s["url"] for s in spec["seeds"]],
        "venues": venues, "hosts": sorted(world.hosts), "hazards": spec["hazards"], "robots_disallow": robots,
        "robots_allow": {h: c.get("allow") for h, c in sorted(world.hosts.items()) if c.get("allow")},
        "planted_handle": spec["planted_handle"],
        "planted_handle_urls": _planted_urls(world),
    }


def _planted_urls(world: World) -> list[str]:
    """Pages whose URL carries the planted handle (author archives, member and user pages,
    Mastodon statuses): a crawler that stores or logs page URLs must not keep these in clear."""
    handle = world.spec["planted_handle"]
    low = handle.lower()
    out: list[str] = []
    for v in world.venues:
        if not v.d.get("planted") or handle not in v.authors():
            continue
        o, uid = f"http://{v.host}", v.authors()[handle]
        out += {"wordpress": [f"{o}/author/{low}/"], "reddit": [f"{o}/user/{handle}"],
                "xenforo": [f"{o}/members/{low}.{uid}/"], "discourse": [f"{o}/u/{handle}"],
                "invision": [f"{o}/profile/{uid}-{low}/"], "mastodon": [f"{o}/@{handle}"]}.get(v.platform, [])
        if v.platform == "mastodon":
            out += [post_truth(v, p)["url"] for p in v.posts if p.author == handle]
    return out
