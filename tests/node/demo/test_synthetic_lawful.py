"""Synthetic records stay lawful: every generated FIR is read against the sections it cites (not
against the template that made it), so a template that goes wrong fails here.

The rules, from the texts:
* rape and the other sexual offences against a woman (BNS 63-79, IPC 354-354D, 375-376E, 509,
  Kerala Police Act 119) have a female victim; rape, sexual harassment, voyeurism and stalking are
  committed by "a man" (BNS 63, 75, 77, 78; IPC 375, 354A, 354C, 354D);
* the child limbs name an age: BNS 65(1) and IPC 376(3) a woman under sixteen, BNS 65(2) and IPC
  376AB under twelve, BNS 70(2) under eighteen, IPC 376DA/376DB under sixteen/twelve; a girl
  under sixteen is never booked under the adult section (BNS 64, IPC 376(1)), and gang rape of a
  woman (BNS 70(1)) or rape by deceitful means (BNS 69) concerns an adult;
* a victim under 18 of a sexual offence is a child under POCSO (s.2(1)(d)), which is cited; a
  POCSO case has only child victims, marked juvenile;
* cruelty and dowry death (BNS 80, 85, 86; IPC 304B, 498A) concern a married woman, with her
  husband among the accused;
* kidnapping from lawful guardianship (IPC 361/363: a boy under 16, a girl under 18; BNS 137: a
  child under 18) takes a minor, whose age the facts state;
* JJ Act 75, 77, 78 and Kerala Police Act 118(i) have a child victim;
* NDPS: the seized quantity is stated and the limb of s.20(b)(ii), 21 or 22 is the one its
  quantity falls under by S.O. 1055(E) of 19 October 2001 (figures below, written out again
  here on purpose, not read from the generator's seed data);
* a missing person (Kerala Police Act s.57) and an unnatural death (BNSS s.194 from 1 July
  2024, CrPC s.174 before) are registered with their own persons and no accused.
"""

from __future__ import annotations

import collections
import datetime
import json
import re
from importlib import resources
from typing import Any

import pytest

from node.demo.synthetic import IST, REGISTER_SHARES, SLOT_SHARES, SyntheticRecords
from node.records.laws import BNS_COMMENCEMENT, statutes
from protos import records_pb2

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
END = datetime.datetime(2025, 12, 31, tzinfo=datetime.UTC)

# S.O. 1055(E), 19 Oct 2001 (NDPS s.2(viia), 2(xxiiia)): grams; small is any quantity LESS than
# the first figure, commercial any quantity GREATER than the second.
THRESHOLDS: dict[str, tuple[str, float, float]] = {
    "ganja": ("20", 1000, 20000),
    "hashish": ("20", 100, 1000),  # charas, including hashish oil (NDPS s.2(iii)(a))
    "heroin": ("21", 5, 250),
    "cocaine": ("21", 2, 100),
    "mdma": ("22", 0.5, 10),
    "lsd": ("22", 0.002, 0.1),
}
LIMBS = {
    "20": ("20(b)(ii)(A)", "20(b)(ii)(B)", "20(b)(ii)(C)"),
    "21": ("21(a)", "21(b)", "21(c)"),
    "22": ("22(a)", "22(b)", "22(c)"),
}
QUANTITY = re.compile(r"(\d+(?:\.\d+)?) (mg|g|kg) of ([A-Za-z]+)")
UNIT = {"mg": 0.001, "g": 1.0, "kg": 1000.0}

