"""Checks on police records before anything is written: one clear message per problem.

Everything here is pure: it reads the record and the statutes, never the ledger or the index.
A record with any problem raises InputError listing all of them; nothing is appended.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone

from ledger.errors import InputError
from node.records.laws import ACCESSORY, GENERAL, NON_CRIME, OFFENCE, Statutes
from protos import records_pb2

IST = timezone(timedelta(hours=5, minutes=30), "IST")
DAY_MS = 24 * 60 * 60 * 1000
# Clocks on two machines differ a little; a time given further ahead than this is refused.
CLOCK_SKEW_MS = 5 * 60 * 1000
# The years a record's dates and times may name: wide enough for any record a station keeps,
# narrow enough that no date arithmetic on them overflows (year 1 and year 9999 did).
FIRST_YEAR = 1900
LAST_YEAR = 2199
_FIRST_MS = int(datetime(FIRST_YEAR, 1, 1, tzinfo=UTC).timestamp() * 1000)
_END_MS = int(datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC).timestamp() * 1000)
RELATIONS = ("S/o", "D/o", "W/o", "H/o", "M/o", "F/o", "G/o", "C/o")
SEXES = ("M", "F", "T", "U")
GD_CATEGORIES = ("arrival", "departure", "information", "arrest", "property", "fir", "other")
PETITION_CHANNELS = ("in person", "post", "email", "online", "e-FIR", "phone", "referred")
# Indian registration marks: state code, RTO number, series letters, number (KL-07-AB-1234,
# KL-7-1234 for old marks), and the Bharat series (22-BH-1234-AA).
# Digits are 0-9 throughout: `\d` would take any script's digits.
_REGISTRATION = re.compile(r"^([A-Z]{2})([0-9]{1,2})([A-Z]{0,3})([0-9]{1,4})$")
_BHARAT = re.compile(r"^([0-9]{2})BH([0-9]{4})([A-Z]{1,2})$")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
# An Indian mobile number: 10 digits starting 6-9, optionally written with +91 or a leading 0.
_INDIAN_MOBILE = re.compile(r"^(?:\+?91|0)?([6-9][0-9]{9})$")
_OFFICER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{1,63}$")


class Problems:
    """Collects problems, then raises them all at once."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def require(self, value: object, what: str) -> None:
        if value in ("", 0, None) or (isinstance(value, str) and not value.strip()):
            self.add(f"{what} is required")

    def raise_if_any(self, what: str) -> None:
        if self.items:
            raise InputError(f"{what}: {'; '.join(self.items)}", list(self.items))


def time_in_years(ms: int) -> bool:
    """Whether a time (Unix ms) lies within the years FIRST_YEAR..LAST_YEAR."""
    return _FIRST_MS <= ms < _END_MS


def check_date(text: str, what: str, problems: Problems) -> None:
    """An ISO date ("2026-11-28") within the years FIRST_YEAR..LAST_YEAR."""
    try:
        year = date.fromisoformat(text).year
    except ValueError:
        problems.add(f"{what} {text[:40]!r} is not YYYY-MM-DD")
        return
    if not FIRST_YEAR <= year <= LAST_YEAR:
        problems.add(f"{what} is not a date between the years {FIRST_YEAR} and {LAST_YEAR}")


def ist_date(ms: int) -> date:
    """The date in India of a Unix-millisecond time."""
    return datetime.fromtimestamp(ms / 1000, IST).date()


def format_time(ms: int) -> str:
    """A time for people: 2026-11-28 14:05 IST."""
    return datetime.fromtimestamp(ms / 1000, IST).strftime("%Y-%m-%d %H:%M IST")


def utc_ms(moment: datetime) -> int:
    """Unix milliseconds of an aware datetime (naive ones are taken as IST)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=IST)
    return int(moment.astimezone(UTC).timestamp() * 1000)


def identifier_key(text: str) -> str:
    """An identifier (engine, chassis, IMEI, serial number) as compared: its letters and digits,
    upper-cased ("ab-12 34" -> "AB1234")."""
    return _NOT_ALNUM.sub("", text.upper())


def registration_key(registration: str) -> str:
    """ "KL-7-AB-123", "kl 07 ab 0123" -> "KL07AB0123": district and number zero-padded (the
    `identifier_key` of the text when it is no registration mark)."""
    key = identifier_key(registration)
    match = _REGISTRATION.match(key)
    if match is None:
        return key
    state, district, series, number = match.groups()
    return f"{state}{int(district):02d}{series}{int(number):04d}"


def normalise_registration(text: str) -> str:
    """'kl 7 ab 1234' -> 'KL-07-AB-1234'; InputError for a malformed registration mark."""
    compact = re.sub(r"[\s.-]", "", text.upper())
    bharat = _BHARAT.match(compact)
    if bharat:
        return f"{bharat[1]}-BH-{bharat[2]}-{bharat[3]}"
    match = _REGISTRATION.match(compact)
    if not match or int(match[4]) == 0:
        raise InputError(f"vehicle registration {text!r} is not a valid Indian registration mark")
    state, rto, series, number = match.groups()
    parts = [state, f"{int(rto):02d}"] + ([series] if series else []) + [f"{int(number):04d}"]
    return "-".join(parts)


def check_officer(officer_id: str, problems: Problems) -> None:
    if not _OFFICER.match(officer_id or ""):
        problems.add("officer id is required (letters, digits, '.', '_', '/', '-')")


def check_person(person: records_pb2.Person, what: str, problems: Problems) -> None:
    """A person's fields: a name unless the identity is withheld, sane age, sex and relation."""
    if not person.name.strip() and not person.identity_commitment:
        problems.add(f"{what}: name is required")
    if person.age > 120:
        problems.add(f"{what}: age {person.age} is not plausible")
    if person.sex and person.sex not in SEXES:
        problems.add(f"{what}: sex must be one of {', '.join(SEXES)}")
    if person.relation and person.relation not in RELATIONS:
        problems.add(f"{what}: relation must be one of {', '.join(RELATIONS)}")
    if person.relation and not person.relative_name.strip():
        problems.add(f"{what}: relation {person.relation} given without the relative's name")
    if person.date_of_birth:
        check_date(person.date_of_birth, f"{what}: date of birth", problems)


