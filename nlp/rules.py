"""The tagger's rules as data: name filters, homonym cues and topic patterns from ``nlp/data``."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from spacy.lang.en.stop_words import STOP_WORDS

from geo.names import normalise

logger = logging.getLogger(__name__)

DATA = resources.files("nlp") / "data"
NAME_RULES_FILE = "name_rules.jsonl"
HOMONYMS_FILE = "homonyms.jsonl"
TOPIC_FILES = ("topics_crime.jsonl", "topics_community.jsonl")
TOPIC_CATEGORIES = ("crime", "community")


class RulesError(ValueError):
    """A rules file is missing or malformed; the message names the file and line."""


def read_jsonl(path: Path | str, *, name: str | None = None) -> list[dict]:
    """Read a JSON Lines file, skipping blank lines; errors name the file and line."""
    label = name or str(path)
    source = path if hasattr(path, "read_text") else Path(path)  # a Path or a package resource
    text = source.read_text(encoding="utf-8")
    rows: list[dict] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RulesError(f"{label} line {number}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise RulesError(f"{label} line {number}: expected a JSON object")
        rows.append(row)
    return rows


def _data_rows(filename: str) -> list[dict]:
    return read_jsonl(DATA / filename, name=f"nlp/data/{filename}")


def data_digest() -> str:
    """Hash of every rules file, so generated patterns are rebuilt when a rule changes."""
    digest = hashlib.sha256()
    for filename in (NAME_RULES_FILE, *TOPIC_FILES):
        digest.update((DATA / filename).read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class NameRules:
    """Which gazetteer names become patterns, and which need capitals to count."""

    min_chars: int = 3
    skip_names: frozenset[str] = frozenset()
    skip_regexes: tuple[re.Pattern[str], ...] = ()
    common_words: frozenset[str] = frozenset()
    join_suffixes: tuple[str, ...] = ()
    caps_feature_types: frozenset[str] = frozenset()

    def skip(self, norm: str) -> bool:
        """True when a normalised name is noise (too short, generic, a stop code …).

        >>> rules = NameRules(min_chars=3, skip_names=frozenset({"car park"}))
        >>> rules.skip("car park"), rules.skip("ab"), rules.skip("kemp town")
        (True, True, False)
        """
        if len(norm.replace(" ", "")) < self.min_chars or norm in self.skip_names:
            return True
        if not any(ch.isalpha() for ch in norm):
            return True
        return any(rx.search(norm) for rx in self.skip_regexes)

    def minor_type(self, feature_type: str) -> bool:
        """True for feature types whose names count only when capitalised (pubs, stops)."""
        return feature_type.lower() in self.caps_feature_types


@lru_cache(maxsize=1)
def name_rules() -> NameRules:
    """Load ``nlp/data/name_rules.jsonl``."""
    values: dict = {"skip_names": set(), "skip_regexes": [], "common_words": set(),
                    "join_suffixes": [], "caps_feature_types": set()}
    for row in _data_rows(NAME_RULES_FILE):
        kind = row.get("rule")
        if kind == "min_chars":
            values["min_chars"] = int(row["value"])
        elif kind == "skip_names":
            values["skip_names"].update(normalise(n) for n in row["names"])
        elif kind == "skip_regex":
            values["skip_regexes"].append(re.compile(row["pattern"]))
        elif kind == "common_words":
            values["common_words"].update(w.lower() for w in row["words"])
        elif kind == "join_suffixes":
            values["join_suffixes"].extend(w.lower() for w in row["words"])
        elif kind == "caps_feature_types":
            values["caps_feature_types"].update(t.lower() for t in row["types"])

        else:
            raise RulesError(f"nlp/data/{NAME_RULES_FILE}: unknown rule {kind!r}")
    return NameRules(
        min_chars=values.get("min_chars", 3),
        skip_names=frozenset(values["skip_names"]),
        skip_regexes=tuple(values["skip_regexes"]),
        common_words=frozenset(values["common_words"] | set(STOP_WORDS)),
        join_suffixes=tuple(sorted(set(values["join_suffixes"]), key=len, reverse=True)),
        caps_feature_types=frozenset(values["caps_feature_types"]),
    )


@dataclass(frozen=True)
class HomonymRule:
    """A name that also means somewhere else, with words that point there."""

    key: str
    name: str
    elsewhere: tuple[str, ...] = field(default=())


@lru_cache(maxsize=1)
def homonym_rules() -> tuple[dict[str, HomonymRule], tuple[str, ...]]:
    """Load ``nlp/data/homonyms.jsonl``: {compact key: rule} and the cues shared by all."""
    rules: dict[str, HomonymRule] = {}
    shared: tuple[str, ...] = ()
    for row in _data_rows(HOMONYMS_FILE):
        cues = tuple(c.lower() for c in row.get("elsewhere", []))
        if row["name"] == "*":
            shared = cues
            continue
        key = compact_key(row["name"])
        rules[key] = HomonymRule(key=key, name=row["name"], elsewhere=cues)
    return rules, shared


@dataclass(frozen=True)
class TopicDef:
    key: str
    label: str
    category: str
    safety: bool
    patterns: tuple[str, ...]


def topic_defs() -> list[TopicDef]:
    """The topics of ``nlp/data/topics_*.jsonl`` (crime categories first)."""
    out: list[TopicDef] = []
    seen: set[str] = set()
    for filename in TOPIC_FILES:
        for row in _data_rows(filename):
            key = row["key"]
            if key in seen:
                raise RulesError(f"nlp/data/{filename}: topic {key!r} defined twice")
            if row.get("category") not in TOPIC_CATEGORIES:
                raise RulesError(f"nlp/data/{filename}: topic {key!r} has category "
                                 f"{row.get('category')!r}, expected crime or community")
            seen.add(key)
            out.append(TopicDef(key=key, label=row["label"], category=row["category"],
                                safety=bool(row.get("safety", False)),
                                patterns=tuple(row["patterns"])))
    return out


def compact_key(name: str) -> str:
    """The key under which all spellings of a name meet: normalised, spaces removed.

    >>> compact_key("Kemp Town") == compact_key("Kemptown") == compact_key("kemp-town")
    True
    >>> compact_key("St. Ann's Well Gardens") == compact_key("Saint Anns Well Gardens")
    True
    """
    return normalise(name).replace(" ", "")
