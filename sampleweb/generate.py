"""Generate a sample web for an area: the venue population, hosts, hazards, spec and ground truth."""

from __future__ import annotations

import csv
import io
import json
import logging
import random
import string
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sampleweb import text as T
from sampleweb.area import Area, AreaBeat, load_area_from_files
from sampleweb.hazards import hazard_urls
from sampleweb.homonyms import HOMONYMS, distractor_names
from sampleweb.model import SPEC_FILE, SPEC_FORMAT, World
from sampleweb.truth import ground_truth

logger = logging.getLogger(__name__)

DEMO_PAGES = 4000
# Above this many pages the ground truth lists post counts per venue instead of every post,
# which keeps ground_truth.json a few MB at 100k pages (the spec stays small at any size).
FULL_TRUTH_MAX_PAGES = 25_000
# Place and postcode pools kept per beat in the spec: enough variety for thousands of posts,
# small enough that the spec stays a few hundred KB.
POOL_PLACES = 60
POOL_POSTCODES = 40
HANDLE_POOL = 400
SEED_HOPS = 3
# Static sites that carry host-level hazards (hub, three robots cases, slow host, members area).
HAZARD_STATIC_SITES = 6
GROUND_TRUTH_FILE = "ground_truth.json"
SEEDS_FILE = "seeds.csv"
KNOWN_ONLY = ("facebook", "nextdoor", "whatsapp", "telegram-invite", "instagram", "x", "youtube",
              "discord", "meetup")
# Pages per post and fixed pages per venue, by platform: used only to pick post counts that
# land near the requested size (the exact count is measured afterwards from the URL lists).
PAGES_PER_POST = {"wordpress": 1.15, "blogger": 1.1, "ghost": 1.1, "static": 1.05,
                  "phpbb": 0.45, "discourse": 0.75, "xenforo": 0.4, "vbulletin": 0.42,
                  "smf": 0.42, "mybb": 0.42, "invision": 0.4, "reddit": 0.75, "mastodon": 1.05,
                  "telegram": 0.06, "directory": 0.0}
FIXED_PAGES = {"wordpress": 12, "blogger": 5, "ghost": 8, "static": 6, "phpbb": 6, "discourse": 10,
               "xenforo": 6, "vbulletin": 5, "smf": 5, "mybb": 5, "invision": 5, "reddit": 4,
               "mastodon": 8, "telegram": 2, "directory": 3}


@dataclass
class BuildResult:
    out_dir: Path
    venues: int
    crawlable_venues: int
    posts: int
    pages: int
    seconds: float


class Population:
    """Accumulates venues and hosts while the generator decides who exists."""

    def __init__(self, rng: random.Random, city: str):
        self.rng = rng
        self.city = city
        self.venues: list[dict[str, Any]] = []
        self.hosts: dict[str, dict[str, Any]] = {}

    def host(self, wanted: str, **config: Any) -> str:
        host, n = wanted, 2
        while host in self.hosts and not config.get("shared"):
            host = wanted.replace(".example", f"{n}.example", 1)
            n += 1
        entry = self.hosts.setdefault(host, {"robots": "allow", "disallow": [], "allow": []})
        entry.update({k: v for k, v in config.items() if k != "shared"})
        return host

    def add(self, *, kind: str, platform: str, name: str, url: str, beats: dict[str, float],
            activity: float = 1.0, **fields: Any) -> dict[str, Any]:
        venue = {
            "id": f"v{len(self.venues) + 1:04d}", "url": url, "host": _host_of(url),
            "base": fields.pop("base", ""), "platform": platform, "kind": kind, "name": name,
            "crawlable": fields.pop("crawlable", True), "known_only_platform": None,
            "status": "live", "duplicate_of": None, "distractor": False, "sensitive": False,
            "sensitive_reason": None, "beats": _norm(beats), "activity": activity, "n_posts": 0,
            "span": [720, 0], "links": [], "boards": [], "extra": {}, "content": "local",
        }
        venue.update(fields)
        self.venues.append(venue)
        return venue

    def known(self, platform: str, name: str, url: str, beats: dict[str, float], **fields: Any) -> dict:
        return self.add(kind=fields.pop("kind", "group"), platform=platform, name=name, url=url,
                        beats=beats, crawlable=False, known_only_platform=platform, activity=0.0,
                        **fields)


