"""Ledger entries for the index tests: bodies, persons, FIRs and small logs of them."""

from __future__ import annotations

import json
from typing import Any

from node.index.record_index import IndexedEntry
from protos import ledger_pb2, records_pb2

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"


T0 = 1_795_000_000_000  # late 2026, ms


def body(n: int, **record: Any) -> ledger_pb2.EntryBody:
    b = ledger_pb2.EntryBody(
        origin=ORIGIN, index=n, written_at_ms=T0 + n * 1000, officer_id="KL-PC-1001"
    )
    for name, message in record.items():
        getattr(b, name).CopyFrom(message)
    return b


def person(
    pid: str,
    name: str,
    *,
    aliases: tuple[str, ...] = (),
    relative: str = "",
    relation: str = "",
    age: int = 0,
    sex: str = "M",
    commitment: bytes = b"",
) -> records_pb2.Person:
    return records_pb2.Person(
        person_id=pid,
        name=name,
        aliases=list(aliases),
        relative_name=relative,
        relation=relation,
        age=age,
        sex=sex,
        address="Kalamassery",
        identity_commitment=commitment,
    )


def fir(
    serial: int,
    year: int = 2026,
    people: list[records_pb2.Person] | None = None,
    *,
    role: int = records_pb2.ACCUSED,
    crime_head: str = "Theft",
    property: list[records_pb2.PropertyItem] | None = None,
) -> records_pb2.Fir:
    return records_pb2.Fir(
        fir_number=f"FIR No. {serial}/{year}",
        fir_serial=serial,
        fir_year=year,
        registered_at_ms=T0,
        crime_head=crime_head,
        brief_facts="Theft of a motorcycle",
        sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
        persons=[records_pb2.PersonInCase(person=p, role=role) for p in people or []],
        property=property or [],
    )


class Log:
    """Builds a list of entries with consecutive indexes."""

    def __init__(self) -> None:
        self.entries: list[IndexedEntry] = []

    def add(self, **record: Any) -> int:
        n = len(self.entries)
        self.entries.append(IndexedEntry(n, body(n, **record)))
        return n


def genesis(log: Log) -> None:
    log.add(node_event=ledger_pb2.NodeEvent(kind="genesis", public_key=b"k" * 32))


def amendment(target: int, ref: str, changes: dict[str, Any]) -> records_pb2.Amendment:
    return records_pb2.Amendment(
        amends_index=target, record_ref=ref, reason="typo", changes_json=json.dumps(changes)
    )


def amended_log() -> Log:
    log = Log()
    genesis(log)
    f = log.add(
        fir=fir(
            12,
            people=[
                person("P-1-1", "Raju", relative="Gopalan", relation="S/o", age=35),
                person("P-1-2", "Biju", aliases=("Kuttan",)),
            ],
        )
    )
    log.add(
        amendment=amendment(
            f,
            "FIR No. 12/2026",
            {
                "persons.P-1-1.name": "Rajendran",
                "persons.P-1-1.age": 41,
                "persons.P-1-1.relative_name": "Gopala Pillai",
                "persons.P-1-2.aliases": ["Kunju"],
                "brief_facts": "Theft of a scooter",
                "sections": ["BNS:303(2)", "BNS:317(2)"],
                "status": "under investigation",
                "remarks": "not projected",
            },
        )
    )
    a2 = log.add(amendment=amendment(f, "FIR No. 12/2026", {"persons.P-1-1.address": "Aluva"}))
    # A correction of a correction still belongs to the FIR.
    log.add(amendment=amendment(a2, "FIR No. 12/2026", {"persons.P-1-1.aliases": ["Raj"]}))
    return log


def _words(text: str) -> list[str]:
    return text.split()


