"""Place resolution: which gazetteer entry a mention means, how sure we are, or that it stays open.

The tagger finds names; this module decides what they refer to, using only imported data:

* **Area bias** — entries inside an imported beat beat entries outside the area.
* **Feature type and prominence** — a neighbourhood or town outranks a bus-stop landmark of the
  same name; prominence (0..1, from population or stop counts) breaks ties.
* **Spatial minimality** — names mentioned together are usually near each other, so among the
  candidate combinations the spatially tight one wins; postcodes and the venue's other places
  count as evidence too.
* **Homonyms** — names that mean somewhere else as well (Hanover, Preston, Washington …, listed
  as data) resolve locally only with local support nearby (another place, a postcode), are sent
  elsewhere when words such as "Lower Saxony" or "Lancashire" stand near them, and otherwise
  stay *ambiguous*. So do names whose candidates are far apart with nothing to choose between
  them. An ambiguous mention is kept, never forced.

A beat is never taken from a coarse (outcode-level) point.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.names import normalise
from storage.models import Beat, Place, Postcode

logger = logging.getLogger(__name__)

# Prior of a candidate by feature type: first matching substring wins. Chosen by reading the
# Sussex gazetteer: curated area names and towns are what people name; bus-stop "landmarks"
# repeat everyday names ("Church", "Shops") and deserve least trust.
FEATURE_PRIORS: tuple[tuple[str, float], ...] = (
    ("area:", 0.95), ("town", 0.9), ("suburb", 0.85), ("village", 0.85), ("ward", 0.8),
    ("locality", 0.8), ("park", 0.8), ("estate", 0.8), ("street", 0.7), ("postal_place", 0.6),
    ("water", 0.6), ("hill", 0.6), ("geonames:", 0.6), ("pub", 0.5), ("admin", 0.5),
    ("landmark", 0.4), ("bus_stop", 0.4),
)
DEFAULT_PRIOR = 0.5
PROMINENCE_WEIGHT = 0.25
# Multiplies the prior of a candidate outside every beat when another candidate is inside one.
OUTSIDE_AREA_FACTOR = 0.45
# In-area candidates with a prior at or below this (stop landmarks, pubs) hold no area bias
# against a settlement (prior at least SETTLEMENT_PRIOR) elsewhere of the same name.
MINOR_PRIOR = 0.55
SETTLEMENT_PRIOR = 0.8
# Entries of one name closer than this are one site (the same place from several sources:
# a curated area point, its NaPTAN street, its stops). 1.2 km spans a neighbourhood's sources.
SAME_SITE_KM = 1.2
# Another place or a postcode within this distance supports a candidate: about the size of
# a ward in a city, so "Hanover … Elm Grove" supports Hanover but "Hanover … Hove" does not.
SUPPORT_KM = 2.5
# A one-word pub or landmark name ("Sussex") needs evidence this close: a street or two.
WEAK_SUPPORT_KM = 0.8
# An outward code's point is a district average; it supports what lies within this distance.
OUTCODE_SUPPORT_KM = 4.0
# Distance scale of the proximity bonus and its weight against the prior.
PROXIMITY_SCALE_KM = 2.0
PROXIMITY_WEIGHT = 0.6
# A best site must beat the runner-up by this share of its score to win without support.
AMBIGUITY_MARGIN = 0.2
# With evidence, a site at most half as far from it as the runner-up wins outright.
CLOSER_RATIO = 2.0
# Sites looked at per name (highest prior first); bounds the pairwise work of long posts.
MAX_SITES = 12
# Characters either side of a homonym searched for words that send it elsewhere.
CUE_WINDOW = 120

STATUS_RESOLVED = "resolved"
STATUS_AMBIGUOUS = "ambiguous"
STATUS_ELSEWHERE = "elsewhere"


def distance_km(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Equirectangular distance in km: within 0.1 % of geodesic at neighbourhood scale.

    ``geopy.distance.geodesic`` is exact but ~1000× slower; resolution compares
    distances of a few km, where the flat-earth error is metres.

    >>> round(distance_km(50.8225, -0.1372, 50.8225, -0.1372), 3)
    0.0
    >>> 9 < distance_km(50.82, -0.14, 50.82, -0.0) < 11
    True
    """
    x = math.radians(b_lon - a_lon) * math.cos(math.radians((a_lat + b_lat) / 2))
    y = math.radians(b_lat - a_lat)
    return 6371.0 * math.hypot(x, y)


