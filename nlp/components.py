"""spaCy components: gazetteer places and UK postcodes to ``doc.ents``, topics to ``doc.spans``.

All three are rule components over a tokenizer-only pipeline (``spacy.blank("en")``); their
patterns come from files named in the pipeline config, so the same pipeline can be rebuilt
from configuration alone.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence

from spacy.attrs import SHAPE
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from geo.postcodes import parse_postcode
from nlp.patterns import load_patterns
from nlp.rules import TopicDef, name_rules, read_jsonl

logger = logging.getLogger(__name__)

PLACE_LABEL = "PLACE"
POSTCODE_LABEL = "POSTCODE"
OUTCODE_LABEL = "OUTCODE"
TOPICS_KEY = "topics"


def _shapes(parts: list[list[str]]) -> list[str]:
    """Every concatenation of one option per part: [["X", "x"], ["d"]] → ["Xd", "xd"]."""
    out = [""]
    for options in parts:
        out = [o + p for o in out for p in options]
    return out


_LETTER = ["X", "x"]
# Token shapes (spaCy's SHAPE: X upper, x lower, d digit) of outward codes ("BN2", "W1A",
# "bn12"), inward codes ("3AA") and both written together ("BN23AA"). A shape id is a set
# lookup per token; only the few candidates are parsed with geo.postcodes.parse_postcode.
_AREAS = _shapes([_LETTER]) + _shapes([_LETTER, _LETTER])
_DISTRICTS = ["d", "dd", "dX", "dx"]
OUTWARD_SHAPES = [a + d for a in _AREAS for d in _DISTRICTS]
INWARD_SHAPES = ["d" + a for a in _shapes([_LETTER, _LETTER])]
JOINED_SHAPES = sorted({o + i for o in OUTWARD_SHAPES for i in INWARD_SHAPES})
UPPER_OUTWARD_SHAPES = [s for s in OUTWARD_SHAPES if "x" not in s]


def _group_patterns(nlp: Language, rows: Iterable[dict]) -> dict[str, list[Doc]]:
    rows = list(rows)
    docs = nlp.tokenizer.pipe(r["text"] for r in rows)
    grouped: dict[str, list[Doc]] = defaultdict(list)
    for row, doc in zip(rows, docs, strict=True):
        grouped[row["key"]].append(doc)
    return grouped


class PlaceMatcher:
    """Find gazetteer names on lower-cased tokens; names of everyday words need capitals."""

    def __init__(self, nlp: Language, patterns_path: str):
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.common = name_rules().common_words
        self.pattern_count = 0
        self.caps_keys: set[int] = set()
        if patterns_path:
            rows = load_patterns(patterns_path)
            self.pattern_count = len(rows)
            self.caps_keys = {nlp.vocab.strings.add(r["key"]) for r in rows if r.get("caps")}
            for key, docs in _group_patterns(nlp, rows).items():
                self.matcher.add(key, docs)

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        for match_id, start, end in self.matcher(doc):
            span = Span(doc, start, end, label=PLACE_LABEL, kb_id=match_id)
            if self._written_as_name(span, match_id in self.caps_keys):
                spans.append(span)
        if spans:
            doc.set_ents(filter_spans(list(doc.ents) + spans), default="unmodified")
        return doc

    def _written_as_name(self, span: Span, caps: bool) -> bool:
        content = [t for t in span if t.is_alpha and not t.is_stop]
        if not caps and not all(t.lower_ in self.common for t in content):
            return True
        if not content or not all(t.text[0].isupper() for t in content):
            return False
        # Capitalised, not shouted: "COPYRIGHT HOLDERS" in a licence is no pub (an acronym
        # inside a name, "The BRZN Arms", is fine).
        return not all(t.is_upper and len(t) > 1 for t in content)


@Language.factory("beatmap_places", default_config={"patterns_path": ""},
                  assigns=["doc.ents"])
def make_place_matcher(nlp: Language, name: str, patterns_path: str) -> PlaceMatcher:
    return PlaceMatcher(nlp, patterns_path)


class PostcodeMatcher:
    """Find full postcodes (any case) and known outward codes (upper case) by token shape.

    Token shapes come out of the doc as one array of ids (no Token objects are made), so
    finding the few candidate tokens is a set lookup per token; only candidates are parsed.
    """

    def __init__(self, nlp: Language, outcodes: Sequence[str]):
        self.outcodes = frozenset(o.upper() for o in outcodes)
        strings = nlp.vocab.strings
        self.outward = frozenset(strings.add(s) for s in OUTWARD_SHAPES)
        self.inward = frozenset(strings.add(s) for s in INWARD_SHAPES)
        self.joined = frozenset(strings.add(s) for s in JOINED_SHAPES)
        self.upper = frozenset(strings.add(s) for s in UPPER_OUTWARD_SHAPES)
        self._wanted = self.outward | self.joined

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        shapes = doc.to_array(SHAPE).tolist()
        wanted = self._wanted
        spans: list[Span] = []
        skip_to = -1
        for i, shape in enumerate(shapes):
            if shape not in wanted or i < skip_to:
                continue
            span = self._span_at(doc, shapes, i)
            if span is not None:
                spans.append(span)
                skip_to = span.end
        if spans:
            # A postcode wins over a place name it overlaps ("BN1" is no street).
            taken = {i for s in spans for i in range(s.start, s.end)}
            places = [e for e in doc.ents if not taken.intersection(range(e.start, e.end))]
            doc.set_ents(filter_spans(places + spans))
        return doc

    def _span_at(self, doc: Doc, shapes: list[int], i: int) -> Span | None:
        shape = shapes[i]
        if shape in self.joined:
            code = parse_postcode(doc[i].text)
            return Span(doc, i, i + 1, label=POSTCODE_LABEL) if code and " " in code else None
        if i + 1 < len(doc) and shapes[i + 1] in self.inward:
            code = parse_postcode(doc[i].text + doc[i + 1].text)
            if code and " " in code:
                return Span(doc, i, i + 2, label=POSTCODE_LABEL)
        if shape in self.upper and doc[i].text in self.outcodes:
            # "the M23" is a road, and only codes of the imported area count
            if not (i and doc[i - 1].lower_ == "the"):
                return Span(doc, i, i + 1, label=OUTCODE_LABEL)
        return None


@Language.factory("beatmap_postcodes", default_config={"outcodes": []},
                  assigns=["doc.ents"])
def make_postcode_matcher(nlp: Language, name: str, outcodes: list[str]) -> PostcodeMatcher:
    return PostcodeMatcher(nlp, outcodes)


class TopicMatcher:
    """Find topic phrases; spans may overlap, so they go to ``doc.spans["topics"]``."""

    def __init__(self, nlp: Language, paths: Sequence[str], extra: Sequence[dict]):
        self.nlp = nlp
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.keys: list[str] = []
        for path in paths:
            self.add(read_jsonl(path))
        self.add(extra)

    def add(self, rows: Iterable[dict]) -> None:
        """Add topics ``{"key": …, "patterns": […]}`` (more patterns for a key extend it)."""
        for row in rows:
            patterns = [p for p in row.get("patterns", []) if p and p.strip()]
            if not patterns:
                continue
            self.matcher.add(row["key"], list(self.nlp.tokenizer.pipe(patterns)))
            if row["key"] not in self.keys:
                self.keys.append(row["key"])

    def __call__(self, doc: Doc) -> Doc:
        doc.spans[TOPICS_KEY] = [Span(doc, s, e, label=mid) for mid, s, e in self.matcher(doc)]
        return doc


@Language.factory("beatmap_topics", default_config={"paths": [], "extra": []},
                  assigns=["doc.spans"])
def make_topic_matcher(nlp: Language, name: str, paths: list[str],
                       extra: list[dict]) -> TopicMatcher:
    return TopicMatcher(nlp, paths, extra)


def topic_rows(defs: Iterable[TopicDef]) -> list[dict]:
    return [{"key": d.key, "patterns": list(d.patterns)} for d in defs]