# By section "base" (the number and letters, without sub-section): BNS 64(1) -> "64".
FEMALE_VICTIM = {
    "BNS": {str(n) for n in range(63, 80)} | {"80", "84", "85", "86", "87"},
    "IPC": {"354", "354A", "354B", "354C", "354D", "366", "375", "376", "376A", "376AB"}
    | {"376B", "376C", "376D", "376DA", "376DB", "376E", "509", "304B", "498A"},
    "KPA": {"119"},
}
SEXUAL = {
    "BNS": {str(n) for n in range(63, 80)},
    "IPC": FEMALE_VICTIM["IPC"] - {"366", "304B", "498A"},
    "KPA": {"119"},
}
MALE_ACCUSED = {
    "BNS": {"63", "64", "65", "66", "68", "69", "70", "71", "75", "77", "78"},
    "IPC": {"375", "376", "376A", "376AB", "376C", "376D", "376DA", "376DB", "376E"}
    | {"354A", "354C", "354D"},
}
# Exact limbs: victims strictly younger than this age.
UNDER = {
    ("BNS", "65(1)"): 16,
    ("BNS", "65(2)"): 12,
    ("BNS", "70(2)"): 18,
    ("IPC", "376(3)"): 16,
    ("IPC", "376AB"): 12,
    ("IPC", "376DA"): 16,
    ("IPC", "376DB"): 12,
}
# ...and at least this age.
AT_LEAST = {
    ("BNS", "64(1)"): 16,
    ("BNS", "69"): 18,
    ("BNS", "70(1)"): 18,
    ("IPC", "376(1)"): 16,
    ("IPC", "376D"): 16,
}
MARRIED = {"BNS": {"80", "85", "86"}, "IPC": {"304B", "498A"}}
WOMAN_OFFICER = {
    "BNS": {str(n) for n in range(64, 72)} | {str(n) for n in range(74, 80)} | {"124"},
    "IPC": {"326A", "326B", "354", "354A", "354B", "354C", "354D", "376", "376A", "376AB"}
    | {"376B", "376C", "376D", "376DA", "376DB", "376E", "509"},
}
CHILD_VICTIM = {("JJ", "75"), ("JJ", "77"), ("JJ", "78"), ("KPA", "118(i)")}
MISSING = ("KPA", "57")


def _base(section: str) -> str:
    match = re.match(r"^\d+[A-Z]*", section)
    return match.group(0) if match else section


def _cites(fir: records_pb2.Fir, table: dict[str, set[str]]) -> list[str]:
    return [
        f"{s.act} {s.section}" for s in fir.sections if _base(s.section) in table.get(s.act, set())
    ]


def _people(fir: records_pb2.Fir, role: int) -> list[records_pb2.PersonInCase]:
    return [p for p in fir.persons if p.role == role]


def _occurred(fir: records_pb2.Fir) -> datetime.date:
    return datetime.datetime.fromtimestamp(fir.occurrence_from_ms / 1000, IST).date()


def lawful_problems(fir: records_pb2.Fir) -> list[str]:
    """What in this FIR does not fit the sections it cites (empty when it is lawful)."""
    problems: list[str] = []
    victims = [p.person for p in _people(fir, records_pb2.VICTIM)]
    accused = _people(fir, records_pb2.ACCUSED)
    cited = {(s.act, s.section) for s in fir.sections}
    for person in [p.person for p in fir.persons]:
        if person.age and person.juvenile != (person.age < 18):
            problems.append(f"{person.name}, {person.age}: juvenile flag {person.juvenile}")
    female = _cites(fir, FEMALE_VICTIM)
    if female:
        if not victims:
            problems.append(f"{female} cited without a victim")
        for victim in victims:
            if victim.sex != "F":
                problems.append(f"{female} cited for a victim of sex {victim.sex}")
    male = _cites(fir, MALE_ACCUSED)
    for person in accused:
        if male and person.person.sex not in ("M", "U" if person.unknown else "M"):
            problems.append(f"{male}: accused {person.accused_code} of sex {person.person.sex}")
    for limb, age in UNDER.items():
        if limb in cited:
            for victim in victims:
                if not 0 < victim.age < age:
                    problems.append(f"{limb} cited for a victim aged {victim.age}")
    for limb, age in AT_LEAST.items():
        if limb in cited:
            for victim in victims:
                if victim.age < age:
                    problems.append(f"{limb} cited for a victim aged {victim.age}")
    pocso = any(s.act == "POCSO" for s in fir.sections)
    if _cites(fir, SEXUAL) or pocso:
        children = [v for v in victims if v.age < 18]
        if children and not pocso:
            problems.append(f"a child victim ({children[0].age}) without POCSO")
    if pocso:
        for victim in victims:
            if not (victim.age < 18 and victim.juvenile):
                problems.append(f"POCSO cited for a victim aged {victim.age}")
    married = _cites(fir, MARRIED)
    if married:
        husbands = {v.relative_name for v in victims if v.relation == "W/o"}
        for victim in victims:
            if victim.sex != "F" or victim.relation != "W/o" or victim.age < 18:
                problems.append(
                    f"{married} cited for {victim.sex} {victim.age} {victim.relation}, not a wife"
                )
        if not any(p.person.name in husbands and p.person.sex == "M" for p in accused):
            problems.append(f"{married} cited without the husband among the accused")
    for act, sections, boy, girl in (("IPC", {"363", "361"}, 16, 18), ("BNS", {"137"}, 18, 18)):
        if any(s.act == act and _base(s.section) in sections for s in fir.sections):
            if not victims:
                problems.append(f"{act} kidnapping without the minor")
            for victim in victims:
                if not victim.age < (boy if victim.sex == "M" else girl):
                    problems.append(f"{act} kidnapping of a {victim.sex} aged {victim.age}")
                if f"aged {victim.age}" not in fir.brief_facts:
                    problems.append("a kidnapping whose facts do not state the minor's age")
    if cited & CHILD_VICTIM and not any(v.age < 18 for v in victims):
        problems.append(f"{sorted(cited & CHILD_VICTIM)} cited without a child victim")
    acid = {("BNS", "124"), ("IPC", "326A"), ("IPC", "326B")}
    if any((s.act, _base(s.section)) in acid for s in fir.sections) and (
        not victims or any(v.sex not in ("M", "F") or not v.age for v in victims)
    ):
        problems.append("acid attack without a victim of known sex and age")
    # BNSS s.173(1) first proviso (CrPC s.154(1)): these offences against a woman are recorded
    # by a woman officer.
    woman_officer = _cites(fir, WOMAN_OFFICER)
    against_woman = any(v.sex == "F" for v in victims)
    if woman_officer and against_woman and fir.recording.recorded_by_sex != "F":
        problems.append(f"{woman_officer} against a woman not recorded by a woman officer")
    problems.extend(_ndps_problems(fir))
    problems.extend(_non_crime_problems(fir))
    return problems


