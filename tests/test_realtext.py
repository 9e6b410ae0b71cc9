"""Real-text gate: beat assignment scored on real pages about Sussex towns (issue 14).

``tests/data/realtext/pages.jsonl.gz`` holds excerpts of real public pages about Sussex towns
outside Brighton & Hove, labelled with the 2013 ward(s) they are about, plus pages about
same-name places outside Sussex labelled with no ward (see the README next to it). All 267
Sussex wards are imported as beats with the Sussex gazetteer and Code-Point Open postcodes,
each excerpt is tagged by the production tagger (the beats ``beatmap tag --format json``
prints), and three shares are measured per split (dev, test, all):

* ``top_beat_right``: ward/town-scope records whose highest-weighted beat is a labelled ward
  (a tie for the top counts as right only if every tied beat is labelled);
* ``assigned``: local (ward/town-scope) records given any beat at all;
* ``elsewhere_unassigned``: ``elsewhere`` records given no beat.

The floors below are a regression gate pinned just under the figures measured on 2026-12-06
(the "Baseline" section of the README, with the error classes). They are NOT issue 14's
targets: issue 14 asks for top beat right >= 0.92 and elsewhere unassigned >= 0.96, which
today's tagger is far from. Raise the floors as the tagger improves.

``.venv/bin/python -m tests.test_realtext`` prints the figures, the timings and every miss
with its error class (what the README's Baseline section was written from).
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from storage.db import ROOT, init_db, make_engine, session_scope

DATA = ROOT / "tests" / "data" / "realtext" / "pages.jsonl.gz"
WARDS = ROOT / "data" / "boundaries" / "sussex_wards_2013.geojson"
GAZETTEER = sorted((ROOT / "data" / "gazetteer").glob("*.csv"))
POSTCODES = ROOT / "data" / "postcodes" / "sussex_postcodes_codepoint_open.csv.gz"

SPLITS = ("dev", "test", "all")
METRICS = ("top_beat_right", "assigned", "elsewhere_unassigned")
# Issue 14's targets (not met today; the gate below only stops regressions).
TARGETS = {"top_beat_right": 0.92, "elsewhere_unassigned": 0.96}
# Regression floors, pinned on 2026-12-06. Measured then (tests/data/realtext/README.md):
#   top_beat_right        dev 0.701  test 0.737  all 0.710
#   assigned              dev 0.949  test 1.000  all 0.961
#   elsewhere_unassigned  dev 0.200  test 0.100  all 0.175
# Each floor is the lower of "measured - 0.02" and "one record fewer than measured",
# rounded down to 0.01: a drop of more than about two points (on the small test split,
# of more than one record) fails. The test split has only 10 elsewhere records (one is
# unassigned today), so its elsewhere floor is 0 and dev/all carry that metric.
# These are NOT issue 14's targets (TARGETS above), which today's tagger falls far short of.
FLOORS = {
    ("top_beat_right", "dev"): 0.68,
    ("top_beat_right", "test"): 0.71,
    ("top_beat_right", "all"): 0.69,
    ("assigned", "dev"): 0.92,
    ("assigned", "test"): 0.97,
    ("assigned", "all"): 0.94,
    ("elsewhere_unassigned", "dev"): 0.16,
    ("elsewhere_unassigned", "test"): 0.0,
    ("elsewhere_unassigned", "all"): 0.15,
}
LOCAL_SCOPES = ("ward", "town")
RECORD_FIELDS = ("id", "url", "text", "split", "scope", "wards", "lad")


def load_records(path: Path = DATA) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_wards(path: Path = WARDS) -> dict[str, dict]:
    """ward_code → the feature's properties."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {f["properties"]["ward_code"]: f["properties"] for f in data["features"]}


# --- scoring ---------------------------------------------------------------------------


def top_beats(result: dict) -> list[str]:
    """Keys of the highest-weighted beat(s) of a ``TagResult.as_dict()`` (several on a tie)."""
    beats = result["beats"]
    if not beats:
        return []
    best = max(b["weight"] for b in beats)
    return [b["key"] for b in beats if abs(b["weight"] - best) < 1e-9]


def top_beat_right(record: dict, result: dict) -> bool:
    top = top_beats(result)
    return bool(top) and all(k in record["wards"] for k in top)


