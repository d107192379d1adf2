"""Realistic synthetic police-station records for Kerala, for tests, demos and simulations.

Names, places, vehicles and offences come from `node/seeddata/*.json`; sections come from
`node.laws` and are always valid and in force for the offence date (IPC before 1 July 2024, BNS
from then on). Output is deterministic for a given seed, district and station.

The generator never assigns what the station assigns (FIR, GD, petition and NCR numbers, GD
references): those fields are left empty for the station's log to fill in.
"""

from __future__ import annotations

import datetime
import json
import random
import string
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from google.protobuf.message import Message

from ledger.errors import InputError
from node.records.laws import BNS_COMMENCEMENT, statutes
from protos import records_pb2

__all__ = ["IST", "SyntheticRecords"]

#: India Standard Time; diary dates and the law-in-force rule use the local date.
IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30), "IST")

_KIND_WEIGHTS = {"gd": 50, "fir": 25, "petition": 15, "ncr": 10}
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # VINs never use I, O or Q
_REUSE_SHARE = 0.04  # share of accused who are already known to the station (repeat offenders)


@cache
def _seed(name: str) -> Any:
    text = resources.files("node.demo").joinpath("seeddata", name).read_text(encoding="utf-8")
    return json.loads(text)


def _ms(moment: datetime.datetime) -> int:
    return int(_aware(moment).timestamp() * 1000)


def _aware(moment: datetime.datetime) -> datetime.datetime:
    # Naive datetimes are taken as UTC, the zone of every stored time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


def _local_date(moment: datetime.datetime) -> datetime.date:
    return _aware(moment).astimezone(IST).date()


