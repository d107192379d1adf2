"""Who the law withholds, and why: the one withholding policy every path asks.

Whether a person's identity may be shown depends on the offence and on the person's relation to
it, never on the role field alone. This module decides it, for a record being drafted (protobuf)
and for a record being read (the dict of `node.station.views.current_view`) alike, from the same
facts: the sections cited, the date of the offence, and each person's role, sex, age, date of
birth and `juvenile` flag. Everything else follows from its answer: what the station seals while
it drafts (`node.station.registers`, `node.station.casework`), what the index never finds by name
(`node.index.projection`), which records public answers leave out (`node.index.public`,
`node.web.public_status`), who prints as "[identity withheld by law]" (`node.web.pdf`), and who must
record the information and how (`recording_problems`, checked by the station for every FIR and by
`node.web.rules.check_fir_recorder` before a form is sent).

The rules, with their sources (see docs/sensitive-and-transfer.md):

* Where a cited section withholds the victim's identity (`Section.identity_withheld`: BNS 64-71
  and 74-79, IPC 354-354D, 376-376E and 509, POCSO, JJ Act 74-79, ...), every victim, complainant
  and informant is protected. BNS s.72(1) (IPC s.228A) forbids printing "the name or any matter
  which may make known the identity" of the victim; the person who reports is the victim herself
  or, for a child under POCSO (s.23) or a woman who cannot, a parent or relative whose name makes
  her known. Nipun Saxena v. Union of India, (2019) 2 SCC 703: no FIR of such an offence is put in
  the public domain, so the whole record is kept from public answers.
* A child, under 18 on the date of the offence, is protected in every role, the accused included:
  Juvenile Justice (Care and Protection of Children) Act 2015 s.74(1) covers a child in conflict
  with law, a child victim and a child witness; s.2(12) (a child has not completed eighteen years)
  and s.2(13) (a child in conflict with law: under eighteen on the date of the offence). The age is
  read from the date of birth when given, else from the recorded age (years at the time of the
  record, which is on or after the offence, so under 18 then means under 18 on the day), else the
  `juvenile` flag. A missing child is the exception: the station publishes a missing person to
  trace them (JJ Act s.74(1) proviso; the police's missing-person notices), so the MISSING role is
  not sealed for age.
* Anyone recorded again under a protected person's name (the victim also listed as a witness),
  or under a protected accused's code in a later record of the case (the arrest of A1), is
  protected as that person, on the same ground.
* Informants, in any case, when the officer orders it (`withhold_informants`).

A record is withheld from public answers (the citizen's status, the FIR copy, public lists) when a
cited section withholds identity, or when a person the policy protects stands in it in clear (an
entry written before this policy): nothing of it may be shown then. A record whose protected
persons are all sealed (a theft by a 14-year-old) may be shown to its complainant with those
persons printed as withheld.

The woman-officer rule (BNSS s.173(1) first proviso; CrPC s.154(1) proviso for IPC cases): the
information about an offence under BNS 64-71, 74-79 or 124 (IPC 326A, 326B, 354-354D, 376-376E,
509) against a woman is recorded by a woman officer. The woman is a female victim, or, when no
victim is listed apart, the female complainant or informant: she reports the offence against
herself. The rule follows the sections listed (`WOMAN_OFFICER_SECTIONS`), never whether identity
is withheld: acid attack withholds no identity and is listed. When the person against whom such
an offence is alleged is temporarily or permanently mentally or physically disabled (the second
proviso), the information is recorded at her residence or a place of her choice, videographed,
with an interpreter or special educator present (`Fir.recording`).

Must never: do I/O, or decide withholding anywhere but here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from node.records.laws import Citation, Statutes
from node.records.sealing import SealedIdentity, has_identity, seal_person
from node.records.validation import ist_date
from protos import records_pb2

__all__ = [
    "CHILD",
    "CHILD_AGE",
    "ON_REQUEST",
    "RECORDING_PLACES",
    "REPORTER",
    "VICTIM",
    "WOMAN_OFFICER_SECTIONS",
    "Assessment",
    "Ground",
    "Offence",
    "Party",
    "age_on",
    "assess",
    "assess_fir",
    "assess_persons",
    "assess_view",
    "name_key",
    "offence_of",
    "party_in_view",
    "party_of",
    "recording_problems",
    "seal",
]

#: A child is a person who has not completed eighteen years (JJ Act 2015 s.2(12)).
CHILD_AGE = 18

#: The sections whose information is recorded by a woman officer when the offence is against a
#: woman: BNSS s.173(1) first proviso (BNS), CrPC s.154(1) proviso as amended in 2013 and 2018
#: (IPC). BNS sections are matched by their number ("64(1)" is 64), IPC ones as written.
WOMAN_OFFICER_SECTIONS: Mapping[str, frozenset[str]] = {
    "BNS": frozenset(str(n) for n in (*range(64, 72), *range(74, 80), 124)),
    "IPC": frozenset(
        {"326A", "326B", "354", "354A", "354B", "354C", "354D", "376", "376A", "376AB"}
        | {"376B", "376C", "376D", "376DA", "376DB", "376E", "509"}
    ),
}
#: Where the information may be recorded (`InformationRecording.place`); from a person with a
#: disability, only the last two (BNSS s.173(1) second proviso (a)).
RECORDING_PLACES = ("station", "residence", "place of her choice")
_DISABLED_PLACES = frozenset(RECORDING_PLACES[1:])
_OFFICER_SEXES = ("F", "M")
_SECTION_NUMBER = re.compile(r"^\s*(\d+[A-Z]*)")
_REPORTERS = frozenset({"COMPLAINANT", "INFORMANT"})


@dataclass(frozen=True, slots=True)
class Ground:
    """Why a person is protected: a short code and the law that says so."""

    code: str
    law: str


VICTIM = Ground(
    "victim", "BNS s.72 (IPC s.228A), POCSO Act s.23, JJ Act s.74: the victim's identity"
)
REPORTER = Ground(
    "reporter",
    "BNS s.72(1), 'any matter which may make known the identity'; POCSO Act s.23: the "
    "complainant or informant of such an offence is the victim or identifies her",
)
CHILD = Ground("child", "JJ Act 2015 s.74(1): a child (under 18 on the date of the offence)")
ON_REQUEST = Ground("on_request", "an informant withheld on the officer's order")


@dataclass(frozen=True, slots=True)
class Offence:
    """What the cited sections say: those that withhold the victim's identity and those under
    the woman-officer rule (as "BNS 64(1)"), and when the offence began (Unix ms, 0 unknown)."""

    withheld: tuple[str, ...] = ()
    woman_officer: tuple[str, ...] = ()
    occurred_ms: int = 0


@dataclass(frozen=True, slots=True)
class Party:
    """A person as the policy sees them: the role (a `PersonRole` name), what tells the age,
    whether the entry carries a commitment instead of the identity, and what recognises the same
    person recorded twice: the name as a key ("" when there is none) and the accused code."""

    role: str
    sex: str = ""
    age: int = 0
    date_of_birth: str = ""
    juvenile: bool = False
    sealed: bool = False
    key: str = ""
    code: str = ""


@dataclass(frozen=True, slots=True)
class Assessment:
    """The policy's answer for one record: per person (in the record's order) the ground that
    protects them, or None."""

    offence: Offence
    parties: tuple[Party, ...]
    grounds: tuple[Ground | None, ...]

    def protected(self, position: int) -> bool:
        """Whether the person at `position` is protected."""
        return self.grounds[position] is not None

    @property
    def public_withholding(self) -> str | None:
        """Why the record is kept from public answers, or None when it may be shown (with its
        protected persons withheld)."""
        if self.offence.withheld:
            return f"{', '.join(self.offence.withheld)} withholds the victim's identity (BNS s.72)"
        for party, ground in zip(self.parties, self.grounds, strict=True):
            if ground is not None and not party.sealed:
                return f"a person protected by law stands in clear ({ground.law})"
        return None

    @property
    def woman_officer(self) -> bool:
        """Whether a woman officer must record the information (BNSS s.173(1) proviso)."""
        if not self.offence.woman_officer:
            return False
        victims = [p for p in self.parties if p.role == "VICTIM"]
        women = victims or [p for p in self.parties if p.role in _REPORTERS]
        return any(p.sex == "F" for p in women)


def offence_of(sections: Iterable[Citation], statutes: Statutes, occurred_ms: int = 0) -> Offence:
    """The offence as the policy sees it, from the sections cited (unknown ones count for
    nothing: validation refuses them where a record is written)."""
    withheld: list[str] = []
    woman: list[str] = []
    for cited in sections:
        act, section = cited.act.strip().upper(), cited.section.strip()
        if statutes.is_known(act, section) and statutes.section(act, section).identity_withheld:
            withheld.append(f"{act} {section}")
        number = _SECTION_NUMBER.match(section.upper())
        listed = WOMAN_OFFICER_SECTIONS.get(act, frozenset())
        if number is not None and (number[1] in listed or section.upper() in listed):
            woman.append(f"{act} {section}")
    return Offence(tuple(withheld), tuple(woman), occurred_ms)


def age_on(party: Party, on_ms: int) -> int | None:
    """The person's age in whole years on the day of `on_ms` (from the date of birth), else the
    recorded age; None when neither is known (or `on_ms` is 0 and only the birth date is)."""
    if party.date_of_birth and on_ms:
        try:
            born = date.fromisoformat(party.date_of_birth)
        except ValueError:
            born = None
        if born is not None:
            day = ist_date(on_ms)
            return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return party.age or None


def _is_child(party: Party, offence: Offence) -> bool:
    if party.role == "MISSING":
        return False
    if party.juvenile:
        return True
    age = age_on(party, offence.occurred_ms)
    return age is not None and age < CHILD_AGE


def assess(
    offence: Offence,
    parties: Sequence[Party],
    *,
    withhold_informants: bool = False,
    case: Assessment | None = None,
) -> Assessment:
    """Who among `parties` is protected against `offence`, and on what ground. `case` is the
    answer for the case a later record belongs to (an arrest in an FIR): a person it protects,
    recognised by name or accused code, stays protected here."""
    grounds: list[Ground | None] = []
    for party in parties:
        ground: Ground | None = None
        if _is_child(party, offence):
            ground = CHILD
        elif offence.withheld and party.role == "VICTIM":
            ground = VICTIM
        elif offence.withheld and party.role in _REPORTERS:
            ground = REPORTER
        elif withhold_informants and party.role == "INFORMANT":
            ground = ON_REQUEST
        grounds.append(ground)
    protected = list(zip(parties, grounds, strict=True))
    if case is not None:
        protected += zip(case.parties, case.grounds, strict=True)
    # Someone recorded again (by name, or as the case's accused code) is protected as they were.
    by_key = {p.key: g for p, g in protected if g is not None and p.key}
    by_code = {p.code: g for p, g in protected if g is not None and p.code}
    grounds = [
        g if g is not None else by_key.get(p.key) or by_code.get(p.code)
        for p, g in zip(parties, grounds, strict=True)
    ]
    return Assessment(offence, tuple(parties), tuple(grounds))


def seal(
    assessment: Assessment, persons: Sequence[records_pb2.Person], record_ref: str
) -> list[SealedIdentity]:
    """Applies the answer to the persons it was given for (in the same order), in place: a
    child is marked `juvenile` (the age band stays in the entry), and every protected person
    with an identity not sealed yet is sealed. Returns what the sealed store must keep."""
    sealed: list[SealedIdentity] = []
    for person, ground in zip(persons, assessment.grounds, strict=True):
        if ground is None:
            continue
        if ground is CHILD:
            person.juvenile = True
        if not person.identity_commitment and has_identity(person):
            sealed.append(seal_person(person, record_ref=record_ref))
    return sealed


def recording_problems(
    assessment: Assessment, recording: records_pb2.InformationRecording
) -> list[str]:
    """Why the information was not recorded as BNSS s.173(1) provisos (CrPC s.154(1) provisos
    for IPC cases) require, one line per problem; [] when it was.

    When `assessment.woman_officer`, the officer who recorded it is a woman
    (`recorded_by_sex` "F"). When the person the listed offence is against is disabled, it was
    recorded at her residence or a place of her choice, videographed, with an interpreter or
    special educator named."""
    problems: list[str] = []
    if recording.recorded_by_sex and recording.recorded_by_sex not in _OFFICER_SEXES:
        problems.append("the recording officer's sex is F or M")
    if recording.place and recording.place not in RECORDING_PLACES:
        problems.append(f"the place of recording is one of: {', '.join(RECORDING_PLACES)}")
    listed = assessment.offence.woman_officer
    if not listed:
        return problems
    cited = ", ".join(listed)
    ipc = all(c.startswith("IPC ") for c in listed)
    law = "CrPC s.154(1)" if ipc else "BNSS s.173(1)"
    if assessment.woman_officer and recording.recorded_by_sex != "F":
        who = "" if recording.recorded_by_sex else " (say who recorded it)"
        problems.append(
            f"{cited} against a woman: the information is recorded by a woman officer "
            f"({law} first proviso){who}"
        )
    if recording.informant_disabled:
        proviso = f"{cited}, the person against whom it is alleged being disabled ({law} "
        proviso += "second proviso):"
        if recording.place not in _DISABLED_PLACES:
            problems.append(f"{proviso} record it at her residence or a place of her choice")
        if not recording.videographed:
            problems.append(f"{proviso} the recording is videographed")
        if not recording.interpreter.strip():
            problems.append(f"{proviso} name the interpreter or special educator present")
    return problems


# -- adapters: a record being drafted, a record being read ------------------------------------


def name_key(name: str) -> str:
    """What recognises one name written twice in a record: case and spacing aside."""
    return " ".join(name.casefold().split())


# PersonRole.Name is a slow lookup, run for every person of every record projected.
_ROLE_NAMES = {number: name for name, number in records_pb2.PersonRole.items()}


def party_of(entry: records_pb2.PersonInCase) -> Party:
    """A person in a record message as the policy sees them."""
    person = entry.person
    return Party(
        role=_ROLE_NAMES.get(entry.role) or records_pb2.PersonRole.Name(entry.role),
        sex=person.sex,
        age=person.age,
        date_of_birth=person.date_of_birth,
        juvenile=person.juvenile,
        sealed=bool(person.identity_commitment),
        key=name_key(person.name),
        code=entry.accused_code,
    )


def assess_persons(
    entries: Sequence[records_pb2.PersonInCase],
    offence: Offence,
    *,
    withhold_informants: bool = False,
    case: Assessment | None = None,
) -> Assessment:
    """The policy's answer for the persons of a record message (in order)."""
    parties = [party_of(entry) for entry in entries]
    return assess(offence, parties, withhold_informants=withhold_informants, case=case)