def score(records: list[dict], results: dict[str, dict]) -> dict[str, dict[str, float]]:
    """{split: {metric: share, "n_local": n, "n_elsewhere": n}} for dev, test and all."""
    out = {}
    for split in SPLITS:
        chosen = [r for r in records if split == "all" or r["split"] == split]
        local = [r for r in chosen if r["scope"] in LOCAL_SCOPES]
        away = [r for r in chosen if r["scope"] == "elsewhere"]
        out[split] = {
            "top_beat_right": _share(top_beat_right(r, results[r["id"]]) for r in local),
            "assigned": _share(bool(results[r["id"]]["beats"]) for r in local),
            "elsewhere_unassigned": _share(not results[r["id"]]["beats"] for r in away),
            "n_local": len(local), "n_elsewhere": len(away)}
    return out


def _share(flags) -> float:
    flags = list(flags)
    return round(sum(flags) / len(flags), 3) if flags else 0.0


# --- error classes ---------------------------------------------------------------------

AREA_TYPES = ("suburb", "locality", "village", "ward", "area:")
STREET_TYPES = ("street",)


@dataclass
class Miss:
    id: str
    split: str
    scope: str
    error: str
    chose: str
    why: str
    labelled: list[str] = field(default_factory=list)


def place_kind(name: str, feature_type: str, towns: set[str], ward_names: list[str]) -> str:
    """town / area / street / landmark for the gazetteer entry a mention resolved to.

    "town": a geonames town (or the short form of one, Bexhill → Bexhill-on-Sea), a
    district name, or a name two or more ward names are built on (Polegate → Polegate
    North/South, St Leonards → Central/West St Leonards): a place larger than one beat.
    """
    low = name.lower()
    if (feature_type in ("town", "city") or low in towns
            or any(t.startswith(low + "-") or t.startswith(low + " ") for t in towns)
            or sum(w.startswith(low + " ") for w in ward_names) >= 2
            or (feature_type != "ward"
                and sum(bool(re.search(rf"\b{re.escape(low)}\b", w)) for w in ward_names) >= 2)):
        return "town"
    if feature_type.startswith(AREA_TYPES):
        return "area"
    if feature_type in STREET_TYPES:
        return "street"
    return "landmark"


def classify(record: dict, result: dict, places: dict[int, tuple[str, str]],
             wards: dict[str, dict], towns: set[str],
             same_name: dict[str, set[str]]) -> Miss | None:
    """The error class of a miss (None when the record is right).

    ``places`` maps gazetteer id → (name, feature_type); ``same_name`` maps a lower-case
    name → the beat keys of every gazetteer entry of that name. The decisive evidence is
    the gazetteer entry that gave the top beat the most confidence.
    """
    local = record["scope"] in LOCAL_SCOPES
    if local and top_beat_right(record, result):
        return None
    if not local and not result["beats"]:
        return None
    ward_names = [p["ward_name"].lower() for p in wards.values()]
    resolved = [p for p in result["places"] if p["status"] == "resolved" and p.get("beat")]
    miss = Miss(record["id"], record["split"], record["scope"], "", "", "",
                [wards[w]["ward_name"] for w in record["wards"]])
    if not result["beats"]:
        hits = result["places"]
        miss.chose = "no beat"
        miss.why = "; ".join(sorted({f"{p['surface']} ({p['reason']})" for p in hits})) \
            or "nothing in the gazetteer matched"
        ambiguous = [p for p in hits if p["status"] != "resolved"
                     and "places of this name" in (p.get("reason") or "")]
        if any("points elsewhere" in (p.get("reason") or "") for p in hits):
            miss.error = "no beat: local town name rejected as elsewhere"
        elif not ambiguous:
            miss.error = "no beat: no usable place found"
        else:
            beats = set().union(*(same_name.get(p["surface"].lower(), set()) for p in ambiguous))
            if len(beats) == 1:
                miss.error = "no beat: name left ambiguous though every candidate is in one beat"
            elif beats and beats <= set(record["wards"]):
                miss.error = "street crossing beats (left ambiguous)"
            else:
                miss.error = "no beat: names left ambiguous between beats"
            miss.why += f"; candidates in {sorted(wards[b]['ward_name'] for b in beats if b in wards)}"
        return miss
    top = top_beats(result)[0]
    top_name = wards[top]["ward_name"] if top in wards else top
    top_lad = wards[top]["lad_name"] if top in wards else "?"
    weight = max(b["weight"] for b in result["beats"])
    miss.chose = f"{top_name} ({top_lad}) {weight:.2f}"
    votes: dict[int, float] = defaultdict(float)
    surfaces: dict[int, set[str]] = defaultdict(set)
    for p in resolved:
        if p["beat"] == top:
            votes[p["place_id"]] += p["confidence"]
            surfaces[p["place_id"]].add(p["surface"])
    if not votes:
        miss.error = "other (postcode)" if local else "homonym elsewhere assigned: postcode"
        miss.why = "a postcode"
        return miss
    decisive = max(votes, key=votes.get)
    name, feature_type = places.get(decisive, ("?", ""))
    kind = place_kind(name, feature_type, towns, ward_names)
    said = "/".join(sorted(surfaces[decisive]))
    count = sum(1 for p in resolved if p["place_id"] == decisive)
    miss.why = f'"{said}" x{count} → {name} [{feature_type}] in {top_name}'
    labelled_weight = sum(b["weight"] for b in result["beats"] if b["key"] in record["wards"])
    if local and labelled_weight:
        miss.why += f"; labelled ward(s) got {labelled_weight:.2f}"
    if not local:
        miss.error = ("homonym elsewhere assigned: the place's own (town/area) name"
                      if kind in ("town", "area") else
                      "homonym elsewhere assigned: a street/landmark/common word")
    elif top_lad != record["lad"]:
        miss.error = ("another district's town, named in passing, wins" if kind == "town" else
                      "common word / same-name place in another Sussex district wins")
    elif kind == "town":
        miss.error = "town name votes for the one beat holding its point"
    elif kind == "area":
        miss.error = "area or ward name placed in a neighbouring ward"
    elif kind == "street":
        miss.error = "street crossing beats (placed in one ward)"
    else:
        miss.error = "landmark/bus stop resolved to an entry in another ward"
    return miss