def _slug(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


class SyntheticRecords:
    """Deterministic generator of FIRs, GD entries, petitions and NCRs for one station."""

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
        self._places: dict[str, Any] = _seed("places.json")
        self._vehicles: dict[str, Any] = _seed("vehicles.json")
        self._offences: dict[str, Any] = _seed("offences.json")
        self._laws = statutes()
        self._person_serial = 0
        self._property_serial = 0
        self._known_accused: list[records_pb2.Person] = []

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
        return str(self._rng.choice(self._names["given"][community][sex]))

    def _styled(self, given: str, house: str, father: str) -> str:
        """Kerala styles: "K. Raju", "Raju K.", "Sreekumar P.S.", or the bare given name."""
        initials = [house[0].upper(), father[0].upper()]
        style = self._rng.random()
        if style < 0.3:
            return f"{initials[0]}. {given}"
        if style < 0.6:
            return f"{given} {initials[0]}."
        if style < 0.8:
            return f"{given} {initials[0]}.{initials[1]}."
        return given

    def _address(self, community: str, locality: str) -> str:
        house = str(self._rng.choice(self._names["house_names"][community]))
        suffix = "Veedu" if self._rng.random() < 0.3 else "House"
        pin = f"{self._district['pin_prefix']}{self._rng.randint(1, 699):03d}"
        return f"{house} {suffix}, {locality} P.O., {self.station}, {self.district} - {pin}"

    def _new_person(
        self, sex: str | None = None, min_age: int = 18, max_age: int = 75
    ) -> records_pb2.Person:
        weights: dict[str, int] = self._names["community_weights"]
        community = self._rng.choices(list(weights), weights=list(weights.values()))[0]
        sex = sex or self._rng.choices(["M", "F"], weights=[62, 38])[0]
        given = self._spelling(self._given(community, sex))
        father = self._given(community, "M")
        house = str(self._rng.choice(self._names["house_names"][community]))
        age = self._rng.randint(min_age, max_age)
        if sex == "F" and age >= 22 and self._rng.random() < 0.6:
            relation, relative = "W/o", self._given(community, "M")
        else:
            relation, relative = ("S/o" if sex == "M" else "D/o"), father
        self._person_serial += 1
        person = records_pb2.Person(
            person_id=f"P-{_slug(self.station)}-{self._person_serial:06d}",
            name=self._styled(given, house, father),
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
            today = datetime.date(2025, 1, 1)
            born = today - datetime.timedelta(days=365 * age + self._rng.randint(0, 364))
            person.date_of_birth = born.isoformat()
        return person

    def _accused_person(self) -> records_pb2.Person:
        if self._known_accused and self._rng.random() < _REUSE_SHARE * 4:
            # A repeat offender: same person id, perhaps another spelling of the name.
            known = records_pb2.Person()
            known.CopyFrom(self._rng.choice(self._known_accused))
            known.name = self._spelling(known.name)
            return known
        person = self._new_person(sex=self._rng.choices(["M", "F"], weights=[92, 8])[0])
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

    def person(self, role: records_pb2.PersonRole.ValueType) -> records_pb2.PersonInCase:
        """A person in a case with `role` (a `records_pb2.PersonRole` value)."""
        if role in (records_pb2.ACCUSED, records_pb2.SUSPECT):
            return records_pb2.PersonInCase(person=self._accused_person(), role=role)
        return records_pb2.PersonInCase(person=self._new_person(), role=role)

    def _police_officer(self) -> records_pb2.Person:
        officer = self._new_person(sex=self._rng.choices(["M", "F"], weights=[85, 15])[0])
        rank = self._rng.choice(self._names["police_ranks"][:3])
        officer.address = f"{rank}, {self.station} Police Station, {self.district}"
        officer.mobile = ""
        return officer

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
        kind: str,
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

    def _property(self, kind: str) -> tuple[list[records_pb2.PropertyItem], str, int, str]:
        """Items for a case of property `kind`, with the text and value the facts quote."""
        rng = self._rng
        if kind in ("valuables", "chain"):
            sovereigns = rng.choice([1, 2, 3, 4, 5, 8])
            value = sovereigns * rng.randint(42000, 58000)
            text = f"a gold chain weighing {sovereigns} sovereigns ({sovereigns * 8} grams)"
            items = [self._property_item(kind, records_pb2.STOLEN, "gold ornaments", text, value)]
            if kind == "valuables" and rng.random() < 0.5:
                phone = self._property_item(
                    kind,
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
                kind,
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
                kind, records_pb2.SEIZED, "vehicle", f"{vehicle.make} {vehicle.model}", 0
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
            return [self._property_item(kind, records_pb2.SEIZED, "liquor", text, 0)], text, 0, ""
        if kind in ("ganja", "mdma"):
            grams = rng.randint(5, 900) if kind == "ganja" else rng.randint(1, 40)
            text = f"{grams} grams of {'ganja' if kind == 'ganja' else 'MDMA'}"
            return (
                [self._property_item(kind, records_pb2.SEIZED, "narcotics", text, 0)],
                text,
                0,
                "",
            )
        if kind == "tobacco":
            text = f"{rng.randint(10, 120)} packets of tobacco products"
            return [self._property_item(kind, records_pb2.SEIZED, "tobacco", text, 0)], text, 0, ""
        if kind in ("cash", "cash_seized"):
            value = rng.choice([2500, 8400, 15000, 45000, 120000, 350000, 780000])
            status = records_pb2.SEIZED if kind == "cash_seized" else records_pb2.LOST
            text = f"Rs. {value}"
            return [self._property_item(kind, status, "cash", text, value)], text, value, ""
        return [], "", rng.choice([15000, 25000, 40000, 75000]), ""

    # -- records -----------------------------------------------------------------------------

    def _template(self, occurred: datetime.date) -> dict[str, Any]:
        templates: list[dict[str, Any]] = self._offences["fir"]
        while True:
            template = self._rng.choices(templates, weights=[t["weight"] for t in templates])[0]
            acts = [a for a, _ in template["sll"]]
            acts.append("BNS" if occurred >= BNS_COMMENCEMENT else "IPC")
            try:
                for act in acts:
                    self._laws.check_law_in_force(act, occurred)
            except InputError:
                continue  # e.g. a Kerala Police Act case before 2011: pick another offence
            return template

    def fir(self, registered_at: datetime.datetime) -> records_pb2.Fir:
        """A fully filled FIR registered at `registered_at` (numbers left for the station)."""
        rng = self._rng
        registered_at = _aware(registered_at)
        received = registered_at - datetime.timedelta(minutes=rng.randint(5, 90))
        # Choose the offence with the law of a provisional occurrence date, then fix the times.
        provisional = _local_date(received - datetime.timedelta(hours=6))
        template = self._template(provisional)
        delay = {
            "detected": datetime.timedelta(minutes=rng.randint(10, 120)),
            "hours": datetime.timedelta(minutes=rng.randint(30, 36 * 60)),
            "days": datetime.timedelta(hours=rng.randint(6, 24 * 20)),
        }[template["delay"]]
        occurrence_to = received - delay
        span = datetime.timedelta(minutes=rng.randint(0, 40))
        if template["delay"] == "days":
            span = datetime.timedelta(hours=rng.randint(1, 24 * 10))
        occurrence_from = occurrence_to - span
        occurred = _local_date(occurrence_from)
        uses_bns = occurred >= BNS_COMMENCEMENT
        if uses_bns != (provisional >= BNS_COMMENCEMENT) or (
            uses_bns != (_local_date(occurrence_to) >= BNS_COMMENCEMENT)
        ):
            # The window straddles 1 July 2024: keep it on the side of the provisional date.
            boundary = datetime.datetime.combine(BNS_COMMENCEMENT, datetime.time(), IST)
            if provisional >= BNS_COMMENCEMENT:
                occurrence_from = max(occurrence_from, boundary)
                occurrence_to = max(occurrence_to, occurrence_from)
            else:
                occurrence_to = min(occurrence_to, boundary - datetime.timedelta(minutes=1))
                occurrence_from = min(occurrence_from, occurrence_to)
            occurred = _local_date(occurrence_from)
            uses_bns = occurred >= BNS_COMMENCEMENT

        fir = records_pb2.Fir(
            district=self.district,
            police_station=self.station,
            registered_at_ms=_ms(registered_at),
            information_received_ms=_ms(received),
            occurrence_from_ms=_ms(occurrence_from),
            occurrence_to_ms=_ms(occurrence_to),
            information_type=rng.choices(["oral", "written", "electronic"], weights=[55, 35, 10])[
                0
            ],
        )
        fir.place_of_occurrence.CopyFrom(self._place())
        penal = template["bns"] if uses_bns else template["ipc"]
        for section in penal:
            fir.sections.add(act="BNS" if uses_bns else "IPC", section=section)
        for act, section in template["sll"]:
            fir.sections.add(act=act, section=section)
        fir.crime_head = self._laws.crime_head(fir.sections)

        # People: complainant, victims, accused, witnesses.
        victim_kind: str = template["victim"]
        victim: records_pb2.Person | None = None
        if victim_kind == "woman":
            victim = self._new_person(sex="F", min_age=18, max_age=60)
        elif victim_kind == "child":
            victim = self._new_person(sex=rng.choice(["F", "F", "M"]), min_age=6, max_age=17)
        elif victim_kind == "adult":
            victim = self._new_person()
        elif victim_kind == "police":
            victim = self._police_officer()
        complainant_kind: str = template["complainant"]
        if complainant_kind == "police":
            complainant = self._police_officer()
        elif complainant_kind == "victim" and victim is not None:
            complainant = victim
        else:
            complainant = self._new_person(min_age=30, max_age=70)
        fir.persons.add(person=complainant, role=records_pb2.COMPLAINANT)
        if victim is not None:
            entry = fir.persons.add(person=victim, role=records_pb2.VICTIM)
            if victim_kind == "child":
                entry.person.juvenile = True  # POCSO/JJ: the child's identity is withheld later

        low, high = template["accused"]
        accused_names: list[str] = []
        unknown_all = rng.random() < template["unknown_accused"]
        for n in range(rng.randint(low, high)):
            code = f"A{n + 1}" if n < 9 else f"B{n - 8}"
            if unknown_all:
                unknown = fir.persons.add(role=records_pb2.ACCUSED, accused_code=code, unknown=True)
                unknown.person.sex = "U"
                unknown.person.identifying_marks.append(
                    f"aged about {rng.randint(20, 45)}, {rng.choice(['fair', 'dark', 'wheatish'])}"
                    f" complexion, wearing a {rng.choice(['black', 'blue', 'white', 'red'])} shirt"
                )
                accused_names.append("unknown person")
            else:
                person = self._accused_person()
                fir.persons.add(person=person, role=records_pb2.ACCUSED, accused_code=code)
                accused_names.append(person.name)
        for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
            fir.persons.add(person=self._new_person(), role=records_pb2.WITNESS)

        items, item_text, value, vehicle_text = self._property(template["property"])
        fir.property.extend(items)
        if not vehicle_text:
            vehicle_text = "a motorcycle"

        if rng.random() < 0.01:
            others = [s for s in self._district["stations"] if s != self.station]
            fir.zero_fir = True
            fir.jurisdiction_station = rng.choice(others)
        facts = str(rng.choice(template["facts"]))
        fir.brief_facts = facts.format(
            date=_local_date(occurrence_to).strftime("%d-%m-%Y"),
            from_date=_local_date(occurrence_from).strftime("%d-%m-%Y"),
            time=occurrence_to.astimezone(IST).strftime("%H:%M"),
            place=fir.place_of_occurrence.description,
            accused=", ".join(accused_names) or "unknown persons",
            victim=victim.name if victim is not None else "the victim",
            item=item_text or "articles",
            value=value,
            vehicle=vehicle_text,
        )
        return fir

    def gd(self, entry_time: datetime.datetime) -> records_pb2.GeneralDiaryEntry:
        """A General Diary entry at `entry_time` (gd_number left 0 for the station)."""
        rng = self._rng
        book: dict[str, Any] = self._offences["gd"]
        weights: dict[str, int] = book["category_weights"]
        category = rng.choices(list(weights), weights=list(weights.values()))[0]
        officer = f"{rng.choice(self._names['police_ranks'])} {self._new_person().name}"
        summary = str(rng.choice(book[category])).format(
            officer=officer,
            duty=rng.choice(book["duties"]),
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
        template: dict[str, Any] = rng.choice(self._offences["ncr"])
        occurred = _aware(reported_at) - datetime.timedelta(minutes=rng.randint(30, 48 * 60))
        if (_local_date(occurred) >= BNS_COMMENCEMENT) != (
            _local_date(reported_at) >= BNS_COMMENCEMENT
        ):
            occurred = datetime.datetime.combine(BNS_COMMENCEMENT, datetime.time(6), IST)
        uses_bns = _local_date(occurred) >= BNS_COMMENCEMENT
        report = records_pb2.NonCognizableReport(reported_at_ms=_ms(reported_at))
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

    def stream(
        self, n: int, start: datetime.datetime, end: datetime.datetime
    ) -> Iterator[tuple[str, Message]]:
        """`n` records between `start` and `end`, in time order, as (kind, message).

        Kinds are "gd", "fir", "petition" and "ncr", mixed about 50/25/15/10.
        """
        start, end = _aware(start), _aware(end)
        if end <= start:
            raise InputError("the stream's end must be after its start")
        span = (end - start).total_seconds()
        offsets = sorted(self._rng.uniform(0, span) for _ in range(n))
        kinds = self._rng.choices(list(_KIND_WEIGHTS), weights=list(_KIND_WEIGHTS.values()), k=n)
        for offset, kind in zip(offsets, kinds, strict=True):
            moment = start + datetime.timedelta(seconds=offset)
            message: Message
            if kind == "fir":
                message = self.fir(moment)
            elif kind == "gd":
                message = self.gd(moment)
            elif kind == "petition":
                message = self.petition(moment)
            else:
                message = self.ncr(moment)
            yield kind, message
