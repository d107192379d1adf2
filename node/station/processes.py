"""The process register's commands (a court's summons, warrant or proclamation received, then
served, executed, published or returned unserved) and the fortnightly forwarding of the NCRs
to the magistrate (`node.records.processes` has the rules and their sources).

Every command validates first and writes nothing when anything is wrong (InputError listing every
problem), under the station's single-writer lock while it reads the state, numbers and appends.
A step is an entry of its own, appended: the process's receipt is never changed. Process
numbers run per year ("PRC/2026/000012") from the station's counters, the highest in the index
the first time (as `node.station.services` numbers its receipts).
"""

from __future__ import annotations

from ledger.errors import NotFound
from node.index import processes as register
from node.records import limits
from node.records.processes import (
    CARRIED_OUT_BY,
    PROCESS_TYPES,
    RETURNED,
    allowed_steps,
    canonical_process,
    process_number,
)
from node.records.sealing import WITHHELD_TEXT
from node.records.validation import Problems, check_date, check_officer, check_person, ist_date
from node.station import views
from node.station.core import Receipt, Station
from protos import records_pb2


def receive_process(station: Station, officer_id: str, given: records_pb2.CourtProcess) -> Receipt:
    """Enters a court's process in the process register: checks it, numbers it
    PRC/YYYY/NNNNNN. `fir_number`, when given, must be an FIR of this station (it is written as
    the station recorded it); a process of another station's case or of a private complaint
    names none."""
    process = records_pb2.CourtProcess()
    process.CopyFrom(given)
    problems = Problems()
    limits.check(process, problems)
    problems.raise_if_any("process not received")
    check_officer(officer_id, problems)
    process.process_type = process.process_type.strip()
    process.court = process.court.strip()
    process.court_case_number = process.court_case_number.strip()
    process.returnable_date = process.returnable_date.strip()
    process.note = process.note.strip()
    if process.process_type not in PROCESS_TYPES:
        problems.add("the process is one of " + ", ".join(PROCESS_TYPES))
    problems.require(process.court, "the court that issued the process")
    problems.require(process.court_case_number, "the court's case number")
    check_person(process.person, "the person to be served", problems)
    problems.require(process.person.address.strip(), "the address of the person to be served")
    if process.returnable_date:
        check_date(process.returnable_date, "the returnable date", problems)
    else:
        problems.add("the returnable date (when the process goes back to the court) is required")
    if process.process_number:
        problems.add("the process number is assigned by the station, not given")
    received = station.entry_time(process.received_at_ms, "the time received", problems)
    with station.writing():
        if process.fir_number.strip():
            fir = station.index.lookups.fir(process.fir_number.strip())
            if fir is None:
                problems.add(
                    f"no FIR {process.fir_number!r} at this station (leave it empty for a "
                    "process of another station's case or of a private complaint)"
                )
            else:
                process.fir_number = fir.fir_number or fir.zero_fir_number
                _withhold(station, process)
        problems.raise_if_any("process not received")
        year = ist_date(received).year
        serial = station.numbers.next(
            "process", str(year), lambda: register.max_process_serial(station.index, year)
        )
        process.process_number = process_number(serial, year)
        process.received_at_ms = received
        return station.append_records(officer_id, [process], ref=process.process_number)


def _withhold(station: Station, process: records_pb2.CourtProcess) -> None:
    """A process for a person the law protects in its case (a sexual offence's victim, a child)
    names them as the FIR does: by the sealed identity's commitment (the station's officers see
    the name through the case's sealed store), or withheld where the FIR holds them in clear
    from before the policy; the case's protected names are redacted from the note."""
    _, view = views.amended_view(station, process.fir_number)
    case = views.protection(station, "fir", view)
    name = process.person.name.strip().lower()
    for item in case.sealed:
        names = {n.strip().lower() for n in (item.identity.name, *item.identity.aliases)}
        if name and name in names:
            process.person.CopyFrom(records_pb2.Person(identity_commitment=item.commitment))
            break
    else:
        if name and name in {p.name.strip().lower() for p in case.clear}:
            process.person.CopyFrom(records_pb2.Person(name=WITHHELD_TEXT))
    process.note = case.redactor(process.note) if case.redactor else process.note


