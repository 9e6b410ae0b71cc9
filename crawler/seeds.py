"""Seeds: the starting URLs the project team gives, validated and stored in one transaction."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.discovery import ensure_venue
from crawler.run import check_seed
from crawler.venues import venue_key
from storage.db import upsert, utcnow
from storage.ids import stable_id
from storage.models import Beat, Seed

SEED_FIELDS = ("url", "beat", "note")
MAX_FIELD_CHARS = 2_000  # a URL or a note longer than this is a mistake, not a seed


class SeedFileError(ValueError):
    """A seed file that cannot be imported; the message names the file and row."""


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a seed file never needs them, and nested aliases
    expand exponentially (a 'billion laughs' file of a few hundred bytes)."""

    def compose_node(self, parent, index):  # noqa: ANN001 (PyYAML's signature)
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in seed files", mark)
        return super().compose_node(parent, index)


@dataclass(frozen=True)
class SeedRow:
    url: str
    beat: str | None = None
    note: str | None = None
    where: str = ""  # "file.csv:3", for messages


def read_seed_file(path: Path) -> list[SeedRow]:
    """Rows of a CSV (header url,beat,note) or YAML (list of {url, beat, note}) seed file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedFileError(f"cannot read {path}: {exc}") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        return _yaml_rows(path, text)
    return _csv_rows(path, text)


def _csv_rows(path: Path, text: str) -> list[SeedRow]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "url" not in fields:
        raise SeedFileError(f"{path.name}: needs a header row with a 'url' column "
                            f"(columns: url, beat, note)")
    unknown = sorted(set(fields) - set(SEED_FIELDS))
    if unknown:
        raise SeedFileError(f"{path.name}: unknown column(s) {', '.join(unknown)}")
    rows = []
    for number, raw in enumerate(reader, start=2):
        where = f"{path.name}:{number}"
        if None in raw:  # DictReader files surplus cells under the key None
            raise SeedFileError(f"{where}: more cells than the header's {len(fields)} columns "
                                f"(a comma in a note? put the note in double quotes)")
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue
        for field, value in row.items():
            _check_text(where, field, value)
        rows.append(SeedRow(row.get("url", ""), row.get("beat") or None,
                            row.get("note") or None, where))
    return rows


def _check_text(where: str, field: str, value: str) -> None:
    if "\x00" in value:
        raise SeedFileError(f"{where}: {field} contains a NUL byte")
    if len(value) > MAX_FIELD_CHARS:
        raise SeedFileError(f"{where}: {field} is longer than {MAX_FIELD_CHARS} characters")


def _yaml_text(where: str, field: str, value: object) -> str | None:
    """A scalar field of a YAML seed as text; mappings and lists are refused."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise SeedFileError(f"{where}: {field} must be text, not a "
                            f"{'mapping' if isinstance(value, dict) else 'list'}")
    text = str(value).strip()
    _check_text(where, field, text)
    return text or None


def _yaml_rows(path: Path, text: str) -> list[SeedRow]:
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise SeedFileError(f"{path.name}: not valid YAML ({exc})") from exc
    if isinstance(data, dict) and "seeds" in data:
        data = data["seeds"]
    if not isinstance(data, list):
        raise SeedFileError(f"{path.name}: expected a list of seeds (url, beat, note)")
    rows = []
    for number, entry in enumerate(data, start=1):
        where = f"{path.name}: seed {number}"
        if isinstance(entry, str):
            entry = {"url": entry}
        if not isinstance(entry, dict):
            raise SeedFileError(f"{where}: expected a mapping with url, beat, note")
        unknown = sorted(set(map(str, entry)) - set(SEED_FIELDS))
        if unknown:
            raise SeedFileError(f"{where}: unknown field(s) {', '.join(unknown)}")
        rows.append(SeedRow(_yaml_text(where, "url", entry.get("url")) or "",
                            _yaml_text(where, "beat", entry.get("beat")),
                            _yaml_text(where, "note", entry.get("note")), where))
    return rows


def beat_lookup(session: Session) -> dict[str, int]:
    """Beat ids by key and by case-folded name, so a seed's beat may be given either way."""
    found: dict[str, int] = {}
    for key, name, beat_id in session.execute(select(Beat.key, Beat.name, Beat.id)):
        found.setdefault(name.casefold(), beat_id)
        found[key] = beat_id
    return found


def add_seeds(session: Session, rows: list[SeedRow], *, source: str) -> int:
    """Validate every row, then store them all (the caller's transaction). Returns how many
    were new. Raises ValueError naming the first bad row; nothing is stored then."""
    beats = beat_lookup(session)
    prepared = []
    for row in rows:
        label = f"{row.where}: " if row.where else ""
        if not row.url:
            raise SeedFileError(f"{label}missing url")
        for field, value in (("url", row.url), ("beat", row.beat), ("note", row.note)):
            _check_text(row.where or "seed", field, value or "")
        try:
            url = check_seed(row.url)
        except ValueError as exc:
            raise SeedFileError(f"{label}{exc}") from exc
        beat_id = None
        if row.beat:
            beat_id = beats.get(row.beat) or beats.get(row.beat.casefold())
            if beat_id is None:
                raise SeedFileError(f"{label}unknown beat {row.beat!r}: give its key or name "
                                    f"(see `beatmap beats list`)")
        prepared.append((url, beat_id, row.note))
    existing = set(session.execute(select(Seed.url)).scalars())
    now = utcnow()
    cache: dict = {}
    records = []
    for url, beat_id, note in prepared:
        venue, _ = ensure_venue(session, venue_key(url), discovered_via="seed", depth=0,
                                cache=cache, now=now)
        records.append({"id": stable_id("seed", url), "url": url, "beat_id": beat_id,
                        "note": note, "source": source, "venue_id": venue.id,
                        "created_at": now})
    upsert(session, Seed, records, keys=["url"], update=["beat_id", "note", "source"])
    return len({url for url, _, _ in prepared} - existing)
