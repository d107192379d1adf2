"""Realistic synthetic police-station records for Kerala, for tests, demos and simulations.

Names (given and house names with realistic frequencies: `node/demo/kerala_names.py`), places,
vehicles, offences and NDPS quantities come from `node/demo/seeddata/*.json`;
sections come from `node.records.laws` and are valid and in force for the offence date (IPC
before 1 July 2024, BNS from then on; an unnatural death's inquest under CrPC s.174 before that
day, BNSS s.194 from it). Output is deterministic for a given seed, district and station.

What keeps the records lawful, not only well-formed:

* a victim's sex and age fit the sections cited: the sexual offences against a woman (BNS 63-79,
  IPC 354-354D, 375-376E) have a female victim, the child sections (BNS 65, 70(2), IPC 376(3),
  376AB) a girl of the age they name, and a victim under 18 of a sexual offence always brings
  POCSO; cruelty and dowry death (BNS 80, 85, IPC 304B, 498A) a married woman, with her husband
  and his family as the accused; kidnapping from lawful guardianship a minor whose age the facts
  state; the offences only a man commits (rape, sexual harassment, voyeurism, stalking) a male
  accused;
* an NDPS seizure states its quantity, and the section's limb (small, intermediate, commercial)
  follows from it by the notified thresholds (`seeddata/ndps.json`, S.O. 1055(E) of 2001);
* a station writes far more General Diary entries than anything else (`SLOT_SHARES`), and
  registers missing persons (Kerala Police Act s.57) and unnatural deaths beside crime in its FIR
  register, and books smoking in public places and tobacco sales (COTPA) as petty cases.

The generator never assigns what the station assigns (FIR, GD, petition and NCR numbers, GD
references): those fields are left empty for the station's log to fill in. It must never do I/O
beyond reading its own seed data.
"""

from __future__ import annotations

import datetime
import json
import math
import random
import string
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from google.protobuf.message import Message

from ledger.errors import InputError
from node.demo.kerala_names import kerala_names
from node.records import withholding
from node.records.laws import BNS_COMMENCEMENT, statutes
from protos import records_pb2

__all__ = ["IST", "REGISTER_SHARES", "SLOT_SHARES", "SyntheticRecords", "ndps_limb"]

#: India Standard Time; diary dates and the law-in-force rule use the local date.
IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30), "IST")

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MS = datetime.timedelta(milliseconds=1)
#: The longest time `_case_times` puts between an occurrence's start and the day its offence was
#: chosen by (20 days' delay, a 10-day span, the 6 hours before registration), rounded up.
_LONGEST_DELAY = datetime.timedelta(days=31)

#: What a station writes, per case entered in its FIR register. A station writes dozens of
#: General Diary entries a day (every arrival and departure of its staff, information received,
#: arrests, property, the lock-up and arms checks) and a few FIRs a week: about 30 diary entries
#: per FIR (the station adds one of its own for each FIR it registers).
#: Petitions outnumber FIRs; non-cognizable reports are fewer. COTPA petty cases: Kerala Police
#: fined about 2 lakh persons in 2016 against about 7 lakh crime cases (newsexperts.in, 2017),
#: and far fewer since 2020 (Kochi City: 23,471 in 2017, 72 in 2020, New Indian Express, 2021):
#: 0.15 per FIR, between the two.
SLOT_SHARES: dict[str, float] = {
    "gd": 30.0,
    "fir": 1.0,
    "petition": 1.5,
    "ncr": 0.4,
    "cotpa": 0.15,
}

#: What the FIR register holds besides crime. Kerala, yearly: about 5.8 lakh crime cases (2023:
#: 2.58 lakh IPC and 3.26 lakh special and local laws, NCRB Crime in India 2023), about 12,000
#: missing-person cases (11,897 in 2024, Kerala Police figures in the press) and, our estimate,
#: about 17,000 unnatural deaths (10,972 suicides, NCRB ADSI 2023, with drownings, falls, shocks
#: and bodies found; a road death is booked as crime, BNS 106). Rounded: 95 / 3 / 2.
REGISTER_SHARES: dict[str, float] = {
    "crime": 95.0,
    "unnatural death": 3.0,
    "missing person": 2.0,
}

_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # VINs never use I, O or Q
_REUSE_SHARE = 0.04  # share of accused who are already known to the station (repeat offenders)
_STAFF = 24  # officers on a station's roll, named in its diary

_PRONOUNS = {
    "M": {"he": "he", "his": "his", "him": "him"},
    "F": {"he": "she", "his": "her", "him": "her"},
}


@cache
def _seed(name: str) -> Any:
    text = resources.files("node.demo").joinpath("seeddata", name).read_text(encoding="utf-8")
    return json.loads(text)


def _ms(moment: datetime.datetime) -> int:
    """Unix milliseconds of a time, exactly (no float rounding), rounded down."""
    return (_aware(moment) - _EPOCH) // _MS


def _at_ms(ms: int) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(milliseconds=ms)


def _aware(moment: datetime.datetime) -> datetime.datetime:
    # Naive datetimes are taken as UTC, the zone of every stored time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


def _local_date(moment: datetime.datetime) -> datetime.date:
    return _aware(moment).astimezone(IST).date()


