"""The tagger: places, postcodes and topics of a text, resolved to gazetteer entries and beats.

``Tagger.from_session`` builds a tokenizer-only spaCy pipeline with three rule components
(:mod:`nlp.components`) from the imported gazetteer and the topic data, and a
:class:`geo.resolve.Resolver`. ``tag`` reads one text; ``tag_posts`` tags stored posts inside
the caller's transaction (the crawler commits page, posts, tags and ledger together);
``rescan`` re-tags everything after a gazetteer or topic change.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import spacy
from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session

import nlp.components  # noqa: F401  (registers the spaCy factories)
from geo.postcodes import outcode_of, parse_postcode
from geo.resolve import (
    STATUS_RESOLVED,
    Anchor,
    HomonymCues,
    Mention,
    Resolution,
    Resolver,
    anchors_for_postcodes,
)
from nlp.components import OUTCODE_LABEL, PLACE_LABEL, POSTCODE_LABEL, TOPICS_KEY
from nlp.ner import PLACE_LABELS, load_ner
from nlp.patterns import GazetteerName, cached_patterns, default_cache_dir
from nlp.rules import DATA, TOPIC_FILES, compact_key, homonym_rules
from nlp.text import chunks, clean
from nlp.topics import priority_topics, sync_topics
from storage.db import upsert, utcnow
from storage.ids import stable_id
from storage.models import Meta, Place, PlaceMention, Post, PostBeat, PostTopic

logger = logging.getLogger(__name__)

META_KEY = "nlp_patterns"
_REPLY_TITLE = re.compile(r"^(re|aw|sv|antw)\s*(\[\d+\])?\s*:", re.I)
# Texts per spaCy batch in bulk tagging; 256 short posts keep memory flat and the
# tokenizer's cache warm (measured: larger batches gained nothing).
BATCH_SIZE = 256
# Confidence of a full postcode found in the postcode table: its point is exact.
POSTCODE_CONFIDENCE = 0.95
# Venue context: a venue's own resolved places support its posts' unclear names, once it has
# at least this many resolved mentions; each context point counts at this weight.
VENUE_CONTEXT_MIN = 3
VENUE_CONTEXT_POINTS = 8
VENUE_CONTEXT_WEIGHT = 0.6
# Venue-level beats: a beat counts for a venue when its posts give it at least this share.
VENUE_MIN_SHARE = 0.15


@dataclass
class PlaceHit:
    """A place mention: where it is in the text and what it was resolved to."""

    surface: str
    start: int
    end: int
    key: str
    status: str  # resolved, ambiguous, elsewhere
    place_id: int | None = None
    name: str | None = None
    lat: float | None = None
    lon: float | None = None
    beat_id: int | None = None
    beat: str | None = None  # beat key
    beat_name: str | None = None
    confidence: float = 0.0
    candidates: int = 0
    reason: str = ""
    source: str = "gazetteer"  # or the statistical model's name

    @property
    def ambiguous(self) -> bool:
        return self.status == "ambiguous"


@dataclass
class PostcodeHit:
    """A full postcode (kind "postcode") or an outward code (kind "outcode", never a beat)."""

    surface: str
    start: int
    end: int
    postcode: str
    kind: str
    outcode: str
    found: bool = False
    lat: float | None = None
    lon: float | None = None
    beat_id: int | None = None
    beat: str | None = None
    beat_name: str | None = None
    confidence: float = 0.0
    coarse: bool = False
    note: str = ""


@dataclass
class TagResult:
    """Everything the tagger found in one text."""

    places: list[PlaceHit] = field(default_factory=list)
    postcodes: list[PostcodeHit] = field(default_factory=list)
    topics: dict[str, int] = field(default_factory=dict)
    beats: dict[str, float] = field(default_factory=dict)  # beat key → weight
    beat_ids: dict[int, float] = field(default_factory=dict)  # beat id → weight
    beat_names: dict[str, str] = field(default_factory=dict)  # beat key → name
    words: int = 0

    def as_dict(self) -> dict:
        """JSON-ready form; beats as a list ``[{"beat": NAME, "key": KEY, "weight": W}]``."""
        places = []
        for p in self.places:
            row = asdict(p)
            row["ambiguous"] = p.ambiguous
            places.append(row)
        beats = [{"beat": self.beat_names.get(k, k), "key": k, "weight": round(w, 4)}
                 for k, w in sorted(self.beats.items(), key=lambda kv: -kv[1])]
        return {"places": places, "postcodes": [asdict(p) for p in self.postcodes],
                "topics": dict(self.topics), "beats": beats}


@dataclass
class _Extraction:
    """What spaCy found, before resolution (offsets into the original text)."""

    text: str
    mentions: list[Mention]
    sources: list[str]
    postcodes: list[tuple[int, int, str]]
    topics: Counter
    words: int


def post_document(title: str | None, text: str | None) -> str:
    """The text a post is tagged as: its title, a blank line, its body.

    ``place_mentions`` offsets point into this string. A reply's "Re: …" title only repeats
    its thread's title, so it is left out: the thread's places count once, with the thread.

    >>> post_document("Fair", "On the Level")
    'Fair\\n\\nOn the Level'
    >>> post_document(None, "Body"), post_document("Re: Fair on the Level", "Count me in")
    ('Body', 'Count me in')
    """
    title = (title or "").strip()
    if _REPLY_TITLE.match(title):
        title = ""
    body = text or ""
    return f"{title}\n\n{body}" if title else body


class Tagger:
    """Rule-based tagging over ``spacy.blank("en")`` plus resolution through :mod:`geo.resolve`."""

    def __init__(self, nlp: spacy.language.Language, resolver: Resolver, *,
                 ner: spacy.language.Language | None = None, ner_name: str = ""):
        self.nlp = nlp
        self.resolver = resolver
        self.ner = ner
        self.ner_name = ner_name
        self.patterns_path: Path | None = None
        self.patterns_built = False
        # Running counts of tag_posts, named like Scrapy stats ("places/ambiguous") so the
        # crawler can copy them into its per-run stats.
        self.stats: Counter = Counter()

    # --- construction -------------------------------------------------------------------

    @classmethod
    def from_session(cls, session: Session, *, cache_dir: Path | str | None = None,
                     ner_model: str | None = None) -> Tagger:
        """Build from the imported gazetteer, postcodes, beats and beat priorities.

        Place patterns are cached in ``cache_dir`` (default: next to a SQLite database, else
        ``~/.cache/beatmap``) under a hash of the gazetteer and rules; the hash is recorded in
        the ``meta`` table (``nlp_patterns``). ``ner_model`` names an installed spaCy pipeline
        whose ``ner`` adds places the gazetteer lacks (optional; see ``nlp.ner``).
        """
        started = time.perf_counter()
        places = session.scalars(select(Place)).all()
        names = [GazetteerName(p.id, p.name, tuple(p.alt_names or ()), p.feature_type or "")
                 for p in places]
        if not names:
            logger.warning("the gazetteer is empty, so no place names will be found: import "
                           "it with `beatmap gazetteer import`")
        if cache_dir is None:
            bind = session.get_bind()
            cache_dir = default_cache_dir(bind.url.render_as_string(hide_password=True))
        path, digest, built = cached_patterns(names, Path(cache_dir))
        _record_patterns(session, digest, path, len(names))
        homonyms, shared = homonym_rules()
        cues = HomonymCues({k: r.elsewhere for k, r in homonyms.items()}, shared)
        resolver = Resolver.from_session(session, key_fn=compact_key, cues=cues, places=places)
        extra = [{"key": p.key, "patterns": list(p.patterns)} for p in priority_topics(session)]
        pipeline = build_pipeline(path, sorted(resolver.outcodes), extra)
        ner = None
        if ner_model:
            ner = load_ner(ner_model)
        tagger = cls(pipeline, resolver, ner=ner, ner_name=ner_model or "")
        tagger.patterns_path, tagger.patterns_built = path, built
        logger.info("tagger ready in %.2fs: %d gazetteer entries, patterns %s (%s)",
                    time.perf_counter() - started, len(names), path.name,
                    "built" if built else "cached")
        return tagger

    # --- tagging --------------------------------------------------------------------------

    def tag(self, text: str, *, anchors: Sequence[Anchor] = ()) -> TagResult:
        """Tag one text. ``anchors`` are points known from context (e.g. the venue)."""
        return self.resolve(self.extract([text])[0], anchors=anchors)

    def tag_many(self, texts: Iterable[str]) -> list[TagResult]:
        """Tag many texts in spaCy batches."""
        return [self.resolve(e) for e in self.extract(list(texts))]

    def extract(self, texts: Sequence[str]) -> list[_Extraction]:
        """Run the spaCy pipeline over ``texts`` (cleaned and chunked); no resolution yet."""
        cleaned = [clean(t or "") for t in texts]
        pieces: list[tuple[int, int, str]] = []  # (text index, offset, piece)
        for i, ct in enumerate(cleaned):
            for offset, piece in chunks(ct.text):
                pieces.append((i, offset, piece))
        found: list[dict] = [{"places": [], "codes": [], "topics": Counter(), "words": 0}
                             for _ in texts]
        docs = self.nlp.pipe((p for _i, _o, p in pieces), batch_size=BATCH_SIZE)
        for (i, offset, piece), doc in zip(pieces, docs, strict=True):
            found[i]["words"] += len(piece.split())
            _collect(doc, offset, found[i])
        if self.ner is not None:
            self._add_ner(pieces, found)
        out = []
        for text, ct, f in zip(texts, cleaned, found, strict=True):
            out.append(_to_extraction(text or "", ct, f))
        return out

    def _add_ner(self, pieces: list[tuple[int, int, str]], found: list[dict]) -> None:
        docs = self.ner.pipe((p for _i, _o, p in pieces), batch_size=BATCH_SIZE)
        for (i, offset, _piece), doc in zip(pieces, docs, strict=True):
            taken = [(s, e) for s, e, _k, _src in found[i]["places"]]
            for ent in doc.ents:
                if ent.label_ not in PLACE_LABELS:
                    continue
                s, e = ent.start_char + offset, ent.end_char + offset
                if any(s < te and ts < e for ts, te in taken):
                    continue
                found[i]["places"].append((s, e, compact_key(ent.text), self.ner_name))

    def resolve(self, ex: _Extraction, *, anchors: Sequence[Anchor] = ()) -> TagResult:
        """Resolve an extraction's mentions and postcodes; compute its beat weights."""
        result = TagResult(topics=dict(ex.topics), words=ex.words)
        codes = [c for _s, _e, c in ex.postcodes]
        all_anchors = list(anchors) + anchors_for_postcodes(self.resolver, codes)
        resolutions = self.resolver.resolve(ex.mentions, text=ex.text, anchors=all_anchors)
        for res, source in zip(resolutions, ex.sources, strict=True):
            result.places.append(self._place_hit(res, source))
        for start, end, code in ex.postcodes:
            result.postcodes.append(self._postcode_hit(ex.text, start, end, code))
        _beat_weights(result)
        return result

    def _place_hit(self, res: Resolution, source: str) -> PlaceHit:
        m = res.mention
        hit = PlaceHit(surface=m.surface, start=m.start, end=m.end, key=m.key, status=res.status,
                       confidence=res.confidence, candidates=res.candidates, reason=res.reason,
                       source=source)
        if res.place is not None:
            p = res.place
            hit.place_id, hit.name, hit.lat, hit.lon = p.place_id, p.name, p.lat, p.lon
            hit.beat_id = res.beat_id
            hit.beat, hit.beat_name = self.resolver.beat_label(hit.beat_id)
        return hit

    def _postcode_hit(self, text: str, start: int, end: int, code: str) -> PostcodeHit:
        full = " " in code
        hit = PostcodeHit(surface=text[start:end], start=start, end=end, postcode=code,
                          kind="postcode" if full else "outcode", outcode=outcode_of(code))
        if full:
            point = self.resolver.postcode_point(code)
            if point is None:
                hit.note = "not in the imported postcode data"
                return hit
            hit.found, hit.lat, hit.lon, hit.beat_id = True, point[0], point[1], point[2]
            hit.confidence = POSTCODE_CONFIDENCE
            hit.beat, hit.beat_name = self.resolver.beat_label(hit.beat_id)
            if hit.beat_id is None:
                hit.note = "outside every beat"
            return hit
        hit.coarse = True
        point = self.resolver.outcode_point(code)
        if point is not None:
            hit.found, hit.lat, hit.lon = True, point[0], point[1]
            hit.confidence = POSTCODE_CONFIDENCE
        hit.note = "outward code: a district, too coarse for a beat"
        return hit

    # --- stored posts ---------------------------------------------------------------------

    def tag_posts(self, session: Session, posts: Sequence[Post]) -> int:
        """Tag ``posts`` and write their mentions, topics and beats in ``session``; no commit.

        Re-running replaces the previous rows of these posts (idempotent). Posts whose text
        was purged are skipped. Returns the number of posts tagged.
        """
        posts = [p for p in posts if p.text is not None or p.title]
        if not posts:
            return 0
        session.flush()  # the posts must exist before rows that refer to them
        extractions = self.extract([post_document(p.title, p.text) for p in posts])
        results = [self.resolve(e) for e in extractions]
        self._second_pass(session, posts, extractions, results)
        ids = [p.id for p in posts]
        for model in (PlaceMention, PostTopic, PostBeat):
            session.execute(delete(model).where(model.post_id.in_(ids)))
        mention_rows, topic_rows, beat_rows = [], [], []
        for post, result in zip(posts, results, strict=True):
            mention_rows.extend(_mention_rows(post.id, result))
            topic_rows.extend({"post_id": post.id, "topic": k, "count": n}
                              for k, n in result.topics.items())
            beat_rows.extend({"post_id": post.id, "beat_id": b, "weight": w}
                             for b, w in result.beat_ids.items())
        for model, rows in ((PlaceMention, mention_rows), (PostTopic, topic_rows),
                            (PostBeat, beat_rows)):
            if rows:
                session.execute(insert(model), rows)
        now = utcnow()
        for post in posts:
            post.tagged_at = now
        session.flush()
        self._count(results)
        return len(posts)

    def _count(self, results: Sequence[TagResult]) -> None:
        stats = self.stats
        stats["posts/tagged"] += len(results)
        for r in results:
            stats["posts/with_beat"] += bool(r.beat_ids)
            for p in r.places:
                stats[f"places/{p.status}"] += 1
            for pc in r.postcodes:
                stats[f"postcodes/{pc.kind}"] += 1

    def _second_pass(self, session: Session, posts: Sequence[Post],
                     extractions: list[_Extraction], results: list[TagResult]) -> None:
        """Re-resolve posts with open names using their venue's resolved places as context."""
        by_venue: dict[int, list[int]] = defaultdict(list)
        for i, post in enumerate(posts):
            by_venue[post.venue_id].append(i)
        for venue_id, indexes in by_venue.items():
            if not any(h.status != STATUS_RESOLVED for i in indexes for h in results[i].places):
                continue
            points = Counter(venue_points(session, venue_id, exclude=[posts[i].id for i in indexes]))
            for i in indexes:
                points.update((h.lat, h.lon) for h in results[i].places
                              if h.status == STATUS_RESOLVED and h.beat_id is not None)
            anchors = venue_anchors(points)
            if not anchors:
                continue
            for i in indexes:
                if any(h.status != STATUS_RESOLVED for h in results[i].places):
                    results[i] = self.resolve(extractions[i], anchors=anchors)


