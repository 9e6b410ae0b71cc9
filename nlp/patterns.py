"""Place-name patterns generated from the gazetteer, cached on disk as JSON Lines.

Every gazetteer name and alternative name gives a set of spellings people write (with and
without "the", St / St. / Saint, with and without apostrophes and hyphens, joined and split
compounds such as Kemptown / Kemp Town). Each spelling is one pattern line
``{"key": …, "text": …}``; ``key`` is :func:`nlp.rules.compact_key`, shared by all spellings of
a name, and is what the resolver looks candidates up by. Names the rules call noise are left
out. The file is named after a hash of the gazetteer and the rules, so it is rebuilt only when
either changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from geo.names import normalise
from nlp.rules import NameRules, compact_key, data_digest, name_rules, read_jsonl

logger = logging.getLogger(__name__)

# Bump when variant generation changes, so cached pattern files are rebuilt.
GENERATOR_VERSION = 6
_SAINT = re.compile(r"\b(St\.?|Saint)(?=\s)", re.I)
_APOS = re.compile(r"['\u2019]")
_SPACES = re.compile(r"\s+")
_THE_ONE_WORD = re.compile(r"^the\s+\S+$", re.I)


@dataclass(frozen=True)
class GazetteerName:
    """What pattern generation needs of a ``places`` row."""

    place_id: int
    name: str
    alt_names: tuple[str, ...] = ()
    feature_type: str = ""


def variants(name: str, rules: NameRules | None = None) -> set[str]:
    """Spellings of ``name`` people write.

    >>> sorted(variants("Queen's Park"))
    ["Queen's Park", 'Queens Park', 'Queen’s Park']
    >>> sorted(variants("Kemp Town"))
    ['Kemp Town', 'Kemptown']
    >>> sorted(variants("St Ann's Well Gardens"))[:2]
    ["Saint Ann's Well Gardens", 'Saint Anns Well Gardens']
    """
    rules = rules or name_rules()
    base = _SPACES.sub(" ", name.replace("\u2019", "'")).strip()
    forms = {base}
    if base.lower().startswith("the "):
        forms.add(base[4:])
    forms |= {f.replace("-", " ") for f in forms if "-" in f}
    forms |= _saint_forms(forms)
    forms |= _apostrophe_forms(forms)
    forms |= _compound_forms(forms, rules.join_suffixes)
    return {f for f in forms if f}


def _saint_forms(forms: set[str]) -> set[str]:
    out: set[str] = set()
    for f in forms:
        if _SAINT.search(f):
            for repl in ("St", "St.", "Saint"):
                out.add(_SAINT.sub(repl, f))
    return out


def _apostrophe_forms(forms: set[str]) -> set[str]:
    out: set[str] = set()
    for f in forms:
        if "'" in f:
            out.add(_APOS.sub("", f))
            out.add(f.replace("'", "\u2019"))
    return out


def _compound_forms(forms: set[str], suffixes: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for f in forms:
        words = f.split(" ")
        last = words[-1]
        if len(words) >= 2 and last.lower() in suffixes and words[-2].isalpha():
            out.add(" ".join(words[:-2] + [words[-2] + last.lower()]))
        for suffix in suffixes:
            low = last.lower()
            if low.endswith(suffix) and len(low) - len(suffix) >= 3 and last.isalpha():
                head = last[: len(last) - len(suffix)]
                out.add(" ".join(words[:-1] + [head, suffix.capitalize()]))
                break
    return out


def generate(names: Iterable[GazetteerName], rules: NameRules | None = None) -> Iterator[dict]:
    """Pattern rows ``{"key", "text"}`` for the gazetteer, noise left out, each once.

    Rows of a name known only as a pub or a stop landmark, or named "The <one word>", carry
    ``"caps": true``: they count only when written with capitals. A pub or landmark name keeps
    its "The" ("The George", never "George").
    """
    rules = rules or name_rules()
    names = list(names)
    major: set[str] = set()
    caps: set[str] = set()
    for entry in names:
        for n in (entry.name, *entry.alt_names):
            if not n:
                continue
            if not rules.minor_type(entry.feature_type):
                major.add(compact_key(n))
            if _THE_ONE_WORD.match(n):
                caps.add(compact_key(n))  # "The Link": "link" alone is an everyday word
    seen: set[tuple[str, str]] = set()
    for entry in names:
        minor = rules.minor_type(entry.feature_type)
        for name in (entry.name, *entry.alt_names):
            if not name or rules.skip(normalise(name)):
                continue
            key = compact_key(name)
            forms = variants(name, rules)
            if minor and name.lower().startswith("the "):
                forms = {f for f in forms if f.lower().startswith("the ")}
            for form in sorted(forms):
                if rules.skip(normalise(form)) or (key, form) in seen:
                    continue
                seen.add((key, form))
                row = {"key": key, "text": form}
                if key not in major or key in caps:
                    row["caps"] = True
                yield row


def gazetteer_hash(names: Iterable[GazetteerName]) -> str:
    """A hash of the gazetteer names, the rules files and the generator version."""
    digest = hashlib.sha256(f"v{GENERATOR_VERSION}:{data_digest()}".encode())
    for entry in sorted(names, key=lambda e: e.place_id):
        digest.update(json.dumps([entry.place_id, entry.name, list(entry.alt_names),
                                  entry.feature_type], ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def default_cache_dir(db_url: str | None = None) -> Path:
    """Next to a SQLite database file (``<db>.cache``), else ``~/.cache/beatmap``."""
    env = os.environ.get("BEATMAP_CACHE_DIR")
    if env:
        return Path(env)
    if db_url and db_url.startswith("sqlite:///") and ":memory:" not in db_url:
        db_path = Path(db_url.removeprefix("sqlite:///")).expanduser()
        return db_path.parent / (db_path.name + ".cache")
    return Path.home() / ".cache" / "beatmap"


def cached_patterns(names: Sequence[GazetteerName], cache_dir: Path) -> tuple[Path, str, bool]:
    """Path of the pattern file for ``names`` (built if missing), its hash, and if it was built."""
    digest = gazetteer_hash(names)
    path = cache_dir / f"places-{digest[:20]}.jsonl"
    if path.exists():
        return path, digest, False
    rows = list(generate(names))
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Write to a temporary file and rename, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(prefix=".places-", suffix=".jsonl", dir=cache_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise OSError(f"cannot write place patterns to {cache_dir}: "
                      f"{exc.strerror or exc} (set BEATMAP_CACHE_DIR or --cache-dir)") from exc
    _remove_stale(cache_dir, keep=path)
    logger.info("built %d place patterns from %d gazetteer entries into %s",
                len(rows), len(names), path)
    return path, digest, True


def _remove_stale(cache_dir: Path, keep: Path) -> None:
    for old in cache_dir.glob("places-*.jsonl"):
        if old != keep:
            try:
                old.unlink()
            except OSError:  # another process may hold or have removed it; harmless
                pass


def load_patterns(path: Path) -> list[dict]:
    """Read a pattern file written by :func:`cached_patterns`."""
    return read_jsonl(path)
