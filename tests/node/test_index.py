"""The query index: applying entries, numbering helpers, amendments, searches, rebuilds.

Every test runs on SQLite and on PostgreSQL (each PostgreSQL test in its own schema).
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.errors import StoreError
from node.index.record_index import IndexedEntry, RecordIndex
from node.records import names
from node.records.validation import registration_key
from protos import ledger_pb2, records_pb2

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
T0 = 1_795_000_000_000  # late 2026, ms


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordIndex]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'index.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
    idx = RecordIndex(url)
    try:
        yield idx
    finally:
        idx.close()


# --- building entries -------------------------------------------------------------------------


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


# --- apply --------------------------------------------------------------------------------------


def test_apply_counts_and_skips_already_applied(index: RecordIndex) -> None:
    log = Log()
    genesis(log)
    log.add(fir=fir(1, people=[person("P-1-1", "Raju")]))
    log.add(fir=fir(2, people=[person("P-2-1", "Gopalan")]))
    assert index.indexed_size() == 0
    index.apply(log.entries[:2])
    assert index.indexed_size() == 2
    before = index.snapshot()
    index.apply(log.entries[:2])  # again: nothing changes
    assert index.snapshot() == before
    index.apply(log.entries)  # overlaps: 0 and 1 are skipped, 2 applied
    assert index.indexed_size() == 3
    assert index.lookups.person_count() == 2
    index.apply([])
    assert index.indexed_size() == 3


def test_apply_gap_raises_and_applies_nothing(index: RecordIndex) -> None:
    log = Log()
    genesis(log)
    log.add(fir=fir(1, people=[person("P-1-1", "Raju")]))
    log.add(fir=fir(2))
    log.add(fir=fir(3))
    with pytest.raises(StoreError, match="gap"):
        index.apply(log.entries[1:])
    # A gap inside one call: the whole call is rolled back.
    with pytest.raises(StoreError, match="gap"):
        index.apply([log.entries[0], log.entries[1], log.entries[3]])
    assert index.indexed_size() == 0
    assert index.lookups.person_count() == 0
    assert index.search.persons("Raju") == []
    index.apply(log.entries)
    assert index.indexed_size() == 4


# --- numbering helpers ---------------------------------------------------------------------------


def test_numbering_helpers_and_refs(index: RecordIndex) -> None:
    log = Log()
    genesis(log)
    f1 = log.add(fir=fir(1))
    log.add(fir=fir(2))
    log.add(fir=fir(5, year=2025))
    zero = records_pb2.Fir(
        zero_fir=True,
        zero_fir_number="ZERO FIR 2/2026",
        fir_year=2026,
        jurisdiction_station="PS Aluva",
        registered_at_ms=T0,
    )
    z = log.add(fir=zero)
    for n in (1, 2, 3):
        log.add(general_diary=records_pb2.GeneralDiaryEntry(gd_date="2026-11-28", gd_number=n))
    pet = log.add(
        petition=records_pb2.Petition(
            receipt_number="PET/2026/000007", petitioner=person("P-9-1", "Mini")
        )
    )
    ncr = log.add(
        ncr=records_pb2.NonCognizableReport(
            ncr_number="NCR 3/2026", informant=person("P-10-1", "Anil")
        )
    )
    index.apply(log.entries)

    assert index.lookups.max_fir_serial(2026) == 2
    assert index.lookups.max_fir_serial(2025) == 5
    assert index.lookups.max_fir_serial(2024) == 0
    assert index.lookups.fir_exists(2026, 2) and not index.lookups.fir_exists(2026, 3)
    assert not index.lookups.fir_exists(2026, 0)  # the Zero FIR has no serial here
    assert index.lookups.max_zero_fir_serial(2026) == 2
    assert index.lookups.max_gd_number("2026-11-28") == 3
    assert index.lookups.max_gd_number("2026-11-29") == 0
    assert index.lookups.max_petition_serial(2026) == 7
    assert index.lookups.max_ncr_serial(2026) == 3
    assert index.lookups.person_count() == 2

    assert index.lookups.record_index("FIR No. 1/2026") == f1
    assert index.lookups.record_index("fir no 1/2026") == f1
    assert index.lookups.record_index("1/2026") == f1
    assert index.lookups.record_index("ZERO FIR 2/2026") == z
    assert index.lookups.record_index("GD 2026-11-28/2") == z + 2
    assert index.lookups.record_index("PET/2026/000007") == pet
    assert index.lookups.record_index("NCR 3/2026") == ncr
    assert index.lookups.record_index("FIR No. 9/2026") is None
    assert index.lookups.history("FIR No. 1/2026") == [f1]
    assert index.lookups.history("nothing") == []
    assert index.lookups.counts_by_crime_head(2026) == {"Theft": 2}
    assert index.lookups.counts_by_crime_head() == {"Theft": 3}


# --- amendments -------------------------------------------------------------------------------


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


def test_amendments_project_onto_current_view(index: RecordIndex) -> None:
    log = amended_log()
    index.apply(log.entries)
    view = index.lookups.fir("FIR No. 12/2026")
    assert view is not None
    assert view.brief_facts == "Theft of a scooter"
    assert view.sections == ("BNS:303(2)", "BNS:317(2)")
    assert view.status == "under investigation"
    raju, biju = view.persons
    assert (raju.name, raju.age, raju.relative_name, raju.address) == (
        "Rajendran",
        41,
        "Gopala Pillai",
        "Aluva",
    )
    assert raju.aliases == ("Raj",)
    assert biju.aliases == ("Kunju",)
    assert view.amendments == (2, 3, 4)
    assert index.lookups.history("FIR No. 12/2026") == [1, 2, 3, 4]
    assert index.lookups.fir("12/2026") == view


def test_amendments_keep_old_names_searchable(index: RecordIndex) -> None:
    index.apply(amended_log().entries)
    new = index.search.persons("Rajendran")
    assert [h.person_id for h in new] == ["P-1-1"]
    old = index.search.persons("Raju")
    assert [h.person_id for h in old] == ["P-1-1"]
    assert old[0].name == "Rajendran" and old[0].matched_name == "Raju"
    assert new[0].score > old[0].score  # the superseded name ranks lower
    assert [h.person_id for h in index.search.persons("Kuttan")] == ["P-1-2"]
    assert [h.person_id for h in index.search.persons("Kunju")] == ["P-1-2"]
    assert [h.person_id for h in index.search.persons("S/o Gopala Pillai")] == ["P-1-1"]


# --- vehicles and property ----------------------------------------------------------------------


def vehicle_item(seq: int, reg: str, engine: str, chassis: str) -> records_pb2.PropertyItem:
    return records_pb2.PropertyItem(
        property_id=f"PR-{seq}",
        category="vehicle",
        description="Honda Activa, grey",
        status=records_pb2.STOLEN,
        value_inr=60000,
        vehicle=records_pb2.Vehicle(
            registration=reg,
            engine_number=engine,
            chassis_number=chassis,
            make="Honda",
            model="Activa",
            vehicle_type="scooter",
        ),
    )


def test_registration_key_normalises_spacing_and_padding() -> None:
    assert registration_key("KL-07-AB-1234") == "KL07AB1234"
    assert registration_key("kl 7 ab 1234") == "KL07AB1234"
    assert registration_key("KL07AB123") == "KL07AB0123"


def test_vehicle_search(index: RecordIndex) -> None:
    log = Log()
    genesis(log)
    log.add(
        fir=fir(
            1,
            property=[
                vehicle_item(1, "KL-07-AB-1234", "JF50E-998877", "ME4JF50A1234567"),
                records_pb2.PropertyItem(
                    category="Mobile phone",
                    description="Redmi Note 9, blue",
                    status=records_pb2.STOLEN,
                    identifiers="IMEI 861234567890123",
                ),
            ],
        )
    )
    log.add(fir=fir(2, property=[vehicle_item(1, "KL-39-C-5678", "ENG111", "CH222333")]))
    index.apply(log.entries)

    def regs(text: str) -> list[str]:
        return [h.registration for h in index.search.vehicles(text)]

    for text in ("KL07AB1234", "kl 7 ab 1234", "KL-07-AB-1234", "1234", "AB1234", "KL07"):
        assert regs(text) == ["KL-07-AB-1234"], text
    assert regs("998877") == ["KL-07-AB-1234"]
    assert index.search.vehicles("JF50E998877")[0].matched_on == "engine"
    assert index.search.vehicles("ME4JF50")[0].matched_on == "chassis"
    assert regs("CH222333") == ["KL-39-C-5678"]
    assert regs("KL") == []  # too short to search
    assert regs("9999") == []
    hit = index.search.vehicles("5678")[0]
    assert (hit.record_ref, hit.property_status) == ("FIR No. 2/2026", "stolen")

    phones = index.search.property("mobile phone")
    assert [p.description for p in phones] == ["Redmi Note 9, blue"]
    assert [p.category for p in index.search.property("86123456789")] == ["mobile phone"]
    assert [p.record_ref for p in index.search.property("activa", status="stolen")] == [
        "FIR No. 1/2026",
        "FIR No. 2/2026",
    ]
    assert index.search.property("activa", status="recovered") == []


# --- person search ------------------------------------------------------------------------------


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


def test_person_search_recall_of_variants(index: RecordIndex) -> None:
    log, ids = recall_log()
    index.apply(log.entries)
    assert index.lookups.person_count() > 400
    for name, queries in TARGETS:
        for query in queries:
            hits = index.search.persons(query, limit=5)
            assert ids[name] in [h.person_id for h in hits], (query, name, hits)


def test_person_search_does_not_return_different_people(index: RecordIndex) -> None:
    log, ids = recall_log()
    index.apply(log.entries)
    for name, queries in UNRELATED:
        for query in queries:
            found = [h.person_id for h in index.search.persons(query)]
            assert ids[name] not in found, (query, name)
    assert index.search.persons("Zzyzx") == []
    assert index.search.persons("") == []
    assert index.search.persons("K.") == []


def test_person_search_ranks_exact_then_variant_then_phonetic(index: RecordIndex) -> None:
    log = Log()
    genesis(log)
    people = [
        person("P-a", "Rajeesh"),  # phonetic for "Rajesh"? no: a variant (ee/e fold)
        person("P-b", "Rajesh"),
        person("P-c", "Rajesh K"),
        person("P-d", "Rajesh P"),
        person("P-e", "Mohamed Rafi"),
        person("P-f", "Muhammad Rafi"),
        person("P-g", "Jayakrishnan"),
        person("P-h", "Jayakrishan"),
    ]
    log.add(fir=fir(1, people=people))
    index.apply(log.entries)
    ids = [h.person_id for h in index.search.persons("Rajesh")]
    assert ids[0] == "P-b"  # exact and complete
    assert ids.index("P-a") > ids.index("P-c")  # exact before variant
    ids = [h.person_id for h in index.search.persons("K. Rajesh")]
    assert ids[0] == "P-c"  # initials agree
    assert ids[-1] == "P-d"  # initials disagree: last
    ids = [h.person_id for h in index.search.persons("Muhammad Rafi")]
    assert ids == ["P-f", "P-e"]
    ids = [h.person_id for h in index.search.persons("Jayakrishnan")]
    assert ids == ["P-g", "P-h"]
    hits = index.search.persons("Jayakrishnan")
    assert hits[0].score > hits[1].score


def test_person_search_by_relative_age_role_alias(index: RecordIndex) -> None:
    log = Log()
    genesis(log)
    log.add(
        fir=fir(
            1,
            people=[
                person("P-1", "Raju", relative="Gopalan", relation="S/o", age=25),
                person("P-2", "Raju", relative="Kesavan", relation="S/o", age=45),
                person("P-3", "Raju", aliases=("Kuttan",), age=0),
                person("P-4", "", relative="Gopalan", commitment=b"c" * 32, sex="F"),
            ],
        )
    )
    log.add(fir=fir(2, people=[person("P-5", "Raju", age=30)], role=records_pb2.WITNESS))
    index.apply(log.entries)

    def ids(query: str, **kwargs: Any) -> list[str]:
        return sorted(h.person_id for h in index.search.persons(query, **kwargs))

    assert ids("Raju") == ["P-1", "P-2", "P-3", "P-5"]
    assert ids("Raju S/o Gopalan") == ["P-1"]
    assert ids("S/o Gopalan") == ["P-1"]  # the withheld P-4 is never found
    assert ids("Raju", relative="Kesavan") == ["P-2"]
    assert ids("Raju", age_min=40) == ["P-2"]
    assert ids("Raju", age_min=20, age_max=30) == ["P-1", "P-5"]
    assert ids("Raju", role="witness") == ["P-5"]
    assert ids("Kuttan") == ["P-3"]
    assert ids("Raju @ Kuttan") == ["P-1", "P-2", "P-3", "P-5"]
    hit = index.search.persons("Raju S/o Gopalan")[0]
    assert (hit.relative_name, hit.relation, hit.age, hit.record_ref) == (
        "Gopalan",
        "S/o",
        25,
        "FIR No. 1/2026",
    )
    assert len(index.search.persons("Raju", limit=2)) == 2


# --- typing slips -------------------------------------------------------------------------------

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


def slip(word: str, kind: str, rng: random.Random) -> str:
    """`word` with one letter dropped, added, changed, or two neighbours swapped."""
    i = rng.randrange(1, len(word) - 1)  # officers rarely miss the first letter
    letter = rng.choice([c for c in "abdeghiklmnoprstuv" if c != word[i].lower()])
    if kind == "deleted":
        return word[:i] + word[i + 1 :]
    if kind == "inserted":
        return word[:i] + letter + word[i:]
    if kind == "substituted":
        return word[:i] + letter + word[i + 1 :]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def test_person_search_finds_single_letter_typos(index: RecordIndex) -> None:
    log, people = typo_log()
    index.apply(log.entries[:20])
    assert index.search.persons("Arnu")  # loads the typo vocabulary before the rest arrives
    index.apply(log.entries[20:])  # names applied later are in the vocabulary too
    known = {names.variant_key(first) for _, _, first, _ in people}
    rng = random.Random(7)
    checked = 0
    for n, (pid, initial, first, father) in enumerate(people):
        for kind in ("deleted", "inserted", "substituted", "transposed"):
            typo = slip(first, kind, rng)
            if names.variant_key(typo) in known:
                continue  # a known spelling is taken as written ("Rajesh" is not "Ramesh")
            query = (
                f"{typo} S/o {father}",
                f"{initial}. {typo} S/o {father}",
                f"{typo} {initial}",
            )[n % 3]
            hits = [h.person_id for h in index.search.persons(query, limit=5)]
            assert pid in hits, (query, first)
            checked += 1
    assert checked > 900  # of 1,152 slips; the rest spell another known name


def test_person_search_typo_matches_rank_below_exact_and_variant(index: RecordIndex) -> None:
    log = Log()
    genesis(log)
    people = [
        person("P-rajesh", "Rajesh"),
        person("P-ramesh", "Ramesh"),
        person("P-rajeesh", "Rajeesh"),
        person("P-manoj", "K. Manoj"),
        person("P-jk", "Jayakrishnan"),
        person("P-pradeep", "Pradeep", relative="Vijayan", relation="S/o"),
        person("P-sreedevi", "Sreedevi C."),
        person("P-aslam", "Muhammed Aslam"),
        person("P-shibu", "T. Shibu"),
    ]
    log.add(fir=fir(1, people=people))
    index.apply(log.entries)

    def ranked(query: str) -> list[tuple[str, float]]:
        return [(h.person_id, h.score) for h in index.search.persons(query)]

    # Spelled right, distinct names stay apart; exact before variant.
    assert [pid for pid, _ in ranked("Rajesh")] == ["P-rajesh", "P-rajeesh"]
    assert [pid for pid, _ in ranked("Ramesh")] == ["P-ramesh"]
    # One letter off: found, scored below exact, variant and phonetic matches.
    exact = ranked("Rajesh")[0][1]
    variant = dict(ranked("Rajesh"))["P-rajeesh"]
    phonetic = ranked("Jayakrishan")[0][1]
    for query, pid in [
        ("Praeep S/o Vijayan", "P-pradeep"),
        ("K. Mnoj", "P-manoj"),
        ("Sredevi C.", "P-sreedevi"),
        ("Muhammed Asam", "P-aslam"),
        ("T. hibu", "P-shibu"),
        ("Rajeh", "P-rajesh"),
        ("Jayakrshnn", "P-jk"),
    ]:
        hits = ranked(query)
        assert hits and hits[0][0] == pid, (query, hits)
    for query in ("Rajeh", "Rmesh", "Jayakrshnn"):
        (_, typo_score), *_ = ranked(query)
        assert typo_score < phonetic < variant < exact, query
    assert ranked("Jayakrshnn")[0][1] < ranked("Jayakrshnan")[0][1]  # two edits below one
    assert [pid for pid, _ in ranked("Rmesh")] == ["P-ramesh"]
    assert ranked("Zzyzx") == []


def test_person_search_typo_path_never_finds_withheld_persons(index: RecordIndex) -> None:
    log = Log()
    genesis(log)
    victim = person("P-v", "", relative="Kunjiraman", relation="D/o", sex="F", commitment=b"c" * 32)
    log.add(fir=fir(1, people=[victim, person("P-a", "Raju", relative="Gopalan", relation="S/o")]))
    index.apply(log.entries)
    for query in ("S/o Kunjiraman", "D/o Kunjraman", "D/o Kunjiramn", "Raju S/o Kunjraman"):
        assert index.search.persons(query) == [], query
    tokens = dict(index.snapshot())["name_tokens"]
    assert sorted(t for _, t, _ in tokens) == ["gopalan", "raju"]


def test_person_search_typos_from_concurrent_readers(index: RecordIndex) -> None:
    log, people = typo_log()
    index.apply(log.entries)
    queries = [f"{first[0]}{first[2:]} S/o {father}" for _, _, first, father in people[:60]]
    expected = {q: index.search.persons(q) for q in queries}
    index.drop_all()  # forgets the vocabulary with the tables
    assert index.search.persons(queries[0]) == []
    index.apply(log.entries)
    results: dict[str, list[Any]] = {}
    errors: list[BaseException] = []

    def run(part: list[str]) -> None:
        try:
            for q in part:
                results[q] = index.search.persons(q)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(queries[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == expected
    assert all(expected.values())


def test_name_tokens_are_backfilled_for_an_older_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'index.sqlite3'}"
    log, people = typo_log()
    index = RecordIndex(url)
    index.apply(log.entries)
    before = index.snapshot()
    index.close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM name_tokens"))
    engine.dispose()
    index = RecordIndex(url)
    try:
        assert index.snapshot() == before
        pid, _, _, father = people[0]
        assert [h.person_id for h in index.search.persons(f"Arnu S/o {father}")] == [pid]
    finally:
        index.close()


# --- rebuild ------------------------------------------------------------------------------------


def test_drop_all_and_reapply_gives_identical_snapshot(index: RecordIndex) -> None:
    log, _ = recall_log()
    extra = amended_log()
    offset = len(log.entries) - 1
    for entry in extra.entries[1:]:
        b = ledger_pb2.EntryBody()
        b.CopyFrom(entry.body)
        b.index = entry.index + offset
        if b.HasField("amendment"):
            b.amendment.amends_index += offset
        else:
            b.fir.fir_serial, b.fir.fir_number = 999, "FIR No. 999/2026"
        log.entries.append(IndexedEntry(b.index, b))
    index.apply(log.entries[:50])
    index.apply(log.entries[50:])
    first = index.snapshot()
    answers = [index.search.persons(q) for q in ("Raju", "Mohammed", "Rajendran", "Kunju")]
    assert any(rows for _, rows in first)
    index.drop_all()
    assert index.indexed_size() == 0
    assert all(not rows for name, rows in index.snapshot() if name != "index_meta")
    index.apply(log.entries)
    assert index.snapshot() == first
    assert [index.search.persons(q) for q in ("Raju", "Mohammed", "Rajendran", "Kunju")] == answers
