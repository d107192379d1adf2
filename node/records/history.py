"""Persons of interest: history sheets (the register of known offenders) and the modus operandi
(MO) of each accused, as rules and fixed vocabularies (pure: no I/O).

History sheets. A station keeps the history sheets of the offenders of its area in its Station
Crime History (SCH): Part V for known depredators ("KDs") and suspects, Part VI (form KPF 156)
for rowdies. The Kerala Police "Standard Operating Procedure for Station House Management"
(section 6.14, "Station Crime History Part VI", and 6.15.10, "Suspects Register") says:
  - a history sheet is opened as "Suspect" under the orders of the Superintendent of Police or
    the SDPO, on (a) a person once convicted who is considered likely to commit crime again, or
    (b) a person not convicted but believed to be addicted to crime, whose movements need
    shadowing;
  - a rowdy sheet is prepared by the SHO and sent to the Superintendent of Police or the SDPO,
    and renewed every year by the SDPO;
  - a suspect's sheet is kept from registration to the end of December, when the SDPO's orders
    are obtained for its discontinuance or retention for a further period;
  - history sheets are closed under the orders of a Gazetted Officer.
The Kerala Anti-Social Activities (Prevention) Act, 2007 defines "known goonda" (s.2(o)) and
"known rowdy" (s.2(p)), the persons its restraint and detention orders may reach: a category of
its own, not a history sheet, noted here because officers use the words alike.
docs/investigation.md says which of this was checked against what.

So a sheet here is opened with its category, its grounds, the order (the officer who ordered it
and the rank the rule asks: `OPEN_RANKS`), the cases it rests on and the MO; reviewed each year
(`review_due_ms`, retained for a further period by the SDPO's order); closed by a gazetted
officer's order (`CLOSE_RANKS`) with the reason. Each step is an entry of its own; a closed
sheet stays in the log and the register shows it closed. Numbered by the station per year,
"HS/2026/000012" (`sheet_number`), from its counters like the process register.

MO. The attributes CCTNS records of how an offence was committed, each from a fixed vocabulary
here with its English and Malayalam label (`MO_VOCABULARY`), plus a free-text note. A later MO
entry for the same accused of the same case supersedes the earlier one in the views; both stay
in the log. Similar-case search (issue 13) will match on these codes.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Final

from node.records.validation import IST

OPENED, REVIEWED, CLOSED = "opened", "reviewed", "closed"
ACTIONS: Final = (OPENED, REVIEWED, CLOSED)
OPEN, CLOSED_STATUS = "open", "closed"

# The categories of history sheet: code -> (English, Malayalam).
CATEGORIES: Final[Mapping[str, tuple[str, str]]] = {
    "known_depredator": ("Known depredator (KD)", "അറിയപ്പെടുന്ന കവർച്ചക്കാരൻ (കെ.ഡി.)"),
    "suspect": ("Suspect", "സംശയിക്കപ്പെടുന്നയാൾ"),
    "rowdy": ("Rowdy", "റൗഡി"),
}
# The ranks an order may come from: code -> (English, Malayalam).
RANKS: Final[Mapping[str, tuple[str, str]]] = {
    "sdpo": ("Sub-Divisional Police Officer (DySP/ASP)", "സബ് ഡിവിഷണൽ പോലീസ് ഓഫീസർ"),
    "sp": ("Superintendent of Police / District Police Chief", "ജില്ലാ പോലീസ് മേധാവി"),
    "commissioner": ("Commissioner of Police", "പോലീസ് കമ്മീഷണർ"),
    "dig": ("Deputy Inspector General", "ഡി.ഐ.ജി."),
    "ig": ("Inspector General", "ഐ.ജി."),
    "sho": ("Station House Officer", "സ്റ്റേഷൻ ഹൗസ് ഓഫീസർ"),
}
# Opened and retained under the orders of the SP or the SDPO (SOP 6.15.10, 6.14); the
# commissioner stands for the SP in a commissionerate city (this project's reading, unverified).
OPEN_RANKS: Final = frozenset({"sdpo", "sp", "commissioner"})
REVIEW_RANKS: Final = OPEN_RANKS
# Closed under the orders of a gazetted officer: DySP and above (the SHO, an Inspector, is not).
CLOSE_RANKS: Final = frozenset({"sdpo", "sp", "commissioner", "dig", "ig"})

# The MO vocabulary: attribute -> code -> (English, Malayalam).
TIMES_OF_DAY: Final[Mapping[str, tuple[str, str]]] = {
    "early_morning": ("Early morning (4-7)", "അതിരാവിലെ (4-7)"),
    "day": ("Day (7-18)", "പകൽ (7-18)"),
    "evening": ("Evening (18-22)", "വൈകുന്നേരം (18-22)"),
    "night": ("Night (22-4)", "രാത്രി (22-4)"),
}
PLACE_TYPES: Final[Mapping[str, tuple[str, str]]] = {
    "house": ("House", "വീട്"),
    "locked_house": ("Locked house", "പൂട്ടിയിട്ട വീട്"),
    "shop": ("Shop", "കട"),
    "temple": ("Place of worship", "ആരാധനാലയം"),
    "office": ("Office", "ഓഫീസ്"),
    "bank_atm": ("Bank or ATM", "ബാങ്ക് / എ.ടി.എം."),
    "road": ("Road or street", "റോഡ്"),
    "vehicle": ("Vehicle", "വാഹനം"),
    "bus_train": ("Bus or train", "ബസ് / ട്രെയിൻ"),
    "other": ("Other", "മറ്റുള്ളവ"),
}
ENTRY_METHODS: Final[Mapping[str, tuple[str, str]]] = {
    "door_lock_broken": ("Door lock broken", "വാതിൽ പൂട്ട് പൊളിച്ച്"),
    "window_grill_removed": ("Window grill removed", "ജനൽ കമ്പി ഇളക്കി"),
    "roof_tiles_removed": ("Roof tiles removed", "ഓട് ഇളക്കി"),
    "wall_breached": ("Wall breached", "ചുമർ തുരന്ന്"),
    "duplicate_key": ("Duplicate key", "വ്യാജ താക്കോൽ"),
    "open_door": ("Through an open door", "തുറന്ന വാതിലിലൂടെ"),
    "impersonation": ("Impersonation or deceit", "ആൾമാറാട്ടം / ചതി"),
    "none": ("No entry (snatching, street)", "പ്രവേശനമില്ല (പിടിച്ചുപറി)"),
}
PROPERTY_TAKEN: Final[Mapping[str, tuple[str, str]]] = {
    "gold_ornaments": ("Gold ornaments", "സ്വർണ്ണാഭരണങ്ങൾ"),
    "cash": ("Cash", "പണം"),
    "mobile_phone": ("Mobile phone", "മൊബൈൽ ഫോൺ"),
    "vehicle": ("Vehicle", "വാഹനം"),
    "electronics": ("Electronics", "ഇലക്ട്രോണിക് ഉപകരണങ്ങൾ"),
    "temple_property": ("Temple property", "ക്ഷേത്ര മുതൽ"),
    "documents": ("Documents", "രേഖകൾ"),
    "other": ("Other", "മറ്റുള്ളവ"),
}
WEAPONS: Final[Mapping[str, tuple[str, str]]] = {
    "none": ("None", "ഇല്ല"),
    "knife": ("Knife", "കത്തി"),
    "chopper": ("Chopper (vettukathi)", "വെട്ടുകത്തി"),
    "iron_rod": ("Iron rod", "ഇരുമ്പ് ദണ്ഡ്"),
    "firearm": ("Firearm", "തോക്ക്"),
    "chilli_powder": ("Chilli powder", "മുളകുപൊടി"),
    "other": ("Other", "മറ്റുള്ളവ"),
}
VEHICLES: Final[Mapping[str, tuple[str, str]]] = {
    "none": ("None (on foot)", "ഇല്ല (കാൽനട)"),
    "motorcycle": ("Motorcycle", "മോട്ടോർ സൈക്കിൾ"),
    "car": ("Car", "കാർ"),
    "autorickshaw": ("Autorickshaw", "ഓട്ടോറിക്ഷ"),
    "other": ("Other", "മറ്റുള്ളവ"),
}
# The single-valued attributes (ModusOperandi field -> vocabulary), then the one repeated.
MO_SINGLE: Final[Mapping[str, Mapping[str, tuple[str, str]]]] = {
    "time_of_day": TIMES_OF_DAY,
    "place_type": PLACE_TYPES,
    "entry_method": ENTRY_METHODS,
    "weapon": WEAPONS,
    "vehicle_used": VEHICLES,
}
MO_VOCABULARY: Final[Mapping[str, Mapping[str, tuple[str, str]]]] = {
    **MO_SINGLE,
    "property_taken": PROPERTY_TAKEN,
}
# Short names an officer may type in an MO search ("entry:window_grill_removed").
MO_SEARCH_NAMES: Final[Mapping[str, str]] = {
    "time": "time_of_day",
    "time_of_day": "time_of_day",
    "place": "place_type",
    "place_type": "place_type",
    "entry": "entry_method",
    "entry_method": "entry_method",
    "property": "property_taken",
    "property_taken": "property_taken",
    "weapon": "weapon",
    "vehicle": "vehicle_used",
    "vehicle_used": "vehicle_used",
}

_NUMBER = re.compile(r"\s*HS\s*/\s*([0-9]{4})\s*/\s*([0-9]{1,9})\s*", re.IGNORECASE)


def sheet_number(serial: int, year: int) -> str:
    """The history sheet's number: "HS/2026/000012"."""
    return f"HS/{year}/{serial:06d}"


