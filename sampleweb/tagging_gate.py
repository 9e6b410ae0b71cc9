"""Tagging quality against the sample web's ground truth: mentions, post beats, venue beats.

The sample web (:mod:`sampleweb`) knows which places each synthetic post names, the
beat each post is about, each venue's beat weights and which venues are out-of-area homonym
distractors. :func:`score_sample_web` stores its posts, tags them through the production path
(:meth:`nlp.tagger.Tagger.tag_posts`, venue by venue as a crawl would) and compares.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from nlp.rules import compact_key
from nlp.tagger import Tagger, post_document, venue_beat_weights
from sampleweb.model import World
from storage.db import utcnow
from storage.ids import stable_id
from storage.models import Beat, PlaceMention, Post, PostBeat, PostTopic, Venue

logger = logging.getLogger(__name__)

# Venues whose main beat has less than this share of their truth weights (city-wide forums)
# have no main beat to get right; they are counted apart.
AREA_WIDE_SHARE = 0.25
# The sample web's topic keys that ours spell differently (same topic).
TRUTH_TOPIC_ALIASES = {"roads-potholes": "roads-transport"}


@dataclass
class Quality:
    """Scores in 0..1 and the counts behind them."""

    mention_precision: float = 0.0  # resolved in-beat mentions that name a true place, right beat
    mention_recall: float = 0.0  # true places found at all (any status)
    mention_resolved_recall: float = 0.0  # true places resolved to their true beat
    post_beat_accuracy: float = 0.0  # posts naming a place of a beat, top tagged beat right
    post_beat_coverage: float = 0.0  # posts about a beat that got any beat
    post_wrong_beat: float = 0.0  # posts about a beat whose top tagged beat is another one
    venue_beat_accuracy: float = 0.0  # venues whose top tagged beat is their posts' main beat
    venue_declared_beat_accuracy: float = 0.0  # … is the generator's main beat for the venue
    topic_precision: float = 0.0  # tagged topics of a post that its truth lists
    topic_recall: float = 0.0  # truth topics of a post that were tagged
    distractors: int = 0
    distractors_with_a_beat: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)  # a few examples, for people

    def as_dict(self) -> dict:
        return asdict(self)


def load_truth(sample_dir: Path | str) -> dict:
    path = Path(sample_dir) / "ground_truth.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise OSError(f"no ground truth at {path}: run `python -m sampleweb build` first") from exc


def score_sample_web(session: Session, tagger: Tagger, sample_dir: Path | str) -> Quality:
    """Store the sample web's posts, tag them, and score the result (commits per venue)."""

    truth = load_truth(sample_dir)
    world = World.load(sample_dir)
    beat_keys = {b.id: b.key for b in session.scalars(select(Beat))}
    q = Quality()
    c = {"true_places": 0, "found": 0, "resolved_right": 0, "predicted": 0, "predicted_right": 0,
         "posts_about_a_beat": 0, "posts_right": 0, "posts_with_beat": 0, "posts_wrong": 0,
         "venues_scored": 0, "venues_right": 0, "venues_right_declared": 0,
         "venues_naming_no_place": 0, "venues_area_wide": 0, "posts_naming_no_place": 0,
         "topics_true": 0, "topics_found": 0, "topics_tagged": 0, "topics_right": 0}
    for vt in truth["venues"]:
        posts_truth = vt.get("posts") or []
        if not posts_truth:
            continue
        venue = world.by_id[vt["id"]]
        vid, posts = _store(session, vt, venue.posts)
        tagger.tag_posts(session, posts)
        session.commit()
        for post, wp, pt in zip(posts, venue.posts, posts_truth, strict=True):
            # A reply's title repeats its thread's; the truth counts only the reply's own text.
            body_from = len(post_document(post.title, post.text)) - len(post.text or "") \
                if wp.pos > 0 else 0
            _score_post(session, post, pt, beat_keys, c, q, body_from)
        weights = venue_beat_weights(session, vid)
        top = beat_keys.get(max(weights, key=weights.get)) if weights else None
        if vt["distractor"]:
            q.distractors += 1
            if weights:
                q.distractors_with_a_beat += 1
                q.misses.append(f"distractor {vt['name']!r} got beats {weights}")
        elif vt["beats"] and max(vt["beats"].values()) < AREA_WIDE_SHARE:
            c["venues_area_wide"] += 1
        elif vt["beats"]:
            _score_venue(vt, top, c, q)
    q.mention_precision = _ratio(c["predicted_right"], c["predicted"])
    q.mention_recall = _ratio(c["found"], c["true_places"])
    q.mention_resolved_recall = _ratio(c["resolved_right"], c["true_places"])
    q.post_beat_accuracy = _ratio(c["posts_right"], c["posts_about_a_beat"])
    q.post_beat_coverage = _ratio(c["posts_with_beat"], c["posts_about_a_beat"])
    q.post_wrong_beat = _ratio(c["posts_wrong"], c["posts_about_a_beat"])
    q.topic_precision = _ratio(c["topics_right"], c["topics_tagged"])
    q.topic_recall = _ratio(c["topics_found"], c["topics_true"])
    q.venue_beat_accuracy = _ratio(c["venues_right"], c["venues_scored"])
    q.venue_declared_beat_accuracy = _ratio(c["venues_right_declared"], c["venues_scored"])
    q.counts = c
    return q


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 1.0


