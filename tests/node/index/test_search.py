"""Person, vehicle and property search over the index: variants, typos, relatives, ranking."""

from __future__ import annotations

import random
import threading
from typing import Any

from node.index.record_index import RecordIndex
from node.records import names
from node.records.validation import registration_key
from protos import records_pb2
from tests.node.index.support import (
    TARGETS,
    UNRELATED,
    Log,
    amended_log,
    fir,
    genesis,
    person,
    recall_log,
    typo_log,
)


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


def test_person_search_takes_a_known_spelling_as_a_slip_only_when_nothing_is_found(
    index: RecordIndex,
) -> None:
    # "Jaya" and "Jayan" are both names: a dropped letter spells the other one.
    log = Log()
    genesis(log)
    log.add(
        fir=fir(
            1,
            people=[
                person("P-1", "Jayan P.S.", relative="Satheesan", relation="S/o", age=45),
                person("P-2", "Jaya", relative="Gopalan", relation="D/o", age=30, sex="F"),
                person("P-3", "Ramesh", relative="Kesavan", relation="S/o", age=40),
                person("P-4", "Rajesh", relative="Kesavan", relation="S/o", age=41),
            ],
        )
    )
    index.apply(log.entries)
    # No Jaya is the child of Satheesan: the slip is tried, and Jayan found (below an exact).
    hits = index.search.persons("Jaya S/o Satheesan")
    assert [h.person_id for h in hits] == ["P-1"]
    assert hits[0].score < index.search.persons("Jayan S/o Satheesan")[0].score
    # A spelling that finds someone is taken as written: Rajesh is not Ramesh, nor Jaya Jayan.
    assert [h.person_id for h in index.search.persons("Rajesh S/o Kesavan")] == ["P-4"]
    assert [h.person_id for h in index.search.persons("Jaya")] == ["P-2"]
