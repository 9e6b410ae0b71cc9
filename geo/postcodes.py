"""UK postcodes: find them in text, normalise them, and look them up in the imported data.

A full postcode ("BN2 9AA", a *unit*) resolves to its Code-Point Open point and the beat
that point falls in. An outward code ("BN2", a *district*) covers thousands of addresses and
several beats, so it resolves to the district only and says it is too coarse for a beat.

The pattern knows the real postcode areas (``BN``, ``RH``, ``E`` …), so that road numbers
such as "A23" or "M23" are not taken for postcodes; an outward code on its own is only
found in upper case, while a full postcode is found in any case ("bn2 9aa").
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.types import LatLon
from storage.models import Beat, Postcode

logger = logging.getLogger(__name__)

# The postcode areas of the UK, Crown Dependencies and BFPO (BF); non-geographic XX/BX too.
AREAS = frozenset("""
AB AL B BA BB BD BF BH BL BN BR BS BT BX CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN
DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L
LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA
SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV
YO ZE
""".split())
_AREA_ALT = "|".join(sorted(AREAS, key=lambda a: (-len(a), a)))  # longest first: "BN" before "B"
# District: a digit, then an optional digit or (central London style "W1A", "EC1V") letter.
_DISTRICT = r"[0-9](?:[0-9]|[A-HJKMNPR-Y])?"
# Inward code: sector digit and a unit of two letters that never include C I K M O V.
_INWARD = r"[0-9][ABD-HJLNP-UW-Z]{2}"
_OUTWARD = rf"(?:{_AREA_ALT}){_DISTRICT}"

#: Finds postcodes in running text. Groups: ``outward`` and ``inward`` (``None`` for an
#: outward code on its own). Full postcodes match in any case; a lone outward code only in
#: upper case, because "bn2" in lower case is more often noise than a district, and not
#: after "the", because "the M23" is a motorway.
POSTCODE_PATTERN = re.compile(
    rf"(?<![A-Za-z0-9])"
    rf"(?P<outward>(?i:{_OUTWARD})(?=[ \t]?(?i:{_INWARD})(?![A-Za-z0-9]))"
    # a lone outward code: upper case, not "the M23" (a motorway), not a broken full code
    rf"|(?<![Tt]he ){_OUTWARD}(?![ \t]?[0-9][A-Za-z]))"
    rf"(?:[ \t]?(?P<inward>(?i:{_INWARD})))?"
    rf"(?![A-Za-z0-9])"
)
_FULL = re.compile(rf"(?P<outward>{_OUTWARD})(?P<inward>{_INWARD})")
_OUT_ONLY = re.compile(_OUTWARD)
_SPACES = re.compile(r"[\s\-_.]+")


def parse_postcode(text: str) -> str | None:
    """Normalise a full postcode or an outward code; ``None`` when it is not one.

    >>> parse_postcode("bn2 9aa"), parse_postcode(" BN29AA "), parse_postcode("bn2")
    ('BN2 9AA', 'BN2 9AA', 'BN2')
    >>> parse_postcode("EC1A1BB"), parse_postcode("W1A 0AX")
    ('EC1A 1BB', 'W1A 0AX')
    >>> parse_postcode("A23"), parse_postcode("BN2 9CA"), parse_postcode("hello")
    (None, None, None)
    """
    if not isinstance(text, str):
        return None
    compact = _SPACES.sub("", text).upper()
    if not 2 <= len(compact) <= 7:
        return None
    m = _FULL.fullmatch(compact)
    if m:
        return f"{m['outward']} {m['inward']}"
    if _OUT_ONLY.fullmatch(compact):
        return compact
    return None


def is_full(postcode: str) -> bool:
    """True for a normalised unit postcode ("BN2 9AA"), False for an outward code."""
    return " " in postcode


def outcode_of(postcode: str) -> str:
    """The outward code of a normalised postcode: ``"BN2 9AA"`` → ``"BN2"``."""
    return postcode.split(" ", 1)[0]


def find_postcodes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, normalised) for each postcode or outward code in ``text``.

    >>> find_postcodes("Meeting at BN2 9aa, near the A23; all of BN1 welcome")
    [(11, 18, 'BN2 9AA'), (41, 44, 'BN1')]
    """
    found = []
    for m in POSTCODE_PATTERN.finditer(text):
        code = parse_postcode(m.group(0))
        if code:
            found.append((m.start(), m.end(), code))
    return found


@dataclass
class PostcodeResult:
    """What a postcode lookup found; ``message`` says it in words for people."""

    query: str
    postcode: str | None = None  # normalised unit or outward code
    kind: str | None = None  # "unit", "outward" or None when not a postcode
    found: bool = False
    point: LatLon | None = None  # the unit's point, or the mean of a district's units
    beat_id: int | None = None
    beat_key: str | None = None
    beat_name: str | None = None
    outcode: str | None = None
    too_coarse_for_beat: bool = False
    unit_count: int = 0  # units of a district
    beats: dict[str, int] = field(default_factory=dict)  # district: beat name → unit count
    message: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        data["point"] = None if self.point is None else {"lat": self.point.lat, "lon": self.point.lon}
        return data


def lookup(session: Session, text: str) -> PostcodeResult:
    """Look ``text`` up as a postcode in the imported Code-Point data."""
    code = parse_postcode(text)
    result = PostcodeResult(query=text, postcode=code)
    if code is None:
        result.message = f"{text.strip()!r} is not a UK postcode or outward code"
        return result
    if is_full(code):
        return _lookup_unit(session, result, code)
    return _lookup_outward(session, result, code)


def _lookup_unit(session: Session, result: PostcodeResult, code: str) -> PostcodeResult:
    result.kind, result.outcode = "unit", outcode_of(code)
    row = session.get(Postcode, code)
    if row is None:
        result.message = f"{code} is not in the imported postcode data"
        return result
    result.found, result.point, result.beat_id = True, LatLon(row.lat, row.lon), row.beat_id
    beat = session.get(Beat, row.beat_id) if row.beat_id else None
    if beat is None:
        result.message = f"{code} is at {row.lat:.5f}, {row.lon:.5f}, outside every beat"
    else:
        result.beat_key, result.beat_name = beat.key, beat.name
        result.message = f"{code} is in beat {beat.name} ({beat.key})"
    return result


def _lookup_outward(session: Session, result: PostcodeResult, code: str) -> PostcodeResult:
    result.kind, result.outcode, result.too_coarse_for_beat = "outward", code, True
    count, lat, lon = session.execute(
        select(func.count(), func.avg(Postcode.lat), func.avg(Postcode.lon))
        .where(Postcode.outcode == code)).one()
    if not count:
        result.message = (f"{code} is an outward code (a postcode district), not in the "
                          "imported postcode data; too coarse to place in a beat")
        return result
    result.found, result.unit_count, result.point = True, int(count), LatLon(lat, lon)
    rows = session.execute(
        select(Beat.name, func.count()).select_from(Postcode)
        .join(Beat, Beat.id == Postcode.beat_id)
        .where(Postcode.outcode == code).group_by(Beat.name)).all()
    result.beats = dict(sorted(((n, int(c)) for n, c in rows), key=lambda kv: (-kv[1], kv[0])))
    spread = f" spread over {len(result.beats)} beats" if len(result.beats) > 1 else ""
    result.message = (f"{code} is a postcode district of {count} units{spread}: too coarse "
                      "to place in one beat; give the full postcode")
    return result