def _ndps_problems(fir: records_pb2.Fir) -> list[str]:
    limbs = [s.section for s in fir.sections if s.act == "NDPS" and _base(s.section) in LIMBS]
    if not limbs:
        return []
    problems: list[str] = []
    if len(limbs) != 1:
        problems.append(f"NDPS limbs {limbs}: one seizure, one limb")
    if ("NDPS", "8(c)") not in {(s.act, s.section) for s in fir.sections}:
        problems.append("NDPS limb cited without s.8(c)")
    seized = [item for item in fir.property if item.category == "narcotics"]
    if len(seized) != 1:
        return [*problems, f"NDPS {limbs} with {len(seized)} narcotics items"]
    match = QUANTITY.search(seized[0].description)
    if match is None:
        return [*problems, f"no quantity in {seized[0].description!r}"]
    amount, unit, drug = match.groups()
    if seized[0].description not in fir.brief_facts:
        problems.append("the facts do not state the quantity seized")
    grams = float(amount) * UNIT[unit]
    key = drug.lower()
    if key not in THRESHOLDS:
        return [*problems, f"unknown drug {drug}"]
    section, small, commercial = THRESHOLDS[key]
    band = 0 if grams < small else (2 if grams > commercial else 1)
    if limbs[0] != LIMBS[section][band]:
        problems.append(f"{grams} g of {drug} cited under NDPS {limbs[0]}")
    return problems


def _non_crime_problems(fir: records_pb2.Fir) -> list[str]:
    cited = {(s.act, s.section) for s in fir.sections}
    problems: list[str] = []
    inquest = cited & {("BNSS", "194"), ("CRPC", "174")}
    if inquest:
        wanted = ("BNSS", "194") if _occurred(fir) >= BNS_COMMENCEMENT else ("CRPC", "174")
        if inquest != {wanted}:
            problems.append(f"a death on {_occurred(fir)} registered under {sorted(inquest)}")
        if len(_people(fir, records_pb2.VICTIM)) != 1 or _people(fir, records_pb2.ACCUSED):
            problems.append("an unnatural death needs the deceased and no accused")
        law = "section 194 of the BNSS" if wanted[0] == "BNSS" else "section 174 of the CrPC"
        if law not in fir.brief_facts:
            problems.append(f"the facts of an unnatural death do not name {law}")
    if MISSING in cited:
        missing = _people(fir, records_pb2.MISSING)
        if len(missing) != 1 or _people(fir, records_pb2.ACCUSED):
            problems.append("a missing person case needs the missing person and no accused")
        for person in missing:
            if f"aged {person.person.age}" not in fir.brief_facts:
                problems.append("the facts do not give the missing person's age")
            if not any(m.startswith("Last seen") for m in person.person.identifying_marks):
                problems.append("no last-seen description of the missing person")
        if "last seen" not in fir.brief_facts.lower():
            problems.append("the facts do not say where the person was last seen")
    return problems


