"""Topics: the ``topics`` table from the data files, and beat priorities made into topics.

The ranking reads ``beat_topics.topic`` and ``post_topics.topic`` as the same keys. A beat
priority imported from data.police.uk may be a free phrase ("Speeding on Dyke Road"); it
becomes a topic of its own under that exact key, recognised in posts by its own words and by
the patterns of every data-file topic its words match, so posts about speeding count for it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import spacy
from spacy.matcher import PhraseMatcher
from sqlalchemy import select
from sqlalchemy.orm import Session

from nlp.rules import TopicDef, topic_defs
from storage.db import upsert
from storage.models import BeatTopic, Topic

logger = logging.getLogger(__name__)

# Words of a priority phrase that carry no topic ("in", "the", place names are kept: they
# are matched as places, not topics, and a priority's phrase itself is a pattern).
_WORD = re.compile(r"[a-z][a-z'\-]+")


@dataclass(frozen=True)
class PriorityTopic:
    key: str
    label: str
    patterns: tuple[str, ...]
    related: tuple[str, ...]  # data-file topics its phrase matched


def priority_topics(session: Session, defs: Sequence[TopicDef] | None = None) -> list[PriorityTopic]:
    """Topics for each beat priority whose key is not a data-file topic."""
    defs = list(defs or topic_defs())
    known = {d.key for d in defs}
    rows = session.execute(select(BeatTopic.topic, BeatTopic.detail).distinct()).all()
    phrases: dict[str, str] = {}
    for key, detail in rows:
        if key and key not in known:
            phrases.setdefault(key, (detail or key).strip())
    if not phrases:
        return []
    matcher = _known_matcher(defs)
    out = []
    for key, label in sorted(phrases.items()):
        readable = key.replace("-", " ").replace("_", " ")
        related = tuple(sorted(matcher(label) | matcher(readable)))
        patterns = {readable.lower(), label.lower()}
        for d in defs:
            if d.key in related:
                patterns.update(d.patterns)
        out.append(PriorityTopic(key=key, label=label[:200], patterns=tuple(sorted(patterns)),
                                 related=related))
    return out


def _known_matcher(defs: Sequence[TopicDef]):
    nlp = spacy.blank("en")
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    for d in defs:
        matcher.add(d.key, list(nlp.tokenizer.pipe(d.patterns)))

    def match(text: str) -> set[str]:
        doc = nlp.make_doc(text)
        return {nlp.vocab.strings[mid] for mid, _s, _e in matcher(doc)}

    return match


def sync_topics(session: Session) -> int:
    """Fill the ``topics`` table from the data files and the beat priorities (no commit).

    Returns the number of topics written. Safe to repeat: rows are upserted by key.
    """
    defs = topic_defs()
    rows = [{"key": d.key, "label": d.label, "category": d.category, "safety": d.safety}
            for d in defs]
    for p in priority_topics(session, defs):
        rows.append({"key": p.key, "label": p.label, "category": "community", "safety": True})
    upsert(session, Topic, rows, keys=["key"], update=["label", "category", "safety"])
    logger.info("topics table holds %d topics from the data files and beat priorities", len(rows))
    return len(rows)


def beat_topic_keys(session: Session) -> dict[int, dict[str, float]]:
    """Beat id → {topic key: weight} from ``beat_topics`` (the keys the tagger writes)."""
    out: dict[int, dict[str, float]] = {}
    for beat_id, key, weight in session.execute(
            select(BeatTopic.beat_id, BeatTopic.topic, BeatTopic.weight)):
        out.setdefault(beat_id, {})[key] = float(weight)
    return out
