"""Synthetic post text: topics, sentence templates, titles and pseudonymous handles.

All of it is written for this project. Templates name the kind of place they want
(``{street}``, ``{place}``, ``{postcode}``) so mentions read naturally; every filled slot is
recorded so the ground truth knows exactly which places and postcodes a post mentions.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

# Topic keys follow the data.police.uk crime categories where one fits, plus community topics.
TOPICS: dict[str, dict[str, list[str]]] = {
    "anti-social-behaviour": {
        "titles": ["Noise and trouble near {place} again", "Groups gathering on {street} late at night",
                   "Antisocial behaviour by {place} - anyone else?", "Fireworks and shouting around {place}"],
        "lines": ["There has been a group of teenagers hanging around {place} most evenings this week, "
                  "shouting and throwing things at windows.",
                  "Last night at about {time} there was a lot of noise on {street}, and someone kicked over "
                  "the recycling bins.",
                  "Is anyone else fed up with the antisocial behaviour near {place}? It has been going on "
                  "since {month}.",
                  "The noise from {street} kept half the road awake until {time} on {day}.",
                  "Walking home between {street} and {place} after dark does not feel safe at the moment."],
    },
    "burglary": {
        "titles": ["Break-in on {street}", "Burglary warning for {place}", "Shed broken into near {place}"],
        "lines": ["Our neighbour on {street} had a break-in on {day} while they were at work; the back "
                  "door was forced.",
                  "Please check your sheds - two were broken into near {place} overnight and bikes were taken.",
                  "A burglary was reported at a house close to {postcode} yesterday afternoon.",
                  "Police came round {street} asking about a burglary, so keep your doors locked.",
                  "Someone tried the back gates all along {street} on {day} night; two garages were opened."],
    },
    "vehicle-crime": {
        "titles": ["Cars tampered with on {street}", "Catalytic converter stolen near {place}",
                   "Van broken into on {street}"],
        "lines": ["Two cars on {street} had their windows smashed on {day} night.",
                  "Someone was trying car door handles along {street} at {time}; it is on our doorbell camera.",
                  "A catalytic converter was stolen from a car parked by {place} this week.",
                  "If you park near {postcode}, check your car - several have been tampered with.",
                  "Number plates were stolen off two cars outside {place} last week."],
    },
    "speeding": {
        "titles": ["Speeding on {street}", "Speed watch volunteers needed for {street}",
                   "Cars racing along {street}"],
        "lines": ["Cars come down {street} far too fast, especially in the mornings around {time}.",
                  "We are starting a community speed watch on {street}; volunteers welcome.",
                  "Someone nearly got hit crossing by {place} because a car was doing well over the limit.",
                  "Could we get a 20 mph sign near {place}? The speeding is getting worse.",
                  "Motorbikes race up {street} towards {place} most evenings around {time}."],
    },
    "parking": {
        "titles": ["Parking on the pavement on {street}", "Parking permit changes for {place}",
                   "Blocked dropped kerb near {place}"],
        "lines": ["People keep parking across the dropped kerbs on {street}, so wheelchairs cannot get past.",
                  "The council is consulting on new parking permits around {place}; the deadline is {month}.",
                  "Someone has left a van on the pavement outside {postcode} for a week now.",
                  "Match days fill every space from {street} up to {place}."],
    },
    "bins-fly-tipping": {
        "titles": ["Fly-tipping on {street}", "Missed bin collections around {place}",
                   "Mattresses dumped by {place}"],
        "lines": ["There is a pile of fly-tipped rubbish at the end of {street}; I have reported it.",
                  "Our bins on {street} have not been collected for two weeks now.",
                  "Someone dumped two mattresses and a sofa near {place} over the weekend.",
                  "The communal bins by {postcode} are overflowing again and attracting gulls.",
                  "Gulls have ripped open the bin bags on {street} again - please use the lidded bins."],
    },
    "events": {
        "titles": ["Summer fair at {place}", "Street party on {street} - save the date",
                   "Community litter pick around {place}", "Open meeting at {place} on {day}"],
        "lines": ["Our summer fair is at {place} on {day} from 11am, with cake stalls and a tombola.",
                  "We are planning a street party on {street}; road closure forms are in.",
                  "Join the litter pick starting from {place} this {day} at 10am - gloves provided.",
                  "The next open residents' meeting is at {place}; everyone is welcome."],
    },
    "planning": {
        "titles": ["Planning application for {street}", "New flats proposed near {place}",
                   "Objections to the {place} development"],
        "lines": ["There is a planning application to turn the old garage on {street} into six flats.",
                  "Comments on the development near {place} close at the end of {month}.",
                  "The proposed extension at {postcode} would block light to the houses behind."],
    },
    "schools": {
        "titles": ["School run traffic on {street}", "Crossing patrol needed near {place}",
                   "PTA news from {place}"],
        "lines": ["The school run turns {street} into a car park every morning at {time}.",
                  "Parents are asking for a crossing patrol by {place} after a near miss.",
                  "Thank you to everyone who came to the quiz night - we raised money for the library."],
    },
    "parks-green-spaces": {
        "titles": ["Volunteer day at {place}", "Broken equipment in the playground at {place}",
                   "Dog fouling around {place}"],
        "lines": ["The volunteer day at {place} went well - we planted forty bulbs by the gate.",
                  "Two of the swings in the playground at {place} are broken; the council has been told.",
                  "Please pick up after your dogs around {place}, it is getting really bad."],
    },
    "neighbourhood-watch": {
        "titles": ["Neighbourhood watch update for {place}", "New watch coordinator for {street}",
                   "Scam warning for {place} residents"],
        "lines": ["This month's neighbourhood watch update for {place}: two thefts and one attempted break-in.",
                  "We now have a coordinator for {street} - get in touch if you want to join the scheme.",
                  "Residents near {postcode} report phone calls from someone claiming to be from the bank."],
    },
    "drugs": {
        "titles": ["Drug dealing near {place}?", "Needles found by {place}"],
        "lines": ["There seems to be drug dealing going on by {place} most afternoons.",
                  "Needles were found in the bushes near {place}; please be careful with children.",
                  "Cars stop on {street} for a minute and drive off - looks like dealing to me."],
    },
    "bicycle-theft": {
        "titles": ["Bike stolen from {street}", "Bike thefts near {place}"],
        "lines": ["My bike was stolen from outside my flat on {street}, even though it was locked.",
                  "Three bikes have gone from the racks near {place} this month."],
    },
    "shoplifting": {
        "titles": ["Shoplifting at the shops by {place}"],
        "lines": ["The staff at the corner shop by {place} say shoplifting has doubled this year."],
    },
    "roads-potholes": {
        "titles": ["Potholes on {street}", "Roadworks on {street}"],
        "lines": ["The potholes on {street} are getting deep enough to damage a car.",
                  "Roadworks on {street} will last until {month}, with diversions via {place}."],
    },
}

SAFETY_TOPICS = ("anti-social-behaviour", "burglary", "vehicle-crime", "speeding", "drugs",
                 "bicycle-theft", "shoplifting", "neighbourhood-watch")

FILLER = ["Thanks to everyone who replied.", "Has anyone else noticed this?",
          "I have reported it online but heard nothing back yet.", "Any advice welcome.",
          "Just thought people should know.", "Stay safe everyone.",
          "I will post an update when I hear more.", "Good to see the neighbourhood pulling together.",
          # Places far away: mentions that must not be tagged as local.
          "My sister in Manchester says it is just as bad up there.",
          "Came back from a week in Cornwall to find this.",
          "Apparently the same thing happened in Croydon last year."]
REPLIES = ["Same here, it has been bad all month.", "Thanks for posting this.",
           "We saw the same from our window last night.", "Has this been reported to the police?",
           "I saw it too and rang 101.", "Has anyone contacted the council about it?",
           "We had the same problem last year.", "Good idea, count me in.",
           "I can help on the day.", "That is worrying, thanks for the warning."]
GENERIC_TITLES = ["General chat", "Introductions", "Anyone recommend a plumber?",
                  "Lost cat", "Found keys", "Book swap", "Quiet week"]
GENERIC_LINES = ["Does anyone know a good plumber who can come out this week?",
                 "Our cat has gone missing - ginger, very friendly, answers to Biscuit.",
                 "Found a set of keys on the pavement this morning, message me to describe them.",
                 "There is a book swap box outside the community centre now.",
                 "Quiet week this week, nothing much to report."]
SPAM_LINES = ["Best online casino bonus 2024 - claim free spins now!",
              "Cheap replica watches, fast delivery, no prescription needed.",
              "Win big today, click here for exclusive crypto offers."]
STREET_WORDS = ("Road", "Street", "Avenue", "Lane", "Drive", "Way", "Close", "Crescent", "Gardens",
                "Terrace", "Place", "Hill", "Rise", "Grove", "Square", "Parade", "Walk")
PARK_WORDS = ("Park", "Gardens", "Green", "Recreation", "Wood", "Common", "Down", "Level", "Field")
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

HANDLE_FIRST = ["Kestrel", "Otter", "Badger", "Heron", "Robin", "Fox", "Wren", "Swift", "Hare",
                "Finch", "Magpie", "Lark", "Vole", "Gull", "Puffin", "Stoat", "Plover", "Linnet"]
HANDLE_SECOND = ["Blue", "Grey", "Quiet", "Early", "Sunny", "Tidy", "Busy", "Windy", "Rainy",
                 "Green", "Bright", "Lucky", "Happy", "Salty", "Local", "Nosy"]
HANDLE_WORDS = ["resident", "neighbour", "mum", "dad", "gardener", "cyclist", "walker", "reader"]

# The planted handle: distinctive enough that a substring search of the database, logs and
# exports can prove it is never stored in clear (data-protection tests).
PLANTED_HANDLE = "ZebraCanary4471"


def make_handles(rng: random.Random, count: int) -> list[str]:
    """A pool of pseudonymous forum-style handles (no real names)."""
    handles: set[str] = set()
    while len(handles) < count:
        style = rng.random()
        if style < 0.4:
            h = f"{rng.choice(HANDLE_SECOND)}{rng.choice(HANDLE_FIRST)}{rng.randint(1, 99)}"
        elif style < 0.75:
            h = f"{rng.choice(HANDLE_FIRST).lower()}_{rng.choice(HANDLE_WORDS)}{rng.randint(1, 999)}"
        else:
            h = f"{rng.choice(HANDLE_WORDS)}{rng.randint(100, 9999)}"
        if h != PLANTED_HANDLE:
            handles.add(h)
    return sorted(handles)


@dataclass
class Mentions:
    """What a generated text mentions (the ground truth of one post)."""

    places: list[tuple[str, str]] = field(default_factory=list)  # (name, beat key)
    postcodes: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)


@dataclass
class BeatPool:
    key: str
    streets: list[str]
    places: list[str]
    postcodes: list[str]


class Filler:
    """Fills template slots from a beat's pools and records each mention."""

    def __init__(self, rng: random.Random, pool: BeatPool | None, mentions: Mentions):
        self.rng, self.pool, self.m = rng, pool, mentions

    def fill(self, template: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda mo: self._slot(mo.group(1)), template)

    def _slot(self, slot: str) -> str:
        rng, pool = self.rng, self.pool
        if slot in ("street", "place") and pool:
            names = (pool.streets if slot == "street" else pool.places) or pool.places or pool.streets
            if names:
                name = rng.choice(names)
                if (name, pool.key) not in self.m.places:
                    self.m.places.append((name, pool.key))
                return name
        if slot == "postcode" and pool and pool.postcodes:
            code = rng.choice(pool.postcodes)
            if code not in self.m.postcodes:
                self.m.postcodes.append(code)
            return code
        if slot == "time":
            return f"{rng.choice([7, 8, 9, 10, 11])}.{rng.choice(['00', '15', '30', '45'])}pm"
        if slot == "day":
            return rng.choice(DAYS)
        if slot == "month":
            return rng.choice(MONTHS)
        return "the area" if slot in ("street", "place") else "nearby"