def build_pipeline(patterns_path: Path | str, outcodes: Sequence[str],
                   extra_topics: Sequence[dict] = ()) -> spacy.language.Language:
    """``spacy.blank("en")`` with the places, postcodes and topics components."""
    pipeline = spacy.blank("en")
    pipeline.add_pipe("beatmap_places", config={"patterns_path": str(patterns_path)})
    pipeline.add_pipe("beatmap_postcodes", config={"outcodes": list(outcodes)})
    pipeline.add_pipe("beatmap_topics", config={
        "paths": [str(DATA / f) for f in TOPIC_FILES], "extra": list(extra_topics)})
    return pipeline


def _collect(doc, offset: int, into: dict) -> None:
    for ent in doc.ents:
        s, e = ent.start_char + offset, ent.end_char + offset
        if ent.label_ == PLACE_LABEL:
            into["places"].append((s, e, ent.kb_id_, "gazetteer"))
        elif ent.label_ in (POSTCODE_LABEL, OUTCODE_LABEL):
            into["codes"].append((s, e))
    for span in doc.spans.get(TOPICS_KEY, ()):
        into["topics"][span.label_] += 1


def _to_extraction(text: str, ct, found: dict) -> _Extraction:
    mentions, sources = [], []
    for s, e, key, source in sorted(found["places"]):
        os_, oe = ct.original_offset(s), ct.original_offset(e - 1) + 1
        mentions.append(Mention(key=key, surface=text[os_:oe], start=os_, end=oe))
        sources.append(source)
    codes = []
    for s, e in found["codes"]:
        os_, oe = ct.original_offset(s), ct.original_offset(e - 1) + 1
        code = parse_postcode(ct.text[s:e])
        if code:
            codes.append((os_, oe, code))
    return _Extraction(text=text, mentions=mentions, sources=sources, postcodes=codes,
                       topics=found["topics"], words=found["words"])


