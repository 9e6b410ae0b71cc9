"""The in-memory sample web: venues, hosts and lazily generated posts, built from a site spec."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from sampleweb import text as T
from sampleweb.homonyms import distractor_post

SPEC_FORMAT = "beatmap-sampleweb-spec/1"
SPEC_FILE = "site_spec.json"
# Platforms whose venues are threaded discussions (threads with replies) rather than articles.
FORUM_PLATFORMS = frozenset({"phpbb", "discourse", "xenforo", "vbulletin", "smf", "mybb",
                             "invision", "reddit"})


# Platforms whose posts have no title of their own.
TITLELESS = frozenset({"mastodon", "telegram"})
# Skew of post dates towards the recent end of a venue's active span; 1.6 gives roughly half the
# posts in the most recent third of the span, like the local groups we looked at.
RECENCY_POWER = 1.6


class SpecError(ValueError):
    """A site spec cannot be loaded."""


@dataclass(eq=False)  # identity equality: posts are compared and looked up in lists often
class Post:
    venue_id: str
    idx: int  # position in the venue's post list
    num: int  # the platform's numeric id (increasing with time within a venue)
    thread: int  # thread index in the venue (articles: the post's own index)
    pos: int  # position in the thread (0 = opening post)
    published: datetime  # aware UTC
    author: str
    title: str
    paras: list[str]
    places: list[tuple[str, str]]
    postcodes: list[str]
    topics: list[str]
    beat: str | None
    board: int | None = None
    links: list[str] = field(default_factory=list)  # URLs of other venues written into the text

    @property
    def text(self) -> str:
        return "\n\n".join(self.paras)


@dataclass(eq=False)
class Thread:
    idx: int
    num: int
    board: int | None
    title: str
    slug: str
    posts: list[Post] = field(default_factory=list)

    @property
    def first(self) -> Post:
        return self.posts[0]

    @property
    def last(self) -> Post:
        return self.posts[-1]


class Venue:
    """One venue of the spec; posts and threads are generated on first use, deterministically."""

    def __init__(self, world: World, data: dict[str, Any]):
        self.world = world
        self.d = data

    def __getattr__(self, name: str) -> Any:
        try:
            return self.d[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"Venue({self.d['id']}, {self.d['url']})"

    @property
    def boards(self) -> list[dict]:
        return self.d.get("boards") or []

    @property
    def extra(self) -> dict:
        return self.d.get("extra") or {}

    def memo(self, key: str, make: Any) -> Any:
        """Per-venue cache of derived indexes (URL maps, sorted lists) built on first use."""
        store = self.__dict__.setdefault("_memo", {})
        if key not in store:
            store[key] = make()
        return store[key]

    def rng(self, *salt: object) -> random.Random:
        return random.Random(":".join(str(s) for s in (self.world.seed, self.d["id"], *salt)))

    @cached_property
    def threads(self) -> list[Thread]:
        return _generate(self)

    @cached_property
    def posts(self) -> list[Post]:
        return [p for t in self.threads for p in t.posts]

    @cached_property
    def threads_by_num(self) -> dict[int, Thread]:
        return {t.num: t for t in self.threads}

    @cached_property
    def posts_by_num(self) -> dict[int, Post]:
        return {p.num: p for p in self.posts}

    def threads_newest_first(self, board: int | None = None) -> list[Thread]:
        def make() -> list[Thread]:
            ts = [t for t in self.threads if board is None or t.board == board]
            return sorted(ts, key=lambda t: (t.last.published, t.num), reverse=True)
        return self.memo(f"threads-newest:{board}", make)

    def posts_newest_first(self) -> list[Post]:
        return self.memo("posts-newest", lambda: sorted(
            self.posts, key=lambda p: (p.published, p.num), reverse=True))

    def authors(self) -> dict[str, int]:
        """Author handle -> a small numeric user id, as forums and WordPress number users."""
        return self.memo("authors", lambda: {
            a: i + 1 for i, a in enumerate(sorted({p.author for p in self.posts}))})

    @property
    def is_forum(self) -> bool:
        return self.d["platform"] in FORUM_PLATFORMS


class World:
    """The whole sample web described by a spec (dict or ``site_spec.json``)."""

    def __init__(self, spec: dict[str, Any]):
        if spec.get("format") != SPEC_FORMAT:
            raise SpecError(f"not a sample-web spec (format {spec.get('format')!r})")
        self.spec = spec
        self.seed = spec["seed"]
        self.as_of = date.fromisoformat(spec["as_of"])
        self.now = datetime.combine(self.as_of, time(12, 0), tzinfo=UTC)
        self.pools = {k: T.BeatPool(k, v["streets"], v["places"], v["postcodes"])
                      for k, v in spec["pools"].items()}
        self.venues = [Venue(self, v) for v in spec["venues"]]
        self.by_id = {v.id: v for v in self.venues}
        self.hosts: dict[str, dict] = spec["hosts"]
        self.beat_names = {b["key"]: b["name"] for b in spec["area"]["beats"]}
        # Mutable per-server state (e.g. which clients already met a 429) and serving options.
        self.state: dict[str, Any] = {}
        self.slow_delay = 1.0
        self.host_venues: dict[str, list[Venue]] = {}
        for v in self.venues:
            if v.crawlable or v.d.get("served"):
                self.host_venues.setdefault(v.host, []).append(v)

    @classmethod
    def load(cls, path: str | Path) -> World:
        path = Path(path)
        if path.is_dir():
            path = path / SPEC_FILE
        try:
            return cls(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise SpecError(f"no sample-web spec at {path}: run `python -m sampleweb build` first") from exc
        except json.JSONDecodeError as exc:
            raise SpecError(f"sample-web spec {path} is not valid JSON: {exc.msg}") from exc

    def spec_beat_name(self, key: str) -> str:
        return self.beat_names.get(key, key)

    @property
    def city(self) -> str:
        return self.spec["city"]

    def venue_at(self, host: str, path: str) -> Venue | None:
        """The venue serving ``path`` on ``host`` (longest base path wins)."""
        best = None
        for v in self.host_venues.get(host, ()):
            base = v.d.get("base", "")
            if (path == base or path.startswith(base.rstrip("/") + "/") or not base) and (
                    best is None or len(base) > len(best.d.get("base", ""))):
                best = v
        return best


def _generate(venue: Venue) -> list[Thread]:
    """All threads and posts of a venue, from (world seed, venue id) only."""
    world = venue.world
    rng = venue.rng("posts")
    n = int(venue.d.get("n_posts", 0))
    if n <= 0:
        return []
    handles = _venue_handles(venue, rng, n)
    start_days, end_days = venue.d.get("span", [720, 0])
    boards = venue.boards or [{"id": None, "beats": venue.d.get("beats") or {}}]
    threads: list[Thread] = []
    made = 0
    num = int(venue.d.get("first_num", 1000))
    while made < n:
        board = boards[len(threads) % len(boards)] if venue.is_forum else boards[0]
        size = 1 if not venue.is_forum else min(n - made, 1 + _reply_count(rng))
        # Recent weeks are busier than old ones (power > 1 pulls dates towards ``end_days``).
        age = end_days + (start_days - end_days) * rng.random() ** RECENCY_POWER
        opened = world.now - timedelta(days=age, seconds=rng.randint(0, 86399))
        beat = _pick_beat(rng, board.get("beats") or {})
        thread = Thread(idx=len(threads), num=0, board=board.get("id"), title="", slug="")
        for pos in range(size):
            num += rng.randint(1, 9)
            when = opened + timedelta(hours=pos * rng.uniform(0.5, 30))
            when = min(when, world.now - timedelta(minutes=5))
            title, paras, m = _post_text(venue, rng, beat, thread.title if pos else None)
            if venue.d["platform"] in TITLELESS:
                # Toots and channel messages have no title: its words open the message instead.
                paras = [title if title[-1] in ".?!" else f"{title}.", *paras]
            if pos == 0:
                thread.title, thread.num = title, num
                thread.slug = T.slugify(title)[:60].strip("-") or f"topic-{num}"
            author = handles[rng.randrange(len(handles))]
            thread.posts.append(Post(venue.id, made, num, thread.idx, pos, when.replace(microsecond=0),
                                     author, title if pos == 0 else _reply_title(venue, thread.title),
                                     paras, m.places, m.postcodes, m.topics, beat, board.get("id")))
            made += 1
        threads.append(thread)
    # Threads and posts are numbered in creation order; sort by time so ids grow with dates.
    threads.sort(key=lambda t: t.first.published)
    posts = sorted((p for t in threads for p in t.posts), key=lambda p: p.published)
    nums = sorted(p.num for p in posts)
    for p, new in zip(posts, nums, strict=True):
        p.num = new
    for i, t in enumerate(threads):
        t.idx = i
        t.posts.sort(key=lambda p: p.published)
        t.num = t.posts[0].num
        for pos, p in enumerate(t.posts):
            p.thread, p.pos = i, pos
    for i, p in enumerate(sorted(posts, key=lambda p: (p.thread, p.pos))):
        p.idx = i
    _write_links(venue, posts)
    if venue.d.get("planted") and posts:
        # The planted handle must really post here, whatever the draw gave.
        for p in (posts[len(posts) // 3], posts[-1]):
            p.author = venue.world.spec["planted_handle"]
    return threads


LINK_PHRASES = ("More on this from", "We have also started", "Also worth following:", "See also")


def _write_links(venue: Venue, posts: list[Post]) -> None:
    """Mention one or two linked venues inside posts, URL and all, as people do."""
    targets = [venue.world.by_id[i] for i in venue.d.get("links", [])]
    if not targets or not posts or venue.d.get("content") in ("spam", "seo-spam"):
        return
    rng = venue.rng("links")
    chosen = rng.sample(targets, k=min(2, len(targets)))
    for post, target in zip((posts[0], posts[len(posts) // 2]), chosen, strict=False):
        post.paras.append(f"{rng.choice(LINK_PHRASES)} {target.d['name']}: {target.d['url']}")
        post.links.append(target.d["url"])


def _reply_count(rng: random.Random) -> int:
    return min(int(rng.expovariate(0.45)), 9)


def _reply_title(venue: Venue, title: str) -> str:
    return title if venue.d["platform"] in ("discourse", "reddit", "xenforo", "invision") else f"Re: {title}"


def _venue_handles(venue: Venue, rng: random.Random, n: int) -> list[str]:
    pool = venue.world.spec["handles"]
    k = max(2, min(len(pool), 2 + n // 3))
    handles = rng.sample(pool, k=k)
    if venue.d.get("planted"):
        handles.append(venue.world.spec["planted_handle"])
    return handles


def _pick_beat(rng: random.Random, weights: dict[str, float]) -> str | None:
    if not weights:
        return None
    keys = sorted(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


def _post_text(venue: Venue, rng: random.Random, beat: str | None, reply_to: str | None
               ) -> tuple[str, list[str], T.Mentions]:
    kind = venue.d.get("content", "local")
    if kind == "spam":
        return T.spam_post(rng)
    if kind == "seo-spam":
        return T.seo_spam_post(rng, list(venue.world.pools.values()))
    if kind == "distractor":

        return distractor_post(rng, venue.d["homonym"], reply_to)
    pool = venue.world.pools.get(beat) if beat else None
    title, paras, m = T.local_post(rng, pool, reply_to=reply_to)
    if kind == "city-news" and pool and rng.random() < 0.3:
        other = venue.world.pools.get(_pick_beat(rng, venue.d["beats"]) or "")
        if other and other.key != beat:
            paras.insert(1, T.Filler(rng, other, m).fill("Meanwhile in {place}, residents report similar problems."))
    return title, paras, m
