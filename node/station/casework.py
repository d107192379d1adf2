"""Casework commands: a petition's enquiry, permission, signature, closing or conversion to an
FIR; a case's investigating officer and events (see `node.records.casework` for the rules).

Every command validates first and writes nothing when anything is wrong (InputError listing every
problem), holding the station's single-writer lock while it reads the state and appends. The
records they append are held to the table of limits (`node.records.limits`) by
`Station.append_records`; what is looked up (a receipt, an FIR number) is held to it first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from google.protobuf.message import Message

from node.index import casework as cases
from node.index import transfers as moved
from node.index.casework import PetitionStatus
from node.records import limits, withholding
from node.records.case_transfer import AFTER_TRANSFER_KINDS, SENDER_ONLY_KINDS, parse_case_key
from node.records.casework import (
    CASE_EVENT_KINDS,
    CONVERTED,
    ENQUIRY_LIMIT_MS,
    MISSING_CATEGORIES,
    REPORT_TYPES,
    UNDER_ENQUIRY,
    WANTED_BASES,
)
from node.records.sealing import Redactor, rewrite_free_text
from node.records.validation import (
    Problems,
    check_date,
    check_officer,
    check_person,
    check_property,
    check_sections,
)
from node.station import history, investigation, registers, views
from node.station.core import Draft, Receipt, Station
from protos import records_pb2


def _open_petition(station: Station, receipt: str, problems: Problems) -> PetitionStatus | None:
    if not limits.check_text(receipt, "PetitionUpdate.receipt_number", "the receipt", problems):
        return None
    found = cases.petition_status(station.index, receipt) if receipt.strip() else None
    if found is None:
        problems.add(f"no petition {receipt!r} at this station")
    elif found.ended:
        what = f"converted to {found.fir_number}" if found.status == CONVERTED else "closed"
        problems.add(f"{found.receipt_number} is already {what}")
    return found


def _petition_step(
    station: Station,
    officer_id: str,
    receipt: str,
    failed: str,
    check: Callable[[PetitionStatus | None, Problems], None],
    update: Callable[[PetitionStatus], records_pb2.PetitionUpdate],
) -> Receipt:
    """One step of an open petition's life: under the lock, find it, run the step's own `check`
    (every problem listed, nothing written: InputError `failed: ...`), append `update`."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        found = _open_petition(station, receipt, problems)
        check(found, problems)
        problems.raise_if_any(failed)
        assert found is not None
        return station.append_records(officer_id, [update(found)], ref=found.receipt_number)


def start_enquiry(station: Station, officer_id: str, receipt: str, note: str = "") -> Receipt:
    """Starts the enquiry into a petition."""

    def check(found: PetitionStatus | None, problems: Problems) -> None:
        if found is not None and found.status == UNDER_ENQUIRY:
            problems.add(f"the enquiry into {found.receipt_number} has already started")

    return _petition_step(
        station,
        officer_id,
        receipt,
        "enquiry not started",
        check,
        lambda found: records_pb2.PetitionUpdate(
            receipt_number=found.receipt_number, action="enquiry_started", note=note.strip()
        ),
    )