def _beat_weights(result: TagResult) -> None:
    """Beat weight = summed confidence of the beat's mentions over max(total, 1)."""
    sums: dict[int, float] = defaultdict(float)
    labels: dict[int, tuple[str | None, str | None]] = {}
    for p in result.places:
        if p.status == STATUS_RESOLVED and p.beat_id is not None:
            sums[p.beat_id] += p.confidence
            labels[p.beat_id] = (p.beat, p.beat_name)
    for pc in result.postcodes:
        if pc.kind == "postcode" and pc.beat_id is not None:
            sums[pc.beat_id] += pc.confidence
            labels[pc.beat_id] = (pc.beat, pc.beat_name)
    total = max(1.0, sum(sums.values()))
    for beat_id, s in sums.items():
        weight = round(s / total, 4)
        result.beat_ids[beat_id] = weight
        key, name = labels[beat_id]
        result.beats[key or str(beat_id)] = weight
        result.beat_names[key or str(beat_id)] = name or key or str(beat_id)


def _mention_rows(post_id: int, result: TagResult) -> list[dict]:
    rows = []
    for p in result.places:
        rows.append({"id": stable_id(post_id, p.start, p.end), "post_id": post_id, "kind": "place",
                     "surface": p.surface[:500], "start": p.start, "end": p.end,
                     "place_id": p.place_id, "postcode": None, "beat_id": p.beat_id,
                     "confidence": p.confidence, "ambiguous": p.ambiguous})
    for pc in result.postcodes:
        rows.append({"id": stable_id(post_id, pc.start, pc.end), "post_id": post_id,
                     "kind": pc.kind, "surface": pc.surface, "start": pc.start, "end": pc.end,
                     "place_id": None, "postcode": pc.postcode, "beat_id": pc.beat_id,
                     "confidence": pc.confidence, "ambiguous": False})
    return rows