def feature_prior(feature_type: str) -> float:
    """The prior of a feature type (see ``FEATURE_PRIORS``).

    >>> feature_prior("area:neighbourhood"), feature_prior("bus_stop")
    (0.95, 0.4)
    """
    ft = (feature_type or "").lower()
    for needle, prior in FEATURE_PRIORS:
        if needle in ft:
            return prior
    return DEFAULT_PRIOR


@dataclass(frozen=True, slots=True)
class Candidate:
    """A gazetteer entry a name may mean."""

    place_id: int
    name: str
    lat: float
    lon: float
    beat_id: int | None
    feature_type: str = ""
    prominence: float = 0.0
    coarse: bool = False

    @property
    def in_area(self) -> bool:
        return self.beat_id is not None and not self.coarse

    @property
    def prior(self) -> float:
        return min(1.0, feature_prior(self.feature_type) + PROMINENCE_WEIGHT * self.prominence)


@dataclass(frozen=True, slots=True)
class Anchor:
    """A point known from elsewhere (a postcode, the venue's places) that supports nearby sites."""

    lat: float
    lon: float
    radius_km: float = SUPPORT_KM
    weight: float = 1.0


@dataclass
class Mention:
    """A name found in a text; ``key`` is the compact normalised key of the pattern that matched."""

    key: str
    surface: str
    start: int
    end: int


@dataclass
class Resolution:
    """What a mention was resolved to. ``place`` is None unless ``status == "resolved"``."""

    mention: Mention
    status: str
    place: Candidate | None = None
    confidence: float = 0.0
    candidates: int = 0
    reason: str = ""

    @property
    def ambiguous(self) -> bool:
        return self.status == STATUS_AMBIGUOUS

    @property
    def beat_id(self) -> int | None:
        """The beat the mention speaks for; never from a coarse point."""
        if self.place is None or self.place.coarse:
            return None
        return self.place.beat_id


@dataclass
class _Site:
    best: Candidate
    members: list[Candidate]
    prior: float


@dataclass
class _KeyState:
    key: str
    sites: list[_Site]
    homonym: bool
    weak: bool = False
    elsewhere: bool = False
    choice: _Site | None = None
    status: str = STATUS_AMBIGUOUS
    confidence: float = 0.0
    reason: str = ""


@dataclass
class HomonymCues:
    """Words that send each homonym key elsewhere, and words that do so for any name."""

    by_key: dict[str, tuple[str, ...]] = field(default_factory=dict)
    shared: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._regex: dict[str, re.Pattern[str] | None] = {}
        self._shared_rx = _cue_regex(self.shared)

    def regex(self, key: str) -> re.Pattern[str] | None:
        if key not in self._regex:
            self._regex[key] = _cue_regex(self.by_key.get(key, ()) + self.shared)
        return self._regex[key]

    @property
    def shared_regex(self) -> re.Pattern[str] | None:
        return self._shared_rx


def _cue_regex(cues: Iterable[str]) -> re.Pattern[str] | None:
    cues = sorted({c.lower() for c in cues if c}, key=len, reverse=True)
    if not cues:
        return None
    return re.compile(r"(?<![\w])(?:" + "|".join(re.escape(c) for c in cues) + r")(?![\w])")