def record_step(
    station: Station,
    officer_id: str,
    number: str,
    step: str,
    note: str,
    *,
    at_ms: int | None = None,
) -> Receipt:
    """Appends a step of a pending process: served (a summons), executed (a warrant),
    published (a proclamation), with how in `note`; or returned unserved, with the reason in
    `note`. A process ends with its one step: a second is refused."""
    canonical = canonical_process(number) or number.strip()
    problems = Problems()
    check_officer(officer_id, problems)
    step = step.strip()
    update = records_pb2.ProcessStep(process_number=canonical, step=step, note=note.strip())
    limits.check(update, problems)
    problems.raise_if_any("process step not recorded")
    with station.writing():
        found = register.find_process(station.index, canonical)
        if found is None:
            raise NotFound(f"no process {limits.clip(number, limits.REFERENCE)!r} at this station")
        if not found.pending:
            problems.add(f"{found.process_number} is already {found.status}")
        elif step not in allowed_steps(found.process_type):
            done, _ = allowed_steps(found.process_type)
            kind = found.process_type.replace("_", " ")
            problems.add(f"a {kind} is {done} or {RETURNED} unserved, not {step or 'nothing'}")
        if step == RETURNED:
            problems.require(update.note, "the reason the process is returned unserved")
        else:
            problems.require(update.note, f"how the process was {step or 'carried out'}")
        when = station.event_time(at_ms, "the time of the step", problems)
        if when < found.received_at_ms:
            problems.add("the step is dated before the process was received")
        problems.raise_if_any("process step not recorded")
        update.at_ms = when
        return station.append_records(officer_id, [update], ref=found.process_number)


def carry_out(
    station: Station, officer_id: str, number: str, how: str, *, at_ms: int | None = None
) -> Receipt:
    """The process served (a summons), executed (a warrant) or published (a proclamation), as
    its kind asks, with how in `how`."""
    found = register.find_process(station.index, canonical_process(number) or number.strip())
    step = CARRIED_OUT_BY[found.process_type] if found is not None else "served"
    return record_step(station, officer_id, number, step, how, at_ms=at_ms)


def return_unserved(
    station: Station, officer_id: str, number: str, reason: str, *, at_ms: int | None = None
) -> Receipt:
    """The process returned to the court unserved (unexecuted), with the reason."""
    return record_step(station, officer_id, number, RETURNED, reason, at_ms=at_ms)


def forward_ncrs(station: Station, officer_id: str, magistrate: str, note: str = "") -> Receipt:
    """Records the daily diary report of the NCRs registered since the last forwarding sent to
    `magistrate` (BNSS s.174(1)(ii): fortnightly), the NCR numbers in the entry. Refused when
    no NCR awaits forwarding."""
    problems = Problems()
    check_officer(officer_id, problems)
    sent = records_pb2.NcrForwarding(magistrate=magistrate.strip(), note=note.strip())
    limits.check(sent, problems)
    problems.require(sent.magistrate, "the magistrate the NCRs are forwarded to")
    problems.raise_if_any("NCRs not forwarded")
    with station.writing():
        waiting = register.ncrs_not_forwarded(station.index)
        if not waiting:
            problems.add("no NCR registered since the last forwarding")
        problems.raise_if_any("NCRs not forwarded")
        # A forwarding holds at most its limit; what is left goes with the next.
        most = limits.count("NcrForwarding.ncr_numbers")
        sent.ncr_numbers.extend(n.ncr_number for n in waiting[:most])
        sent.forwarded_at_ms = station.now()
        return station.append_records(
            officer_id, [sent], ref=f"{len(sent.ncr_numbers)} NCRs forwarded"
        )