def canonical_sheet(text: str) -> str | None:
    """'hs/2026/12' -> 'HS/2026/000012'; None when it is no sheet number."""
    match = _NUMBER.fullmatch(text or "")
    return sheet_number(int(match[2]), int(match[1])) if match else None


def review_due_ms(last_order_ms: int) -> int:
    """When a sheet opened or retained at `last_order_ms` is due for review: the end of that
    year's December in India (SOP 6.15.10: kept "up to the end of December", then the SDPO's
    orders for discontinuance or retention)."""
    year = datetime.datetime.fromtimestamp(last_order_ms / 1000, IST).year
    start = datetime.datetime(year + 1, 1, 1, tzinfo=IST)
    return int(start.timestamp() * 1000)


def label(vocabulary: Mapping[str, tuple[str, str]], code: str, language: str = "en") -> str:
    """A code's label in `language` ("en" or "ml"); the code itself when unknown."""
    found = vocabulary.get(code)
    if found is None:
        return code
    return found[1] if language == "ml" else found[0]


def parse_mo_query(text: str) -> dict[str, set[str]]:
    """What an MO search asks for: "entry:window_grill_removed place:house night" -> attribute
    -> codes. A bare word is every attribute whose vocabulary has that code. Unknown words and
    attributes are left out."""
    wanted: dict[str, set[str]] = {}
    for word in re.split(r"[\s,;]+", (text or "").strip().lower()):
        if not word:
            continue
        name, _, code = word.partition(":") if ":" in word else ("", "", word)
        code = code.replace("-", "_")
        if name:
            attribute = MO_SEARCH_NAMES.get(name)
            if attribute is not None and code in MO_VOCABULARY[attribute]:
                wanted.setdefault(attribute, set()).add(code)
            continue
        for attribute, vocabulary in MO_VOCABULARY.items():
            if code in vocabulary and code not in ("other", "none"):
                wanted.setdefault(attribute, set()).add(code)
    return wanted