def _slug(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _pronouns(sex: str) -> dict[str, str]:
    words = dict(_PRONOUNS.get(sex, _PRONOUNS["M"]))
    words.update({k.capitalize(): v.capitalize() for k, v in list(words.items())})
    return words


def _apportion(total: int, shares: Mapping[str, float]) -> dict[str, int]:
    """`total` split by `shares`, largest remainders first, so the counts add up exactly."""
    weight = sum(shares.values())
    exact = {kind: total * share / weight for kind, share in shares.items()}
    counts = {kind: math.floor(value) for kind, value in exact.items()}
    left = total - sum(counts.values())
    for kind in sorted(exact, key=lambda k: counts[k] - exact[k])[:left]:
        counts[kind] += 1
    return counts


# NDPS small / commercial quantities (grams), notification S.O. 1055(E) of 19 October 2001 as
# amended by S.O. 2941(E) of 18 November 2009; the figures and their sources are in
# seeddata/ndps.json: ganja 1,000 / 20,000; charas, hashish (oil) 100 / 1,000; heroin 5 / 250;
# cocaine 2 / 100; MDMA 0.5 / 10; LSD 0.002 / 0.1.
def ndps_limb(grams: float, small_g: float, commercial_g: float, limbs: Sequence[str]) -> str:
    """The limb of NDPS s.20(b)(ii), 21 or 22 for a seizure of `grams`.

    NDPS s.2(xxiiia): a small quantity is any quantity *less than* the notified figure;
    s.2(viia): a commercial quantity is any quantity *greater than* its figure; anything from
    the one to the other, both figures included, is the middle limb.
    """
    if grams < small_g:
        return limbs[0]
    if grams > commercial_g:
        return limbs[2]
    return limbs[1]


def _quantity_text(grams: float) -> tuple[str, float]:
    """A seized weight as written in a mahazar ("1.250 kg", "4.35 g", "45 mg"), and the weight
    in grams that text states (what the limb is decided on)."""
    if grams >= 1000:
        kilos = f"{grams / 1000:.3f}"
        return f"{kilos} kg", float(kilos) * 1000
    if grams >= 10:
        whole = f"{round(grams)}"
        return f"{whole} g", float(whole)
    if grams >= 1:
        fine = f"{grams:.2f}".rstrip("0").rstrip(".")
        return f"{fine} g", float(fine)
    milli = f"{grams * 1000:.1f}".rstrip("0").rstrip(".")
    return f"{milli} mg", float(milli) / 1000


def _spread(rng: random.Random, n: int, first: int, last: int) -> list[int]:
    """`n` times (ms) in [first, last], in strictly increasing order when they fit (else some
    share a millisecond). One random number each, whatever the window, so that a seed gives
    the same records whenever it is run."""
    count = last - first + 1
    times = sorted(first + min(count - 1, int(rng.random() * count)) for _ in range(n))
    if n > count:
        return times
    for i in range(1, n):  # apart by a millisecond at least...
        times[i] = max(times[i], times[i - 1] + 1)
    for i in range(n):  # ...and none after `last`
        times[i] = min(times[i], last - (n - 1 - i))
    return times


def _in_hours(hours: Sequence[int], hour: int) -> bool:
    start, stop = hours
    if start <= stop:
        return start <= hour < stop
    return hour >= start or hour < stop  # a window across midnight, e.g. [20, 5]


def _at_hour(texts: list[str | dict[str, Any]], hour: int) -> list[str]:
    """The texts that fit the hour: plain ones always, {"text", "hours"} ones in their window."""
    return [
        t if isinstance(t, str) else str(t["text"])
        for t in texts
        if isinstance(t, str) or _in_hours(t["hours"], hour)
    ]


class SyntheticRecords:
    """Deterministic generator of a station's GD entries, FIRs, petitions and NCRs."""

    def __init__(self, seed: int, district: str, station: str) -> None:
        """Generate for `station` of police `district` (names as in seeddata/places.json)."""
        districts: dict[str, Any] = _seed("places.json")["districts"]
        if district not in districts:
            raise InputError(f"unknown police district {district}")
        self._district: dict[str, Any] = districts[district]
        if station not in self._district["stations"]:
            raise InputError(f"unknown police station {station} in {district}")
        self.district = district
        self.station = station
        self._rng = random.Random(seed)
        self._names: dict[str, Any] = _seed("names.json")
        self._kerala = kerala_names()
        self._places: dict[str, Any] = _seed("places.json")
        self._vehicles: dict[str, Any] = _seed("vehicles.json")
        self._offences: dict[str, Any] = _seed("offences.json")
        self._ndps: dict[str, Any] = _seed("ndps.json")
        self._laws = statutes()
        self._person_serial = 0
        self._property_serial = 0
        self._known_accused: list[records_pb2.Person] = []
        self._staff: list[str] = []
        self._today = datetime.date(2025, 1, 1)  # the day of the record being made

    # -- people ------------------------------------------------------------------------------

    def _spelling(self, name: str) -> str:
        """Sometimes spell a name as another record would ("Mohammed" -> "Muhammed")."""
        variants: dict[str, list[str]] = self._names["variants"]
        if self._rng.random() >= 0.15:
            return name
        if name in variants:
            return str(self._rng.choice(variants[name]))
        words = name.split()
        for i, word in enumerate(words):
            if word in variants:
                words[i] = str(self._rng.choice(variants[word]))
                return " ".join(words)
        return name

    def _given(self, community: str, sex: str) -> str:
        """A given name by its frequency (node/demo/kerala_names.py), written as one record
        would write it (a compound joined or apart)."""
        ranked = self._kerala.given[(community, sex)]
        return self._kerala.written(ranked.draw(self._rng), self._rng)

    def _house(self, community: str) -> str:
        return self._kerala.houses[community].draw(self._rng)

    def _styled(self, given: str, house: str, father: str, community: str) -> str:
        """Kerala styles: "K. Raju", "Raju K.", "Sreekumar P.S.", the bare given name, or the
        father's given name after one's own ("Arjun Suresh", "Biju Joseph")."""
        initials = [house[0].upper(), father[0].upper()]
        if self._rng.random() < self._kerala.father_as_surname[community]:
            return f"{given} {self._kerala.surname_of(father, community)}"
        style = self._rng.random()
        if style < 0.3:
            return f"{initials[0]}. {given}"
        if style < 0.6:
            return f"{given} {initials[0]}."
        if style < 0.8:
            return f"{given} {initials[0]}.{initials[1]}."
        return given

    def _address(self, community: str, locality: str) -> str:
        house = self._house(community)
        # "Lakshmi Bhavan", "Noor Manzil", "Puthen Veedu" name the house already.
        suffix = "" if " " in house else (" Veedu" if self._rng.random() < 0.3 else " House")
        pin = f"{self._district['pin_prefix']}{self._rng.randint(1, 699):03d}"
        return f"{house}{suffix}, {locality} P.O., {self.station}, {self.district} - {pin}"

    def _sex(self, wanted: str | None, weights: tuple[int, int] = (62, 38)) -> str:
        if wanted in ("M", "F"):
            return wanted
        return self._rng.choices(["M", "F"], weights=list(weights))[0]

    def _new_person(
        self,
        sex: str | None = None,
        min_age: int = 18,
        max_age: int = 75,
        married: bool | None = None,
    ) -> records_pb2.Person:
        """A person; `married` True makes a woman "W/o" her husband, False keeps "S/o"/"D/o",
        None decides as a register would find it (most women over 22 are named by husband)."""
        weights: dict[str, int] = self._names["community_weights"]
        community = self._rng.choices(list(weights), weights=list(weights.values()))[0]
        sex = self._sex(sex)
        given = self._spelling(self._given(community, sex))
        father = self._given(community, "M")
        house = self._house(community)
        age = self._rng.randint(min_age, max_age)
        if married is None:
            married = sex == "F" and age >= 22 and self._rng.random() < 0.6
        if married and sex == "F":
            relation, relative = "W/o", self._given(community, "M")
        else:
            relation, relative = ("S/o" if sex == "M" else "D/o"), father
        self._person_serial += 1
        person = records_pb2.Person(
            person_id=f"P-{_slug(self.station)}-{self._person_serial:06d}",
            name=self._styled(given, house, father, community),
            relative_name=relative,
            relation=relation,
            age=age,
            sex=sex,
            address=self._address(community, self._locality()),
            mobile=str(self._rng.choice("6789")) + "".join(self._rng.choices(string.digits, k=9)),
            nationality="Indian",
            juvenile=age < 18,
        )
        if self._rng.random() < 0.3:
            # Born so that the age holds on the record's day and on the offence a month before.
            today = self._today
            try:
                birthday = today.replace(year=today.year - age)
            except ValueError:  # 29 February
                birthday = today.replace(year=today.year - age, day=28)
            born = birthday - datetime.timedelta(days=self._rng.randint(31, 364))
            person.date_of_birth = born.isoformat()
        return person

    def _described(self, spec: dict[str, Any]) -> records_pb2.Person:
        """A person as a spec has them: {"sex", "age": [low, high], "married", "male_percent"}."""
        low, high = spec["age"]
        male = int(spec.get("male_percent", 50))
        sex = self._sex(spec.get("sex"), weights=(male, 100 - male))
        married = True if spec.get("married") else (False if high < 18 else None)
        return self._new_person(sex=sex, min_age=low, max_age=high, married=married)

    def _relative_of(
        self, subject: records_pb2.Person, *, natal: bool = False
    ) -> tuple[records_pb2.Person, str, str]:
        """A relative who reports about `subject` (a child, a missing or a dead person): the
        relative, what the relative is to the subject ("father"), and the reverse ("son").
        `natal`: her own family, never her husband (who is the accused of a dowry death)."""
        rng = self._rng
        child_word = "son" if subject.sex == "M" else "daughter"
        if subject.relation == "W/o" and not natal and rng.random() < 0.75:
            husband = self._new_person(
                sex="M", min_age=subject.age + 2, max_age=min(subject.age + 10, 95)
            )
            husband.name = subject.relative_name
            husband.address = subject.address
            return husband, "husband", "wife"
        if subject.age < 45:
            low, high = subject.age + 20, min(subject.age + 38, 95)
            if rng.random() < 0.6 and subject.relation != "W/o":
                father = self._new_person(sex="M", min_age=low, max_age=high)
                father.name = subject.relative_name
                father.address = subject.address
                return father, "father", child_word
            mother = self._new_person(sex="F", min_age=low, max_age=high, married=True)
            if subject.relation != "W/o":
                mother.relative_name = subject.relative_name
            mother.address = subject.address
            return mother, "mother", child_word
        grown = self._new_person(min_age=20, max_age=max(20, subject.age - 18))
        grown.relation = "S/o" if grown.sex == "M" else "D/o"
        grown.relative_name = subject.name
        grown.address = subject.address
        parent_word = "father" if subject.sex == "M" else "mother"
        return grown, ("son" if grown.sex == "M" else "daughter"), parent_word

    def _accused_person(
        self, sex: str | None = None, exclude: Sequence[str] = ()
    ) -> records_pb2.Person:
        known_pool = [
            p
            for p in self._known_accused
            if (sex is None or p.sex == sex) and p.person_id not in exclude
        ]
        if known_pool and self._rng.random() < _REUSE_SHARE * 4:
            # A repeat offender: same person id, perhaps another spelling of the name.
            known = records_pb2.Person()
            known.CopyFrom(self._rng.choice(known_pool))
            known.name = self._spelling(known.name)
            return known
        person = self._new_person(sex=self._sex(sex, weights=(92, 8)))
        if self._rng.random() < 0.12:
            aliases: dict[str, list[str]] = self._names["aliases"]
            first = person.name.replace(".", " ").split()[-1 if person.name[1] == "." else 0]
            if self._rng.random() < 0.6:
                person.aliases.append(f"{self._rng.choice(aliases['prefix'])} {first}")
            else:
                person.aliases.append(str(self._rng.choice(aliases["nick"])))
        if self._rng.random() < 0.25:
            person.identifying_marks.append(
                self._rng.choice(
                    [
                        "A black mole on the right cheek",
                        "A cut scar on the left forearm",
                        "A tattoo of a trident on the right hand",
                        "A burn scar on the back of the neck",
                    ]
                )
            )
        if self._rng.random() < _REUSE_SHARE * 6:
            self._known_accused.append(person)
        return person

    def _husband_family(self, wife: records_pb2.Person, count: int) -> list[records_pb2.Person]:
        """The accused of a cruelty or dowry death case: her husband, his mother, his father."""
        husband = self._new_person(sex="M", min_age=wife.age + 2, max_age=wife.age + 9)
        husband.name = wife.relative_name
        husband.address = wife.address
        family = [husband]
        if count >= 2:
            mother = self._new_person(
                sex="F", min_age=husband.age + 20, max_age=husband.age + 32, married=True
            )
            mother.address = wife.address
            family.append(mother)
            if count >= 3:
                father = self._new_person(
                    sex="M", min_age=mother.age + 2, max_age=mother.age + 8, married=False
                )
                father.name = mother.relative_name
                father.address = wife.address
                family.append(father)
        return family

    def person(self, role: records_pb2.PersonRole.ValueType) -> records_pb2.PersonInCase:
        """A person in a case with `role` (a `records_pb2.PersonRole` value)."""
        if role in (records_pb2.ACCUSED, records_pb2.SUSPECT):
            return records_pb2.PersonInCase(person=self._accused_person(), role=role)
        return records_pb2.PersonInCase(person=self._new_person(), role=role)

    def _police_officer(self) -> records_pb2.Person:
        # Kerala police officers retire at 56.
        sex = self._rng.choices(["M", "F"], weights=[85, 15])[0]
        officer = self._new_person(sex=sex, min_age=24, max_age=56)
        rank = self._rng.choice(self._names["police_ranks"][:3])
        officer.address = f"{rank}, {self.station} Police Station, {self.district}"
        officer.mobile = ""
        return officer

    def _staff_member(self) -> str:
        """An officer of the station's roll, by rank and name, as the diary names them."""
        if not self._staff:
            ranks: list[str] = self._names["police_ranks"]
            # Fewer inspectors than constables: weights follow a station's sanctioned strength.
            weights = [3, 3, 1, 6, 11][: len(ranks)]
            for _ in range(_STAFF):
                rank = self._rng.choices(ranks, weights=weights)[0]
                sex = self._rng.choices(["M", "F"], weights=[85, 15])[0]
                name = self._new_person(sex=sex, min_age=24, max_age=56).name
                self._staff.append(f"{rank} {name}")
        return self._rng.choice(self._staff)

    # -- places and property -----------------------------------------------------------------

    def _locality(self) -> str:
        if self._rng.random() < 0.35:
            return self.station
        return str(self._rng.choice(self._district["localities"]))

    def _place(self) -> records_pb2.Place:
        locality = self._locality()
        lat, lon = self._district["centre"]
        return records_pb2.Place(
            description=f"{self._rng.choice(self._places['landmarks'])} at {locality}",
            village=locality,
            beat=f"Beat No. {self._rng.randint(1, 12)}",
            latitude=round(lat + self._rng.uniform(-0.08, 0.08), 6),
            longitude=round(lon + self._rng.uniform(-0.08, 0.08), 6),
            distance_from_station_km=round(self._rng.uniform(0.2, 14.0), 1),
            direction_from_station=self._rng.choice(self._places["directions"]),
        )

    def registration(self) -> str:
        """A Kerala registration number, "KL-07-AB-1234", mostly from the district's RTOs."""
        if self._rng.random() < 0.85:
            rto = str(self._rng.choice(self._district["rto_codes"]))
        else:
            rto = f"KL-{self._rng.randint(1, 86):02d}"
        series = "".join(self._rng.choices(string.ascii_uppercase, k=self._rng.choice([1, 2])))
        return f"{rto}-{series}-{self._rng.randint(1, 9999):04d}"

    def _vehicle(self) -> records_pb2.Vehicle:
        types = [k for k in self._vehicles if k != "colours"]
        kind = self._rng.choices(types, weights=[self._vehicles[k]["weight"] for k in types])[0]
        make, model, wmi = self._rng.choice(self._vehicles[kind]["models"])
        year_code = self._rng.choice("ABCDEFGHJKLMNPRS")
        chassis = wmi + "".join(self._rng.choices(_VIN_CHARS, k=6))
        chassis += year_code + "".join(self._rng.choices(_VIN_CHARS, k=1))
        chassis += "".join(self._rng.choices(string.digits, k=6))
        engine = "".join(self._rng.choices(string.ascii_uppercase, k=2))
        engine += "".join(self._rng.choices(string.digits, k=2)) + "E"
        engine += "".join(self._rng.choices(string.digits, k=6))
        return records_pb2.Vehicle(
            registration=self.registration(),
            engine_number=engine,
            chassis_number=chassis,
            make=make,
            model=model,
            colour=self._rng.choice(self._vehicles["colours"]),
            vehicle_type=kind,
        )

    def _imei(self) -> str:
        digits = [int(d) for d in "35" + "".join(self._rng.choices(string.digits, k=12))]
        total = 0
        for i, d in enumerate(digits):  # Luhn check digit, as on a real IMEI
            doubled = d * 2 if i % 2 == 1 else d
            total += doubled - 9 if doubled > 9 else doubled
        return "".join(map(str, digits)) + str((10 - total % 10) % 10)

    def _property_item(
        self,
        status: records_pb2.PropertyStatus.ValueType,
        category: str,
        description: str,
        value: int,
    ) -> records_pb2.PropertyItem:
        self._property_serial += 1
        return records_pb2.PropertyItem(
            property_id=f"PR-{_slug(self.station)}-{self._property_serial:06d}",
            category=category,
            description=description,
            status=status,
            value_inr=value,
        )

    def _narcotics(self, drug_key: str) -> tuple[records_pb2.PropertyItem, str, str]:
        """A seizure of `drug_key` (seeddata/ndps.json): the item, its packing, and the limb
        of the section its quantity falls under."""
        rng = self._rng
        drug: dict[str, Any] = self._ndps["drugs"][drug_key]
        small, commercial = float(drug["small_g"]), float(drug["commercial_g"])
        band = rng.choices([0, 1, 2], weights=drug["limb_weights"])[0]
        # Keep clear of the two figures: a seizure right at a threshold is a court's question.
        low, high = [
            (small * 0.05, small * 0.9),
            (small * 1.1, commercial * 0.9),
            (commercial * 1.1, commercial * 4),
        ][band]
        grams = math.exp(rng.uniform(math.log(low), math.log(high)))
        text, stated = _quantity_text(grams)
        limbs: list[str] = self._ndps["limbs"][drug["class"]]
        limb = ndps_limb(stated, small, commercial, limbs)
        item = self._property_item(records_pb2.SEIZED, "narcotics", f"{text} of {drug['name']}", 0)
        return item, str(rng.choice(drug["packing"])), limb

    def _property(self, kind: str) -> tuple[list[records_pb2.PropertyItem], str, int, str]:
        """Items for a case of property `kind`, with the text and value the facts quote."""
        rng = self._rng
        if kind in ("valuables", "chain"):
            sovereigns = rng.choice([1, 2, 3, 4, 5, 8])
            value = sovereigns * rng.randint(42000, 58000)
            weight = f"{sovereigns} sovereign{'s' if sovereigns > 1 else ''}"
            text = f"a gold chain weighing {weight} ({sovereigns * 8} grams)"
            items = [self._property_item(records_pb2.STOLEN, "gold ornaments", text, value)]
            if kind == "valuables" and rng.random() < 0.5:
                phone = self._property_item(
                    records_pb2.STOLEN,
                    "mobile phone",
                    rng.choice(["Samsung Galaxy M34", "Redmi Note 12", "Vivo Y56", "iPhone 13"]),
                    rng.randint(9000, 60000),
                )
                phone.identifiers = f"IMEI {self._imei()}"
                items.append(phone)
                value += phone.value_inr
                text += " and a mobile phone"
            return items, text, value, ""
        if kind == "vehicle":
            vehicle = self._vehicle()
            value = rng.randint(25000, 140000)
            item = self._property_item(
                records_pb2.STOLEN,
                "vehicle",
                f"{vehicle.colour} {vehicle.make} {vehicle.model}",
                value,
            )
            item.vehicle.CopyFrom(vehicle)
            described = (
                f"{vehicle.vehicle_type} {vehicle.make} {vehicle.model} "
                f"bearing Reg. No. {vehicle.registration}"
            )
            return [item], "", value, described
        if kind == "vehicle_seized":
            vehicle = self._vehicle()
            item = self._property_item(
                records_pb2.SEIZED, "vehicle", f"{vehicle.make} {vehicle.model}", 0
            )
            item.vehicle.CopyFrom(vehicle)
            described = (
                f"{vehicle.vehicle_type} {vehicle.make} {vehicle.model} "
                f"bearing Reg. No. {vehicle.registration}"
            )
            return [item], "", 0, described
        if kind == "liquor":
            bottles = rng.randint(4, 24)
            text = f"{bottles / 2:g} litres of Indian Made Foreign Liquor"
            text += f" ({bottles} bottles of 500 ml)"
            return [self._property_item(records_pb2.SEIZED, "liquor", text, 0)], text, 0, ""
        if kind == "tobacco":
            text = f"{rng.randint(10, 120)} packets of tobacco products"
            return [self._property_item(records_pb2.SEIZED, "tobacco", text, 0)], text, 0, ""
        if kind in ("cash", "cash_seized"):
            value = rng.choice([2500, 8400, 15000, 45000, 120000, 350000, 780000])
            status = records_pb2.SEIZED if kind == "cash_seized" else records_pb2.LOST
            text = f"Rs. {value}"
            return [self._property_item(status, "cash", text, value)], text, value, ""
        return [], "", rng.choice([15000, 25000, 40000, 75000]), ""

    # -- the FIR register --------------------------------------------------------------------

    def _template(self, occurred: datetime.date) -> dict[str, Any]:
        templates: list[dict[str, Any]] = self._offences["fir"]
        while True:
            template = self._rng.choices(templates, weights=[t["weight"] for t in templates])[0]
            acts = [a for a, _ in template["sll"]]
            if template.get("ndps"):
                acts.append("NDPS")
            penal = "BNS" if occurred >= BNS_COMMENCEMENT else "IPC"
            acts.append(penal)
            try:
                for act in acts:
                    self._laws.check_law_in_force(act, occurred)
            except InputError:
                continue  # e.g. a Kerala Police Act case before 2011: pick another offence
            cited = [(penal, s) for s in template[penal.lower()]] + [
                tuple(c) for c in template["sll"]
            ]
            # A section inserted later than its act (IPC 376AB, 2018; SC/ST 3(1)(r), 2016) must
            # be in force on every day the occurrence may fall on: up to a month before.
            earliest = occurred - _LONGEST_DELAY
            if any(
                self._laws.section_not_in_force(c, day)
                for c in cited
                for day in (earliest, occurred)
            ):
                continue
            return template

    def _case_times(
        self, registered_at: datetime.datetime, delay_kind: str, provisional: datetime.date
    ) -> tuple[datetime.datetime, datetime.datetime, datetime.datetime]:
        """When the information came and when the event happened (from, to), for a case
        registered at `registered_at`; the event stays on the side of 1 July 2024 that
        `provisional` (the date its law was chosen by) is on."""
        rng = self._rng
        received = registered_at - datetime.timedelta(minutes=rng.randint(5, 90))
        delay = {
            "detected": datetime.timedelta(minutes=rng.randint(10, 120)),
            "hours": datetime.timedelta(minutes=rng.randint(30, 36 * 60)),
            "days": datetime.timedelta(hours=rng.randint(6, 24 * 20)),
        }[delay_kind]
        occurrence_to = received - delay
        span = datetime.timedelta(minutes=rng.randint(0, 40))
        if delay_kind == "days":
            span = datetime.timedelta(hours=rng.randint(1, 24 * 10))
        occurrence_from = occurrence_to - span
        after = provisional >= BNS_COMMENCEMENT
        if (_local_date(occurrence_from) >= BNS_COMMENCEMENT) != after or (
            _local_date(occurrence_to) >= BNS_COMMENCEMENT
        ) != after:
            # The window straddles 1 July 2024: keep it on the side of the provisional date.
            boundary = datetime.datetime.combine(BNS_COMMENCEMENT, datetime.time(), IST)
            if after:
                occurrence_from = max(occurrence_from, boundary)
                occurrence_to = max(occurrence_to, occurrence_from)
            else:
                occurrence_to = min(occurrence_to, boundary - datetime.timedelta(minutes=1))
                occurrence_from = min(occurrence_from, occurrence_to)
        return received, occurrence_from, occurrence_to

    def _new_fir(
        self,
        registered_at: datetime.datetime,
        received: datetime.datetime,
        occurrence_from: datetime.datetime,
        occurrence_to: datetime.datetime,
    ) -> records_pb2.Fir:
        fir = records_pb2.Fir(
            district=self.district,
            police_station=self.station,
            registered_at_ms=_ms(registered_at),
            information_received_ms=_ms(received),
            occurrence_from_ms=_ms(occurrence_from),
            occurrence_to_ms=_ms(occurrence_to),
            information_type=self._rng.choices(
                ["oral", "written", "electronic"], weights=[55, 35, 10]
            )[0],
        )
        fir.place_of_occurrence.CopyFrom(self._place())
        return fir

    def _recorded(self, fir: records_pb2.Fir) -> None:
        """Who recorded the information: a woman officer where the offence is one BNSS
        s.173(1) first proviso (CrPC s.154(1)) lists and it is against a woman, else the
        officer on duty."""
        if withholding.assess_fir(fir, self._laws).woman_officer:
            fir.recording.recorded_by_sex = "F"
        else:
            fir.recording.recorded_by_sex = self._rng.choices(["M", "F"], weights=[85, 15])[0]

    def _register_kinds(self, occurred: datetime.date) -> dict[str, float]:
        """The FIR register's shares among the kinds whose sections the law tables know."""
        shares = dict(REGISTER_SHARES)
        if self._inquest_section(occurred) is None:
            del shares["unnatural death"]
        if not self._known("KPA", "57", occurred):
            del shares["missing person"]
        return shares

    def _known(self, act: str, section: str, occurred: datetime.date) -> bool:
        if not self._laws.is_known(act, section):
            return False
        try:
            self._laws.check_law_in_force(act, occurred)
        except InputError:
            return False
        return True

    def _inquest_section(self, occurred: datetime.date) -> tuple[str, str] | None:
        """BNSS s.194 for a death from 1 July 2024, CrPC s.174 before (None while the law
        tables do not know them)."""
        cited = ("BNSS", "194") if occurred >= BNS_COMMENCEMENT else ("CRPC", "174")
        return cited if self._known(*cited, occurred) else None

    def fir(self, registered_at: datetime.datetime) -> records_pb2.Fir:
        """A case of the FIR register registered at `registered_at`: a crime, or (at their
        shares, `REGISTER_SHARES`) a missing person or an unnatural death. Numbers are left
        for the station."""
        registered_at = _aware(registered_at)
        provisional = _local_date(registered_at - datetime.timedelta(hours=6))
        shares = self._register_kinds(provisional)
        kind = self._rng.choices(list(shares), weights=list(shares.values()))[0]
        if kind == "missing person":
            return self.missing_person_fir(registered_at)
        if kind == "unnatural death":
            return self.unnatural_death_fir(registered_at)
        return self.crime_fir(registered_at)

    def crime_fir(self, registered_at: datetime.datetime) -> records_pb2.Fir:
        """A fully filled FIR of a crime registered at `registered_at`."""
        rng = self._rng
        registered_at = _aware(registered_at)
        self._today = _local_date(registered_at)
        # Choose the offence with the law of a provisional occurrence date, then fix the times.
        provisional = _local_date(registered_at - datetime.timedelta(hours=6))
        template = self._template(provisional)
        received, occurrence_from, occurrence_to = self._case_times(
            registered_at, template["delay"], provisional
        )
        uses_bns = _local_date(occurrence_from) >= BNS_COMMENCEMENT
        fir = self._new_fir(registered_at, received, occurrence_from, occurrence_to)
        penal = template["bns"] if uses_bns else template["ipc"]
        for section in penal:
            fir.sections.add(act="BNS" if uses_bns else "IPC", section=section)
        for act, section in template["sll"]:
            fir.sections.add(act=act, section=section)

        # People: complainant, victims, accused, witnesses.
        spec: dict[str, Any] | str | None = template["victim"]
        victim: records_pb2.Person | None = None
        if spec == "police":
            victim = self._police_officer()
        elif isinstance(spec, dict):
            victim = self._described(spec)
        complainant_kind: str = template["complainant"]
        if complainant_kind == "police":
            complainant = self._police_officer()
        elif complainant_kind == "victim" and victim is not None and victim.age >= 18:
            complainant = victim
        elif victim is not None and (victim.age < 18 or complainant_kind == "relative"):
            # A parent for a child, kin for the dead; her own family when her husband's is
            # the accused.
            natal = template.get("accused_kind") == "husband_family"
            complainant = self._relative_of(victim, natal=natal)[0]
        else:
            complainant = self._new_person(min_age=30, max_age=70)
        fir.persons.add(person=complainant, role=records_pb2.COMPLAINANT)
        if victim is not None:
            fir.persons.add(person=victim, role=records_pb2.VICTIM)

        low, high = template["accused"]
        count = rng.randint(low, high)
        accused_sex: str | None = template.get("accused_sex")
        accused_names: list[str] = []
        if template.get("accused_kind") == "husband_family" and victim is not None:
            family = self._husband_family(victim, count)
            for n, person in enumerate(family):
                fir.persons.add(person=person, role=records_pb2.ACCUSED, accused_code=f"A{n + 1}")
                accused_names.append(person.name)
        else:
            unknown_all = rng.random() < template["unknown_accused"]
            for n in range(count):
                code = f"A{n + 1}" if n < 9 else f"B{n - 8}"
                if unknown_all:
                    unknown = fir.persons.add(
                        role=records_pb2.ACCUSED, accused_code=code, unknown=True
                    )
                    unknown.person.sex = accused_sex or "U"
                    unknown.person.identifying_marks.append(
                        f"aged about {rng.randint(20, 45)}, "
                        f"{rng.choice(['fair', 'dark', 'wheatish'])} complexion, wearing a "
                        f"{rng.choice(['black', 'blue', 'white', 'red'])} shirt"
                    )
                    accused_names.append("unknown person")
                else:
                    taken = [p.person.person_id for p in fir.persons]
                    person = self._accused_person(accused_sex, exclude=taken)
                    fir.persons.add(person=person, role=records_pb2.ACCUSED, accused_code=code)
                    accused_names.append(person.name)
        for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
            fir.persons.add(person=self._new_person(), role=records_pb2.WITNESS)

        packing = ""
        if template.get("ndps"):
            item, packing, limb = self._narcotics(str(template["ndps"]))
            fir.sections.add(act="NDPS", section="8(c)")
            fir.sections.add(act="NDPS", section=limb)
            if count > 1:
                fir.sections.add(act="NDPS", section="29")
            items, item_text, value, vehicle_text = [item], item.description, 0, ""
        else:
            items, item_text, value, vehicle_text = self._property(template["property"])
        fir.property.extend(items)
        fir.crime_head = self._laws.crime_head(fir.sections)
        if not vehicle_text:
            vehicle_text = "a motorcycle"

        if rng.random() < 0.01:
            others = [s for s in self._district["stations"] if s != self.station]
            fir.zero_fir = True
            fir.jurisdiction_station = rng.choice(others)
        married_years = 1
        if victim is not None and victim.relation == "W/o":
            # A dowry death is one within seven years of the marriage (BNS 80, IPC 304B).
            most = 6 if "80(2)" in penal or "304B" in penal else 15
            married_years = rng.randint(1, max(1, min(most, victim.age - 18)))
        married_text = "a year" if married_years == 1 else f"{married_years} years"
        facts = str(rng.choice(template["facts"]))
        fir.brief_facts = facts.format(
            date=_local_date(occurrence_to).strftime("%d-%m-%Y"),
            from_date=_local_date(occurrence_from).strftime("%d-%m-%Y"),
            time=occurrence_to.astimezone(IST).strftime("%H:%M"),
            place=fir.place_of_occurrence.description,
            accused=", ".join(accused_names) or "unknown persons",
            victim=victim.name if victim is not None else "the victim",
            victim_age=victim.age if victim is not None else "",
            married_years=married_text,
            item=item_text or "articles",
            packing=packing,
            value=value,
            vehicle=vehicle_text,
            **{f"v_{k}": v for k, v in _pronouns(victim.sex if victim else "M").items()},
        )
        self._recorded(fir)
        return fir

    def missing_person_fir(self, registered_at: datetime.datetime) -> records_pb2.Fir:
        """A missing person registered under the Kerala Police Act s.57 (a crime FIR while the
        law tables do not know the section): the person with role MISSING, the relative who
        reports, and the last-seen details."""
        rng = self._rng
        registered_at = _aware(registered_at)
        self._today = _local_date(registered_at)
        provisional = _local_date(registered_at - datetime.timedelta(hours=6))
        book: dict[str, Any] = self._offences["missing"]
        act, section = book["section"]
        if not self._known(act, section, provisional):
            return self.crime_fir(registered_at)
        kinds: dict[str, Any] = book["kinds"]
        kind = rng.choices(list(kinds), weights=[k["weight"] for k in kinds.values()])[0]
        spec = kinds[kind]
        missing = self._described({"sex": spec["sex"], "age": spec["age"]})
        relative, _, missing_word = self._relative_of(missing)
        received, _, seen_at = self._case_times(registered_at, "hours", provisional)
        # From leaving home to the last sighting: the window the FIR gives as the occurrence.
        left_at = seen_at - datetime.timedelta(minutes=rng.randint(15, 240))
        fir = self._new_fir(registered_at, received, left_at, seen_at)
        fir.sections.add(act=act, section=section)
        fir.crime_head = self._laws.crime_head(fir.sections)
        if missing.age < 14:
            height = rng.randint(120, 160)
        else:
            height = rng.randint(155, 182) if missing.sex == "M" else rng.randint(145, 170)
        complexion = str(rng.choice(book["complexion"]))
        clothing = str(rng.choice(book["clothing"][missing.sex]))
        missing.identifying_marks.append(f"Height about {height} cm, {complexion} complexion")
        missing.identifying_marks.append(f"Last seen wearing {clothing}")
        fir.persons.add(person=relative, role=records_pb2.COMPLAINANT)
        fir.persons.add(person=missing, role=records_pb2.MISSING)
        seen, left = seen_at.astimezone(IST), left_at.astimezone(IST)
        fir.brief_facts = str(rng.choice(book["facts"])).format(
            missing=missing.name,
            age=missing.age,
            relation=missing_word,
            place=fir.place_of_occurrence.description,
            time=left.strftime("%H:%M"),
            date=left.strftime("%d-%m-%Y"),
            reason=str(rng.choice(spec["reasons"])).format(**_pronouns(missing.sex)),
            last_seen=rng.choice(book["last_seen"]),
            seen_time=seen.strftime("%H:%M"),
            clothing=clothing,
            height=height,
            complexion=complexion,
            **_pronouns(missing.sex),
        )
        self._recorded(fir)
        return fir

    def unnatural_death_fir(self, registered_at: datetime.datetime) -> records_pb2.Fir:
        """An unnatural death (suicide, drowning, accident, found dead) registered for the
        inquest under BNSS s.194, or CrPC s.174 for a death before 1 July 2024: the deceased
        as VICTIM, the person who informs as COMPLAINANT, no accused."""
        rng = self._rng
        registered_at = _aware(registered_at)
        self._today = _local_date(registered_at)
        provisional = _local_date(registered_at - datetime.timedelta(hours=6))
        if self._inquest_section(provisional) is None:
            return self.crime_fir(registered_at)
        received, died_from, died_to = self._case_times(registered_at, "hours", provisional)
        cited = self._inquest_section(_local_date(died_from))
        if cited is None:  # pragma: no cover - the window keeps the provisional side
            return self.crime_fir(registered_at)
        book: dict[str, Any] = self._offences["unnatural_death"]["kinds"]
        kind = rng.choices(list(book), weights=[k["weight"] for k in book.values()])[0]
        spec = book[kind]
        deceased = self._described(spec)
        if deceased.age >= 18 and rng.random() < 0.35:
            informant = self._new_person(min_age=25, max_age=70)
            informant_words = f"a neighbour, {informant.name}"
        else:
            informant, word, _ = self._relative_of(deceased)
            informant_words = f"the {word} of the deceased, {informant.name}"
        fir = self._new_fir(registered_at, received, died_from, died_to)
        fir.sections.add(act=cited[0], section=cited[1])
        fir.crime_head = self._laws.crime_head(fir.sections)
        fir.persons.add(person=informant, role=records_pb2.COMPLAINANT)
        fir.persons.add(person=deceased, role=records_pb2.VICTIM)
        law = "section 194 of the BNSS" if cited[0] == "BNSS" else "section 174 of the CrPC"
        fir.brief_facts = str(rng.choice(spec["facts"])).format(
            deceased=deceased.name,
            age=deceased.age,
            date=_local_date(died_to).strftime("%d-%m-%Y"),
            time=died_to.astimezone(IST).strftime("%H:%M"),
            place=fir.place_of_occurrence.description,
            informant_relation=informant_words,
            law=law,
            **_pronouns(deceased.sex),
        )
        self._recorded(fir)
        return fir

    # -- petty cases, diary, petitions, NCRs -------------------------------------------------

    def cotpa_case(self, at: datetime.datetime) -> tuple[str, Message]:
        """A COTPA case booked at `at`: smoking in a public place (s.4), or selling tobacco
        to a minor or near a school (s.6(a), 6(b) with s.24). Its offences are fine-only and
        non-cognizable, so the station books it as a petty case, an NCR the officer reports
        ("ncr"); should the law tables class them cognizable, it is an FIR ("fir")."""
        rng = self._rng
        at = _aware(at)
        self._today = _local_date(at)
        kinds: list[dict[str, Any]] = self._offences["cotpa"]["kinds"]
        kind = rng.choices(kinds, weights=[k["weight"] for k in kinds])[0]
        if kind["sections"][0][1] != "4" and not 8 <= at.astimezone(IST).hour < 20:
            kind = kinds[0]  # shops are booked in the day; at night it is a smoker
        sections = [tuple(s) for s in kind["sections"]]
        sections += [tuple(s) for s in kind["optional"] if self._laws.is_known(s[0], s[1])]
        selling = kind["sections"][0][1] != "4"
        offender = self._new_person(
            sex=rng.choices(["M", "F"], weights=[95, 5])[0],
            min_age=30 if selling else 18,
            max_age=70 if selling else 65,
        )
        occurred = at - datetime.timedelta(minutes=rng.randint(10, 90))
        place = f"{rng.choice(self._places['landmarks'])} at {self._locality()}"
        facts = str(rng.choice(kind["facts"])).format(
            date=_local_date(occurred).strftime("%d-%m-%Y"),
            time=occurred.astimezone(IST).strftime("%H:%M"),
            offender=offender.name,
            age=offender.age,
            place=place,
            packets=rng.randint(10, 80),
        )
        cognizable = any(self._laws.section(a, s).cognizable for a, s in sections)
        if not cognizable:
            report = records_pb2.NonCognizableReport(
                reported_at_ms=_ms(at), occurrence_from_ms=_ms(occurred), brief_facts=facts
            )
            report.informant.CopyFrom(self._police_officer())
            for act, section in sections:
                report.sections.add(act=act, section=section)
            return "ncr", report
        fir = self._new_fir(at, at - datetime.timedelta(minutes=5), occurred, occurred)
        for act, section in sections:
            fir.sections.add(act=act, section=section)
        fir.crime_head = self._laws.crime_head(fir.sections)
        fir.persons.add(person=self._police_officer(), role=records_pb2.COMPLAINANT)
        fir.persons.add(person=offender, role=records_pb2.ACCUSED, accused_code="A1")
        fir.brief_facts = facts
        self._recorded(fir)
        return "fir", fir

    def gd(self, entry_time: datetime.datetime) -> records_pb2.GeneralDiaryEntry:
        """A General Diary entry at `entry_time` (gd_number left 0 for the station); what it
        says fits the hour (the morning parade in the morning, night patrol at night)."""
        rng = self._rng
        book: dict[str, Any] = self._offences["gd"]
        weights: dict[str, int] = book["category_weights"]
        category = rng.choices(list(weights), weights=list(weights.values()))[0]
        hour = _aware(entry_time).astimezone(IST).hour
        summary = rng.choice(_at_hour(book[category], hour)).format(
            officer=self._staff_member(),
            duty=rng.choice(_at_hour(book["duties"], hour)),
            place=self._locality(),
            number=rng.randint(1000, 9999),
        )
        return records_pb2.GeneralDiaryEntry(
            gd_date=_local_date(entry_time).isoformat(),
            entry_time_ms=_ms(entry_time),
            category=category,
            summary=summary,
        )

    def petition(self, received_at: datetime.datetime) -> records_pb2.Petition:
        """A petition received at `received_at` (receipt number left for the station)."""
        self._today = _local_date(received_at)
        subject, details = self._rng.choice(self._offences["petitions"])
        petition = records_pb2.Petition(
            received_at_ms=_ms(received_at),
            subject=subject,
            details=details,
            channel=self._rng.choices(["in person", "post", "online", "e-FIR"], [60, 10, 25, 5])[0],
        )
        petition.petitioner.CopyFrom(self._new_person())
        if "respondent" in details:
            petition.respondents.add(person=self._new_person(), role=records_pb2.SUSPECT)
        return petition

    def ncr(self, reported_at: datetime.datetime) -> records_pb2.NonCognizableReport:
        """A non-cognizable report at `reported_at` (NCR number left for the station)."""
        rng = self._rng
        reported_at = _aware(reported_at)
        self._today = _local_date(reported_at)
        template: dict[str, Any] = rng.choice(self._offences["ncr"])
        occurred = reported_at - datetime.timedelta(minutes=rng.randint(30, 48 * 60))
        # The date of the offence decides the code, as for an FIR: reported on 1 July 2024
        # about the day before, it is an IPC offence.
        uses_bns = _local_date(occurred) >= BNS_COMMENCEMENT
        report = records_pb2.NonCognizableReport(
            reported_at_ms=_ms(reported_at), occurrence_from_ms=_ms(occurred)
        )
        report.informant.CopyFrom(self._new_person())
        for section in template["bns"] if uses_bns else template["ipc"]:
            report.sections.add(act="BNS" if uses_bns else "IPC", section=section)
        report.brief_facts = str(template["facts"]).format(
            date=_local_date(occurred).strftime("%d-%m-%Y"),
            time=occurred.astimezone(IST).strftime("%H:%M"),
            place=self._locality(),
            accused=self._new_person().name,
            dispute=rng.choice(self._offences["disputes"]),
        )
        return report

    # -- the stream ----------------------------------------------------------------------------

    def stream(
        self,
        n: int,
        start: datetime.datetime,
        end: datetime.datetime,
        *,
        shares: Mapping[str, float] | None = None,
    ) -> Iterator[tuple[str, Message]]:
        """`n` records of all kinds between `start` and `end`, as (kind, message).

        Kinds are "gd", "fir", "petition" and "ncr", in the proportions of `shares` (by
        default `SLOT_SHARES`: about 30 diary entries to each FIR; COTPA petty cases come as
        "ncr"); a stream of two records or more holds at least one FIR. Every record's
        time (entry, registration, receipt, report) lies within [start, end] and the records
        come in strictly increasing time order, as a live station writes them (in a window with
        fewer milliseconds than records, some share a millisecond).
        """
        start, end = _aware(start), _aware(end)
        if end <= start:
            raise InputError("the stream's end must be after its start")
        first = -((start - _EPOCH) // -_MS)  # the first whole millisecond at or after start
        last = _ms(end)
        times = _spread(self._rng, n, first, max(first, last))
        counts = _apportion(n, SLOT_SHARES if shares is None else shares)
        unknown = set(counts) - set(SLOT_SHARES)
        if unknown:
            raise InputError(f"unknown record kinds {sorted(unknown)}: use {sorted(SLOT_SHARES)}")
        if n >= 2 and not counts.get("fir"):
            # A short stream (a test's, a demo's) still shows the register: one FIR, in the
            # place of the most common kind.
            counts[max(counts, key=lambda kind: counts[kind])] -= 1
            counts["fir"] = 1
        slots = [kind for kind, count in counts.items() for _ in range(count)]
        self._rng.shuffle(slots)
        for ms, slot in zip(times, slots, strict=True):
            moment = _at_ms(ms)
            message: Message
            kind = slot
            if slot == "fir":
                message = self.fir(moment)
            elif slot == "gd":
                message = self.gd(moment)
            elif slot == "petition":
                message = self.petition(moment)
            elif slot == "ncr":
                message = self.ncr(moment)
            else:
                kind, message = self.cotpa_case(moment)
            yield kind, message