def permit_enquiry(
    station: Station,
    sdpo_officer_id: str,
    receipt: str,
    sections: Sequence[records_pb2.ActSection] = (),
    *,
    now: int | None = None,
    note: str = "",
) -> Receipt:
    """Records the SDPO's permission for a preliminary enquiry into the offences `sections`
    (the information as the petition discloses it): at most 14 days from `now` (the deadline
    is written in the entry). The sections decide whether it may be permitted at all
    (`Statutes.preliminary_enquiry`, BNSS s.173(3)); the role check is the web rules'
    ("enquiry.permit")."""
    moment = station.now() if now is None else now
    cited = list(sections)

    def check(found: PetitionStatus | None, problems: Problems) -> None:
        if found is not None and found.enquiry_deadline_ms:
            problems.add(
                f"a preliminary enquiry into {found.receipt_number} was already permitted "
                f"by {found.enquiry_permitted_by}"
            )
        if not cited:
            problems.add(
                "name the offences the information discloses: a preliminary enquiry is "
                "permitted only for those punishable with three years or more but less than "
                "seven (BNSS s.173(3))"
            )
            return
        known = Problems()
        check_sections(cited, None, station.statutes, known)
        problems.items.extend(known.items)
        if not known.items:
            refusal = station.statutes.preliminary_enquiry_refusal(cited)
            if refusal is not None:
                problems.add(refusal)

    return _petition_step(
        station,
        sdpo_officer_id,
        receipt,
        "enquiry not permitted",
        check,
        lambda found: records_pb2.PetitionUpdate(
            receipt_number=found.receipt_number,
            action="enquiry_permitted",
            note=note.strip(),
            permitted_by=sdpo_officer_id,
            deadline_ms=moment + ENQUIRY_LIMIT_MS,
            sections=cited,
        ),
    )


def sign_efir(
    station: Station, officer_id: str, receipt: str, *, now: int | None = None
) -> Receipt:
    """Records the informant's signature on an e-FIR, within 3 days of its receipt."""
    moment = station.now() if now is None else now

    def check(found: PetitionStatus | None, problems: Problems) -> None:
        if found is None or found.ended:
            return
        if found.category != "e_fir":
            problems.add(f"{found.receipt_number} is not an e-FIR")
        elif found.efir_signed_ms:
            problems.add(f"the informant has already signed {found.receipt_number}")
        elif moment > found.efir_due_ms:
            problems.add("the 3-day window for the informant's signature has passed")

    return _petition_step(
        station,
        officer_id,
        receipt,
        "signature not recorded",
        check,
        lambda found: records_pb2.PetitionUpdate(
            receipt_number=found.receipt_number, action="informant_signed"
        ),
    )


def close_petition(station: Station, officer_id: str, receipt: str, reason: str) -> Receipt:
    """Closes a petition with its recorded reason (the enquiry's result). A missing-person or
    missing-child complaint ends in an FIR or in exactly this: a recorded reason."""

    def check(found: PetitionStatus | None, problems: Problems) -> None:
        if reason.strip():
            return
        if found is not None and found.category in MISSING_CATEGORIES:
            problems.add(
                "a missing-person complaint ends in an FIR or a recorded reason: "
                "the reason for closing is required"
            )
        else:
            problems.add("the reason for closing is required")

    return _petition_step(
        station,
        officer_id,
        receipt,
        "petition not closed",
        check,
        lambda found: records_pb2.PetitionUpdate(
            receipt_number=found.receipt_number, action="closed", note=reason.strip()
        ),
    )


