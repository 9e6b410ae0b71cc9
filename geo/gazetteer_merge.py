"""Gazetteer merging: fold rows that name the same place (same name or alias, nearby) into one."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from geo.gazetteer_readers import TYPE_RANK, PlaceRow
from geo.names import normalise

# Merge the same name within one family of types when points are this close (metres). A
# settlement's points (GeoNames centre, NaPTAN stops median, curated point) scatter over a
# kilometre or so; a street's stops over ~400 m; two pub records of one pub over a few dozen
# metres. Coarse postal points sit at an outcode's centre, so they merge into a fine entry of
# the same name up to 5 km away. Ward names never merge (same-named wards are different).
MERGE_METRES = {"area": 1_500, "transport": 400, "pub": 60, "park": 500, "ward": 0, "other": 400}
COARSE_MERGE_METRES = 5_000
FAMILY = {"area": "area", "town": "area", "suburb": "area", "village": "area", "locality": "area",
          "postal_place": "area", "ward": "ward", "street": "transport", "landmark": "transport",
          "bus_stop": "transport", "pub": "pub", "park": "park", "other": "other"}


def _metres(a: PlaceRow, b: PlaceRow) -> float:
    # Equirectangular distance: within a few km it is as exact as a great circle, and cheap.
    x = math.radians(b.lon - a.lon) * math.cos(math.radians((a.lat + b.lat) / 2))
    y = math.radians(b.lat - a.lat)
    return 6_371_000 * math.hypot(x, y)


def _absorb(keep: PlaceRow, other: PlaceRow) -> None:
    seen = {n.casefold() for n in (keep.name, *keep.alt_names)}
    for alt in (other.name, *other.alt_names):
        alt = alt.strip()
        if alt and alt.casefold() not in seen:
            seen.add(alt.casefold())
            keep.alt_names.append(alt)
    keep.prominence = max(keep.prominence, other.prominence)
    keep.locality = keep.locality or other.locality
    keep.district = keep.district or other.district
    keep.touched = keep.touched or other.touched or other.existing


def _replace(old: PlaceRow, new: PlaceRow) -> PlaceRow:
    """An entry in the database read again from its file: the file's values win, but
    spellings folded in earlier (from other files) are kept."""
    fresh = PlaceRow(**{**new.__dict__, "alt_names": list(new.alt_names)})
    _absorb(fresh, PlaceRow(**{**old.__dict__, "name": new.name, "existing": False,
                               "touched": False}))
    fresh.prominence, fresh.locality, fresh.district = new.prominence, new.locality, new.district
    fresh.existing, fresh.touched = True, True
    return fresh


def merge_places(rows: Iterable[PlaceRow],
                 existing: Iterable[PlaceRow] = ()) -> tuple[list[PlaceRow], int]:
    """Fold rows that are the same place; return the survivors and how many were folded.

    Rows with the same ``(source, source_id)`` always fold (curated alias rows, the same
    postal place in two files). Otherwise a row folds into a better-ranked row with the same
    normalised name (or listing its name as an alias) when :func:`merge_limit` allows it.
    ``existing`` rows (already in the database) take part too, so files imported in
    separate calls end up merged as if imported together; an existing row read again from
    its file takes the file's values.
    """
    by_id: dict[tuple[str, str], PlaceRow] = {}
    for row in existing:
        by_id[(row.source, row.source_id)] = row
    folded = 0
    for row in rows:
        key = (row.source, row.source_id)
        current = by_id.get(key)
        if current is None:
            by_id[key] = PlaceRow(**{**row.__dict__, "alt_names": list(row.alt_names)})
        elif current.existing and not current.touched:
            by_id[key] = _replace(current, row)
        else:
            _absorb(current, row)
            folded += 1
    groups: dict[str, list[PlaceRow]] = defaultdict(list)
    for row in by_id.values():
        groups[row.norm].append(row)
    survivors: list[PlaceRow] = []
    for group in groups.values():
        group.sort(key=_rank)
        kept: list[PlaceRow] = []
        for row in group:
            home = next((k for k in kept if _mergeable(k, row)), None)
            if home is None:
                kept.append(row)
            else:
                _absorb(home, row)
                folded += 1
        survivors += kept
    survivors, by_alias = _fold_aliases(survivors)
    survivors.sort(key=lambda r: (r.source, r.source_id))
    return survivors, folded + by_alias


def merge_limit(keep: PlaceRow, other: PlaceRow) -> float | None:
    """How close (metres) ``other`` must be to fold into the better-ranked ``keep``; None: never.

    Same family: ``MERGE_METRES`` of the family (a coarse ``other``: ``COARSE_MERGE_METRES``).
    A stop, street or landmark named like an area or park folds into it within the
    transport distance (NaPTAN's "The Level" stop is the Level). Wards and pubs only ever
    fold into their own kind ("The Brunswick" pub is not Brunswick).
    """
    fk, fo = FAMILY[keep.kind], FAMILY[other.kind]
    if keep.coarse and not other.coarse:
        return None
    if fk == fo:
        return COARSE_MERGE_METRES if other.coarse and not keep.coarse else MERGE_METRES[fk]
    if fk in ("area", "park") and fo in ("transport", "park") and not other.coarse:
        return MERGE_METRES["transport"]
    return None


def _mergeable(keep: PlaceRow, other: PlaceRow) -> bool:
    limit = merge_limit(keep, other)
    return limit is not None and _metres(keep, other) <= limit


def _rank(row: PlaceRow) -> tuple:
    return (row.coarse, TYPE_RANK[row.kind], -row.prominence, row.source, row.source_id)


def _fold_aliases(rows: list[PlaceRow]) -> tuple[list[PlaceRow], int]:
    """Fold a row into a better one nearby that lists its name as an alias.

    E.g. NaPTAN's locality "Kemp Town" into the curated "Kemptown" (alias "Kemp Town").
    Repeated until nothing more folds, so that importing the result again changes nothing.
    """
    total = 0
    for _ in range(10):  # converges in one or two rounds on the Sussex data
        rows, folded = _fold_aliases_once(rows)
        total += folded
        if not folded:
            break
    return rows, total


def _fold_aliases_once(rows: list[PlaceRow]) -> tuple[list[PlaceRow], int]:
    by_name: dict[str, list[PlaceRow]] = defaultdict(list)
    for row in rows:
        by_name[row.norm].append(row)
    gone: set[int] = set()
    for row in sorted((r for r in rows if r.alt_names), key=_rank):
        if id(row) in gone:
            continue
        i = 0
        while i < len(row.alt_names):  # grows as rows fold in: follow their names too
            alt, i = row.alt_names[i], i + 1
            for other in by_name.get(normalise(alt), []):
                if (other is not row and id(other) not in gone and _rank(other) > _rank(row)
                        and _mergeable(row, other)):
                    _absorb(row, other)
                    gone.add(id(other))
    return [r for r in rows if id(r) not in gone], len(gone)