@pytest.fixture(scope="module")
def firs() -> list[records_pb2.Fir]:
    """FIRs of a few thousand records of two stations, and 2,500 more over the same years."""
    found: list[records_pb2.Fir] = []
    stations = ((1, "Ernakulam City", "Kalamassery"), (2, "Kannur City", "Valapattanam"))
    for seed, district, station in stations:
        generator = SyntheticRecords(seed, district, station)
        records = generator.stream(4000, START, END)
        found += [m for _, m in records if isinstance(m, records_pb2.Fir)]
    generator = SyntheticRecords(3, "Thiruvananthapuram City", "Museum")
    step = (END - START) / 2500
    found += [generator.fir(START + step * (n + 0.5)) for n in range(2500)]
    return found


def test_synthetic_every_fir_fits_its_sections(firs: list[records_pb2.Fir]) -> None:
    failures = {}
    for fir in firs:
        problems = lawful_problems(fir)
        if problems:
            failures[fir.brief_facts[:80]] = problems
    assert not failures, list(failures.items())[:5]


def test_synthetic_lawful_rules_catch_mistakes() -> None:
    """The checker itself: a boy under BNS 74, an adult under POCSO, a 14-year-old under BNS
    64(1), 200 g of ganja under the commercial limb, a widow under s.85 are all caught."""
    generator = SyntheticRecords(4, "Ernakulam City", "Kalamassery")
    at = datetime.datetime(2025, 3, 1, 12, tzinfo=IST)
    fir = generator.crime_fir(at)
    del fir.sections[:]
    del fir.persons[:]
    del fir.property[:]
    victim = records_pb2.Person(name="Arun", sex="M", age=12, juvenile=True)
    fir.persons.add(person=victim, role=records_pb2.VICTIM)
    fir.sections.add(act="BNS", section="74")
    assert any("sex M" in p for p in lawful_problems(fir))
    assert any("without POCSO" in p for p in lawful_problems(fir))
    fir.persons[0].person.sex, fir.persons[0].person.age = "F", 14
    fir.sections.add(act="BNS", section="64(1)")
    fir.sections.add(act="POCSO", section="4")
    assert any("64(1)" in p for p in lawful_problems(fir))
    fir.persons[0].person.age, fir.persons[0].person.juvenile = 19, False
    del fir.sections[1:]
    fir.sections.add(act="POCSO", section="8")
    assert any("POCSO cited" in p for p in lawful_problems(fir))
    del fir.sections[:]
    del fir.persons[:]
    fir.sections.add(act="NDPS", section="8(c)")
    fir.sections.add(act="NDPS", section="20(b)(ii)(C)")
    fir.property.add(category="narcotics", description="200 g of ganja")
    fir.brief_facts = "200 g of ganja was seized."
    assert any("20(b)(ii)(C)" in p for p in lawful_problems(fir))
    del fir.sections[:]
    del fir.property[:]
    fir.sections.add(act="BNS", section="85")
    widow = records_pb2.Person(
        name="Leela", sex="F", age=60, relation="D/o", relative_name="Kuttan"
    )
    fir.persons.add(person=widow, role=records_pb2.VICTIM)
    assert any("not a wife" in p for p in lawful_problems(fir))


def test_synthetic_ndps_limbs_follow_the_quantity(firs: list[records_pb2.Fir]) -> None:
    """Every NDPS seizure states its weight, and the three limbs all occur, for ganja and for
    MDMA at least, with the commercial ones rarer than the small for ganja."""
    seen: collections.Counter[tuple[str, str]] = collections.Counter()
    for fir in firs:
        for item in fir.property:
            if item.category != "narcotics":
                continue
            match = QUANTITY.search(item.description)
            assert match, item.description
            limb = next(
                s.section for s in fir.sections if s.act == "NDPS" and _base(s.section) in LIMBS
            )
            seen[(match.group(3).lower(), limb[-2] if limb.endswith(")") else limb)] += 1
    ganja = {limb: n for (drug, limb), n in seen.items() if drug == "ganja"}
    assert {"A", "B"} <= set(ganja) and ganja["A"] > ganja.get("C", 0), seen
    assert {limb for drug, limb in seen if drug == "mdma"} >= {"a", "b"}, seen
    assert {limb.lower() for _, limb in seen} == {"a", "b", "c"}, seen
    assert len({drug for drug, _ in seen}) >= 4, seen


