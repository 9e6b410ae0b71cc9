"""Builders for small, hand-made beatmap databases used by the graph, rank and export tests.

Every row goes through the real models into a real database; the helpers only save typing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from storage.ids import stable_id
from storage.models import (
    Beat,
    BeatTopic,
    Link,
    Outreach,
    Place,
    PlaceMention,
    Post,
    Postcode,
    PostTopic,
    Seed,
    Topic,
    Venue,
)

AS_OF = datetime(2026, 6, 1)


def square(lon: float, lat: float, size: float = 0.01) -> dict:
    """A GeoJSON polygon (lon, lat order) of a small square with its south-west corner given."""
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size],
            [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


class Maker:
    """Adds rows to ``session`` with stable ids and sensible defaults."""

    def __init__(self, session: Session, as_of: datetime = AS_OF):
        self.s = session
        self.as_of = as_of
        self._n = 0

    def beat(self, key: str, name: str, lon: float = -0.14, lat: float = 50.82) -> Beat:
        geom = square(lon, lat)
        b = Beat(id=stable_id("beat", key), key=key, name=name, force="test", source="test",
                 geometry=geom, min_lat=lat, min_lon=lon, max_lat=lat + 0.01,
                 max_lon=lon + 0.01, centre_lat=lat + 0.005, centre_lon=lon + 0.005,
                 details=None, imported_at=self.as_of, updated_at=self.as_of)
        self.s.add(b)
        self.s.flush()
        return b

    def place(self, name: str, beat: Beat | None, feature_type: str = "street",
              lat: float | None = None, lon: float | None = None) -> Place:
        lat = lat if lat is not None else (beat.centre_lat if beat else 53.76)
        lon = lon if lon is not None else (beat.centre_lon if beat else -2.7)
        p = Place(id=stable_id("place", name, beat.key if beat else ""), name=name,
                  norm_name=name.lower().replace("'", ""), alt_names=[], feature_type=feature_type,
                  lat=lat, lon=lon, beat_id=beat.id if beat else None, locality=None,
                  district=None, prominence=0.0, coarse=False, source="test",
                  source_id=f"{name}|{beat.key if beat else ''}")
        self.s.add(p)
        self.s.flush()
        return p

    def postcode(self, code: str, beat: Beat) -> Postcode:
        pc = Postcode(postcode=code, outcode=code.split()[0], lat=beat.centre_lat,
                      lon=beat.centre_lon, quality=10, beat_id=beat.id)
        self.s.add(pc)
        self.s.flush()
        return pc

    def topic(self, key: str, safety: bool = True) -> Topic:
        t = Topic(key=key, label=key.replace("-", " ").capitalize(),
                  category="crime" if safety else "community", safety=safety)
        self.s.add(t)
        self.s.flush()
        return t

    def priority(self, beat: Beat, topic: str, weight: float = 1.0) -> None:
        self.s.add(BeatTopic(beat_id=beat.id, topic=topic, weight=weight, source="police.uk",
                             detail=None))
        self.s.flush()

    def venue(self, key: str, name: str | None = None, *, platform: str = "wordpress",
              crawlable: bool = True, state: str = "candidate", status: str = "live",
              sensitive: bool = False, contact: dict | None = None) -> Venue:
        v = Venue(id=stable_id("venue", key), key=key, platform=platform, name=name or key,
                  description=None, url=f"https://{key}/", host=key, crawlable=crawlable,
                  known_only_reason=None if crawlable else "platform terms", state=state,
                  status=status, sensitive=sensitive,
                  sensitive_reason="manual: test" if sensitive else None, contact=contact,
                  member_count=None, post_count=0, discovered_via="seed", depth=0,
                  merged_into_id=None, first_seen_at=self.as_of - timedelta(days=400),
                  last_post_at=None, last_crawled_at=None, revisit_after=None,
                  updated_at=self.as_of)
        self.s.add(v)
        self.s.flush()
        return v

    def post(self, venue: Venue, *, days_ago: float = 1.0, author: str | None = "a1",
             places: list[Place | Postcode | tuple] = (), topics: list[str] = (),
             text: str = "a post") -> Post:
        """A post ``days_ago`` before as_of; ``places`` items are places, postcodes or
        ``(place_or_None, kwargs)`` pairs for unusual mentions."""
        self._n += 1
        fp = f"{venue.key}#{self._n}"
        published = self.as_of - timedelta(days=days_ago)
        post = Post(id=stable_id("post", fp), post_fp=fp, venue_id=venue.id, page_id=None,
                    url=f"{venue.url}p/{self._n}", title=None, text=text, published_at=published,
                    author_key=author, thread=None, board=None, created_at=published,
                    tagged_at=published, purged_at=None)
        self.s.add(post)
        self.s.flush()
        for i, item in enumerate(places):
            self.mention(post, item, i)
        for t in topics:
            self.s.add(PostTopic(post_id=post.id, topic=t, count=1))
        if venue.last_post_at is None or published > venue.last_post_at:
            venue.last_post_at = published
        venue.post_count += 1
        self.s.flush()
        return post

    def mention(self, post: Post, item, i: int = 0) -> PlaceMention:
        extra: dict = {}
        if isinstance(item, tuple):
            item, extra = item
        base = {"kind": "place", "surface": "x", "place_id": None, "postcode": None,
                "beat_id": None, "confidence": 1.0, "ambiguous": False}
        if isinstance(item, Place):
            base.update(surface=item.name, place_id=item.id, beat_id=item.beat_id)
        elif isinstance(item, Postcode):
            base.update(kind="postcode", surface=item.postcode, postcode=item.postcode,
                        beat_id=item.beat_id)
        base.update(extra)
        m = PlaceMention(id=stable_id("m", post.id, i), post_id=post.id, start=i * 10,
                         end=i * 10 + 5, **base)
        self.s.add(m)
        return m

    def link(self, src: Venue, dst: Venue, count: int = 1) -> None:
        self.s.add(Link(src_venue_id=src.id, dst_venue_id=dst.id, count=count,
                        anchor_text=dst.name, example_url=src.url, first_seen_at=self.as_of,
                        last_seen_at=self.as_of))
        self.s.flush()

    def seed(self, venue: Venue, beat: Beat) -> None:
        self.s.add(Seed(id=stable_id("seed", venue.url), url=venue.url, beat_id=beat.id,
                        note=None, source="test", venue_id=venue.id, created_at=self.as_of))
        self.s.flush()

    def outreach(self, venue: Venue, beat: Beat | None, status: str, days_ago: float = 1) -> None:
        self._n += 1
        self.s.add(Outreach(id=stable_id("outreach", self._n), venue_id=venue.id,
                            beat_id=beat.id if beat else None, user_id=None, status=status,
                            note="test", revisit_on=None,
                            created_at=self.as_of - timedelta(days=days_ago)))
        self.s.flush()


def small_world(m: Maker) -> dict:
    """Two beats, a handful of venues of each kind; returns the objects by name."""
    hanover = m.beat("E05002425", "Hanover and Elm Grove", lon=-0.13, lat=50.83)
    kemp = m.beat("E05002422", "East Brighton", lon=-0.11, lat=50.82)
    elm = m.place("Elm Grove", hanover, "street")
    qpr = m.place("Queen's Park Road", hanover, "street")
    level = m.place("The Level", hanover, "area:park")
    brighton = m.place("Brighton", hanover, "geonames:P.PPL")
    sea = m.place("Eastern Road", kemp, "street")
    preston_lancs = m.place("Preston", None, "geonames:P.PPL")
    pc = m.postcode("BN2 9AA", hanover)
    for key in ("burglary", "anti-social-behaviour"):
        m.topic(key, safety=True)
    m.topic("events", safety=False)
    m.priority(hanover, "anti-social-behaviour")
    ra = m.venue("hanover-ra.example", "Hanover Residents Association",
                 contact={"email": "chair@hanover-ra.example"})
    blog = m.venue("elmgrove.example", "Elm Grove Blog", platform="blogger")
    kt = m.venue("kemptown-forum.example", "Kemptown Forum", platform="phpbb")
    old = m.venue("old-hanover.example", "Old Hanover News", status="live")
    fb = m.venue("facebook.com/groups/hanoverlocal", "Hanover Local Facebook group",
                 platform="facebook", crawlable=False)
    lancs = m.venue("preston-lancs.example", "Preston Lancs Chat", platform="discourse")
    gone_out = m.venue("out.example", "Curated Out", state="out")
    for i in range(12):
        m.post(ra, days_ago=3 + i * 6, author=f"a{i % 5}",
               places=[[elm, qpr], [elm, pc], [qpr, pc], [elm, qpr, pc]][i % 4],
               topics=["anti-social-behaviour"] if i % 2 else ["events"])
    for i in range(4):
        m.post(blog, days_ago=10 + i * 20, author="b1", places=[elm, brighton],
               topics=["burglary"])
    for i in range(8):
        m.post(kt, days_ago=2 + i * 5, author=f"k{i % 3}", places=[sea])
    for i in range(6):
        m.post(old, days_ago=800 + i * 30, author="o1", places=[level, elm])
    for i in range(10):
        m.post(lancs, days_ago=5 + i, author="l1",
               places=[preston_lancs, (None, {"surface": "Fishergate"})])
    m.post(lancs, days_ago=30, author="l2", places=[(level, {"ambiguous": True,
                                                             "confidence": 0.4})])
    for _ in range(3):
        m.post(gone_out, days_ago=3, places=[elm, qpr])
    m.link(ra, fb, 3)
    m.link(blog, fb)
    m.link(ra, blog)
    m.link(blog, ra)
    m.link(kt, ra)
    m.link(lancs, ra)
    return {"hanover": hanover, "kemp": kemp, "ra": ra, "blog": blog, "kt": kt, "old": old,
            "fb": fb, "lancs": lancs, "out": gone_out, "elm": elm, "qpr": qpr, "pc": pc}