def local_post(rng: random.Random, pool: BeatPool | None, *, reply_to: str | None = None
               ) -> tuple[str, list[str], Mentions]:
    """A title and paragraphs about one or two topics in one beat, with their mentions."""
    m = Mentions()
    f = Filler(rng, pool, m)
    if pool is None or rng.random() < 0.1:
        title = reply_to or rng.choice(GENERIC_TITLES)
        return title, [rng.choice(GENERIC_LINES), rng.choice(FILLER)], m
    topics = rng.sample(sorted(TOPICS), k=1 if rng.random() < 0.7 else 2)
    m.topics.extend(topics)
    if reply_to:
        paras = [rng.choice(REPLIES) + " " + f.fill(rng.choice(TOPICS[topics[0]]["lines"]))]
        return reply_to, paras, m
    title = f.fill(rng.choice(TOPICS[topics[0]]["titles"]))
    paras = [f.fill(line) for t in topics for line in rng.sample(TOPICS[t]["lines"], k=1)]
    if rng.random() < 0.35 and pool.postcodes and not m.postcodes:
        paras.append(f.fill("If it helps, the nearest postcode is {postcode}."))
    paras.append(rng.choice(FILLER))
    return title, paras, m


def spam_post(rng: random.Random) -> tuple[str, list[str], Mentions]:
    line = rng.choice(SPAM_LINES)
    return line.split(" - ")[0].split(",")[0], [line, rng.choice(SPAM_LINES)], Mentions()


def seo_spam_post(rng: random.Random, pools: list[BeatPool]) -> tuple[str, list[str], Mentions]:
    """Keyword-stuffed spam that names many local places (a trap for naive locality scoring)."""
    m = Mentions()
    names = []
    for pool in rng.sample(pools, k=min(4, len(pools))):
        if pool.places:
            name = rng.choice(pool.places)
            names.append(name)
            m.places.append((name, pool.key))
    where = ", ".join(names) or "your area"
    return (f"Cheap locksmith {names[0] if names else ''}".strip(),
            [f"Best cheap locksmith and emergency plumber in {where}. Call now for 50% off!",
             rng.choice(SPAM_LINES)], m)


def split_street_place(names: list[str]) -> tuple[list[str], list[str]]:
    """Streets (names ending in a street word) and other named places."""
    streets = [n for n in names if n.split()[-1] in STREET_WORDS]
    places = [n for n in names if n not in streets]
    return streets, places


def slugify(text: str) -> str:
    """Lower-case, hyphenated ASCII.

    >>> slugify("St. Peter's and North Laine")
    'st-peters-and-north-laine'
    """
    text = text.lower().replace("'", "").replace("\u2019", "").replace("&", "and")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")
