"""Cases with known similar cases, for the similar-case search's tests and benchmark
(docs/mo-search.md): many generated FIRs of a station (`SyntheticRecords`), most with an MO entry
of random but realistic codes, and planted among them series of cases by one gang: the same
habits (entry, place, property, weapon, vehicle, time of day) and brief facts that tell the same
story in other words, one series in English and one in Malayalam, plus decoys that share the
series' MO but not its story, or its story but not its MO.

Entry bodies only (no numbering, signing or station): the caller appends them to a log or
applies them to an index as `IndexedEntry`s.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field

from node.demo.synthetic import SyntheticRecords
from node.records.history import ENTRY_METHODS, PLACE_TYPES, PROPERTY_TAKEN, VEHICLES, WEAPONS
from node.records.laws import Statutes
from node.records.validation import IST, utc_ms
from protos import ledger_pb2, records_pb2

OFFICER = "PEN100001"
_LAWS = Statutes.default()
_BLOCK = 5000

# The English series: house-breakings by night through the window grill, gold taken from the
# almirah, a chisel left behind, the gang on a motorcycle.
_ENGLISH = (
    "On the night of {date} the accused removed the window grill of the locked house of the "
    "complainant at {place} while the family was away at Guruvayur, entered, broke open the "
    "almirah with a chisel and stole gold ornaments of {n} sovereigns; they escaped on a "
    "motorcycle.",
    "While the house at {place} was locked and the inmates were away, unknown persons prised "
    "off the iron grill of the rear window at night, opened the steel almirah using a chisel and "
    "took away {n} sovereigns of gold ornaments. A motorcycle was heard leaving.",
    "The complainant returned on {date} to find the grill of the bedroom window removed and the "
    "almirah broken open; gold ornaments weighing {n} sovereigns were stolen. A chisel was found "
    "near the window. Neighbours saw two men on a motorcycle at night.",
    "Burglary at the locked house at {place}: the window grill was removed at night, the almirah "
    "was forced with a chisel and {n} sovereigns of gold ornaments were stolen; the accused came "
    "and went on a motorcycle.",
)
# The Malayalam series: the same habits, told in Malayalam with the words inflected otherwise.
_MALAYALAM = (
    "{date} രാത്രി പരാതിക്കാരന്റെ പൂട്ടിയിട്ട വീടിന്റെ ജനൽ കമ്പി ഇളക്കി മാറ്റി അകത്തു കയറിയ പ്രതികൾ "
    "അലമാര കുത്തിത്തുറന്ന് {n} പവൻ സ്വർണ്ണാഭരണങ്ങൾ മോഷ്ടിച്ചു. പ്രതികൾ ബൈക്കിൽ രക്ഷപ്പെട്ടു.",
    "വീട്ടുകാർ ഇല്ലാത്ത സമയം രാത്രിയിൽ പിൻവശത്തെ ജനലിന്റെ കമ്പി ഇളക്കി വീട്ടിനുള്ളിൽ കടന്ന് അലമാരയിൽ "
    "സൂക്ഷിച്ചിരുന്ന {n} പവൻ സ്വർണ്ണാഭരണം മോഷ്ടിച്ചു കൊണ്ടുപോയി. ബൈക്കിന്റെ ശബ്ദം കേട്ടു.",
    "പൂട്ടിയിരുന്ന വീട്ടിലെ ജനൽക്കമ്പി ഇളക്കിയ നിലയിലും അലമാര കുത്തിത്തുറന്ന നിലയിലും കാണപ്പെട്ടു; "
    "{n} പവൻ സ്വർണ്ണാഭരണങ്ങൾ മോഷണം പോയി. രാത്രി രണ്ടുപേർ ബൈക്കിൽ പോകുന്നത് അയൽവാസികൾ കണ്ടു.",
    "രാത്രി സമയം ആളില്ലാത്ത വീടിന്റെ ജനൽ കമ്പി ഇളക്കി അകത്തു കയറി അലമാര കുത്തിപ്പൊളിച്ച് {n} പവൻ "
    "സ്വർണ്ണം മോഷ്ടിച്ചു; പ്രതികൾ ബൈക്കിൽ എത്തി.",
)
# The series' MO: what every case of the gang has.
SERIES_MO = {
    "time_of_day": "night",
    "place_type": "locked_house",
    "entry_method": "window_grill_removed",
    "weapon": "other",
    "vehicle_used": "motorcycle",
}
SERIES_PROPERTY = ("gold_ornaments",)


@dataclass(frozen=True, slots=True)
class Series:
    """A planted series: the case asked about, and the cases like it (numbers as generated)."""

    language: str
    target: str
    similar: tuple[str, ...]


@dataclass(slots=True)
class PlantedCases:
    """The generated entries, in log order, and the series planted among them."""

    bodies: list[ledger_pb2.EntryBody] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    firs: int = 0


def _mo_event(
    fir_number: str, at_ms: int, mo: dict[str, str], taken: tuple[str, ...]
) -> records_pb2.CaseEvent:
    return records_pb2.CaseEvent(
        fir_number=fir_number,
        kind="modus_operandi",
        at_ms=at_ms,
        mo=records_pb2.ModusOperandi(accused_codes=["A1"], property_taken=list(taken), **mo),
    )


def _random_mo(rng: random.Random) -> tuple[dict[str, str], tuple[str, ...]]:
    mo = {
        "time_of_day": rng.choice(["early_morning", "day", "evening", "night"]),
        "place_type": rng.choice(list(PLACE_TYPES)),
        "entry_method": rng.choice(list(ENTRY_METHODS)),
        "weapon": rng.choices(list(WEAPONS), weights=[60, 10, 6, 6, 2, 4, 12])[0],
        "vehicle_used": rng.choices(list(VEHICLES), weights=[40, 35, 8, 10, 7])[0],
    }
    taken = tuple(rng.sample(list(PROPERTY_TAKEN), rng.choice([1, 1, 2])))
    return mo, taken


def planted_cases(
    origin: str,
    count: int,
    *,
    per_series: int = 4,
    seed: int = 13,
    start: datetime.datetime | None = None,
    first_index: int = 0,
) -> PlantedCases:
    """About `count` FIRs (with their MO entries) of a station of `origin`: the generated ones,
    and two series of `per_series` + 1 cases (English, Malayalam) and their decoys spread among
    them. Entries are numbered from `first_index`; FIR numbers run from 1 in the year."""
    rng = random.Random(seed)
    source = SyntheticRecords(seed, "Ernakulam City", "Kalamassery")
    when = start or datetime.datetime(2025, 2, 1, tzinfo=IST)
    out = PlantedCases()
    planted_total = 2 * (per_series + 1) + 4  # two series and four decoys
    slots = sorted(rng.sample(range(count), min(planted_total, count)))
    plan: dict[int, tuple[str, int]] = {}
    kinds = (
        [("en", i) for i in range(per_series + 1)]
        + [("ml", i) for i in range(per_series + 1)]
        + [("mo_only", 0), ("mo_only", 1), ("story_only", 0), ("story_only", 1)]
    )
    rng.shuffle(kinds)
    for slot, planned in zip(slots, kinds, strict=False):
        plan[slot] = planned
    members: dict[str, list[str]] = {"en": [], "ml": []}
    serial = 0
    index = first_index

    def append(body: ledger_pb2.EntryBody) -> None:
        nonlocal index
        body.origin, body.index, body.officer_id = origin, index, OFFICER
        out.bodies.append(body)
        index += 1

    for n in range(count):
        when += datetime.timedelta(minutes=rng.randint(20, 200))
        serial += 1
        if n and n % _BLOCK == 0:
            # A fresh generator per block: one keeps every accused it made and looks through
            # them all for each new one (repeat offenders), which grows with the square.
            source = SyntheticRecords(seed + n, "Ernakulam City", "Kalamassery")
        fir = source.crime_fir(when)
        fir.fir_serial, fir.fir_year = serial, when.year
        fir.fir_number = f"FIR No. {serial}/{when.year}"
        fir.registered_at_ms = utc_ms(when)
        at = utc_ms(when)
        mo, taken = _random_mo(rng)
        kind = plan.get(n)
        if kind is not None:
            what, variant = kind
            night = when.replace(hour=1, minute=rng.randint(0, 59)) - datetime.timedelta(days=1)
            fir.occurrence_from_ms = fir.occurrence_to_ms = utc_ms(night)
            place = fir.place_of_occurrence.description
            # House-breaking by night and theft in a dwelling, whatever offence was generated.
            del fir.sections[:]
            fir.sections.add(act="BNS", section="331(4)")
            fir.sections.add(act="BNS", section="305(a)")
            fir.crime_head = _LAWS.crime_head(fir.sections)
            if what in ("en", "ml", "story_only"):
                texts = _MALAYALAM if what == "ml" else _ENGLISH
                fir.brief_facts = texts[variant % len(texts)].format(
                    date=night.strftime("%d-%m-%Y"), place=place, n=rng.randint(4, 30)
                )
            if what in ("en", "ml", "mo_only"):
                mo, taken = dict(SERIES_MO), SERIES_PROPERTY
            if what in ("en", "ml"):
                members[what].append(fir.fir_number)
        for number, entry in enumerate(fir.persons, 1):
            if not entry.person.person_id:
                entry.person.person_id = f"P-{serial}-{number}"
        append(ledger_pb2.EntryBody(written_at_ms=at, fir=fir))
        has_accused = any(p.accused_code == "A1" for p in fir.persons)
        if kind is not None or (has_accused and rng.random() < 0.7):
            append(
                ledger_pb2.EntryBody(
                    written_at_ms=at + 60_000, case_event=_mo_event(fir.fir_number, at, mo, taken)
                )
            )
    out.firs = serial
    for language, numbers in members.items():
        if numbers:
            out.series.append(Series(language, numbers[0], tuple(numbers[1:])))
    return out