def test_synthetic_victims_of_every_kind_occur(firs: list[records_pb2.Fir]) -> None:
    """The checks above are not vacuous: the generated FIRs do cite the sections they check."""
    heads = collections.Counter(fir.crime_head for fir in firs)
    for head in ("Rape", "POCSO Act", "Cruelty by husband or relatives", "NDPS Act"):
        assert heads[head] > 0, heads
    pocso_boys = [
        fir
        for fir in firs
        if any(s.act == "POCSO" for s in fir.sections)
        and any(p.person.sex == "M" for p in _people(fir, records_pb2.VICTIM))
    ]
    assert pocso_boys, "no boy victim under POCSO"
    kidnapped = [fir for fir in firs if fir.crime_head == "Kidnapping and abduction"]
    assert kidnapped


def _non_crime_shares(firs: list[records_pb2.Fir]) -> dict[str, float]:
    counts: collections.Counter[str] = collections.Counter()
    for fir in firs:
        cited = {(s.act, s.section) for s in fir.sections}
        if MISSING in cited:
            counts["missing person"] += 1
        elif cited & {("BNSS", "194"), ("CRPC", "174")}:
            counts["unnatural death"] += 1
        else:
            counts["crime"] += 1
    return {kind: n / len(firs) for kind, n in counts.items()}


@pytest.fixture(scope="module")
def register() -> list[records_pb2.Fir]:
    generator = SyntheticRecords(8, "Ernakulam City", "Kalamassery")
    step = (END - START) / 3000
    return [generator.fir(START + step * (n + 0.5)) for n in range(3000)]


def test_synthetic_missing_persons(register: list[records_pb2.Fir]) -> None:
    laws = statutes()
    if not laws.is_known("KPA", "57"):
        pytest.skip("the law tables do not know Kerala Police Act s.57 (missing person) yet")
    total = sum(REGISTER_SHARES.values())
    share = _non_crime_shares(register).get("missing person", 0.0)
    assert abs(share - REGISTER_SHARES["missing person"] / total) < 0.01, share
    missing = [fir for fir in register if MISSING in {(s.act, s.section) for s in fir.sections}]
    ages = [p.person.age for fir in missing for p in _people(fir, records_pb2.MISSING)]
    assert any(age < 18 for age in ages) and any(age >= 18 for age in ages)
    sexes = {p.person.sex for fir in missing for p in _people(fir, records_pb2.MISSING)}
    assert sexes == {"M", "F"}
    missing_ids = {id(fir) for fir in missing}
    crime_heads = {fir.crime_head for fir in register if id(fir) not in missing_ids}
    assert {fir.crime_head for fir in missing}.isdisjoint(crime_heads), "counted as crime"
    for fir in missing:
        assert not lawful_problems(fir)


def test_synthetic_unnatural_deaths(register: list[records_pb2.Fir]) -> None:
    laws = statutes()
    if not (laws.is_known("BNSS", "194") and laws.is_known("CRPC", "174")):
        pytest.skip("the law tables do not know BNSS s.194 / CrPC s.174 (inquest) yet")
    total = sum(REGISTER_SHARES.values())
    share = _non_crime_shares(register).get("unnatural death", 0.0)
    assert abs(share - REGISTER_SHARES["unnatural death"] / total) < 0.012, share
    deaths = [
        fir
        for fir in register
        if {(s.act, s.section) for s in fir.sections} & {("BNSS", "194"), ("CRPC", "174")}
    ]
    acts = {s.act for fir in deaths for s in fir.sections}
    assert acts == {"BNSS", "CRPC"}, acts  # both sides of 1 July 2024
    kinds = " ".join(fir.brief_facts for fir in deaths)
    for word in ("hanging", "drowned", "found dead"):
        assert word in kinds
    for fir in deaths:
        assert not lawful_problems(fir)