class Resolver:
    """Resolves the mentions of one text together, from gazetteer candidates by key.

    Parameters
    ----------
    candidates : mapping of compact name key → candidates (see ``nlp.rules.compact_key``)
    cues : homonym keys and the words that send them elsewhere
    beats : beat id → (key, name), for reporting
    """

    def __init__(self, candidates: Mapping[str, Sequence[Candidate]], *,
                 cues: HomonymCues | None = None,
                 beats: Mapping[int, tuple[str, str]] | None = None,
                 postcodes: Mapping[str, tuple[float, float, int | None]] | None = None,
                 outcodes: Mapping[str, tuple[float, float]] | None = None):
        self.cues = cues or HomonymCues()
        self.beats = dict(beats or {})
        self.postcodes = postcodes or {}
        self.outcodes = dict(outcodes or {})
        self._sites = {key: _make_sites(list(cands)) for key, cands in candidates.items() if cands}
        self.place_count = sum(len(c) for c in candidates.values())
        # Homonyms that name no gazetteer entry here need no cue regex; drop them.
        self.homonym_keys = frozenset(k for k in self.cues.by_key if k in self._sites)
        # One-word names known only as a pub or a stop landmark ("Sussex", "Ruby") are
        # everyday words or bigger places more often than that pub: like homonyms, they need
        # local support to resolve.
        self.weak_keys = frozenset(k for k, sites in self._sites.items() if all(
            c.prior <= MINOR_PRIOR and len(c.name.split()) == 1
            for site in sites for c in site.members))

    # --- construction -------------------------------------------------------------------

    @classmethod
    def from_session(cls, session: Session, *, key_fn=None, cues: HomonymCues | None = None,
                     places: Sequence[Place] | None = None) -> Resolver:
        """Build from the ``places``, ``postcodes`` and ``beats`` tables.

        ``key_fn`` turns a name into its lookup key (default: normalised, spaces removed,
        as :func:`nlp.rules.compact_key`). ``places`` may pass rows already read.
        """
        key_fn = key_fn or _compact
        rows = places if places is not None else session.scalars(select(Place)).all()
        by_key = candidates_by_key(rows, key_fn)
        beats = {b.id: (b.key, b.name) for b in session.execute(
            select(Beat.id, Beat.key, Beat.name))}
        postcodes = {pc: (lat, lon, beat) for pc, lat, lon, beat in session.execute(
            select(Postcode.postcode, Postcode.lat, Postcode.lon, Postcode.beat_id))}
        outcodes = {oc: (lat, lon) for oc, lat, lon in session.execute(
            select(Postcode.outcode, func.avg(Postcode.lat), func.avg(Postcode.lon))
            .group_by(Postcode.outcode))}
        return cls(by_key, cues=cues, beats=beats, postcodes=postcodes, outcodes=outcodes)

    def candidates(self, key: str) -> list[Candidate]:
        return [c for site in self._sites.get(key, ()) for c in site.members]

    def knows(self, key: str) -> bool:
        return key in self._sites

    def beat_label(self, beat_id: int | None) -> tuple[str | None, str | None]:
        """(key, name) of a beat, or (None, None)."""
        return self.beats.get(beat_id, (None, None)) if beat_id is not None else (None, None)

    def postcode_point(self, postcode: str) -> tuple[float, float, int | None] | None:
        return self.postcodes.get(postcode)

    def outcode_point(self, outcode: str) -> tuple[float, float] | None:
        return self.outcodes.get(outcode)

    # --- resolution -----------------------------------------------------------------------

    def resolve(self, mentions: Sequence[Mention], *, text: str = "",
                anchors: Sequence[Anchor] = ()) -> list[Resolution]:
        """Resolve the mentions of one text together.

        ``text`` is searched near homonyms for words that send them elsewhere; ``anchors``
        are points known from the text (postcodes) or the venue that support nearby sites.
        """
        if not mentions:
            return []
        states = self._states(mentions)
        blanked = _blank_mentions(text.lower(), mentions) if text else ""
        doc_elsewhere = self._mark_elsewhere(mentions, states, blanked)
        fixed = self._fix_unique(states, doc_elsewhere)
        self._choose(states, fixed, anchors, doc_elsewhere)
        return [self._result(m, states.get(m.key)) for m in mentions]

    def _states(self, mentions: Sequence[Mention]) -> dict[str, _KeyState]:
        states: dict[str, _KeyState] = {}
        for m in mentions:
            if m.key in states or m.key not in self._sites:
                continue
            states[m.key] = _KeyState(key=m.key, sites=self._sites[m.key],
                                      homonym=m.key in self.homonym_keys,
                                      weak=m.key in self.weak_keys)
        return states

    def _mark_elsewhere(self, mentions: Sequence[Mention], states: dict[str, _KeyState],
                        blanked: str) -> bool:
        """Flag homonyms with an elsewhere cue nearby; True when the text as a whole points away."""
        if not blanked:
            return False
        for m in mentions:
            state = states.get(m.key)
            if state is None or not state.homonym:
                continue
            rx = self.cues.regex(m.key)
            window = blanked[max(0, m.start - CUE_WINDOW): m.end + CUE_WINDOW]
            if rx is not None and rx.search(window):
                state.elsewhere = True
        shared = self.cues.shared_regex
        return any(s.elsewhere for s in states.values()) or bool(shared and shared.search(blanked))

    def _fix_unique(self, states: dict[str, _KeyState], doc_elsewhere: bool) -> list[_Site]:
        """Names with one site and no doubt about them are settled first; they are evidence."""
        fixed: list[_Site] = []
        for state in states.values():
            if len(state.sites) == 1 and not (state.homonym or state.weak or doc_elsewhere):
                site = state.sites[0]
                state.choice, state.status = site, STATUS_RESOLVED
                state.confidence = round(0.7 + 0.25 * site.prior, 3)
                state.reason = "only entry of this name"
                fixed.append(site)
        return fixed

    def _choose(self, states: dict[str, _KeyState], fixed: list[_Site],
                anchors: Sequence[Anchor], doc_elsewhere: bool) -> None:
        open_states = [s for s in states.values() if s.choice is None]
        for state in open_states:
            if state.elsewhere:
                state.status, state.reason = STATUS_ELSEWHERE, "words nearby place it elsewhere"
                continue
            others = [o for o in open_states if o is not state and not o.elsewhere]
            scored = [self._score(site, fixed, others, anchors) for site in state.sites]
            order = sorted(range(len(scored)), key=lambda i: (-scored[i][0], scored[i][1]))
            best_score, best_near = scored[order[0]]
            runner_score, runner_near = scored[order[1]] if len(order) > 1 else (0.0, math.inf)
            # a one-word pub name needs evidence at street distance, not ward distance
            supported = best_near <= (WEAK_SUPPORT_KM / SUPPORT_KM if state.weak else 1.0)
            margin = (best_score - runner_score) / best_score if best_score > 0 else 0.0
            if (state.homonym or state.weak or doc_elsewhere) and not supported:
                state.reason = ("the text points elsewhere" if doc_elsewhere
                                else "no local place or postcode nearby to confirm this name")
                continue
            # With evidence, the clearly closer site wins; without, only a clear prior does.
            closer = supported and best_near * CLOSER_RATIO <= runner_near
            if len(order) > 1 and margin < AMBIGUITY_MARGIN and not closer:
                state.reason = f"{len(order)} places of this name and nothing to choose between them"
                continue
            state.choice, state.status = state.sites[order[0]], STATUS_RESOLVED
            state.confidence = round(min(0.95, 0.5 + 0.3 * margin + (0.2 if supported else 0.0)
                                         + (0.1 if closer else 0.0)), 3)
            state.reason = "supported by places nearby" if supported else "most likely entry"

    def _score(self, site: _Site, fixed: list[_Site], others: list[_KeyState],
               anchors: Sequence[Anchor]) -> tuple[float, float]:
        """Prior plus closeness to the evidence, and the nearest evidence's distance in units
        of its support radius (≤ 1: supported)."""
        lat, lon = site.best.lat, site.best.lon
        best_near = 0.0
        nearest = math.inf
        for f in fixed:
            d = distance_km(lat, lon, f.best.lat, f.best.lon)
            best_near = max(best_near, math.exp(-d / PROXIMITY_SCALE_KM))
            nearest = min(nearest, d / SUPPORT_KM)
        for a in anchors:
            d = distance_km(lat, lon, a.lat, a.lon)
            best_near = max(best_near, a.weight * math.exp(-d / PROXIMITY_SCALE_KM))
            nearest = min(nearest, d / a.radius_km)
        # Spatial minimality among the names still open: the distance to the nearest site of
        # each other name, so the tight combination scores highest.
        for other in others:
            d = min(distance_km(lat, lon, s.best.lat, s.best.lon) for s in other.sites)
            best_near = max(best_near, math.exp(-d / PROXIMITY_SCALE_KM))
            nearest = min(nearest, d / SUPPORT_KM)
        return site.prior + PROXIMITY_WEIGHT * best_near, nearest

    def _result(self, mention: Mention, state: _KeyState | None) -> Resolution:
        if state is None:
            return Resolution(mention, STATUS_AMBIGUOUS, reason="not in the gazetteer")
        count = sum(len(s.members) for s in state.sites)
        place = state.choice.best if state.choice is not None else None
        return Resolution(mention, state.status, place, state.confidence if place else 0.0,
                          count, state.reason)