def _record_patterns(session: Session, digest: str, path: Path, entries: int) -> None:
    """Remember in ``meta`` which gazetteer the cached patterns were built from.

    An upsert, because several crawler workers may build their taggers at the same moment.
    """
    value = f"{digest} {path.name} {entries}"
    if session.scalar(select(Meta.value).where(Meta.key == META_KEY)) == value:
        return
    upsert(session, Meta, [{"key": META_KEY, "value": value, "updated_at": utcnow()}],
           keys=["key"], update=["value", "updated_at"])


# --- venue context and venue-level beats -------------------------------------------------


def venue_points(session: Session, venue_id: int, *, exclude: Sequence[int] = ()
                 ) -> list[tuple[float, float]]:
    """Points of the venue's resolved, in-beat place mentions already stored."""
    stmt = (select(Place.lat, Place.lon)
            .join(PlaceMention, PlaceMention.place_id == Place.id)
            .join(Post, Post.id == PlaceMention.post_id)
            .where(Post.venue_id == venue_id, PlaceMention.ambiguous.is_(False),
                   PlaceMention.beat_id.is_not(None)))
    if exclude:
        stmt = stmt.where(Post.id.not_in(list(exclude)))
    return [(lat, lon) for lat, lon in session.execute(stmt)]


def venue_anchors(points: Counter) -> list[Anchor]:
    """The venue's most-mentioned points as weak anchors, once it has enough of them."""
    if sum(points.values()) < VENUE_CONTEXT_MIN:
        return []
    return [Anchor(lat, lon, weight=VENUE_CONTEXT_WEIGHT)
            for (lat, lon), _n in points.most_common(VENUE_CONTEXT_POINTS)]