# (name as recorded, queries that must find it in the top 5)
TARGETS: list[tuple[str, list[str]]] = [
    ("Muhammad Rasheed", ["Mohammed Rashid", "Mohd Rashed", "MUHAMMED RASHEED", "mohamed rasheed"]),
    ("P.S. Sreekumar", ["Srikumar", "Shreekumar P S", "PS Shrikumar", "Sreekumar", "ശ്രീകുമാർ"]),
    ("Jose Thomas", ["Josè Tomas", "jose  thomas", "Thomas"]),
    ("Abdul Haris", ["Abdhul Harris"]),
    ("Lekshmi Priya", ["Lakshmi Priya", "Laxmi Priya", "Lekshmi"]),
    ("Aswathy Mohan", ["Ashwathi Mohan", "Aswathi", "അശ്വതി"]),
    ("Shibu K", ["Sibu", "K. Shibu", "Shibu.K", "shibu"]),
    ("Fathima Beevi", ["Fatima Beevi", "Fathima"]),
    ("Ajith Kumar", ["Ajit", "Ajithkumar", "Ajit Kumar"]),
    ("Praveen Raj", ["Pravin Raj", "Praveen"]),
    ("Vinodh V", ["Vinod", "V. Vinod"]),
    ("Sureshkumar", ["Suresh Kumar", "Suresh", "Sureshkumaar"]),
    ("Rajeesh R", ["Rajesh R", "Rajesh"]),
    ("K. Raju", ["Raju K", "Raju", "raju.k", "K Raju", "രാജു"]),
    ("Jayakrishnan", ["Jayakrishan", "Jayakrishnan"]),
    ("Mini", ["Mini", "MINI"]),
    ("Anil", ["Anil"]),
]


# Different people who must not be returned for the listed queries.
UNRELATED: list[tuple[str, list[str]]] = [
    ("Ramesh", ["Rajesh", "Rajeesh R"]),
    ("Sunil", ["Suresh", "Sureshkumar"]),
    ("Anish", ["Anil"]),
    ("Mani", ["Mini"]),
    ("Rajani", ["Raju"]),
]


FIRST_NAMES = _words(
    "Arun Bindu Chandran Deepa Eldho Gireesh Hari Indira Jiji Kesavan Latha Manoj Nisha "
    "Omana Pradeep Radha Sajan Tessy Unni Varghese Xavier Yamuna Zainaba Babu Divya Faisal "
    "Geetha Hameed Jaleel Kunjumon Leela Midhun Noushad Pushpa Rahul Sabu Thankamma Usha "
    "Vijayan Beena Cyriac Dileep Febin Gracy Hassan Jincy"
)


SURNAMES = _words("Nair Pillai Menon Kurian Chacko Varkey Panicker Namboodiri Ibrahim Kutty")


def recall_log() -> tuple[Log, dict[str, str]]:
    log = Log()
    genesis(log)
    people: list[tuple[str, str]] = []
    for i, (name, _) in enumerate(TARGETS):
        people.append((f"T-{i}", name))
    for i, (name, _) in enumerate(UNRELATED):
        people.append((f"U-{i}", name))
    for i, first in enumerate(FIRST_NAMES):
        for j, surname in enumerate(SURNAMES):
            people.append((f"F-{i}-{j}", f"{first} {surname}"))
    ids = {name: pid for pid, name in people}
    for serial, start in enumerate(range(0, len(people), 5), 1):
        chunk = [person(pid, name, age=20 + len(name)) for pid, name in people[start : start + 5]]
        log.add(fir=fir(serial, people=chunk))
    return log, ids


INITIALS = "KPMTRS"


def typo_log() -> tuple[Log, list[tuple[str, str, str, str]]]:
    """288 persons "K. Arun" .. "S. Jincy", each with a father: (pid, initial, name, father)."""
    log = Log()
    genesis(log)
    people: list[tuple[str, str, str, str]] = []
    for i, first in enumerate(FIRST_NAMES):
        for j, initial in enumerate(INITIALS):
            father = FIRST_NAMES[(i * 7 + j * 5 + 1) % len(FIRST_NAMES)]
            people.append((f"P-{i}-{j}", initial, first, father))
    for serial, start in enumerate(range(0, len(people), 6), 1):
        chunk = [
            person(pid, f"{initial}. {first}", relative=father, relation="S/o", age=30)
            for pid, initial, first, father in people[start : start + 6]
        ]
        log.add(fir=fir(serial, people=chunk))
    return log, people