def check_sections(
    sections: Iterable[records_pb2.ActSection],
    occurred: date | None,
    statutes: Statutes,
    problems: Problems,
) -> None:
    """Every section known, of the law in force on the date of the offence, and itself in
    force then (a section never brought into force is refused whatever the date)."""
    seen = False
    for cited in sections:
        seen = True
        try:
            statutes.section(cited.act, cited.section)
            if occurred is not None:
                statutes.check_law_in_force(cited.act, occurred)
        except InputError as exc:
            problems.add(str(exc))
            continue
        why = statutes.section_not_in_force(cited, occurred)
        if why is not None:
            problems.add(why)
    if not seen:
        problems.add("at least one act and section is required")


#: The registers whose sections `check_register_sections` decides.
FIR_REGISTER, NCR_REGISTER = "fir", "ncr"


def check_register_sections(
    register: str,
    sections: Sequence[records_pb2.ActSection],
    occurred: date | None,
    statutes: Statutes,
    problems: Problems,
) -> None:
    """The sections of an FIR or an NCR: known and in force on the date of the offence
    (`check_sections`), and of the right register.

    * An FIR needs a cognizable offence, or a section of a case registered apart from crime
      (a missing person, Kerala Police Act s.57; an unnatural death, BNSS s.194 / CrPC s.174).
    * An NCR needs a non-cognizable offence and may cite neither a cognizable offence nor a
      non-crime section (those are registered as FIRs).
    * Accessory sections (common intention, abetment, conspiracy, attempt: BNS 3(5), 49, 61(2),
      62, 190; IPC 34, 109, 120B, 149, 511) have no class of their own: they take the main
      offence's, so BNS 115(2) read with 3(5) is an NCR, and they are never cited alone.
    * General rows (definitions, exceptions) are cited only beside an offence.
    """
    check_sections(sections, occurred, statutes, problems)
    resolved = [
        statutes.section(s.act, s.section) for s in sections if statutes.is_known(s.act, s.section)
    ]
    if not resolved:
        return  # unknown sections, or none: already said
    offences = [s for s in resolved if s.kind == OFFENCE]
    non_crime = [s for s in resolved if s.kind == NON_CRIME]
    if not offences:
        for kind, why in (
            (ACCESSORY, "has no class of its own (it takes the main offence's): cite the offence"),
            (GENERAL, "punishes nothing of its own: cite it beside an offence"),
        ):
            alone = [s.citation for s in resolved if s.kind == kind]
            if alone:
                problems.add(f"{', '.join(alone)} {why}")
    cognizable = [s for s in offences if s.cognizable]
    if register == FIR_REGISTER:
        if offences and not cognizable and not non_crime:
            problems.add("no cognizable offence cited: record a non-cognizable report instead")
        return
    for section in cognizable:
        problems.add(f"{section.citation} is cognizable: register an FIR, not an NCR")
    for section in non_crime:
        problems.add(
            f"{section.citation} ({section.crime_head or section.title}) is registered as an "
            "FIR, not an NCR"
        )


def check_property(items: Iterable[records_pb2.PropertyItem], problems: Problems) -> None:
    """Property: a category and status; vehicles need a well-formed registration or numbers."""
    for number, item in enumerate(items, 1):
        what = f"property item {number}"
        if not item.category.strip():
            problems.add(f"{what}: category is required")
        if item.status == records_pb2.PROPERTY_STATUS_UNSPECIFIED:
            problems.add(f"{what}: status (stolen, recovered, seized, unclaimed, lost) is required")
        if item.value_inr < 0:
            problems.add(f"{what}: value cannot be negative")
        if item.HasField("vehicle"):
            vehicle = item.vehicle
            if vehicle.registration:
                try:
                    vehicle.registration = normalise_registration(vehicle.registration)
                except InputError as exc:
                    problems.add(f"{what}: {exc}")
            elif not (vehicle.engine_number or vehicle.chassis_number):
                problems.add(f"{what}: a vehicle needs its registration, engine or chassis number")


def normalise_mobile(text: str) -> str | None:
    """'+91 98470 12345', '098470-12345' -> '9847012345'; None when it is no Indian mobile."""
    compact = re.sub(r"[\s().-]", "", text or "")
    match = _INDIAN_MOBILE.match(compact)
    return match[1] if match else None


def same_mobile(recorded: str, given: str) -> bool:
    """Whether a recorded mobile number is the (normalised) one given, in constant time."""
    normalised = normalise_mobile(recorded)
    return normalised is not None and hmac.compare_digest(normalised, given)


def mobile_matches(recorded: Iterable[str], given: str) -> bool:
    """Whether any recorded number is the given one (every number compared, in constant time)."""
    found = False
    for number in recorded:
        found = same_mobile(number, given) or found
    return found
