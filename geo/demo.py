"""The demo area in one call: beats, gazetteer and postcodes from the bundled Sussex data.

``import_default_area`` is what ``make demo`` runs. It is idempotent and quick: the inputs'
names, sizes, modification times and options are fingerprinted into the ``meta`` table, and
an unchanged area is not imported again (``refresh=True`` forces it). Any other area works
the same way, e.g. the Worthing wards::

    import_default_area(session, beats_file=DATA / "boundaries/sussex_wards_2013.geojson",
                        where={"lad_name": "Worthing"})
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.beats import import_beats
from geo.gazetteer import import_gazetteer, import_postcodes
from geo.index import BeatIndex
from storage.db import ROOT, upsert, utcnow
from storage.models import Beat, Meta, Place, Postcode

logger = logging.getLogger(__name__)

DATA = ROOT / "data"
DEFAULT_BEATS = DATA / "boundaries" / "brighton_and_hove_wards_2013.geojson"
DEFAULT_GAZETTEER = (
    DATA / "gazetteer" / "sussex_fine_gazetteer_combined.csv",
    DATA / "gazetteer" / "sussex_places_combined.csv",
    DATA / "gazetteer" / "brighton_and_hove_area_names_curated.csv",
    DATA / "gazetteer" / "geonames_postal_sussex.csv",
)
DEFAULT_POSTCODES = DATA / "postcodes" / "sussex_postcodes_codepoint_open.csv.gz"
META_KEY = "geo.area_fingerprint"


def _fingerprint(files: Sequence[Path], options: Mapping[str, Any]) -> str:
    parts = []
    for f in files:
        st = f.stat()
        parts.append([f.name, st.st_size, st.st_mtime_ns])
    text = json.dumps([parts, dict(options)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def import_default_area(session: Session, *, beats_file: str | Path = DEFAULT_BEATS,
                        gazetteer_files: Sequence[str | Path] = DEFAULT_GAZETTEER,
                        postcodes_file: str | Path | None = DEFAULT_POSTCODES,
                        where: Mapping[str, str] | None = None, force: str | None = None,
                        id_prop: str | None = None, name_prop: str | None = None,
                        refresh: bool = False) -> dict[str, Any]:
    """Import beats, then the gazetteer and postcodes placed in them; return what happened.

    Returns ``{"skipped": bool, "beats": n, "places": n, "places_in_beats": n,
    "postcodes": n, "postcodes_in_beats": n, "reports": [...], "seconds": s}``.
    """
    started = time.perf_counter()
    beats_file = Path(beats_file)
    files = [beats_file, *map(Path, gazetteer_files)] + ([Path(postcodes_file)] if postcodes_file else [])
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"demo data missing: {', '.join(missing)}")
    options = {"where": where, "force": force, "id_prop": id_prop, "name_prop": name_prop}
    fingerprint = _fingerprint(files, options)
    stored = session.get(Meta, META_KEY)
    reports = []
    skipped = (not refresh and stored is not None and stored.value == fingerprint
               and area_summary(session)["beats"] > 0)  # beats deleted since: import again
    if not skipped:
        reports.append(import_beats(session, beats_file, id_prop=id_prop, name_prop=name_prop,
                                    force=force, where=where))
        index = BeatIndex.from_session(session)
        if gazetteer_files:
            reports.append(import_gazetteer(session, gazetteer_files, index=index))
        if postcodes_file:
            reports.append(import_postcodes(session, postcodes_file, index=index))
        upsert(session, Meta, [{"key": META_KEY, "value": fingerprint, "updated_at": utcnow()}],
               keys=["key"], update=["value", "updated_at"])
    summary = area_summary(session)
    summary.update(skipped=skipped, reports=[r.as_dict() for r in reports],
                   seconds=round(time.perf_counter() - started, 2))
    logger.info("area %s: %s", "unchanged" if skipped else "imported", summary)
    return summary


def area_summary(session: Session) -> dict[str, Any]:
    """Counts of beats, places and postcodes, and how many of them lie in a beat."""
    def count(*where: Any, model: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    return {"beats": count(model=Beat),
            "places": count(model=Place),
            "places_in_beats": count(Place.beat_id.is_not(None), model=Place),
            "postcodes": count(model=Postcode),
            "postcodes_in_beats": count(Postcode.beat_id.is_not(None), model=Postcode)}