# --- the tagged set --------------------------------------------------------------------


@dataclass
class Tagged:
    records: list[dict]
    results: dict[str, dict]  # record id → TagResult.as_dict()
    places: dict[int, tuple[str, str]]  # gazetteer id → (name, feature_type), for hits
    wards: dict[str, dict]
    towns: set[str]
    same_name: dict[str, set[str]]  # lower-case name → beat keys of its entries
    seconds: dict[str, float]

    def scores(self) -> dict[str, dict[str, float]]:
        return score(self.records, self.results)

    def misses(self) -> list[Miss]:
        found = (classify(r, self.results[r["id"]], self.places, self.wards, self.towns,
                          self.same_name)
                 for r in self.records)
        return [m for m in found if m is not None]


def tag_records(folder: Path, records: list[dict] | None = None) -> Tagged:
    """Import the Sussex wards, gazetteer and postcodes into a new SQLite database in
    ``folder``, then tag every record's text with the production tagger."""
    from sqlalchemy import func, select

    from geo.demo import import_default_area
    from nlp.tagger import Tagger
    from storage.models import Beat, Place

    records = load_records() if records is None else records
    seconds = {}
    started = time.perf_counter()
    url = f"sqlite:///{folder / 'realtext.db'}"
    init_db(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            summary = import_default_area(s, beats_file=WARDS, gazetteer_files=GAZETTEER,
                                          postcodes_file=POSTCODES, id_prop="ward_code",
                                          name_prop="ward_name", refresh=True)
        assert summary["beats"] == 267, summary
        seconds["import"] = time.perf_counter() - started
        with session_scope(engine) as s:
            step = time.perf_counter()
            tagger = Tagger.from_session(s, cache_dir=folder / "cache")
            seconds["tagger"] = time.perf_counter() - step
            step = time.perf_counter()
            results = {r["id"]: tagger.tag(r["text"]).as_dict() for r in records}
            seconds["tag"] = time.perf_counter() - step
            ids = {p["place_id"] for res in results.values() for p in res["places"]
                   if p.get("place_id") is not None}
            places = {row.id: (row.name, row.feature_type or "") for row in
                      s.execute(select(Place.id, Place.name, Place.feature_type)
                                .where(Place.id.in_(ids)))}
            surfaces = {p["surface"].lower() for res in results.values()
                        for p in res["places"] if p["status"] != "resolved"}
            same_name: dict[str, set[str]] = defaultdict(set)
            for name, key in s.execute(select(func.lower(Place.name), Beat.key)
                                       .join(Beat, Beat.id == Place.beat_id)
                                       .where(func.lower(Place.name).in_(surfaces))):
                same_name[name].add(key)
            towns = {n.lower() for n in s.scalars(
                select(Place.name).where(Place.feature_type.in_(("town", "city"))))}
    finally:
        engine.dispose()
    wards = load_wards()
    towns |= {p["lad_name"].lower() for p in wards.values()}
    seconds["total"] = time.perf_counter() - started
    return Tagged(records, results, places, wards, towns, dict(same_name), seconds)


@pytest.fixture(scope="module")  # built once per module: about 15-25 s
def tagged(tmp_path_factory) -> Tagged:
    return tag_records(tmp_path_factory.mktemp("realtext"))


# --- tests -----------------------------------------------------------------------------


def test_realtext_data_integrity():
    records = load_records()
    wards = load_wards()
    assert len(records) == 195
    for r in records:
        missing = [f for f in RECORD_FIELDS if f not in r]
        assert not missing, f"{r.get('id')}: missing {missing}"
        assert r["url"].startswith(("http://", "https://")), r["id"]
        assert r["text"].strip(), r["id"]
        assert r["split"] in ("dev", "test"), r["id"]
        assert r["scope"] in (*LOCAL_SCOPES, "elsewhere"), r["id"]
        assert re.fullmatch(r"rt-\d{4}", r["id"]), r["id"]
        # the README's split rule: every 4th id is test
        assert (r["split"] == "test") == (int(r["id"][3:]) % 4 == 0), r["id"]
        if r["scope"] == "elsewhere":
            assert r["wards"] == [] and r["lad"] is None, r["id"]
            continue
        assert r["wards"], f"{r['id']}: a local record without a ward"
        unknown = [w for w in r["wards"] if w not in wards]
        assert not unknown, f"{r['id']}: ward codes not in {WARDS.name}: {unknown}"
        reserved = [w for w in r["wards"] if wards[w]["lad_name"] == "Brighton and Hove"]
        assert not reserved, f"{r['id']}: Brighton & Hove wards are reserved: {reserved}"
        assert {wards[w]["lad_name"] for w in r["wards"]} == {r["lad"]}, r["id"]
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids), [i for i, n in Counter(ids).items() if n > 1]
    # enough to measure: issue 14 asks for >= 150 local and >= 40 elsewhere pages
    scopes = Counter(r["scope"] for r in records)
    assert scopes["ward"] + scopes["town"] >= 150 and scopes["elsewhere"] >= 40, scopes