def _compact(name: str) -> str:
    return normalise(name).replace(" ", "")


def candidates_by_key(rows: Iterable, key_fn=_compact) -> dict[str, list[Candidate]]:
    """Group places rows (anything with Place's attributes) by the key of each of their names."""
    out: dict[str, list[Candidate]] = defaultdict(list)
    for row in rows:
        cand = Candidate(place_id=row.id, name=row.name, lat=row.lat, lon=row.lon,
                         beat_id=row.beat_id, feature_type=row.feature_type or "",
                         prominence=float(row.prominence or 0.0), coarse=bool(row.coarse))
        keys = {key_fn(n) for n in (row.name, *(row.alt_names or [])) if n}
        for key in keys:
            if key:
                out[key].append(cand)
    return dict(out)


def _make_sites(cands: list[Candidate]) -> list[_Site]:
    """Cluster a name's entries into sites, apply area bias, keep the best ``MAX_SITES``.

    Area bias: entries outside every beat lose against entries inside one, except that a
    bus-stop landmark called "Chichester" in the area must not outrank the city of Chichester.
    """
    major_in_area = any(c.in_area and c.prior > MINOR_PRIOR for c in cands)
    any_in_area = any(c.in_area for c in cands)
    ranked = sorted(cands, key=lambda c: (-_biased_prior(c, any_in_area, major_in_area),
                                          c.place_id))
    sites: list[_Site] = []
    for cand in ranked:
        for site in sites:
            if distance_km(cand.lat, cand.lon, site.best.lat, site.best.lon) <= SAME_SITE_KM:
                site.members.append(cand)
                # A fine point beats a coarse one as the site's representative.
                if site.best.coarse and not cand.coarse:
                    site.best = cand
                break
        else:
            sites.append(_Site(best=cand, members=[cand],
                               prior=_biased_prior(cand, any_in_area, major_in_area)))
    return sites[:MAX_SITES]


def _biased_prior(cand: Candidate, any_in_area: bool, major_in_area: bool) -> float:
    prior = cand.prior
    if any_in_area and not cand.in_area:
        # A town elsewhere keeps its prior against mere stop landmarks or pubs in the area.
        if major_in_area or cand.prior < SETTLEMENT_PRIOR:
            prior *= OUTSIDE_AREA_FACTOR
    return prior


def _blank_mentions(lowered: str, mentions: Sequence[Mention]) -> str:
    """The text with every mention blanked, so "London Road" is no cue for "London"."""
    chars = list(lowered)
    for m in mentions:
        chars[m.start:m.end] = " " * (m.end - m.start)
    return "".join(chars)


def anchors_for_postcodes(resolver: Resolver, codes: Iterable[str]) -> list[Anchor]:
    """Support points of full postcodes (their unit point) and outward codes (district mean)."""
    out: list[Anchor] = []
    for code in codes:
        if " " in code:
            hit = resolver.postcode_point(code)
            if hit:
                out.append(Anchor(hit[0], hit[1], SUPPORT_KM, 1.0))
        else:
            point = resolver.outcode_point(code)
            if point:
                out.append(Anchor(point[0], point[1], OUTCODE_SUPPORT_KM, 0.5))
    return out