def test_synthetic_templates_cite_known_sections() -> None:
    """Every section every template cites is one the law tables know (both codes)."""
    laws = statutes()
    book: dict[str, Any] = json.loads(
        resources.files("node.demo").joinpath("seeddata", "offences.json").read_text()
    )
    unknown = []
    for template in book["fir"]:
        cited = [("BNS", s) for s in template["bns"]] + [("IPC", s) for s in template["ipc"]]
        cited += [tuple(s) for s in template["sll"]]
        unknown += [c for c in cited if not laws.is_known(*c)]
    for template in book["ncr"]:
        unknown += [("BNS", s) for s in template["bns"] if not laws.is_known("BNS", s)]
        unknown += [("IPC", s) for s in template["ipc"] if not laws.is_known("IPC", s)]
    for kind in book["cotpa"]["kinds"]:
        unknown += [tuple(s) for s in kind["sections"] if not laws.is_known(*s)]
    assert not unknown
    if not laws.is_known("KPA", "57"):
        pytest.skip("the law tables do not know Kerala Police Act s.57 (missing person) yet")
    assert laws.is_known(*book["missing"]["section"])
    assert laws.is_known("BNSS", "194") and laws.is_known("CRPC", "174")


def test_synthetic_cotpa_petty_cases() -> None:
    """COTPA cases (smoking in public, s.4; sale to minors or near a school, s.6 with s.24) at
    their share, each with its offender and the place in the facts; booked as NCRs while their
    offences are not cognizable."""
    laws = statutes()
    generator = SyntheticRecords(12, "Ernakulam City", "Kalamassery")
    records = list(generator.stream(8000, START, END))
    firs = [m for _, m in records if isinstance(m, records_pb2.Fir)]
    cotpa = [
        (kind, m)
        for kind, m in records
        if isinstance(m, (records_pb2.Fir, records_pb2.NonCognizableReport))
        and any(s.act == "COTPA" for s in m.sections)
    ]
    expected = SLOT_SHARES["cotpa"] / SLOT_SHARES["fir"]
    assert abs(len(cotpa) / len(firs) - expected) < 0.05, (len(cotpa), len(firs))
    step = (END - START) / 400
    cotpa += [generator.cotpa_case(START + step * (n + 0.5)) for n in range(400)]
    sections = collections.Counter(
        s.section for _, m in cotpa for s in m.sections if s.section not in ("21", "24")
    )
    assert sections["4"] > 5 * (sections["6(b)"] + sections["6(a)"]), sections
    assert sections["6(b)"] > 0 and sections["6(a)"] > 0, sections
    for kind, message in cotpa:
        cognizable = any(laws.section(s.act, s.section).cognizable for s in message.sections)
        assert kind == ("fir" if cognizable else "ncr")
        assert "COTPA" in message.brief_facts and "aged" in message.brief_facts
        if any(s.section.startswith("6") for s in message.sections):
            assert ("COTPA", "24") in {(s.act, s.section) for s in message.sections}
            at = message.reported_at_ms if kind == "ncr" else message.registered_at_ms
            assert 8 <= datetime.datetime.fromtimestamp(at / 1000, IST).hour < 20


def test_synthetic_gd_entries_fit_the_hour() -> None:
    generator = SyntheticRecords(6, "Ernakulam City", "Kalamassery")
    day = datetime.datetime(2025, 2, 3, tzinfo=IST)
    for hour in range(24):
        for _ in range(30):
            entry = generator.gd(day + datetime.timedelta(hours=hour, minutes=17))
            if "Morning parade" in entry.summary:
                assert 7 <= hour < 9
            if "Night roll call" in entry.summary or "party left for night patrol" in entry.summary:
                assert hour >= 20 or hour < 5


def test_synthetic_sections_were_in_force_on_the_occurrence_day() -> None:
    """A section inserted after its act (IPC 354A-354D and 376(3), 2013; SC/ST 3(1)(r), 2016; IPC
    376AB, 2018) is never cited for an offence before it came into force."""
    laws = statutes()
    generator = SyntheticRecords(7, "Ernakulam City", "Kalamassery")
    start = datetime.datetime(2012, 1, 1, 10, tzinfo=IST)
    too_early = []
    for n in range(3000):
        fir = generator.crime_fir(start + datetime.timedelta(hours=23 * n))
        day = datetime.datetime.fromtimestamp(fir.occurrence_from_ms / 1000, IST).date()
        for cited in fir.sections:
            why = laws.section_not_in_force((cited.act, cited.section), day)
            if why:
                too_early.append(why)
    assert not too_early, too_early[:5]