def venue_beat_weights(session: Session, venue_id: int) -> dict[int, float]:
    """Beat id → share of the venue's posts' beat weight (sums to 1 when any).

    A venue whose posts name no local place gets ``{}``. The ranking's locality part can
    multiply the share by how many of the venue's posts are localised at all.
    """
    stmt = (select(PostBeat.beat_id, func.sum(PostBeat.weight))
            .join(Post, Post.id == PostBeat.post_id)
            .where(Post.venue_id == venue_id).group_by(PostBeat.beat_id))
    sums = {beat_id: float(total) for beat_id, total in session.execute(stmt)}
    total = sum(sums.values())
    if total <= 0:
        return {}
    return {b: round(s / total, 4) for b, s in sorted(sums.items(), key=lambda kv: -kv[1])}


def venue_beats(session: Session, venue_id: int, *, min_share: float = VENUE_MIN_SHARE
                ) -> dict[int, float]:
    """The beats a venue is about: those with at least ``min_share`` of its beat weight."""
    return {b: w for b, w in venue_beat_weights(session, venue_id).items() if w >= min_share}


# --- rescan ------------------------------------------------------------------------------


def rescan(session: Session, *, batch: int = 500, tagger: Tagger | None = None,
           only_untagged: bool = False,
           progress: Callable[[int, int], None] | None = None) -> int:
    """Re-tag stored posts in batches, committing after each batch; returns posts tagged.

    Use after a gazetteer or topic change (``beatmap tag --rescan``). ``progress`` is
    called with (done, total) after each batch.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    tagger = tagger or Tagger.from_session(session)
    sync_topics(session)
    session.commit()
    where = [Post.text.is_not(None)]
    if only_untagged:
        where.append(Post.tagged_at.is_(None))
    total = session.scalar(select(func.count()).select_from(Post).where(*where)) or 0
    done, last_id = 0, None
    while True:
        stmt = select(Post).where(*where).order_by(Post.venue_id, Post.id).limit(batch)
        if last_id is not None:
            stmt = stmt.where(_after(last_id))
        posts = session.scalars(stmt).all()
        if not posts:
            break
        done += tagger.tag_posts(session, posts)
        session.commit()
        last_id = (posts[-1].venue_id, posts[-1].id)
        if progress:
            progress(done, total)
    return done


def _after(last: tuple[int, int]):
    """Keyset condition: rows after (venue_id, id) in (venue_id, id) order."""
    venue_id, post_id = last
    return or_(Post.venue_id > venue_id, and_(Post.venue_id == venue_id, Post.id > post_id))