def _host_of(url: str) -> str:
    return url.split("//", 1)[1].split("/", 1)[0]


def _norm(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    if total <= 0:
        return {}
    out = {k: round(w / total, 4) for k, w in sorted(weights.items()) if w > 0}
    # Rounding leaves the sum a hair off 1; give the remainder to the largest weight.
    top = max(out, key=lambda k: out[k])
    out[top] = round(out[top] + 1.0 - sum(out.values()), 4)
    return out


def _code(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def beat_label(beat: AreaBeat) -> str:
    """The name residents use for a beat: a neighbourhood named in the beat's name, else the name."""
    lowered = beat.name.casefold()
    for place in beat.places:
        if place.feature_type.startswith("area:neighbourhood") and place.name.casefold() in lowered:
            return place.name
    return beat.name.split(" and ")[0].strip()


def _pools(area: Area, rng: random.Random) -> dict[str, dict[str, list[str]]]:
    pools = {}
    for beat in area.beats:
        names = sorted({p.name for p in beat.places})
        streets, places = T.split_street_place(names)
        streets = sorted(rng.sample(streets, k=min(len(streets), POOL_PLACES // 2)))
        places = sorted(rng.sample(places, k=min(len(places), POOL_PLACES // 2)))
        label = beat_label(beat)
        if label not in places:
            places.append(label)
        postcodes = sorted(rng.sample(beat.postcodes, k=min(len(beat.postcodes), POOL_POSTCODES)))
        pools[beat.key] = {"streets": streets, "places": places, "postcodes": postcodes}
    return pools


def _city_names(area: Area) -> tuple[str, str]:
    full = area.name.split(" / ")[0] if area.beats else "Sample"
    return T.slugify(full.split(" and ")[0]).replace("-", "") or "sample", full


def make_spec(area: Area, *, seed: int, pages: int = DEMO_PAGES, as_of: date) -> dict[str, Any]:
    """The complete site spec for ``area``: deterministic in (seed, area, pages, as_of)."""
    if pages < 300:
        raise ValueError(f"--pages must be at least 300 (got {pages})")
    if not area.beats:
        raise ValueError("the area has no beats")
    rng = random.Random(f"sampleweb:{seed}")
    city, city_name = _city_names(area)
    pop = Population(rng, city)
    beats = area.beats
    extra_per_beat = max(0, int((pages / DEMO_PAGES) ** 0.5) - 1)
    local = _local_venues(pop, beats, extra_per_beat)
    citywide = _citywide_venues(pop, beats, city_name)
    _special_venues(pop, beats, local, city_name)
    _distractors(pop, area)
    directory = _directory(pop, beats, city_name)
    _link(pop, local, citywide, directory)
    _apply_hazards(pop, local)
    _size(pop, pages, rng)
    seeds = _seeds(pop, directory, citywide)
    _ensure_reachable(pop, seeds, directory)
    handles = T.make_handles(random.Random(f"handles:{seed}"), HANDLE_POOL)
    return {
        "format": SPEC_FORMAT, "seed": seed, "as_of": as_of.isoformat(), "size": pages,
        "area": area.summary(), "city": city, "city_name": city_name,
        "pools": _pools(area, random.Random(f"pools:{seed}")),
        "handles": handles, "planted_handle": T.PLANTED_HANDLE,
        "venues": pop.venues, "hosts": dict(sorted(pop.hosts.items())),
        "seeds": seeds, "hazards": _hazard_table(pop),
    }


# --- who exists -----------------------------------------------------------------------------

def _local_venues(pop: Population, beats: list[AreaBeat], extra: int) -> dict[str, list[dict]]:
    rng = pop.rng
    out: dict[str, list[dict]] = {}
    keys = [b.key for b in beats]
    for i, beat in enumerate(beats):
        label = beat_label(beat)
        slug = T.slugify(label)
        near = keys[(i + 1) % len(keys)]
        mine: list[dict] = []
        ra_platform = rng.choice(["static", "wordpress", "static"])
        host = pop.host(f"{slug}-residents.example")
        mine.append(pop.add(kind="residents_association", platform=ra_platform,
                            name=f"{label} Residents' Association", url=f"http://{host}/",
                            beats={beat.key: 1.0}, activity=0.8, email=f"secretary@{host}"))
        lat_platform = rng.choice(["blogger", "wordpress"])
        host = pop.host(f"{slug.replace('-', '')}lat.blogspot.example" if lat_platform == "blogger"
                        else f"{slug}-lat.example")
        mine.append(pop.add(kind="local_action_team", platform=lat_platform,
                            name=f"{label} Local Action Team", url=f"http://{host}/",
                            beats={beat.key: 0.85, near: 0.15}, activity=0.7))
        park = _park(beat)
        if park:
            host = pop.host(f"friendsof{T.slugify(park).replace('-', '')}.example")
            mine.append(pop.add(kind="friends_of_park", platform=rng.choice(["ghost", "static"]),
                                name=f"Friends of {park}", url=f"http://{host}/",
                                beats={beat.key: 1.0}, activity=0.5, park=park))
        host = pop.host(f"{slug}-primary-pta.example")
        mine.append(pop.add(kind="school_pta", platform=rng.choice(["wordpress", "static"]),
                            name=f"{label} Primary School PTA", url=f"http://{host}/",
                            beats={beat.key: 0.9, near: 0.1}, activity=0.4))
        if i % 2 == 0:
            host = pop.host(f"{slug}-allotments.example")
            mine.append(pop.add(kind="allotment_society", platform="static",
                                name=f"{label} Allotment Society", url=f"http://{host}/",
                                beats={beat.key: 1.0}, activity=0.3))
        for n in range(1 + (i % 3 != 2) + extra):
            platform = ["ghost", "blogger", "wordpress"][(i + n) % 3]
            base = f"{slug}{'' if n == 0 else n + 1}"
            host = pop.host(f"{base.replace('-', '')}.blogspot.example" if platform == "blogger"
                            else f"{base}-news.example" if platform == "wordpress"
                            else f"inside-{base}.example")
            mine.append(pop.add(kind="local_blog", platform=platform,
                                name=f"{label} {['Notes', 'Diary', 'Voice', 'Chronicle'][n % 4]}",
                                url=f"http://{host}/", beats={beat.key: 0.8, near: 0.2},
                                activity=1.1))
        if i % 3 == 0:
            sub = slug.replace("-", "")
            pop.host("reddit.example", shared=True)
            mine.append(pop.add(kind="subreddit", platform="reddit", name=f"r/{sub}",
                                url=f"http://reddit.example/r/{sub}/", base=f"/r/{sub}",
                                beats={beat.key: 1.0}, activity=1.2, sub=sub))
        if i % 5 == 1:
            chan = f"{slug.replace('-', '')}alerts"
            pop.host("telegram.example", shared=True)
            mine.append(pop.add(kind="community_channel", platform="telegram",
                                name=f"{label} Alerts", url=f"http://telegram.example/s/{chan}",
                                base=f"/s/{chan}", beats={beat.key: 1.0}, activity=1.0, channel=chan))
        mine.extend(_known_local(pop, beat, label, slug, i))
        out[beat.key] = mine
    return out


def _park(beat: AreaBeat) -> str | None:
    for place in beat.places:
        words = place.name.split()
        if words[-1] in T.PARK_WORDS and len(words) >= 2 and "Road" not in words:
            return place.name
    return None


def _known_local(pop: Population, beat: AreaBeat, label: str, slug: str, i: int) -> list[dict]:
    rng = pop.rng
    city = pop.city
    compact = slug.replace("-", "")
    out = [pop.known("facebook", f"{label} Community Noticeboard",
                     f"https://www.facebook.com/groups/{compact}{city}", {beat.key: 1.0}),
           pop.known("nextdoor", f"Nextdoor {label}",
                     f"https://nextdoor.co.uk/neighbourhood/{slug}--{city}--england/", {beat.key: 1.0},
                     kind="neighbourhood")]
    if i % 3 == 1:
        out.append(pop.known("whatsapp", f"{label} Street Watch (WhatsApp)",
                             f"https://chat.whatsapp.com/{_code(rng, 22)}", {beat.key: 1.0}))
    if i % 4 == 2:
        out.append(pop.known("instagram", f"{label} Life", f"https://www.instagram.com/{compact}life/",
                             {beat.key: 1.0}, kind="account"))
    if i % 6 == 3:
        out.append(pop.known("telegram-invite", f"{label} Neighbours chat",
                             f"https://t.me/+{_code(rng, 16)}", {beat.key: 1.0}))
    return out


def _spread(rng: random.Random, beats: list[AreaBeat], share: float) -> dict[str, float]:
    chosen = [b for b in beats if rng.random() < share] or beats[:1]
    return {b.key: rng.uniform(0.3, 1.0) for b in chosen}


def _citywide_venues(pop: Population, beats: list[AreaBeat], city_name: str) -> dict[str, dict]:
    rng, city = pop.rng, pop.city
    keys = [b.key for b in beats]
    v: dict[str, dict] = {}

    def boards(prefix: str, count: int) -> list[dict]:
        picked = beats if count >= len(beats) else rng.sample(beats, count)
        out = [{"id": n + 2, "name": beat_label(b), "beats": {b.key: 1.0}}
               for n, b in enumerate(sorted(picked, key=lambda b: b.key))]
        out.insert(0, {"id": 1, "name": f"{prefix} general", "beats": _spread(rng, beats, 0.6)})
        return out

    def add(key: str, **kw: Any) -> None:
        bds = kw.get("boards") or []
        if bds and "beats" not in kw:
            agg: dict[str, float] = {}
            for b in bds:
                for k in b["beats"]:
                    agg[k] = agg.get(k, 0.0) + _norm(b["beats"])[k]
            kw["beats"] = agg
        kw.setdefault("beats", _spread(rng, beats, 0.8))
        v[key] = pop.add(**kw)

    host = pop.host(f"{city}forum.example", disallow=["/memberlist.php", "/ucp.php", "/search.php",
                                                      "/posting.php", "/private/"])
    add("phpbb", kind="city_forum", platform="phpbb", name=f"{city_name} Forum",
        url=f"http://{host}/index.php", boards=boards(city_name, len(beats)), activity=9.0)
    host = pop.host(f"talk.{city}.example", disallow=["/admin/", "/u/", "/search", "/session",
                                                      "/my/", "/badges"])
    add("discourse", kind="city_forum", platform="discourse", name=f"Talk {city_name}",
        url=f"http://{host}/", boards=boards("Talk", min(8, len(beats))), activity=6.0)
    host = pop.host(f"{city}-residents-forum.example")
    add("xenforo", kind="city_forum", platform="xenforo", name=f"{city_name} Residents Forum",
        url=f"http://{host}/", boards=boards("Residents", min(6, len(beats))), activity=5.0,
        login_wall="/members/")
    host = pop.host(f"{city}boards.example")
    add("vbulletin", kind="city_forum", platform="vbulletin", name=f"{city_name} Boards",
        url=f"http://{host}/forum.php", boards=boards("Boards", min(4, len(beats))), activity=3.0,
        status="dormant", span=[3650, 1900])
    host = pop.host(f"{city}-allotment-federation.example")
    add("smf", kind="allotment_federation", platform="smf", name=f"{city_name} Allotment Federation",
        url=f"http://{host}/index.php", boards=boards("Allotments", min(5, len(beats))), activity=2.5)
    host = pop.host(f"{city}-cyclists.example")
    add("mybb", kind="cycling_forum", platform="mybb", name=f"{city_name} Cycling Forum",
        url=f"http://{host}/index.php", boards=boards("Cycling", min(5, len(beats))), activity=2.5)
    host = pop.host(f"{city}-parents.example")
    add("invision", kind="parents_forum", platform="invision", name=f"{city_name} Parents",
        url=f"http://{host}/", boards=boards("Parents", min(6, len(beats))), activity=3.0)
    host = pop.host(f"social.{city}.example")
    add("mastodon", kind="social_instance", platform="mastodon", name=f"social.{city}",
        url=f"http://{host}/", activity=5.0, tags=[city, "neighbourhood", "localnews"])
    pop.host("reddit.example", shared=True, disallow=["/login", "/user/", "/message/"])
    add("reddit", kind="subreddit", platform="reddit", name=f"r/{city}",
        url=f"http://reddit.example/r/{city}/", base=f"/r/{city}", sub=city, activity=7.0)
    pop.host("telegram.example", shared=True)
    add("telegram", kind="community_channel", platform="telegram", name=f"{city_name} News Channel",
        url=f"http://telegram.example/s/{city}news", base=f"/s/{city}news", channel=f"{city}news",
        activity=2.0)
    host = pop.host(f"{city}-local-news.example", disallow=["/wp-admin/"], allow=["/wp-admin/admin-ajax.php"])
    add("news", kind="city_news_blog", platform="wordpress", name=f"{city_name} Local News",
        url=f"http://{host}/", activity=5.0, content="city-news")
    host = pop.host(f"{city}-nhw.example", disallow=["/wp-admin/"], allow=["/wp-admin/admin-ajax.php"])
    add("nhw", kind="neighbourhood_watch", platform="wordpress",
        name=f"{city_name} Neighbourhood Watch Association", url=f"http://{host}/", activity=3.0,
        calendar=True)
    host = pop.host(f"{city}-inside.example")
    add("ghost", kind="city_blog", platform="ghost", name=f"Inside {city_name}", url=f"http://{host}/",
        activity=3.0)
    # Known-only city channels.
    for key, platform, name, url in [
        ("fb_page", "facebook", f"{city_name} Community Safety (page)", f"https://www.facebook.com/{city}communitysafety"),
        ("x", "x", f"@{city}nhw on X", f"https://x.com/{city}nhw"),
        ("twitter", "x", f"@{city}forum (old Twitter link)", f"https://twitter.com/{city}forum"),
        ("youtube", "youtube", f"{city_name} Residents TV", f"https://www.youtube.com/@{city}residents"),
        ("discord", "discord", f"{city_name} Gamers and Neighbours", f"https://discord.gg/{_code(rng, 8)}"),
        ("meetup", "meetup", f"{city_name} Walks and Talks", f"https://www.meetup.com/{city}-walks-and-talks/"),
        ("fb_group", "facebook", f"{city_name} Lost and Found", f"https://www.facebook.com/groups/{city}lostandfound"),
    ]:
        v[key] = pop.known(platform, name, url, _spread(rng, beats, 0.7),
                           kind="page" if platform in ("facebook", "x", "youtube") and key != "fb_group" else "group")
    v["mastodon"]["extra"] = {"hashtags": [city, "neighbourhood", "localnews"]}
    _ = keys
    return v


def _special_venues(pop: Population, beats: list[AreaBeat], local: dict[str, list[dict]],
                    city_name: str) -> None:
    rng, city = pop.rng, pop.city
    keys = sorted(local)
    # Sensitive venues: faith, LGBTQ+, health support.
    for kind, platform, name, slug, reason in [
        ("faith_group", "static", f"{city_name} Interfaith Forum", f"{city}-interfaith", "religion"),
        ("lgbtq_group", "ghost", f"{city_name} LGBTQ+ Community Network", f"{city}-lgbtq-network", "sexual orientation"),
        ("health_support", "phpbb", f"{city_name} Mental Health Peer Support", f"{city}-peer-support", "health"),
    ]:
        host = pop.host(f"{slug}.example")
        url = f"http://{host}/index.php" if platform == "phpbb" else f"http://{host}/"
        weights = _norm(_spread(rng, beats, 0.5))
        extra = {"boards": [{"id": 1, "name": "Peer support", "beats": weights}]} if platform == "phpbb" else {}
        pop.add(kind=kind, platform=platform, name=name, url=url, beats=weights,
                activity=1.0, sensitive=True, sensitive_reason=reason, **extra)
    # Dormant local blogs: last post years ago.
    for k in keys[2::7]:
        blog = next((v for v in local[k] if v["kind"] == "local_blog"), None)
        if blog:
            blog.update(status="dormant", span=[2900, 1500])
    # A hijacked former residents' site, now casino spam (the domain lapsed and was bought).
    k = keys[len(keys) // 2]
    label = beat_label(next(b for b in beats if b.key == k))
    host = pop.host(f"{T.slugify(label)}-community-association.example")
    pop.add(kind="residents_association", platform="wordpress", status="hijacked",
            name=f"{label} Community Association", url=f"http://{host}/", beats={k: 1.0},
            activity=0.5, content="spam", span=[200, 0])
    # A keyword-stuffed spam site that names many local places.
    host = pop.host(f"best-{city}-locksmiths.example")
    pop.add(kind="seo_spam", platform="static", status="spam", name=f"Best {city_name} Locksmiths",
            url=f"http://{host}/", beats={}, activity=0.6, content="seo-spam", span=[90, 0])
    # Duplicates: a www / non-www pair serving the same site, and an old domain redirecting.
    ra = next(v for v in local[keys[1 % len(keys)]] if v["kind"] == "residents_association")
    www = "www." + ra["host"]
    pop.hosts[www] = {"robots": "allow", "disallow": [], "allow": [], "mirror_of": ra["host"]}
    pop.add(kind=ra["kind"], platform=ra["platform"], name=ra["name"], url=f"http://{www}/",
            beats=ra["beats"], activity=0.0, duplicate_of=ra["url"], served=True, mirror=ra["id"])
    lat = next(v for v in local[keys[3 % len(keys)]] if v["kind"] == "local_action_team")
    old = pop.host(f"old-{T.slugify(lat['name'])}.example",
                   redirect={"to": lat["url"].rstrip("/"), "status": 301})
    pop.add(kind=lat["kind"], platform=lat["platform"], name=lat["name"], url=f"http://{old}/",
            beats=lat["beats"], activity=0.0, duplicate_of=lat["url"], redirects_to=lat["url"])


def _distractors(pop: Population, area: Area) -> None:
    names = {b.name for b in area.beats} | {p.name for b in area.beats for p in b.places}
    names |= {area.name.split(" / ")[0].split(" and ")[0]}
    for homonym in distractor_names(names):
        entry = HOMONYMS[homonym]
        platform = pop.rng.choice(["wordpress", "phpbb", "blogger"])
        host = pop.host(f"{entry['slug']}.example" if platform != "blogger"
                        else f"{entry['slug'].replace('-', '')}.blogspot.example")
        url = f"http://{host}/index.php" if platform == "phpbb" else f"http://{host}/"
        extra = {"boards": [{"id": 1, "name": entry["title"], "beats": {}}]} if platform == "phpbb" else {}
        pop.add(kind="out_of_area", platform=platform, name=entry["title"], url=url, beats={},
                distractor=True, homonym=homonym, content="distractor", activity=1.0, **extra)


def _directory(pop: Population, beats: list[AreaBeat], city_name: str) -> dict:
    host = pop.host(f"council.{pop.city}.example", disallow=["/search", "/admin/", "/my-account/"])
    return pop.add(kind="council_directory", platform="directory",
                   name=f"{city_name} Council community directory",
                   url=f"http://{host}/community-directory", beats={}, activity=0.0)


# --- links ------------------------------------------------------------------------------------

def _link(pop: Population, local: dict[str, list[dict]], citywide: dict[str, dict], directory: dict) -> None:
    rng = pop.rng
    by_id = {v["id"]: v for v in pop.venues}
    official = ("residents_association", "local_action_team", "friends_of_park", "school_pta",
                "allotment_society", "neighbourhood_watch", "faith_group", "lgbtq_group",
                "health_support", "allotment_federation")
    listed = [v for v in pop.venues if v["kind"] in official and v["status"] != "spam"
              and not v.get("mirror")]
    listed += [v for v in pop.venues if v["known_only_platform"] == "facebook" and rng.random() < 0.6]
    directory["links"] = [v["id"] for v in listed if v is not directory]
    for key, venues in local.items():
        crawl = [v for v in venues if v["crawlable"]]
        known = [v for v in venues if not v["crawlable"]]
        for v in crawl:
            others = [o for o in crawl if o is not v]
            picks = rng.sample(others, k=min(len(others), rng.randint(1, 3)))
            picks += [k for k in known if rng.random() < 0.6]
            if rng.random() < 0.5:
                picks.append(citywide["phpbb"])
            if rng.random() < 0.3:
                picks.append(citywide["nhw"])
            v["links"] = _ids(v, picks)
        _ = key
    blogs = [v for vs in local.values() for v in vs if v["kind"] == "local_blog"]
    news = citywide["news"]
    news["links"] = _ids(news, blogs + [citywide[k] for k in ("phpbb", "discourse", "reddit", "fb_page", "x")])
    nhw = citywide["nhw"]
    nhw["links"] = _ids(nhw, [vs[0] for vs in local.values()] + [citywide["fb_group"], citywide["youtube"]])
    subs = [v for vs in local.values() for v in vs if v["platform"] in ("reddit", "telegram")]
    citywide["reddit"]["links"] = _ids(citywide["reddit"], subs + [citywide["discord"]])
    citywide["mastodon"]["links"] = _ids(citywide["mastodon"], [citywide["ghost"], citywide["meetup"], citywide["telegram"]])
    citywide["ghost"]["links"] = _ids(citywide["ghost"], [citywide["xenforo"], citywide["mastodon"], citywide["invision"]])
    citywide["discourse"]["links"] = _ids(citywide["discourse"], [citywide["smf"], citywide["mybb"], citywide["vbulletin"]])
    spam = next(v for v in pop.venues if v["status"] == "spam")
    hijacked = next(v for v in pop.venues if v["status"] == "hijacked")
    citywide["phpbb"]["links"] = _ids(citywide["phpbb"], [spam, citywide["twitter"], citywide["mastodon"]])
    directory["links"] = _ids(directory, [by_id[i] for i in directory["links"]] + [hijacked])
    for v in pop.venues:
        if v["distractor"]:
            blog = rng.choice(blogs)
            blog["links"] = _ids(blog, [by_id[i] for i in blog["links"]] + [v])
        if v.get("duplicate_of"):
            target = next(o for o in pop.venues if o["url"] == v["duplicate_of"])
            holder = rng.choice([o for o in blogs if o is not target])
            holder["links"] = _ids(holder, [by_id[i] for i in holder["links"]] + [v])
    for v in pop.venues:
        if v["crawlable"] and v["kind"] in ("faith_group", "lgbtq_group", "health_support"):
            v["links"] = _ids(v, [citywide["fb_group"]])


def _ids(src: dict, venues: list[dict]) -> list[str]:
    seen: list[str] = []
    for v in venues:
        if v["id"] != src["id"] and v["id"] not in seen:
            seen.append(v["id"])
    return seen


# --- hazards and robots ---------------------------------------------------------------------------

def _apply_hazards(pop: Population, local: dict[str, list[dict]]) -> None:
    """Give a few hosts the awkward behaviours of the real web; the rest stay well behaved."""
    keys = sorted(local)
    mirrored = {v["duplicate_of"] for v in pop.venues if v.get("duplicate_of")}
    statics = [v for k in keys for v in local[k]
               if v["platform"] == "static" and v["crawlable"] and v["url"] not in mirrored]
    for n in range(len(statics), HAZARD_STATIC_SITES):
        # Small areas may have too few static sites to carry every hazard: add plain ones.
        k = keys[n % len(keys)]
        host = pop.host(f"{k.lower()}-community-{n}.example")
        v = pop.add(kind="community_group", platform="static", name=f"Community group {n + 1}",
                    url=f"http://{host}/", beats={k: 1.0}, activity=0.4)
        local[k].append(v)
        statics.append(v)
    wp = [v for k in keys for v in local[k] if v["platform"] == "wordpress" and v["crawlable"]]
    # The hazard hub: a live local site whose pages link to every fault.
    hub = statics[0]
    hub.update(kind="community_hub", name=hub["name"].replace("Residents' Association", "Community Hub"),
               hazard_hub=True)
    pop.hosts[hub["host"]].update(disallow=["/members/", "/private/"])
    for v, mode, reason in [(statics[1], "disallow_all", "robots.txt disallows everything"),
                            (statics[2], "503", "robots.txt answers 503 (fail closed)"),
                            (statics[3], "timeout", "robots.txt never answers (fail closed)")]:
        pop.hosts[v["host"]]["robots"] = mode
        v.update(crawlable=False, served=True, uncrawlable_reason=reason)
    pop.hosts[statics[4]["host"]]["slow"] = True
    statics[4]["slow"] = True
    for v in statics[5::3]:
        pop.hosts[v["host"]]["disallow"] = ["/members/"]
        v["members_area"] = True
    for v in wp:
        pop.hosts[v["host"]].update(disallow=["/wp-admin/"], allow=["/wp-admin/admin-ajax.php"])


def _hazard_table(pop: Population) -> dict[str, Any]:
    return hazard_urls(pop.venues, pop.hosts)


# --- size -------------------------------------------------------------------------------------------

def _size(pop: Population, pages: int, rng: random.Random) -> None:
    active = [v for v in pop.venues if v["activity"] > 0 and (v["crawlable"] or v.get("served"))]
    fixed = sum(FIXED_PAGES.get(v["platform"], 5) for v in active)
    per_unit = sum(v["activity"] * PAGES_PER_POST.get(v["platform"], 1.0) for v in active)
    factor = max(0.5, (pages - fixed) / max(per_unit, 1e-9))
    for v in pop.venues:
        if v["activity"] <= 0:
            continue
        jitter = rng.uniform(0.7, 1.3)
        v["n_posts"] = max(3, round(v["activity"] * factor * jitter))
        if v["platform"] == "telegram":
            v["n_posts"] = max(3, round(v["n_posts"] * 0.5))
        v["first_num"] = rng.randint(1, 900) * 10
    _plant(pop, rng)


def _plant(pop: Population, rng: random.Random) -> None:
    """Plant the distinctive handle as an author in several venues on different platforms."""
    seen: set[str] = set()
    for v in pop.venues:
        if v["crawlable"] and v["status"] == "live" and not v["distractor"] and v["n_posts"] >= 5 \
                and v["platform"] not in seen and v["platform"] != "directory":
            v["planted"] = True
            seen.add(v["platform"])
        if len(seen) >= 6:
            break
    _ = rng


# --- seeds ------------------------------------------------------------------------------------------

def _seeds(pop: Population, directory: dict, citywide: dict[str, dict]) -> list[dict[str, str]]:
    rows = [{"url": directory["url"], "beat": "", "note": "council community directory"}]
    for key in ("phpbb", "news", "mastodon", "reddit"):
        v = citywide[key]
        rows.append({"url": v["url"], "beat": "", "note": f"city-wide {v['kind'].replace('_', ' ')}"})
    return rows


def _ensure_reachable(pop: Population, seeds: list[dict], directory: dict) -> None:
    """Every crawlable live venue within SEED_HOPS link hops of a seed; list the rest in the directory."""
    by_url = {v["url"]: v for v in pop.venues}
    by_id = {v["id"]: v for v in pop.venues}
    dist = {by_url[s["url"]]["id"]: 0 for s in seeds}
    queue = deque(dist)
    while queue:
        vid = queue.popleft()
        for nxt in by_id[vid]["links"]:
            if nxt not in dist:
                dist[nxt] = dist[vid] + 1
                queue.append(nxt)
    for v in pop.venues:
        reachable = v["crawlable"] and v["status"] in ("live", "dormant") and not v.get("mirror")
        if reachable and dist.get(v["id"], SEED_HOPS + 1) > SEED_HOPS:
            directory["links"].append(v["id"])


# --- build ------------------------------------------------------------------------------------------

def build(out_dir: str | Path, *, seed: int = 1, area: Area | None = None, pages: int = DEMO_PAGES,
          as_of: date | None = None) -> BuildResult:
    """Generate the sample web into ``out_dir``: ``site_spec.json``, ``ground_truth.json``, ``seeds.csv``.

    Files are written to temporary names and renamed, so a failed build leaves no half-written set.
    """
    started = time.perf_counter()
    area = area or load_area_from_files()
    as_of = as_of or datetime.now(UTC).date()
    spec = make_spec(area, seed=seed, pages=pages, as_of=as_of)
    world = World(spec)

    truth = ground_truth(world, full_posts=pages <= FULL_TRUTH_MAX_PAGES)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {SPEC_FILE: _dump(spec), GROUND_TRUTH_FILE: _dump(truth), SEEDS_FILE: _seeds_csv(world)}
    for name, content in files.items():
        tmp = out / f".{name}.tmp"
        tmp.write_text(content, encoding="utf-8")
    for name in files:
        (out / f".{name}.tmp").replace(out / name)
    crawlable = [v for v in truth["venues"] if v["crawlable"]]
    result = BuildResult(out, len(truth["venues"]), len(crawlable),
                         sum(v["post_count"] for v in truth["venues"]), truth["pages"],
                         round(time.perf_counter() - started, 3))
    logger.info("sample web built in %s: %s", out, result)
    return result


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=False, separators=(",", ":")) + "\n"


def _seeds_csv(world: World) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["url", "beat", "note"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(world.spec["seeds"])
    return buf.getvalue()