def convert_to_fir(
    station: Station, officer_id: str, receipt: str, fir: records_pb2.Fir
) -> Receipt:
    """Registers an FIR on a petition (`fir.petition_receipt` links it), then appends the
    petition's "converted" update naming the FIR. Returns the FIR's receipt. An e-FIR is taken
    on record only once its informant has signed."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        found = _open_petition(station, receipt, problems)
        if found is not None:
            if fir.petition_receipt and fir.petition_receipt != found.receipt_number:
                problems.add(f"the FIR names petition {fir.petition_receipt}, not {receipt}")
            if found.category == "e_fir" and not found.efir_signed_ms:
                problems.add(
                    f"the informant has not signed the e-FIR {found.receipt_number}: "
                    "it is taken on record only once signed"
                )
        problems.raise_if_any("petition not converted")
        assert found is not None
        linked = records_pb2.Fir()
        linked.CopyFrom(fir)
        linked.petition_receipt = found.receipt_number
        registered = registers.register_fir(station, officer_id, linked)
        converted = records_pb2.PetitionUpdate(
            receipt_number=found.receipt_number, action="converted", fir_number=registered.ref
        )
        station.append_records(officer_id, [converted], ref=found.receipt_number)
        return registered


def _case(station: Station, fir_number: str, problems: Problems) -> str:
    """The FIR's number as recorded, or "" (with a problem) when there is no such FIR here. A
    case this unit took over from another station is named by its key ("FIR No. 12/2026 of
    kerala/ernakulam-city/ps-kalamassery", node/records/case_transfer.py case_key)."""
    if not limits.check_text(fir_number, "CaseEvent.fir_number", "the FIR number", problems):
        return ""
    view = station.index.lookups.fir(fir_number.strip()) if fir_number.strip() else None
    if view is None:
        took = moved.taken_over_case(station.index, fir_number)
        if took is not None:
            return took.case_key
        if parse_case_key(fir_number) is not None:
            problems.add(
                f"{fir_number.strip()} was not taken over by this unit: its investigation is "
                "recorded by the unit it was transferred to"
            )
        else:
            problems.add(f"no FIR {fir_number!r} at this station")
        return ""
    return view.fir_number or view.zero_fir_number


def assign_io(
    station: Station, officer_id: str, fir_number: str, io_officer_id: str, note: str = ""
) -> Receipt:
    """Assigns (or changes) the case's investigating officer."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        number = _case(station, fir_number, problems)
        io = io_officer_id.strip()
        inner = Problems()
        check_officer(io, inner)
        if inner.items:
            problems.add("the investigating officer's id is required")
        elif number and cases.current_io(station.index, number) == io:
            problems.add(f"{io} is already the investigating officer of {number}")
        event = records_pb2.CaseEvent(
            fir_number=number, kind="io_assigned", at_ms=station.now(), io_officer_id=io, text=note
        )
        limits.check(event, problems)
        _check_not_transferred(station, number, "io_assigned", problems)
        problems.raise_if_any("investigating officer not assigned")
        return _append_event(station, officer_id, event)


def record_case_event(
    station: Station,
    officer_id: str,
    fir_number: str,
    kind: str,
    *,
    at_ms: int | None = None,
    text: str = "",
    persons: Sequence[records_pb2.PersonInCase] = (),
    property: Sequence[records_pb2.PropertyItem] = (),
    report_type: str = "",
    sections: Sequence[records_pb2.ActSection] = (),
    court: str = "",
    court_case_number: str = "",
    next_hearing: str = "",
    outcome: str = "",
    arrest_memo: records_pb2.ArrestMemo | None = None,
    mahazar: records_pb2.Mahazar | None = None,
    diary: records_pb2.DiaryDay | None = None,
    custody: records_pb2.CustodyOrder | None = None,
    movement: records_pb2.PropertyMovement | None = None,
    disposal: records_pb2.Disposal | None = None,
    mo: records_pb2.ModusOperandi | None = None,
) -> Receipt:
    """Appends an arrest (`persons`, the `arrest_memo`), a seizure (`property`, the
    `mahazar`), a case diary entry (`text`, the investigation day's `diary`), a court's
    `custody` order on an arrested accused, a seized item's `movement`, the informant told of
    the progress (`progress_informed`, how in `text`), a
    final report (`report_type` "charge_sheet" with its `sections`, or "closure" with its
    reason in `text`), court progress (`court`, case number, next hearing, outcome), accused
    declared wanted (`persons` by accused code, the basis in `report_type`, the grounds in
    `text`, the court's order or warrant in `court`) or a wanted notice withdrawn (`persons`
    by accused code, the reason in `text`, the order in `court`)."""
    asked = records_pb2.CaseEvent(
        kind=kind,
        text=text,
        persons=persons,
        property=property,
        report_type=report_type,
        sections=sections,
        court=court,
        court_case_number=court_case_number,
        next_hearing=next_hearing,
        outcome=outcome,
    )
    forms: tuple[tuple[str, Message | None], ...] = (
        ("arrest_memo", arrest_memo),
        ("mahazar", mahazar),
        ("diary", diary),
        ("custody", custody),
        ("movement", movement),
        ("disposal", disposal),
        ("mo", mo),
    )
    for field, form in forms:
        if form is not None:
            getattr(asked, field).CopyFrom(form)
    return record_case_events(station, officer_id, fir_number, [asked], at_ms=at_ms)[0]


def record_case_events(
    station: Station,
    officer_id: str,
    fir_number: str,
    asked: Sequence[records_pb2.CaseEvent],
    *,
    at_ms: int | None = None,
) -> list[Receipt]:
    """Several case events at one time, checked whole and appended in one group commit, all or
    none: a court's order on several accused produced together, several seized items moved
    together, several accused declared wanted on one proclamation. Each `asked` event (its
    kind, text and form; the case and the time are the call's) is checked as
    `record_case_event` checks one; with several, a problem names its event ("2: ..."), and an
    accused or an item named twice for one kind of event is refused."""
    problems = Problems()
    if not asked:
        problems.add("nothing to record")
    most = limits.count("CaseEvent.persons")
    if len(asked) > most:
        problems.add(f"at most {most} events at once: {len(asked)} given")
    for one in asked:
        limits.check(one, problems)
    kind = asked[0].kind if asked else ""
    problems.raise_if_any(f"{limits.clip(kind, limits.CODE).replace('_', ' ')} not recorded")
    with station.writing():
        check_officer(officer_id, problems)
        number = _case(station, fir_number, problems)
        when = station.event_time(at_ms, "the time of the event", problems)
        for checked_kind in dict.fromkeys(one.kind for one in asked):
            _check_not_transferred(station, number, checked_kind, problems)
        events: list[records_pb2.CaseEvent] = []
        named: set[tuple[str, str]] = set()
        for n, one in enumerate(asked, 1):
            found = Problems()
            event = _checked_event(station, number, when, one, found)
            for key in _named_in(event):
                if key in named:
                    found.add(f"{key[1]} is named twice")
                named.add(key)
            prefix = f"{n}: " if len(asked) > 1 else ""
            problems.items.extend(prefix + line for line in found.items)
            events.append(event)
        problems.raise_if_any(f"{kind.replace('_', ' ') or 'case event'} not recorded")
        return station.commit([_event_draft(station, officer_id, e) for e in events])


def _named_in(event: records_pb2.CaseEvent) -> list[tuple[str, str]]:
    """What an event is about that one batch may name once only: the accused of a custody
    order or a wanted notice, the item a movement moves."""
    if event.kind == "custody" and event.custody.accused_code:
        return [("custody", event.custody.accused_code)]
    if event.kind == "property_movement" and event.movement.item:
        return [("property_movement", event.movement.item)]
    if event.kind in ("wanted", "wanted_withdrawn"):
        return [(event.kind, p.accused_code) for p in event.persons if p.accused_code]
    return []


def _checked_event(
    station: Station,
    number: str,
    when: int,
    asked: records_pb2.CaseEvent,
    problems: Problems,
) -> records_pb2.CaseEvent:
    """The event `asked` asks for, of the case `number` at `when`, checked by its kind's
    rules; what is wrong goes to `problems`. Called under the station's lock."""
    kind = asked.kind
    event = records_pb2.CaseEvent(fir_number=number, kind=kind, at_ms=when, text=asked.text.strip())
    if kind == "arrest":
        memo = asked.arrest_memo if asked.HasField("arrest_memo") else None
        _arrested(station, event, asked.persons, memo, problems)
    elif kind == "seizure":
        if not asked.property:
            problems.add("a seizure lists at least one item seized")
        for given_item in asked.property:
            item = event.property.add()
            item.CopyFrom(given_item)
            if item.status == records_pb2.PROPERTY_STATUS_UNSPECIFIED:
                item.status = records_pb2.SEIZED
        check_property(event.property, problems)
        if asked.HasField("mahazar"):
            event.mahazar.CopyFrom(asked.mahazar)
            investigation.check_mahazar(event.mahazar, problems)
    elif kind == "case_diary":
        problems.require(event.text, "the case diary entry")
        if asked.HasField("diary"):
            event.diary.CopyFrom(asked.diary)
            investigation.check_diary(station, number, event.diary, problems)
    elif kind == "custody":
        event.custody.CopyFrom(asked.custody)
        if not asked.HasField("custody"):
            problems.add("a custody event carries the court's order")
        else:
            investigation.check_custody(station, number, event.custody, when, problems)
        if event.custody.order == "released":
            problems.require(event.text, "why the accused is released")
    elif kind == "property_movement":
        event.movement.CopyFrom(asked.movement)
        if not asked.HasField("movement"):
            problems.add("a property movement names the item and where it goes")
        else:
            investigation.check_movement(station, number, event.movement, problems)
    elif kind == "progress_informed":
        problems.require(event.text, "how and what the informant was told")
    elif kind == "sent_to_magistrate":
        event.court = asked.court.strip()
        problems.require(event.court, "the magistrate the FIR was sent to")
    elif kind in ("court_disposal", "appeal_result"):
        event.disposal.CopyFrom(asked.disposal)
        if not asked.HasField("disposal"):
            problems.add("a disposal carries the court's judgment")
        else:
            investigation.check_disposal(station, number, kind, event.disposal, problems)
    elif kind == "final_report":
        event.report_type = asked.report_type.strip()
        if event.report_type not in REPORT_TYPES:
            problems.add("the final report is a charge_sheet or a closure report")
        elif event.report_type == "charge_sheet":
            event.sections.extend(asked.sections)
            check_sections(event.sections, None, station.statutes, problems)
            if asked.persons and number:  # the accused charged, by their codes in the FIR
                _wanted_persons(station, number, kind, asked.persons, event, problems)
        elif asked.persons:
            problems.add("a closure report charges nobody: name the accused in a charge sheet")
        else:
            problems.require(event.text, "the reason for the closure report")
    elif kind == "court_progress":
        event.court = asked.court.strip()
        event.court_case_number = asked.court_case_number.strip()
        event.next_hearing = asked.next_hearing.strip()
        event.outcome = asked.outcome.strip()
        problems.require(event.court, "the court")
        if event.next_hearing:
            check_date(event.next_hearing, "next hearing", problems)
        if not (event.next_hearing or event.outcome or event.court_case_number):
            problems.add("court progress needs a next hearing, an outcome or a case number")
    elif kind in ("wanted", "wanted_withdrawn"):
        event.court = asked.court.strip()
        if number:
            _wanted_persons(station, number, kind, asked.persons, event, problems)
        if kind == "wanted":
            event.report_type = asked.report_type.strip()
            if event.report_type not in WANTED_BASES:
                problems.add(
                    "an accused is wanted on a court's proclamation, a warrant pending "
                    "execution or a lookout (basis: " + ", ".join(WANTED_BASES) + ")"
                )
            elif event.report_type != "lookout":
                problems.require(
                    event.court, "the court's order or warrant (its reference and date)"
                )
            problems.require(event.text, "the grounds (why the accused is wanted)")
        else:
            problems.require(event.text, "the reason the wanted notice ends")
    elif kind == "modus_operandi":
        event.mo.CopyFrom(asked.mo)
        if not asked.HasField("mo"):
            problems.add("an MO event carries the accused and the attributes")
        else:
            history.check_mo(event.mo, problems, in_case=True)
            if number:
                history.mo_persons(station, number, event, problems)
    elif kind == "io_assigned":
        problems.add("assign the investigating officer with assign_io")
    elif kind in ("transferred", "transfer_accepted", "sections_altered"):
        problems.add(
            "a transfer and an alteration of sections have their own commands "
            "(node/station/case_transfer.py: transfer_case, alter_sections)"
        )
    else:
        problems.add(f"case event kind must be one of {', '.join(CASE_EVENT_KINDS[1:])}")
    return event


def _arrested(
    station: Station,
    event: records_pb2.CaseEvent,
    persons: Sequence[records_pb2.PersonInCase],
    memo: records_pb2.ArrestMemo | None,
    problems: Problems,
) -> None:
    """The persons and the memo of an arrest event (`event.at_ms` the arrest's time), checked."""
    if not persons:
        problems.add("an arrest names at least one arrested person")
    for n, given in enumerate(persons, 1):
        entry = event.persons.add()
        entry.CopyFrom(given)
        if entry.role == records_pb2.PERSON_ROLE_UNSPECIFIED:
            entry.role = records_pb2.ACCUSED
        check_person(entry.person, f"arrested person {n}", problems)
    if memo is not None:
        event.arrest_memo.CopyFrom(memo)
        investigation.check_arrest_memo(event.arrest_memo, event.at_ms, station.now(), problems)


def _wanted_persons(
    station: Station,
    number: str,
    kind: str,
    given: Sequence[records_pb2.PersonInCase],
    event: records_pb2.CaseEvent,
    problems: Problems,
) -> None:
    """The accused of a wanted (or withdrawn) event or of a charge sheet, named by their accused
    codes in the FIR as it reads now, copied into `event` with the name, relation and relative's
    name the FIR gives them. A wanted accused must not be wanted already in the case; a
    withdrawn one must be."""
    _, view = views.amended_view(station, number)
    accused: dict[str, dict[str, object]] = {}
    for entry in view.get("persons", []):
        code = str(entry.get("accused_code", "")).strip().upper()
        if code and entry.get("role") in ("ACCUSED", "SUSPECT"):
            accused[code] = entry
    now_wanted = {row.accused_code for row in cases.wanted_in_case(station.index, number)}
    codes = [p.accused_code.strip().upper() for p in given]
    if not codes:
        problems.add("name the accused by their accused code in the FIR (A1, A2...)")
    known = ", ".join(sorted(accused)) or "none"
    for code in dict.fromkeys(codes):
        found = accused.get(code)
        if not code:
            problems.add("an accused code (A1, A2...) is required")
            continue
        if found is None:
            problems.add(f"the FIR {number} has no accused {code} (its accused: {known})")
            continue
        person = found.get("person", {})
        assert isinstance(person, dict)
        name = str(person.get("name", "")).strip()
        if not name:
            problems.add(
                f"{code} is not known by name in the FIR (unknown, or the law withholds the "
                "identity): amend the FIR with the name first"
            )
            continue
        if kind == "wanted" and code in now_wanted:
            problems.add(f"{code} is already wanted in {number}")
        elif kind == "wanted_withdrawn" and code not in now_wanted:
            problems.add(f"{code} is not wanted in {number}")
        event.persons.add(
            role=records_pb2.ACCUSED,
            accused_code=code,
            person=records_pb2.Person(
                name=name,
                relation=str(person.get("relation", "")),
                relative_name=str(person.get("relative_name", "")),
            ),
        )


def _append_event(
    station: Station, officer_id: str, event: records_pb2.CaseEvent, *, imported_from: str = ""
) -> Receipt:
    """Appends a case event as the withholding policy allows: the persons it protects in the
    case (by the FIR's offence and persons, `node.records.withholding`) sealed, their names
    redacted from the event's free text. Called under the station's lock, input checked (the
    limits are checked again here: the event is appended without `Station.append_records`).
    `imported_from` marks an event that came from outside (node/station/exchange.py)."""
    return station.run(_event_draft(station, officer_id, event, imported_from=imported_from))


def _event_draft(
    station: Station, officer_id: str, event: records_pb2.CaseEvent, *, imported_from: str = ""
) -> Draft:
    """The draft of `_append_event`, not yet committed (several are committed at once)."""
    problems = Problems()
    limits.check(event, problems)
    problems.raise_if_any("case event not recorded")
    _, view = views.amended_view(station, event.fir_number)
    case = views.protection(station, "fir", view)
    assert case.assessment is not None  # the view of an FIR
    assessment = withholding.assess_persons(
        event.persons, case.assessment.offence, case=case.assessment
    )
    sealed = withholding.seal(assessment, [e.person for e in event.persons], event.fir_number)
    rewrite_free_text(event, "case_event", Redactor([*case.sealed, *sealed], case.clear))
    body = station.body(officer_id, event, imported_from=imported_from)
    return Draft("case_event", event.fir_number, [body], sealed=sealed)


def _check_not_transferred(station: Station, number: str, kind: str, problems: Problems) -> None:
    """Once the case's investigation is transferred to another unit, the station records only
    what the court does with it (`AFTER_TRANSFER_KINDS`, node/records/case_transfer.py); the
    unit that took it over records everything else (`SENDER_ONLY_KINDS` are the sender's)."""
    if number and kind in SENDER_ONLY_KINDS and parse_case_key(number) is not None:
        problems.add(
            f"{number} stays on the court's file of the station that registered it: "
            f"{kind.replace('_', ' ')} is recorded there"
        )
        return
    if not number or kind in AFTER_TRANSFER_KINDS:
        return
    sent = moved.transfer_out(station.index, number)
    if sent is not None:
        problems.add(moved.refusal(sent))


def append_case_event(station: Station, officer_id: str, event: records_pb2.CaseEvent) -> Receipt:
    """Appends a case event its own command checked (a transfer, an alteration of sections:
    node/station/case_transfer.py), under the same withholding as every case event. Called
    under the station's lock."""
    return _append_event(station, officer_id, event)


def append_external_event(
    station: Station, officer_id: str, event: records_pb2.CaseEvent, imported_from: str
) -> Receipt:
    """Appends an event that came from outside the station (a court's, a prison's or a
    laboratory's message, checked by `node.station.exchange`), marked `imported_from`, under
    the same withholding as every case event. Called under the station's lock."""
    return _append_event(station, officer_id, event, imported_from=imported_from)


# -- the investigation forms (node/records/investigation.py has the rules) ----------------------


def arrest(
    station: Station,
    officer_id: str,
    fir_number: str,
    persons: Sequence[records_pb2.PersonInCase],
    memo: records_pb2.ArrestMemo,
    *,
    at_ms: int | None = None,
    text: str = "",
) -> Receipt:
    """An arrest with its memo (or a notice to appear in place of arrest): the 24-hour clock
    for production before a magistrate starts at `at_ms`, and the lock-up register holds each
    person until a court's order (`order_custody`)."""
    return record_case_event(
        station, officer_id, fir_number, "arrest", at_ms=at_ms, text=text, persons=persons,
        arrest_memo=memo,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Arrest:
    """One accused's arrest in `arrest_several`: the person, the memo (the person named to be
    informed is this accused's own), when (None: now) and a note."""

    person: records_pb2.PersonInCase
    memo: records_pb2.ArrestMemo
    at_ms: int | None = None
    text: str = ""


def arrest_several(
    station: Station, officer_id: str, fir_number: str, arrests: Sequence[Arrest]
) -> list[Receipt]:
    """Several accused arrested in one memo (a rioting case): one arrest event each, with the
    memo's particulars and each accused's own person informed and time, so that each starts its
    own 24-hour clock; checked whole and appended in one group commit, all or none. A problem
    names its arrest ("arrest 3: ..."); an accused code given twice is refused."""
    problems = Problems()
    most = limits.count("CaseEvent.persons")
    if not arrests:
        problems.add("an arrest names at least one arrested person")
    if len(arrests) > most:
        problems.add(f"at most {most} arrests at once: {len(arrests)} given")
    problems.raise_if_any("arrests not recorded")
    with station.writing():
        check_officer(officer_id, problems)
        number = _case(station, fir_number, problems)
        _check_not_transferred(station, number, "arrest", problems)
        events: list[records_pb2.CaseEvent] = []
        codes: set[str] = set()
        for n, given in enumerate(arrests, 1):
            found = Problems()
            when = station.event_time(given.at_ms, "the time of the arrest", found)
            event = records_pb2.CaseEvent(
                fir_number=number, kind="arrest", at_ms=when, text=given.text.strip()
            )
            _arrested(station, event, [given.person], given.memo, found)
            limits.check(event, found)
            code = given.person.accused_code.strip().upper()
            if code and code in codes:
                found.add(f"{code} is named twice")
            codes.add(code)
            prefix = f"arrest {n}: " if len(arrests) > 1 else ""
            problems.items.extend(prefix + line for line in found.items)
            events.append(event)
        problems.raise_if_any("arrests not recorded")
        return station.commit([_event_draft(station, officer_id, e) for e in events])


def seize(
    station: Station,
    officer_id: str,
    fir_number: str,
    items: Sequence[records_pb2.PropertyItem],
    mahazar: records_pb2.Mahazar,
    *,
    at_ms: int | None = None,
    text: str = "",
) -> Receipt:
    """A seizure with its mahazar: each item enters the property register at the station."""
    return record_case_event(
        station, officer_id, fir_number, "seizure", at_ms=at_ms, text=text, property=items,
        mahazar=mahazar,
    )  # fmt: skip


def write_diary(
    station: Station, officer_id: str, fir_number: str, day: records_pb2.DiaryDay, text: str
) -> Receipt:
    """The case diary of one investigation day (what was done in `text`): one per day, never
    changed."""
    return record_case_event(station, officer_id, fir_number, "case_diary", text=text, diary=day)


def order_custody(
    station: Station,
    officer_id: str,
    fir_number: str,
    order: records_pb2.CustodyOrder,
    *,
    at_ms: int | None = None,
    text: str = "",
) -> Receipt:
    """A court's order on an accused held in the case: remand, bail, bail by default, release."""
    return record_case_event(
        station, officer_id, fir_number, "custody", at_ms=at_ms, text=text, custody=order
    )


def move_property(
    station: Station,
    officer_id: str,
    fir_number: str,
    movement: records_pb2.PropertyMovement,
    *,
    at_ms: int | None = None,
    text: str = "",
) -> Receipt:
    """One movement of a seized item (to court, to a laboratory and back, to its owner,
    disposed of), each an entry of its chain of custody."""
    return record_case_event(
        station, officer_id, fir_number, "property_movement", at_ms=at_ms, text=text,
        movement=movement,
    )  # fmt: skip


def inform_progress(station: Station, officer_id: str, fir_number: str, text: str) -> Receipt:
    """The informant (or victim) told of the investigation's progress (BNSS s.193(3)(ii))."""
    return record_case_event(station, officer_id, fir_number, "progress_informed", text=text)


def send_to_magistrate(
    station: Station, officer_id: str, fir_number: str, magistrate: str, text: str = ""
) -> Receipt:
    """The FIR sent to the magistrate (BNSS s.176(1)), with the date the entry records."""
    return record_case_event(
        station, officer_id, fir_number, "sent_to_magistrate", court=magistrate, text=text
    )


def record_mo(
    station: Station,
    officer_id: str,
    fir_number: str,
    mo: records_pb2.ModusOperandi,
    *,
    at_ms: int | None = None,
) -> Receipt:
    """The modus operandi of accused of the case (`mo.accused_codes`), each attribute from the
    vocabulary of `node.records.history`: appended; a later MO of the same accused supersedes it
    in the views, both stay in the log."""
    return record_case_event(station, officer_id, fir_number, "modus_operandi", at_ms=at_ms, mo=mo)


def record_disposal(
    station: Station,
    officer_id: str,
    fir_number: str,
    disposal: records_pb2.Disposal,
    *,
    appeal: bool = False,
    text: str = "",
) -> Receipt:
    """A court's judgment in the case (or, `appeal`, an appellate court's result)."""
    kind = "appeal_result" if appeal else "court_disposal"
    return record_case_event(station, officer_id, fir_number, kind, text=text, disposal=disposal)
