"""One-line, plain-English reasons for a venue's place in a beat's list, from its evidence.

A reason may name the local venues that link to the venue ("linked from 2 local venues
(Hanover RA and 1 other)"). It names only those in ``linked_from``: whoever fills that list
decides who may be named (:func:`graph.queries.shown_linkers` leaves out sensitive venues
unless the viewer may see them); the others are counted, never named.
"""

from __future__ import annotations

# Names listed in a reason before "and N more" would make the line too long to scan.
MAX_PLACES = 3
MAX_LINKERS = 2

PLATFORM_NAMES = {"facebook": "Facebook", "nextdoor": "Nextdoor", "whatsapp": "WhatsApp",
                  "telegram": "Telegram", "instagram": "Instagram", "twitter": "X/Twitter",
                  "x": "X/Twitter", "youtube": "YouTube", "discord": "Discord",
                  "meetup": "Meetup"}


def join_names(names: list[str]) -> str:
    """"A", "A and B", "A, B and C".

    >>> join_names(["Elm Grove"]), join_names(["A", "B", "C"])
    ('Elm Grove', 'A, B and C')
    >>> join_names([])
    ''
    """
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def place_phrase(places: list[str], sectors: list[str]) -> str:
    """The places part: named places first, then postcode sectors.

    >>> place_phrase(["Elm Grove", "Queen's Park Road"], ["BN2 9"])
    "Elm Grove, Queen's Park Road and BN2 9 postcodes"
    >>> place_phrase([], ["BN2 9", "BN2 3"])
    'BN2 9 and BN2 3 postcodes'
    """
    named = places[:MAX_PLACES]
    shown = sectors[:max(MAX_PLACES - len(named), 1)]
    if not shown:
        return join_names(named)
    return join_names(named + [join_names(shown) + " postcodes"])


def reason(ev: dict) -> str:
    """The reason line for one (venue, beat) from its evidence dict (see ``graph.rank``).

    Examples
    --------
    >>> reason({"places": [["Elm Grove", 9.0], ["Queen's Park Road", 4.0]],
    ...         "sectors": ["BN2 9"], "posts_in_beat_90d": 40, "posts_in_beat": 52,
    ...         "local_linkers": 3, "linked_from": []})
    "mentions Elm Grove, Queen's Park Road and BN2 9 postcodes in 40 posts this quarter; linked from 3 local venues"
    >>> reason({"places": [], "sectors": [], "known_only": True, "platform": "facebook",
    ...         "local_linkers": 2, "linked_from": ["Hanover RA", "Elm Grove LAT"],
    ...         "inherited": True})
    'Facebook venue, not crawled; linked from 2 local venues (Hanover RA and Elm Grove LAT)'

    A linker left out of ``linked_from`` (a sensitive venue) is counted, not named:

    >>> reason({"local_linkers": 2, "linked_from": ["Hanover RA"], "inherited": True})
    'linked from 2 local venues (Hanover RA and 1 other)'
    >>> reason({"local_linkers": 1, "linked_from": [], "inherited": True})
    'linked from 1 local venue'
    """
    parts: list[str] = []
    places = [p[0] if isinstance(p, list | tuple) else p for p in ev.get("places", [])]
    sectors = ev.get("sectors", [])
    if ev.get("known_only"):
        label = PLATFORM_NAMES.get(ev.get("platform", ""), ev.get("platform") or "unknown")
        parts.append(f"{label} venue, not crawled")
    if places or sectors:
        what = place_phrase(places, sectors)
        recent, total = ev.get("posts_in_beat_90d", 0), ev.get("posts_in_beat", 0)
        if ev.get("named_only"):
            parts.append(f"named after {what}")
        elif recent:
            parts.append(f"mentions {what} in {_plural(recent, 'post')} this quarter")
        elif total:
            parts.append(f"mentions {what} in {_plural(total, 'post')}, none this quarter")
        else:
            parts.append(f"mentions {what}")
    if ev.get("seeded"):
        parts.append("given as a seed for this beat")
    linkers = ev.get("local_linkers", 0)
    if linkers:
        detail = linker_phrase(ev.get("linked_from", []), linkers) if ev.get("inherited") else ""
        parts.append(f"linked from {_plural(linkers, 'local venue')}{detail}")
    parts.extend(_status_phrases(ev))
    return "; ".join(parts) or "weak evidence only"


def linker_phrase(names: list[str], total: int) -> str:
    """" (A, B and 2 others)": at most ``MAX_LINKERS`` names, the rest of ``total`` counted.

    The same words whether a linker is unnamed because the list is long or because it may
    not be named, so the phrase never tells which.

    >>> linker_phrase(["Hanover RA", "Elm Grove LAT", "Queen's Park"], 3)
    ' (Hanover RA, Elm Grove LAT and 1 other)'
    >>> linker_phrase([], 2)
    ''
    """
    shown = list(names[:MAX_LINKERS])
    if not shown:
        return ""
    rest = total - len(shown)
    if rest > 0:
        return f" ({', '.join(shown)} and {_plural(rest, 'other')})"
    return f" ({join_names(shown)})"


def _status_phrases(ev: dict) -> list[str]:
    out = []
    flags = ev.get("flags", [])
    last = (ev.get("last_post_at") or "")[:7]
    if "dormant" in flags:
        out.append(f"dormant (last post {last})" if last else "dormant")
    for flag, text in (("gone", "site gone"), ("hijacked", "hijacked or spam"),
                       ("duplicate", "probable duplicate of a higher-ranked venue")):
        if flag in flags:
            out.append(text)
    topics = ev.get("priority_topics", [])
    if topics:
        out.append("talks about " + join_names([t.replace("-", " ") for t in topics[:2]])
                   + " (beat priority)")
    status = ev.get("outreach")
    if status:
        out.append(f"outreach: {status}")
    if ev.get("state") == "in":
        out.append("curated in")
    return out