def _store(session: Session, vt: dict, world_posts) -> tuple[int, list[Post]]:
    now = utcnow()
    vid = stable_id("venue", "sampleweb", vt["id"])
    session.merge(Venue(id=vid, key=f"sampleweb:{vt['id']}", platform=vt["platform"],
                        name=vt["name"], url=vt["url"], host=vt["host"], discovered_via="seed",
                        first_seen_at=now, updated_at=now))
    session.flush()
    posts = []
    for n, wp in enumerate(world_posts):
        post = session.merge(Post(id=stable_id("post", vid, n), post_fp=f"{vt['id']}#{n}",
                                  venue_id=vid, url=f"{vt['url']}#{n}", title=wp.title,
                                  text=wp.text, created_at=now))
        posts.append(post)
    session.flush()
    return vid, posts


def _score_topics(session: Session, post: Post, pt: dict, c: dict) -> None:
    """Topics are scored on posts whose truth names topics (generic posts name none, though
    their words may still be about something)."""
    truth = {TRUTH_TOPIC_ALIASES.get(t, t) for t in pt.get("topics") or []}
    if not truth:
        return
    tagged = set(session.scalars(select(PostTopic.topic).where(PostTopic.post_id == post.id)))
    c["topics_true"] += len(truth)
    c["topics_found"] += len(truth & tagged)
    c["topics_tagged"] += len(tagged)
    c["topics_right"] += len(tagged & truth)


def _score_venue(vt: dict, top: str | None, c: dict, q: Quality) -> None:
    """Compare the venue's top tagged beat with the main beat of the posts it really has.

    The generator draws each post's beat from the venue's weights, so a venue of five posts
    may by chance be mostly about its second beat; the tagger can only see the posts. Both
    figures are kept: against the posts (gated) and against the declared weights.
    """
    counts: dict[str, int] = {}
    for pt in vt["posts"]:
        if pt.get("beat") and (pt["places"] or pt["postcodes"]):
            counts[pt["beat"]] = counts.get(pt["beat"], 0) + 1
    if not counts:
        c["venues_naming_no_place"] += 1
        return
    c["venues_scored"] += 1
    declared = max(vt["beats"], key=vt["beats"].get)
    # ties between the posts' beats go to the declared weights
    main = max(counts, key=lambda b: (counts[b], vt["beats"].get(b, 0.0)))
    c["venues_right"] += top == main
    c["venues_right_declared"] += top == declared
    if top != main and len(q.misses) < 40:
        q.misses.insert(0, f"venue {vt['name']!r}: posts' main beat {main}, tagged {top}")


def _score_post(session: Session, post: Post, pt: dict, beat_keys: dict[int, str], c: dict,
                q: Quality, body_from: int) -> None:
    _score_topics(session, post, pt, c)
    true_beat = {compact_key(p["name"]): p["beat"] for p in pt["places"]}
    mentions = session.scalars(select(PlaceMention).where(
        PlaceMention.post_id == post.id, PlaceMention.kind == "place",
        PlaceMention.start >= body_from)).all()
    doc_keys: dict[str, list[PlaceMention]] = {}
    for m in mentions:
        doc_keys.setdefault(compact_key(m.surface), []).append(m)
    c["true_places"] += len(true_beat)
    for key, beat in true_beat.items():
        found = doc_keys.get(key, [])
        c["found"] += bool(found)
        c["resolved_right"] += any(beat_keys.get(m.beat_id) == beat for m in found)
    for m in mentions:
        if m.beat_id is None:
            continue
        c["predicted"] += 1
        right = true_beat.get(compact_key(m.surface)) == beat_keys.get(m.beat_id)
        c["predicted_right"] += right
        if not right and len(q.misses) < 20:
            q.misses.append(f"mention {m.surface!r} tagged {beat_keys.get(m.beat_id)}, "
                            f"truth {true_beat.get(compact_key(m.surface))}")
    if not pt.get("beat"):
        return
    if not (pt["places"] or pt["postcodes"]):
        c["posts_naming_no_place"] += 1  # nothing in the text can place it
        return
    c["posts_about_a_beat"] += 1
    rows = session.execute(select(PostBeat.beat_id, PostBeat.weight)
                           .where(PostBeat.post_id == post.id)).all()
    if rows:
        c["posts_with_beat"] += 1
        top = beat_keys.get(max(rows, key=lambda r: r[1])[0])
        c["posts_right"] += top == pt["beat"]
        c["posts_wrong"] += top != pt["beat"]