def assess_fir(
    fir: records_pb2.Fir, statutes: Statutes, *, withhold_informants: bool = False
) -> Assessment:
    """The policy's answer for an FIR message (its persons in order)."""
    offence = offence_of(fir.sections, statutes, fir.occurrence_from_ms)
    return assess_persons(fir.persons, offence, withhold_informants=withhold_informants)


def _int(value: Any) -> int:
    """An int from a view (MessageToDict writes int64 as a string; amendments write anything)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return 0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def party_in_view(entry: Mapping[str, Any]) -> Party:
    """A person of a record's view (`current_view`'s dict) as the policy sees them."""
    person = entry.get("person")
    person = person if isinstance(person, Mapping) else {}
    return Party(
        role=_text(entry.get("role")) or "PERSON_ROLE_UNSPECIFIED",
        sex=_text(person.get("sex")),
        age=_int(person.get("age")),
        date_of_birth=_text(person.get("date_of_birth")),
        juvenile=person.get("juvenile") is True,
        sealed=bool(person.get("identity_commitment")) or person.get("identity_withheld") is True,
        key=name_key(_text(person.get("name"))),
        code=_text(entry.get("accused_code")),
    )


@dataclass(frozen=True, slots=True)
class _Cited:
    act: str
    section: str


def assess_view(view: Mapping[str, Any], statutes: Statutes) -> Assessment:
    """The policy's answer for a record's view (persons as listed in `view["persons"]`)."""
    cited = [
        _Cited(_text(s.get("act")), _text(s.get("section")))
        for s in view.get("sections") or []
        if isinstance(s, Mapping)
    ]
    offence = offence_of(cited, statutes, _int(view.get("occurrence_from_ms")))
    entries = view.get("persons") or []
    parties = [party_in_view(e if isinstance(e, Mapping) else {}) for e in entries]
    return assess(offence, parties)
