"""Beats, the duty roster and the beat book: the station's commands (`node.records.duty` has
the rules, `node.index.duty` the tables and the workload that feeds the roster).

Every command validates first and writes nothing when anything is wrong (InputError listing every
problem), under the station's single-writer lock while it reads the state and appends. Nothing
is ever changed: a beat is revised or retired by a later entry, an assignment cancelled by a
later entry naming it ("DUTY-<ledger index>"), and a beat book entry ("PATROL-<ledger index>")
is never corrected by anything (a later patrol says what the earlier did not).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from ledger.errors import NotFound
from node.index import duty as duty_index
from node.records import limits
from node.records.duty import (
    DEFINED,
    DUTIES,
    DUTY_LABELS,
    MAX_DUTY_MS,
    NEEDS_BEAT,
    NEEDS_BEAT_OR_PLACE,
    NEEDS_PLACE,
    PATROLS,
    RETIRED,
    ROSTER_AHEAD_MS,
    duty_ref,
    locality_key,
    patrol_ref,
    valid_code,
)
from node.records.duty import (
    duty_index as parse_duty_ref,
)
from node.records.validation import (
    CLOCK_SKEW_MS,
    DAY_MS,
    FIRST_YEAR,
    LAST_YEAR,
    Problems,
    check_officer,
    check_person,
    format_time,
    time_in_years,
)
from node.station.core import Receipt, Station
from protos import records_pb2

# A beat book entry is written when the patrol comes back: at most three days after it ended
# (this project's rule; older patrols are not entered after the fact).
PATROL_LATE_MS = 3 * DAY_MS


def _label(duty: str) -> str:
    return DUTY_LABELS.get(duty, duty)


def define_beat(
    station: Station,
    officer_id: str,
    code: str,
    name: str,
    localities: Iterable[str],
    note: str = "",
) -> Receipt:
    """Defines beat `code` with the localities it covers, or revises a beat in force (a new
    entry; the earlier stays in the log). A retired beat's code is not used again, and a
    locality belongs to one beat in force only."""
    beat = records_pb2.Beat(
        code=code.strip(),
        name=name.strip(),
        localities=[text.strip() for text in localities if text.strip()],
        action=DEFINED,
        note=note.strip(),
    )
    problems = Problems()
    check_officer(officer_id, problems)
    limits.check(beat, problems)
    problems.raise_if_any("beat not defined")
    if not valid_code(beat.code):
        problems.add("the beat's code is a letter or digit, then up to 11 letters, digits or '-'")
    problems.require(beat.name, "the beat's name")
    if not beat.localities:
        problems.add("at least one locality the beat covers is required")
    seen: dict[str, str] = {}
    for locality in beat.localities:
        key = locality_key(locality)
        if not key:
            problems.add(f"locality {locality[:40]!r} has no letters or digits")
        elif key in seen:
            problems.add(f"locality {locality[:40]!r} is listed twice")
        seen[key] = locality
    with station.writing():
        found = duty_index.find_beat(station.index, beat.code)
        if found is not None and not found.in_force:
            problems.add(
                f"beat {found.code} was retired on {format_time(found.retired_at_ms)}: a retired "
                "beat's code is not used again"
            )
        if found is not None:
            beat.code = found.code  # as first defined
        for other in duty_index.beats(station.index, in_force_only=True):
            if other.code == beat.code:
                continue
            for locality in other.localities:
                if locality_key(locality) in seen:
                    problems.add(
                        f"locality {locality[:40]!r} is already of beat {other.code} "
                        f"({other.name}): a place belongs to one beat"
                    )
        problems.raise_if_any("beat not defined")
        return station.append_records(officer_id, [beat], ref=f"Beat {beat.code}")


def retire_beat(station: Station, officer_id: str, code: str, reason: str) -> Receipt:
    """Retires beat `code` (an entry of its own; the beat and its book stay). Refused while
    duties on it are assigned from now on: cancel them first."""
    problems = Problems()
    check_officer(officer_id, problems)
    beat = records_pb2.Beat(code=code.strip(), action=RETIRED, note=reason.strip())
    limits.check(beat, problems)
    problems.require(beat.note, "the reason (or the order) the beat is retired")
    problems.raise_if_any("beat not retired")
    with station.writing():
        found = duty_index.find_beat(station.index, beat.code)
        if found is None:
            raise NotFound(f"no beat {limits.clip(code, 12)!r} at this station")
        if not found.in_force:
            problems.add(f"beat {found.code} is already retired")
        beat.code = found.code
        now = station.now()
        for duty in duty_index.roster(
            station.index, now, now + 10 * ROSTER_AHEAD_MS, include_cancelled=False
        ):
            if duty.beat_code == found.code:
                problems.add(
                    f"{duty_ref(duty.ledger_index)} ({_label(duty.duty)}, {duty.officer_id}, "
                    f"from {format_time(duty.from_ms)}) is on this beat: cancel it first"
                )
        problems.raise_if_any("beat not retired")
        return station.append_records(officer_id, [beat], ref=f"Beat {found.code}")


def _check_period(
    from_ms: int, to_ms: int, what: str, problems: Problems, most_ms: int = MAX_DUTY_MS
) -> bool:
    """From and to given, within the years, to after from, at most `most_ms` apart."""
    ok = True
    for value, name in ((from_ms, "from"), (to_ms, "to")):
        if not value:
            problems.add(f"the {what}'s {name} time is required")
            ok = False
        elif not time_in_years(value):
            problems.add(
                f"the {what}'s {name} time is not between the years {FIRST_YEAR} and {LAST_YEAR}"
            )
            ok = False
    if not ok:
        return False
    if to_ms <= from_ms:
        problems.add(f"the {what} ends ({format_time(to_ms)}) before it begins")
        return False
    if to_ms - from_ms > most_ms:
        problems.add(f"a {what} is at most {most_ms // 3_600_000} hours: assign it day by day")
    return True


def assign_duty(station: Station, officer_id: str, given: records_pb2.DutyAssignment) -> Receipt:
    """Puts `given.officer_id` on a duty (`node.records.duty.DUTIES`) for a beat or a place,
    from/to: a duty that has ended is not assigned, nor one more than a month ahead, nor one
    that overlaps another duty of the same officer. Its reference is "DUTY-<ledger index>"."""
    duty = records_pb2.DutyAssignment()
    duty.CopyFrom(given)
    problems = Problems()
    check_officer(officer_id, problems)
    limits.check(duty, problems)
    problems.raise_if_any("duty not assigned")
    duty.officer_id = duty.officer_id.strip()
    duty.duty = duty.duty.strip()
    duty.beat_code = duty.beat_code.strip()
    duty.place = duty.place.strip()
    duty.note = duty.note.strip()
    if duty.cancels:
        problems.add("a cancellation is written by cancelling the duty, not by assigning one")
    if duty.officer_id:
        check_officer(duty.officer_id, problems)
    else:
        problems.add("the officer put on duty is required")
    if duty.duty not in DUTIES:
        problems.add("the duty is one of " + ", ".join(DUTIES))
    elif duty.duty in NEEDS_BEAT and not duty.beat_code:
        problems.add(f"{_label(duty.duty).lower()} needs the beat")
    elif duty.duty in NEEDS_BEAT_OR_PLACE and not (duty.beat_code or duty.place):
        problems.add(f"{_label(duty.duty).lower()} needs the beat or the route")
    elif duty.duty in NEEDS_PLACE and not duty.place:
        problems.add(f"{_label(duty.duty).lower()} needs the place (court, junction, venue)")
    period = _check_period(duty.from_ms, duty.to_ms, "duty", problems)
    with station.writing():
        now = station.now()
        if period:
            if duty.to_ms <= now - CLOCK_SKEW_MS:
                problems.add("the duty has already ended: a roster is not written after the fact")
            if duty.from_ms > now + ROSTER_AHEAD_MS + CLOCK_SKEW_MS:
                problems.add("the duty begins more than a month ahead")
        if duty.beat_code:
            beat = duty_index.find_beat(station.index, duty.beat_code)
            if beat is None:
                problems.add(f"no beat {duty.beat_code!r} at this station")
            elif not beat.in_force:
                problems.add(f"beat {beat.code} is retired: no duty is assigned on it")
            else:
                duty.beat_code = beat.code
        if period and duty.officer_id:
            for other in duty_index.roster(
                station.index, duty.from_ms, duty.to_ms,
                officer_id=duty.officer_id, include_cancelled=False,
            ):  # fmt: skip
                problems.add(
                    f"{duty.officer_id} is already on {_label(other.duty).lower()} "
                    f"({duty_ref(other.ledger_index)}) from {format_time(other.from_ms)} to "
                    f"{format_time(other.to_ms)}"
                )
        problems.raise_if_any("duty not assigned")
        receipt = station.append_records(officer_id, [duty])
    return dataclasses.replace(receipt, ref=duty_ref(receipt.index))


def cancel_duty(station: Station, officer_id: str, ref: str, reason: str) -> Receipt:
    """Cancels assignment `ref` ("DUTY-1234") by a later entry, with the reason. One that has
    ended, or was cancelled, is refused."""
    problems = Problems()
    check_officer(officer_id, problems)
    cancel = records_pb2.DutyAssignment(note=reason.strip())
    limits.check(cancel, problems)
    problems.require(cancel.note, "the reason the duty is cancelled")
    number = parse_duty_ref(ref)
    problems.raise_if_any("duty not cancelled")
    with station.writing():
        found = duty_index.find_duty(station.index, number) if number is not None else None
        if found is None:
            raise NotFound(f"no duty {limits.clip(ref, 40)!r} on this station's roster")
        if found.cancelled:
            problems.add(f"{duty_ref(found.ledger_index)} is already cancelled")
        elif found.to_ms <= station.now() - CLOCK_SKEW_MS:
            problems.add(f"{duty_ref(found.ledger_index)} has ended: it stays as it was")
        problems.raise_if_any("duty not cancelled")
        cancel.cancels = found.ledger_index
        cancel.officer_id = found.officer_id
        cancel.duty = found.duty
        cancel.beat_code = found.beat_code
        return station.append_records(officer_id, [cancel], ref=duty_ref(found.ledger_index))


def write_patrol(station: Station, officer_id: str, given: records_pb2.PatrolEntry) -> Receipt:
    """Writes a patrol into the beat book: the officer (the writer when not given), the beat
    (in force when the patrol began), from/to (ended, at most three days ago), the points
    visited with their times (within the patrol), the observations, the persons checked. Linked
    to the officer's patrol duty on that beat when there is one. Its reference is
    "PATROL-<ledger index>"; it is never changed."""
    patrol = records_pb2.PatrolEntry()
    patrol.CopyFrom(given)
    problems = Problems()
    check_officer(officer_id, problems)
    limits.check(patrol, problems)
    problems.raise_if_any("patrol not written")
    patrol.officer_id = patrol.officer_id.strip() or officer_id
    patrol.beat_code = patrol.beat_code.strip()
    patrol.observations = patrol.observations.strip()
    check_officer(patrol.officer_id, problems)
    problems.require(patrol.beat_code, "the beat patrolled")
    problems.require(patrol.observations, "the observations (what the patrol saw and did)")
    period = _check_period(patrol.from_ms, patrol.to_ms, "patrol", problems)
    for n, point in enumerate(patrol.points, 1):
        point.place = point.place.strip()
        problems.require(point.place, f"point {n}: the place")
        if not point.at_ms:
            problems.add(f"point {n}: the time it was visited is required")
        elif period and not (
            patrol.from_ms - CLOCK_SKEW_MS <= point.at_ms <= patrol.to_ms + CLOCK_SKEW_MS
        ):
            problems.add(f"point {n}: visited at {format_time(point.at_ms)}, outside the patrol")
    for n, check in enumerate(patrol.checks, 1):
        check_person(check.person, f"person checked {n}", problems)
        if (
            check.at_ms
            and period
            and not (patrol.from_ms - CLOCK_SKEW_MS <= check.at_ms <= patrol.to_ms + CLOCK_SKEW_MS)
        ):
            problems.add(f"person checked {n}: at {format_time(check.at_ms)}, outside the patrol")
    with station.writing():
        now = station.now()
        if period:
            if patrol.to_ms > now + CLOCK_SKEW_MS:
                problems.add("the patrol ends in the future: it is written when it is over")
            elif patrol.to_ms < now - PATROL_LATE_MS:
                problems.add(
                    "the patrol ended more than three days ago: the beat book is written on return"
                )
        if patrol.beat_code:
            beat = duty_index.find_beat(station.index, patrol.beat_code)
            if beat is None:
                problems.add(f"no beat {patrol.beat_code!r} at this station")
            else:
                patrol.beat_code = beat.code
                if not beat.in_force and beat.retired_at_ms <= patrol.from_ms:
                    problems.add(f"beat {beat.code} was retired before the patrol")
        if period:
            for other in duty_index.beat_book(
                station.index, officer_id=patrol.officer_id,
                from_ms=patrol.from_ms, to_ms=patrol.to_ms, limit=5,
            ):  # fmt: skip
                problems.add(
                    f"{patrol.officer_id} was on another patrol ({patrol_ref(other.ledger_index)}, "
                    f"beat {other.beat_code}) from {format_time(other.from_ms)} to "
                    f"{format_time(other.to_ms)}"
                )
            _link_duty(station, patrol, problems)
        problems.raise_if_any("patrol not written")
        receipt = station.append_records(officer_id, [patrol])
    return dataclasses.replace(receipt, ref=patrol_ref(receipt.index))


def _link_duty(station: Station, patrol: records_pb2.PatrolEntry, problems: Problems) -> None:
    """The assignment the patrol carried out: the one named (the officer's, standing), else
    the officer's patrol duty on the beat that overlaps it, if any."""
    if patrol.duty_index:
        found = duty_index.find_duty(station.index, patrol.duty_index)
        if found is None or found.officer_id != patrol.officer_id or found.cancelled:
            problems.add(
                f"{duty_ref(patrol.duty_index)} is no standing duty of {patrol.officer_id}"
            )
        return
    for duty in duty_index.roster(
        station.index, patrol.from_ms, patrol.to_ms,
        officer_id=patrol.officer_id, include_cancelled=False,
    ):  # fmt: skip
        if duty.duty in PATROLS and duty.beat_code == patrol.beat_code:
            patrol.duty_index = duty.ledger_index
            return
