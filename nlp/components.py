"""spaCy components: gazetteer places and UK postcodes to ``doc.ents``, topics to ``doc.spans``.

All three are rule components over a tokenizer-only pipeline (``spacy.blank("en")``); their
patterns come from files named in the pipeline config, so the same pipeline can be rebuilt
from configuration alone.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from nlp.patterns import load_patterns
from nlp.rules import TopicDef, name_rules, read_jsonl

logger = logging.getLogger(__name__)

PLACE_LABEL = "PLACE"
POSTCODE_LABEL = "POSTCODE"
OUTCODE_LABEL = "OUTCODE"
TOPICS_KEY = "topics"

# A full UK postcode: outward code (area letters, district digit(s), optional letter) and
# inward code (sector digit, two unit letters). Case-insensitive: people type "bn2 9aa".
FULL_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)[ \t]{0,2}([0-9][ABD-HJLNP-UW-Z]{2})\b",
                           re.I)
# An outward code on its own ("BN2"): upper case only, and only codes the postcode table
# knows, or "M25" and "A23" would be postcodes.
OUTCODE = re.compile(r"\b[A-Z]{1,2}[0-9][A-Z0-9]?\b")


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
        if patterns_path:
            rows = load_patterns(patterns_path)
            self.pattern_count = len(rows)
            for key, docs in _group_patterns(nlp, rows).items():
                self.matcher.add(key, docs)

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        for match_id, start, end in self.matcher(doc):
            span = Span(doc, start, end, label=PLACE_LABEL, kb_id=match_id)
            if self._written_as_name(span):
                spans.append(span)
        if spans:
            doc.set_ents(filter_spans(list(doc.ents) + spans), default="unmodified")
        return doc

    def _written_as_name(self, span: Span) -> bool:
        content = [t for t in span if t.is_alpha and not t.is_stop]
        if not all(t.lower_ in self.common for t in content):
            return True
        return bool(content) and all(t.text[0].isupper() for t in content)


@Language.factory("beatmap_places", default_config={"patterns_path": ""},
                  assigns=["doc.ents"])
def make_place_matcher(nlp: Language, name: str, patterns_path: str) -> PlaceMatcher:
    return PlaceMatcher(nlp, patterns_path)


class PostcodeMatcher:
    """Find full postcodes and known outward codes with regular expressions over the text."""

    def __init__(self, outcodes: Sequence[str]):
        self.outcodes = frozenset(o.upper() for o in outcodes)

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text
        spans: list[Span] = []
        taken: list[tuple[int, int]] = []
        for m in FULL_POSTCODE.finditer(text):
            span = doc.char_span(m.start(), m.end(), label=POSTCODE_LABEL, alignment_mode="expand")
            if span is not None:
                spans.append(span)
                taken.append((m.start(), m.end()))
        if self.outcodes:
            for m in OUTCODE.finditer(text):
                if m.group(0) not in self.outcodes or any(s <= m.start() < e for s, e in taken):
                    continue
                span = doc.char_span(m.start(), m.end(), label=OUTCODE_LABEL,
                                     alignment_mode="expand")
                if span is not None:
                    spans.append(span)
        if spans:
            # A postcode wins over a place name it overlaps ("BN1" is no street).
            keep = filter_spans(spans)
            taken_tokens = {i for s in keep for i in range(s.start, s.end)}
            places = [e for e in doc.ents if not taken_tokens.intersection(range(e.start, e.end))]
            doc.set_ents(filter_spans(places + keep))
        return doc


@Language.factory("beatmap_postcodes", default_config={"outcodes": []},
                  assigns=["doc.ents"])
def make_postcode_matcher(nlp: Language, name: str, outcodes: list[str]) -> PostcodeMatcher:
    return PostcodeMatcher(outcodes)


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
