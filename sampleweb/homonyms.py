"""Places elsewhere that share a name with places in Sussex: the out-of-area distractors.

This is knowledge about the world, not about one area: the generator uses the entries whose
name occurs among the chosen area's place or beat names, so a Worthing build gets Worthing's
homonyms and a Brighton build gets Brighton's.
"""

from __future__ import annotations

import random

from sampleweb.text import Mentions

# name -> (where it is, venue slug, venue title, nearby names used in context, typical lines)
HOMONYMS: dict[str, dict] = {
    "Hanover": {"where": "Lower Saxony, Germany", "slug": "hanover-expats",
                "title": "Hanover Expats (Germany)",
                "near": ["Linden", "Herrenhausen Gardens", "the Maschsee", "Hannover Hauptbahnhof",
                         "List", "Kröpcke"],
                "lines": ["Moving to Hanover in Lower Saxony next spring - which districts are good "
                          "for families, {near} or somewhere quieter?",
                          "The Christmas market by {near} in Hanover opens on the 25th; the trams "
                          "from {near} are packed.",
                          "Does anyone know an English-speaking dentist in Hanover, near {near}?"]},
    "Preston": {"where": "Lancashire", "slug": "preston-lancs-forum",
                "title": "Preston (Lancashire) Community Forum",
                "near": ["Fishergate", "Deepdale", "Ribbleton", "Avenham Park", "Fulwood",
                         "the Guild Hall"],
                "lines": ["Traffic on {near} in Preston was gridlocked again after the match at Deepdale.",
                          "The Preston Guild is years away but {near} is already planning; Lancashire "
                          "County Council has the details.",
                          "Burglaries up in {near}, Preston - Lancashire Police ask people to lock sheds."]},
    "Washington": {"where": "Tyne and Wear", "slug": "washington-tyne-wear",
                   "title": "Washington (Tyne and Wear) Residents",
                   "near": ["the Galleries", "Concord", "Sulgrave", "Washington Old Hall", "Columbia",
                            "Sunderland"],
                   "lines": ["Washington in Tyne and Wear: buses from {near} to Sunderland are cut again.",
                             "Anyone going to the fair at {near}? Parking in Washington is a nightmare.",
                             "Northumbria Police are holding a street surgery at {near}, Washington."]},
    "Westbourne": {"where": "Bournemouth, Dorset", "slug": "westbourne-dorset-traders",
                   "title": "Westbourne Traders (Bournemouth)",
                   "near": ["Poole Road", "the Arcade", "Alum Chine", "County Gates", "Seamoor Road"],
                   "lines": ["Westbourne in Bournemouth has new parking bays on {near}.",
                             "The Westbourne Christmas lights switch-on is at {near} in Dorset this year."]},
    "Brunswick": {"where": "Melbourne, Australia", "slug": "brunswick-vic",
                  "title": "Brunswick VIC Locals",
                  "near": ["Sydney Road", "Barkly Square", "Jewell station", "Brunswick East",
                           "Merri Creek"],
                  "lines": ["Brunswick in Melbourne: the 19 tram up {near} was delayed all morning.",
                            "Sydney Road street party in Brunswick, Victoria, runs past {near} this year."]},
    "Queen's Park": {"where": "north-west London", "slug": "queens-park-nw6",
                     "title": "Queen's Park NW6 Neighbours",
                     "near": ["Salusbury Road", "Kilburn", "Brent", "Chamberlayne Road"],
                     "lines": ["Queen's Park in London NW6: Brent council is resurfacing {near}.",
                               "Lost dog near {near}, Queen's Park NW6 - please share in Kilburn groups."]},
    "Brighton": {"where": "Melbourne, Australia", "slug": "brighton-vic-community",
                 "title": "Brighton VIC Community (Melbourne)",
                 "near": ["Church Street", "Middle Brighton", "Dendy Street Beach", "Bay Street",
                          "Bayside"],
                 "lines": ["Brighton, Victoria: the bathing boxes at {near} were vandalised overnight.",
                           "Bayside Council in Melbourne plans new parking on {near}, Brighton."]},
    "Worthing": {"where": "Christ Church, Barbados", "slug": "worthing-barbados",
                 "title": "Worthing Barbados Visitors",
                 "near": ["Worthing Beach", "St Lawrence Gap", "Rockley", "Dover Beach", "Bridgetown"],
                 "lines": ["Staying in Worthing, Barbados - is {near} safe to walk at night?",
                           "Rum shop recommendations near {near} in Worthing, Christ Church?"]},
    "Goring": {"where": "Oxfordshire", "slug": "goring-on-thames",
               "title": "Goring-on-Thames Village News",
               "near": ["Goring Lock", "Streatley", "the Ridgeway", "Goring station", "Cleeve"],
               "lines": ["Goring on Thames: the footpath by {near} is flooded again.",
                         "South Oxfordshire council meeting about parking near {near} in Goring."]},
    "Durrington": {"where": "Wiltshire", "slug": "durrington-wilts",
                   "title": "Durrington (Wiltshire) Village",
                   "near": ["Durrington Walls", "Bulford", "Salisbury Plain", "Amesbury"],
                   "lines": ["Durrington in Wiltshire: army traffic from {near} through the village again.",
                             "Tours of {near} near Stonehenge start from Durrington this summer."]},
    "Hampden Park": {"where": "Glasgow", "slug": "hampden-matchday",
                     "title": "Hampden Park Matchday (Glasgow)",
                     "near": ["Mount Florida", "King's Park", "Cathcart", "Somerville Drive"],
                     "lines": ["Hampden Park in Glasgow: matchday parking restrictions around {near}.",
                               "Queues at {near} station after the cup final at Hampden Park."]},
    "Eastbourne": {"where": "Wellington, New Zealand", "slug": "eastbourne-nz",
                   "title": "Eastbourne NZ Community",
                   "near": ["Days Bay", "Lower Hutt", "Muritai Road", "the ferry wharf"],
                   "lines": ["Eastbourne, New Zealand: the ferry from {near} to Wellington is cancelled.",
                             "Hutt City Council roadworks on {near} in Eastbourne NZ."]},
    "Hastings": {"where": "Hawke's Bay, New Zealand", "slug": "hastings-hawkes-bay",
                 "title": "Hastings NZ Neighbourhood",
                 "near": ["Havelock North", "Flaxmere", "Heretaunga Street", "Napier"],
                 "lines": ["Hastings in Hawke's Bay: the market on {near} is back this weekend.",
                           "Burglaries in {near}, Hastings NZ - police ask for dashcam footage."]},
    "Horsham": {"where": "Victoria, Australia", "slug": "horsham-wimmera",
                "title": "Horsham VIC (Wimmera) Noticeboard",
                "near": ["the Wimmera River", "Firebrace Street", "Natimuk", "Mount Arapiles"],
                "lines": ["Horsham in the Wimmera: the river walk near {near} floods after storms.",
                          "Horsham Rural City Council roadworks on {near}, Victoria."]},
    "Lewes": {"where": "Delaware, USA", "slug": "lewes-delaware",
              "title": "Lewes Delaware Beach Life",
              "near": ["Cape Henlopen", "Savannah Road", "Rehoboth", "the ferry terminal"],
              "lines": ["Lewes, Delaware: the ferry to Cape May from {near} is running late.",
                        "Sussex County DE has beach parking permits for {near} in Lewes."]},
}
# Used when none of the homonyms above names a place in the chosen area.
FALLBACK = ("Preston", "Washington")


def distractor_names(area_names: set[str]) -> list[str]:
    """Homonym entries that name a place of the area (folded), else the fallback pair."""
    folded = {n.casefold().replace("'", "") for n in area_names}
    hits = [name for name in sorted(HOMONYMS) if name.casefold().replace("'", "") in folded]
    return hits or list(FALLBACK)


def distractor_post(rng: random.Random, homonym: str, reply_to: str | None
                    ) -> tuple[str, list[str], Mentions]:
    """A post about the other place that shares ``homonym``; it mentions no local place."""
    entry = HOMONYMS[homonym]
    near = entry["near"]
    line = rng.choice(entry["lines"]).replace("{near}", rng.choice(near), 1).replace(
        "{near}", rng.choice(near))
    title = reply_to or f"{homonym} ({entry['where']}): {rng.choice(near)}"
    paras = [line, f"Posted for everyone in {homonym}, {entry['where']}."]
    return title, paras, Mentions()