@pytest.mark.slow
def test_realtext_every_record_tagged(tagged):
    assert set(tagged.results) == {r["id"] for r in tagged.records}
    scores = tagged.scores()
    assert scores["all"]["n_local"] == 155 and scores["all"]["n_elsewhere"] == 40
    assert scores["dev"]["n_local"] + scores["test"]["n_local"] == 155


@pytest.mark.slow
@pytest.mark.parametrize(("metric", "split"), sorted(FLOORS))
def test_realtext_floor(tagged, metric, split):
    value = tagged.scores()[split][metric]
    floor = FLOORS[(metric, split)]
    # issue 14 wants top_beat_right >= 0.92 and elsewhere_unassigned >= 0.96: not yet met
    misses = [f"{m.id}: {m.error}: {m.chose} ({m.why})" for m in tagged.misses()][:5]
    assert value >= floor, f"{metric} ({split}) fell to {value} (floor {floor}): {misses}"


@pytest.mark.slow
def test_realtext_misses_are_classified(tagged):
    misses = tagged.misses()
    assert misses and all(m.error for m in misses)


def main() -> None:  # pragma: no cover - a report for people, run by hand
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        t = tag_records(Path(tmp))
    print("seconds:", {k: round(v, 1) for k, v in t.seconds.items()})
    scores = t.scores()
    print(f"{'metric':<22}" + "".join(f"{s:>8}" for s in SPLITS))
    for metric in METRICS:
        print(f"{metric:<22}" + "".join(f"{scores[s][metric]:>8.3f}" for s in SPLITS))
    print("issue 14 targets:", TARGETS)
    misses = t.misses()
    print("\nerror classes (dev / test / all):")
    for error, n in Counter(m.error for m in misses).most_common():
        dev = sum(1 for m in misses if m.error == error and m.split == "dev")
        print(f"  {n:>3}  ({dev} / {n - dev})  {error}")
    print()
    for m in misses:
        print(f"{m.id} [{m.split}, {m.scope}] {m.error}\n    labelled {m.labelled}; "
              f"chose {m.chose}\n    {m.why}")


if __name__ == "__main__":
    main()
