"""A police station's records: commands that validate, number, sign, append and index.

Every command follows one path: check the input (nothing is written if anything is wrong),
assign the station's numbers (FIR No. N/YYYY per year, GD numbers per day, receipts), append the
entries to the ledger in one group commit (durable before the caller hears "saved"), then
project them into the query index. The ledger is the truth; the index can always be rebuilt.

The station is the log's only writer: one lock serialises commands, so the numbers it hands out
are consecutive. Counters are cached from the index and dropped if a commit fails.
Corrections never edit: `amend` appends an Amendment that refers to the original entry.

Identities the law withholds (victims of sexual offences, juveniles, informants who ask) are
sealed while an FIR is drafted (`node/sealed.py`): the entry carries a salted commitment, the
clear identity stays in the station's sealed store; `disclose` releases one and logs it.
A Zero FIR is handed over to the station with jurisdiction with `prepare_zero_fir_transfer`,
`accept_zero_fir` and `record_transfer_acceptance` (`node/zero_fir.py`): both logs record it.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.json_format import MessageToDict

from ledger import merkle
from ledger.errors import InputError, NotFound, UsageError, VerificationError
from ledger.log import Appended, Ledger, now_ms
from node import zero_fir as zf
from node.config import DataDir, NodeConfig
from node.index import IndexedEntry, RecordIndex, ZeroFirTransferRow
from node.laws import Statutes
from node.records import (
    RECORD_KINDS,
    fir_number,
    gd_ref,
    ncr_number,
    petition_receipt,
    record_ref,
    zero_fir_number,
)
from node.sealed import (
    SealedIdentity,
    SealedStore,
    canonical_identity,
    has_identity,
    redact,
    restore,
    seal_person,
    unsealed_person,
    verify_disclosure,
    withheld_part,
)
from node.validation import (
    GD_CATEGORIES,
    Problems,
    check_officer,
    check_person,
    check_property,
    check_sections,
    ist_date,
)
from protos import federation_pb2, ledger_pb2, records_pb2

SYSTEM_OFFICER = "system"
# Clocks on two machines differ a little; a registration time further ahead than this is refused.
CLOCK_SKEW_MS = 5 * 60 * 1000
PETITION_CHANNELS = ("in person", "post", "email", "online", "e-FIR", "phone", "referred")
# Fields an amendment may correct, as dotted paths into the record.
_AMENDABLE = re.compile(
    r"^(brief_facts|sections|status|occurrence_from_ms|occurrence_to_ms|"
    r"place_of_occurrence\.description|summary|subject|details|"
    r"persons\.[A-Za-z0-9_-]+\.(name|aliases|age|relative_name|relation|address|sex))$"
)
INDEX_CHUNK = 2000
SEALED_DIR = "sealed"
_PERSON_PATH = re.compile(r"^persons\.(.+)\.([a-z_]+)$")
_ZERO_REF = re.compile(r"^\s*zero\s*fir\s*(?:no\.?\s*)?(\d+)\s*/\s*(\d{4})\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a command returns once its entries are durable and indexed."""

    kind: str
    ref: str
    index: int
    leaf_hash: bytes
    written_at_ms: int
    related: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One entry in a record's history: the original, then each amendment in order."""

    index: int
    kind: str
    officer_id: str
    written_at_ms: int
    record: dict[str, Any]


@dataclass(slots=True)
class _Batch:
    """Numbers and entries drafted so far in one commit, before any of it is appended."""

    refs: set[str] = field(default_factory=set)
    bodies: int = 0


@dataclass(slots=True)
class _Draft:
    """Entries prepared by one command, not yet appended."""

    kind: str
    ref: str
    bodies: list[ledger_pb2.EntryBody] = field(default_factory=list)
    related: tuple[str, ...] = ()
    sealed: list[SealedIdentity] = field(default_factory=list)


class Station:
    """One station's record keeping over a ledger and an index."""

    def __init__(
        self,
        ledger: Ledger,
        index: RecordIndex,
        config: NodeConfig,
        *,
        statutes: Statutes | None = None,
        clock: Callable[[], int] = now_ms,
        sealed: SealedStore | None = None,
    ) -> None:
        self.ledger = ledger
        self.index = index
        self.config = config
        # Station.open gives the durable store in the data directory; the in-memory default is
        # for tests and tools that build a Station by hand.
        self.sealed = sealed if sealed is not None else SealedStore.memory()
        self.statutes = statutes or Statutes.default()
        self._clock = clock
        self._lock = threading.RLock()
        self._counters: dict[tuple[str, str], int] = {}
        self._last_registered: dict[int, int] = {}

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        data_dir: DataDir,
        *,
        index_url: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Station:
        """Opens a node's station records: RocksDB ledger, index (caught up), genesis entry."""
        from ledger.rocksdb_store import RocksDBLogStore

        config = data_dir.load_config()
        key = data_dir.load_key()
        store = RocksDBLogStore.open(data_dir.ledger_path)
        try:
            sealed = SealedStore.open(data_dir.path / SEALED_DIR)
        except BaseException:
            store.close()
            raise
        try:
            ledger = Ledger(store, key, config.origin)
            index = RecordIndex(index_url or config.index_url)
        except BaseException:
            sealed.close()
            store.close()
            raise
        station = cls(ledger, index, config, sealed=sealed)
        try:
            station.ensure_genesis()
            station.sync_index(progress)
        except BaseException:
            station.close()
            raise
        return station

    def close(self) -> None:
        """Closes the index, the ledger's signing thread, the store and the sealed store."""
        self.index.close()
        self.ledger.close()
        self.ledger.store.close()
        self.sealed.close()

    def ensure_genesis(self) -> None:
        """Writes entry 0 (the node's public key and origin) into an empty log."""
        with self._lock:
            if self.ledger.size() == 0:
                event = ledger_pb2.NodeEvent(
                    kind="genesis", public_key=self.ledger.public_key, note=self.config.origin
                )
                self._commit([_Draft("node_event", "", [self._body(SYSTEM_OFFICER, event)])])

    def sync_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Projects ledger entries the index has not seen; returns how many were applied."""
        with self._lock:
            start, end = self.index.indexed_size(), self.ledger.size()
            if start > end:
                raise UsageError(
                    f"the index has {start} entries but the ledger {end}: it belongs to another "
                    "log; run `cctns admin rebuild-index`"
                )
            done = start
            while done < end:
                stop = min(done + INDEX_CHUNK, end)
                self.index.apply(
                    [IndexedEntry(i, body) for i, body in self.ledger.bodies(done, stop)]
                )
                done = stop
                if progress is not None:
                    progress(done - start, end - start)
            return end - start

    def rebuild_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Drops the index and projects the whole ledger again."""
        with self._lock:
            self.index.drop_all()
            self._counters.clear()
            return self.sync_index(progress)

    # -- commands ------------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Holds the station's single-writer lock: number and append without interleaving."""
        with self._lock:
            yield

    def append_records(self, officer_id: str, records: Sequence[Any], *, ref: str = "") -> Receipt:
        """Appends already-validated records of the areas built on the station (casework,
        citizen services) in one group commit and indexes them; returns the last one's receipt.
        Callers validate first and hold `writing()` while they number."""
        problems = Problems()
        check_officer(officer_id, problems)
        problems.raise_if_any("entry not written")
        with self._lock:
            bodies = [self._body(officer_id, record) for record in records]
            kind = bodies[-1].WhichOneof("record") or ""
            return self._commit([_Draft(kind, ref, bodies)])[0]

    def append_system(self, record: Any) -> Receipt:
        """Appends an entry the node writes itself (an audit entry of another office's query,
        a replication event) and indexes it, in ledger order like every command."""
        with self._lock:
            body = self._body(SYSTEM_OFFICER, record)
            kind = body.WhichOneof("record") or ""
            return self._commit([_Draft(kind, "", [body])])[0]

    def write_gd(
        self,
        officer_id: str,
        category: str,
        summary: str,
        *,
        entry_time_ms: int | None = None,
    ) -> Receipt:
        """Writes a General Diary entry, numbered in order through the day."""
        with self._lock:
            return self._run(self._draft_gd(officer_id, category, summary, entry_time_ms, _Batch()))

    def receive_petition(self, officer_id: str, petition: records_pb2.Petition) -> Receipt:
        """Receives a petition or complaint and gives it a receipt number."""
        with self._lock:
            return self._run(self._draft_petition(officer_id, petition, _Batch()))

    def register_ncr(self, officer_id: str, ncr: records_pb2.NonCognizableReport) -> Receipt:
        """Registers a non-cognizable report."""
        with self._lock:
            return self._run(self._draft_ncr(officer_id, ncr, _Batch()))

    def register_fir(
        self, officer_id: str, fir: records_pb2.Fir, *, withhold_informants: bool = False
    ) -> Receipt:
        """Registers an FIR (or a Zero FIR); numbers it and cites or writes its GD entry.

        Identities the law withholds are sealed (victims and informants where a cited section
        withholds identity, every juvenile); `withhold_informants` seals informants in any case.
        """
        with self._lock:
            return self._run(
                self._draft_fir(officer_id, fir, _Batch(), withhold_informants=withhold_informants)
            )

    def amend(self, officer_id: str, ref: str, reason: str, changes: dict[str, Any]) -> Receipt:
        """Appends a correction to record `ref`; the original stays as it was written."""
        with self._lock:
            return self._run(self._draft_amendment(officer_id, ref, reason, changes))

    def register_many(
        self, items: Iterable[tuple[str, str, Any]], *, chunk: int = 500
    ) -> list[Receipt]:
        """Bulk registration (seeding, imports): items of (kind, officer_id, record).

        Each chunk is validated whole, then appended in one group commit; a bad record stops
        the run with an InputError naming it, and nothing of its chunk is written.
        """
        receipts: list[Receipt] = []
        with self._lock:
            drafts: list[_Draft] = []
            batch = _Batch()
            for number, (kind, officer_id, record) in enumerate(items, 1):
                try:
                    drafts.append(self._draft(kind, officer_id, record, batch))
                except InputError as exc:
                    # Numbers drafted for this chunk were never written: take them back.
                    self._counters.clear()
                    self._last_registered.clear()
                    raise InputError(f"record {number} ({kind}): {exc}", exc.problems) from exc
                if len(drafts) >= chunk:
                    receipts.extend(self._commit(drafts))
                    drafts, batch = [], _Batch()
            if drafts:
                receipts.extend(self._commit(drafts))
        return receipts

    def _draft(self, kind: str, officer_id: str, record: Any, batch: _Batch) -> _Draft:
        if kind == "fir":
            return self._draft_fir(officer_id, record, batch)
        if kind == "gd":
            gd: records_pb2.GeneralDiaryEntry = record
            return self._draft_gd(
                officer_id, gd.category, gd.summary, gd.entry_time_ms or None, batch
            )
        if kind == "petition":
            return self._draft_petition(officer_id, record, batch)
        if kind == "ncr":
            return self._draft_ncr(officer_id, record, batch)
        raise InputError(f"unknown record kind {kind!r}")

    # -- drafting ------------------------------------------------------------------------------

    def _body(self, officer_id: str, record: Any) -> ledger_pb2.EntryBody:
        body = ledger_pb2.EntryBody(officer_id=officer_id)
        name = {
            records_pb2.GeneralDiaryEntry: "general_diary",
            records_pb2.Petition: "petition",
            records_pb2.NonCognizableReport: "ncr",
            records_pb2.Fir: "fir",
            records_pb2.Amendment: "amendment",
            records_pb2.ZeroFirTransfer: "zero_fir_transfer",
            ledger_pb2.NodeEvent: "node_event",
            ledger_pb2.Disclosure: "disclosure",
            ledger_pb2.AuditEntry: "audit",
            records_pb2.PetitionUpdate: "petition_update",
            records_pb2.CaseEvent: "case_event",
            records_pb2.ServiceRequest: "service_request",
            records_pb2.ServiceRequestUpdate: "service_request_update",
            records_pb2.Grievance: "grievance",
            records_pb2.GrievanceUpdate: "grievance_update",
            ledger_pb2.ReplicationEvent: "replication_event",
            ledger_pb2.Revocation: "revocation",
        }[type(record)]
        getattr(body, name).CopyFrom(record)
        return body

    def _next(self, series: str, period: str, current: Callable[[], int]) -> int:
        key = (series, period)
        if key not in self._counters:
            self._counters[key] = current()
        self._counters[key] += 1
        return self._counters[key]

    def _now_or(self, given_ms: int | None, what: str, problems: Problems) -> int:
        now = self._clock()
        if not given_ms:
            return now
        if given_ms > now + CLOCK_SKEW_MS:
            problems.add(f"{what} is in the future")
        return given_ms

    def _draft_gd(
        self,
        officer_id: str,
        category: str,
        summary: str,
        entry_time_ms: int | None,
        batch: _Batch,
    ) -> _Draft:
        problems = Problems()
        check_officer(officer_id, problems)
        if category not in GD_CATEGORIES:
            problems.add(f"GD category must be one of {', '.join(GD_CATEGORIES)}")
        problems.require(summary, "GD summary")
        when = self._now_or(entry_time_ms, "GD entry time", problems)
        problems.raise_if_any("General Diary entry not written")
        day = ist_date(when).isoformat()
        number = self._next("gd", day, lambda: self.index.max_gd_number(day))
        gd = records_pb2.GeneralDiaryEntry(
            gd_date=day, gd_number=number, entry_time_ms=when, category=category, summary=summary
        )
        ref = "GD " + gd_ref(day, number)
        batch.refs.add(ref)
        batch.bodies += 1
        return _Draft("general_diary", ref, [self._body(officer_id, gd)])

    def _draft_petition(
        self, officer_id: str, given: records_pb2.Petition, batch: _Batch
    ) -> _Draft:
        petition = records_pb2.Petition()
        petition.CopyFrom(given)
        problems = Problems()
        check_officer(officer_id, problems)
        check_person(petition.petitioner, "petitioner", problems)
        problems.require(petition.subject, "petition subject")
        if petition.channel and petition.channel not in PETITION_CHANNELS:
            problems.add(f"channel must be one of {', '.join(PETITION_CHANNELS)}")
        if petition.receipt_number:
            problems.add("the receipt number is assigned by the station, not given")
        received = self._now_or(petition.received_at_ms, "time received", problems)
        problems.raise_if_any("petition not received")
        year = ist_date(received).year
        serial = self._next("petition", str(year), lambda: self.index.max_petition_serial(year))
        petition.receipt_number = petition_receipt(serial, year)
        petition.received_at_ms = received
        petition.channel = petition.channel or "in person"
        self._assign_person_ids([petition.petitioner], batch)
        batch.bodies += 1
        return _Draft("petition", petition.receipt_number, [self._body(officer_id, petition)])

    def _draft_ncr(
        self, officer_id: str, given: records_pb2.NonCognizableReport, batch: _Batch
    ) -> _Draft:
        ncr = records_pb2.NonCognizableReport()
        ncr.CopyFrom(given)
        problems = Problems()
        check_officer(officer_id, problems)
        check_person(ncr.informant, "informant", problems)
        problems.require(ncr.brief_facts, "brief facts")
        reported = self._now_or(ncr.reported_at_ms, "time reported", problems)
        check_sections(ncr.sections, ist_date(reported), self.statutes, problems)
        for cited in ncr.sections:
            known = self.statutes.is_known(cited.act, cited.section)
            if known and self.statutes.section(cited.act, cited.section).cognizable:
                problems.add(
                    f"{cited.act} {cited.section} is cognizable: register an FIR, not an NCR"
                )
        if ncr.ncr_number:
            problems.add("the NCR number is assigned by the station, not given")
        problems.raise_if_any("non-cognizable report not registered")
        year = ist_date(reported).year
        serial = self._next("ncr", str(year), lambda: self.index.max_ncr_serial(year))
        ncr.ncr_number = ncr_number(serial, year)
        ncr.reported_at_ms = reported
        self._assign_person_ids([ncr.informant], batch)
        batch.bodies += 1
        return _Draft("ncr", ncr.ncr_number, [self._body(officer_id, ncr)])

    def _draft_fir(
        self,
        officer_id: str,
        given: records_pb2.Fir,
        batch: _Batch,
        *,
        withhold_informants: bool = False,
        gd_note: str = "",
    ) -> _Draft:
        fir = records_pb2.Fir()
        fir.CopyFrom(given)
        problems = Problems()
        check_officer(officer_id, problems)
        registered = self._now_or(fir.registered_at_ms, "registration time", problems)
        self._check_fir_facts(fir, registered, problems)
        explicit = bool(fir.fir_serial or fir.fir_number)
        year = fir.fir_year or ist_date(registered).year
        if explicit and not fir.zero_fir:
            self._check_explicit_number(fir, year, batch, problems)
        previous = self._previous_registration(year)
        if previous is not None and registered < previous and not fir.zero_fir:
            problems.add(
                "registration time is before the previous FIR's: FIRs cannot be ante-dated"
            )
        problems.raise_if_any("FIR not registered")

        fir.registered_at_ms = registered
        fir.district = fir.district or self.config.district
        fir.police_station = fir.police_station or self.config.station
        fir.crime_head = self.statutes.crime_head(list(fir.sections))
        fir.information_received_ms = fir.information_received_ms or registered
        if fir.zero_fir:
            serial = self._next("zero", str(year), lambda: self.index.max_zero_fir_serial(year))
            fir.zero_fir_number = zero_fir_number(serial, year)
            fir.fir_number, fir.fir_serial, fir.fir_year = "", 0, year
            ref = fir.zero_fir_number
        else:
            if not explicit:
                fir.fir_serial = self._next(
                    "fir", str(year), lambda: self.index.max_fir_serial(year)
                )
            fir.fir_year = year
            fir.fir_number = fir_number(fir.fir_serial, year)
            ref = fir.fir_number
            self._last_registered[year] = registered
        batch.refs.add(ref)
        self._number_accused(fir)
        draft = _Draft("fir", ref)
        if not fir.gd_reference:
            sections = ", ".join(f"{s.act} {s.section}" for s in fir.sections)
            gd = self._draft_gd(
                officer_id, "fir", f"{ref} registered{gd_note} u/s {sections}", registered, batch
            )
            fir.gd_reference = gd.ref.removeprefix("GD ")
            draft.bodies.extend(gd.bodies)
            draft.related = (gd.ref,)
        self._assign_person_ids([p.person for p in fir.persons], batch)
        draft.sealed = self._seal_fir(fir, ref, withhold_informants)
        batch.bodies += 1
        draft.bodies.append(self._body(officer_id, fir))
        return draft

    def _seal_fir(
        self, fir: records_pb2.Fir, ref: str, withhold_informants: bool
    ) -> list[SealedIdentity]:
        """Seals the identities the law withholds (in place) and redacts them from the facts.

        Sealed: every juvenile; where a cited section withholds identity (BNS 64-79, POCSO, ...)
        the victims, the informants and anyone recorded with a victim's identity (the victim as
        complainant); informants in any case when asked. Persons already sealed (a transferred
        Zero FIR) keep their commitment.
        """
        sensitive = any(
            self.statutes.is_known(s.act, s.section)
            and self.statutes.section(s.act, s.section).identity_withheld
            for s in fir.sections
        )
        victims = (
            {canonical_identity(e.person) for e in fir.persons if e.role == records_pb2.VICTIM}
            if sensitive
            else set()
        )
        sealed: list[SealedIdentity] = []
        for entry in fir.persons:
            person = entry.person
            if person.identity_commitment or not has_identity(person):
                continue
            informant = entry.role == records_pb2.INFORMANT
            if (
                person.juvenile
                or (withhold_informants and informant)
                or (sensitive and (entry.role == records_pb2.VICTIM or informant))
                or canonical_identity(person) in victims
            ):
                sealed.append(seal_person(person, record_ref=ref))
        if sealed:
            fir.brief_facts = redact(fir.brief_facts, sealed)
        return sealed

    def latest_fir_registration_ms(self) -> int | None:
        """When the latest FIR of this or last year was registered (None if there is none)."""
        with self._lock:
            this_year = ist_date(self._clock()).year
            for year in (this_year, this_year - 1):
                found = self._previous_registration(year)
                if found is not None:
                    return found
            return None

    def _previous_registration(self, year: int) -> int | None:
        """Registration time of the year's latest FIR: from the cache, else from the ledger."""
        if year not in self._last_registered:
            serial = self._counters.get(("fir", str(year))) or self.index.max_fir_serial(year)
            position = self.index.record_index(fir_number(serial, year)) if serial else None
            if position is None:
                return None
            self._last_registered[year] = self.ledger.body(position).fir.registered_at_ms
        return self._last_registered[year]

    def _check_fir_facts(self, fir: records_pb2.Fir, registered: int, problems: Problems) -> None:
        problems.require(fir.brief_facts, "brief facts")
        problems.require(fir.place_of_occurrence.description, "place of occurrence")
        if not fir.occurrence_from_ms:
            problems.add("time of occurrence is required")
        else:
            if fir.occurrence_from_ms > registered:
                problems.add("occurrence is after registration")
            if fir.occurrence_to_ms and fir.occurrence_to_ms < fir.occurrence_from_ms:
                problems.add("occurrence ends before it begins")
            if fir.occurrence_to_ms > registered:
                problems.add("occurrence is after registration")
        if fir.information_received_ms > registered:
            problems.add("information was received after registration")
        occurred = ist_date(fir.occurrence_from_ms) if fir.occurrence_from_ms else None
        check_sections(fir.sections, occurred, self.statutes, problems)
        known = [s for s in fir.sections if self.statutes.is_known(s.act, s.section)]
        if known and not any(self.statutes.section(s.act, s.section).cognizable for s in known):
            problems.add("no cognizable offence cited: record a non-cognizable report instead")
        informants = [
            p for p in fir.persons if p.role in (records_pb2.COMPLAINANT, records_pb2.INFORMANT)
        ]
        if not informants:
            problems.add("a complainant or informant is required")
        roles = records_pb2.PersonRole
        for number, entry in enumerate(fir.persons, 1):
            what = f"person {number} ({roles.Name(entry.role).lower()})"
            if entry.role == records_pb2.PERSON_ROLE_UNSPECIFIED:
                problems.add(f"person {number}: role is required")
            if entry.person.identity_commitment and has_identity(entry.person):
                problems.add(f"{what}: a sealed identity carries its commitment only")
            if entry.unknown and entry.role == records_pb2.ACCUSED:
                continue
            check_person(entry.person, what, problems)
        check_property(fir.property, problems)
        if fir.zero_fir and not fir.jurisdiction_station.strip():
            problems.add("a Zero FIR needs the station with jurisdiction")
        if fir.information_type and fir.information_type not in ("oral", "written", "electronic"):
            problems.add("information type must be oral, written or electronic")

    def _check_explicit_number(
        self, fir: records_pb2.Fir, year: int, batch: _Batch, problems: Problems
    ) -> None:
        serial = fir.fir_serial
        if fir.fir_number:
            match = re.fullmatch(r"FIR No\. (\d+)/(\d{4})", fir.fir_number)
            if not match:
                problems.add(f"FIR number {fir.fir_number!r} is not of the form 'FIR No. N/YYYY'")
                return
            serial, year = int(match[1]), int(match[2])
        if serial <= 0:
            problems.add("FIR serial must be positive")
            return
        number = fir_number(serial, year)
        if number in batch.refs or self.index.fir_exists(year, serial):
            problems.add(f"duplicate FIR number: {number} is already registered")
            return
        fir.fir_serial, fir.fir_year = serial, year
        key = ("fir", str(year))
        self._counters[key] = max(self._counters.get(key, self.index.max_fir_serial(year)), serial)

    @staticmethod
    def _number_accused(fir: records_pb2.Fir) -> None:
        """Codes accused A1..A9, then B1.., in the order given (CCTNS convention)."""
        count = 0
        for entry in fir.persons:
            if entry.role == records_pb2.ACCUSED and not entry.accused_code:
                letter, digit = divmod(count, 9)
                entry.accused_code = f"{chr(ord('A') + letter)}{digit + 1}"
                count += 1

    def _assign_person_ids(self, persons: Sequence[records_pb2.Person], batch: _Batch) -> None:
        """Person ids are unique forever: P-<ledger index of the entry>-<position in it>."""
        position = self.ledger.size() + batch.bodies
        for number, person in enumerate(persons, 1):
            if not person.person_id:
                person.person_id = f"P-{position}-{number}"

    def _draft_amendment(
        self, officer_id: str, ref: str, reason: str, changes: dict[str, Any]
    ) -> _Draft:
        problems = Problems()
        check_officer(officer_id, problems)
        problems.require(reason, "reason for the correction")
        target = self.index.record_index(ref)
        if target is None:
            problems.add(f"no record {ref!r} at this station")
        if not changes:
            problems.add("no corrections given")
        for path, value in changes.items():
            if not _AMENDABLE.match(path):
                problems.add(f"{path!r} cannot be corrected by amendment")
            elif path == "sections":
                self._check_amended_sections(value, problems)
        try:
            changes_json = json.dumps(changes, sort_keys=True, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            problems.add(f"corrections must be plain values: {exc}")
            changes_json = ""
        if target is not None and not problems.items:
            changes = self._guard_sealed(target, changes, problems)
            changes_json = json.dumps(changes, sort_keys=True, ensure_ascii=False)
        problems.raise_if_any(f"correction to {ref} not written")
        assert target is not None
        amendment = records_pb2.Amendment(
            amends_index=target, record_ref=ref, reason=reason, changes_json=changes_json
        )
        return _Draft("amendment", ref, [self._body(officer_id, amendment)])

    def _guard_sealed(
        self, target: int, changes: dict[str, Any], problems: Problems
    ) -> dict[str, Any]:
        """A correction never puts a sealed identity back in clear: changes to a sealed
        person's fields are refused, and sealed names in corrected facts are redacted."""
        body = self.ledger.body(target)
        if body.WhichOneof("record") != "fir":
            return changes
        commitments = {
            e.person.person_id: e.person.identity_commitment
            for e in body.fir.persons
            if e.person.identity_commitment
        }
        if not commitments:
            return changes
        for path in changes:
            match = _PERSON_PATH.match(path)
            if match and match[1] in commitments:
                problems.add(
                    f"{path!r}: the identity of {match[1]} is sealed and cannot be corrected "
                    "in the shared record"
                )
        facts = changes.get("brief_facts")
        if isinstance(facts, str):
            sealed = self.sealed.get_many(commitments.values())
            changes = {**changes, "brief_facts": redact(facts, sealed)}
        return changes

    def _check_amended_sections(self, value: Any, problems: Problems) -> None:
        if not isinstance(value, list) or not value:
            problems.add("sections must be a list like ['BNS:303(2)']")
            return
        for item in value:
            act, _, section = str(item).partition(":")
            if not self.statutes.is_known(act, section):
                problems.add(f"unknown section {item!r}")

    # -- committing ----------------------------------------------------------------------------

    def _run(self, draft: _Draft) -> Receipt:
        return self._commit([draft])[0]

    def _commit(self, drafts: list[_Draft]) -> list[Receipt]:
        bodies = [body for draft in drafts for body in draft.bodies]
        try:
            # Sealed identities are durable before the entries that commit to them.
            self.sealed.put_many([item for draft in drafts for item in draft.sealed])
            appended = self.ledger.append_many(bodies)
        except BaseException:
            # Numbers handed out for entries that were not written are taken back.
            self._counters.clear()
            self._last_registered.clear()
            raise
        self.index.apply([IndexedEntry(a.index, a.body) for a in appended])
        receipts: list[Receipt] = []
        position = 0
        for draft in drafts:
            last: Appended = appended[position + len(draft.bodies) - 1]
            position += len(draft.bodies)
            receipts.append(
                Receipt(
                    draft.kind,
                    draft.ref,
                    last.index,
                    last.leaf_hash,
                    last.body.written_at_ms,
                    draft.related,
                )
            )
        return receipts

    # -- reading -------------------------------------------------------------------------------

    def history(self, ref: str) -> list[HistoryItem]:
        """The original record and every amendment to it, in the order they were appended."""
        indexes = self.index.history(ref)
        if not indexes:
            raise NotFound(f"no record {ref!r} at this station")
        items = []
        for position in indexes:
            body = self.ledger.body(position)
            kind = body.WhichOneof("record") or ""
            record = MessageToDict(getattr(body, kind), preserving_proto_field_name=True)
            items.append(HistoryItem(position, kind, body.officer_id, body.written_at_ms, record))
        return items

    def current_view(self, ref: str) -> dict[str, Any]:
        """The record as it reads now: the original with each amendment applied in order."""
        history = self.history(ref)
        view = dict(history[0].record)
        for item in history[1:]:
            for path, value in json.loads(item.record.get("changes_json", "{}")).items():
                _apply_change(view, path, value)
        return view

    def unsealed_view(self, ref: str) -> dict[str, Any]:
        """The current view with sealed identities filled back in, for this station's officers
        only: never to be sent to another node. `current_view` stays sealed."""
        view = self.current_view(ref)
        entries = view.get("persons", [])
        commitments = [
            base64.b64decode(e["person"]["identity_commitment"])
            for e in entries
            if e.get("person", {}).get("identity_commitment")
        ]
        if not commitments:
            return view
        found = {item.commitment: item for item in self.sealed.get_many(commitments)}
        for entry in entries:
            person = entry.get("person", {})
            encoded = person.get("identity_commitment")
            item = found.get(base64.b64decode(encoded)) if encoded else None
            if item is not None:
                person.update(
                    MessageToDict(item.identity, preserving_proto_field_name=True),
                    identity_sealed=True,
                )
        if isinstance(view.get("brief_facts"), str):
            view["brief_facts"] = restore(view["brief_facts"], found.values())
        return view

    # -- sealed identities -----------------------------------------------------------------------

    def disclose(
        self,
        officer_id: str,
        commitment: bytes,
        authority: str,
        requester_node_id: str,
        *,
        requester_officer_id: str = "",
    ) -> tuple[records_pb2.Person, bytes]:
        """Releases a sealed identity under `authority` (a court order, an approval): appends
        a Disclosure entry, then returns the identity and its salt (`verify_disclosure` checks
        them against the commitment in the signed entry)."""
        with self._lock:
            problems = Problems()
            check_officer(officer_id, problems)
            problems.require(authority, "the authority for the disclosure")
            problems.require(requester_node_id, "the requesting node")
            item = self.sealed.get(commitment)
            if item is None:
                problems.add("this station holds no sealed identity with that commitment")
            problems.raise_if_any("identity not disclosed")
            assert item is not None
            disclosure = ledger_pb2.Disclosure(
                commitment=item.commitment,
                record_ref=item.record_ref,
                requester_node_id=requester_node_id,
                requester_officer_id=requester_officer_id,
                authority=authority,
            )
            self._run(_Draft("disclosure", item.record_ref, [self._body(officer_id, disclosure)]))
            identity = records_pb2.Person()
            identity.CopyFrom(item.identity)
            return identity, item.salt

    def import_disclosed(
        self, commitment: bytes, person: records_pb2.Person, salt: bytes, *, record_ref: str = ""
    ) -> None:
        """Keeps an identity disclosed to this station (e.g. with a transferred Zero FIR) in the
        sealed store, once it verifies against the commitment; VerificationError otherwise."""
        verify_disclosure(commitment, person, salt)
        with self._lock:
            self.sealed.put_many(
                [SealedIdentity(bytes(commitment), bytes(salt), withheld_part(person), record_ref)]
            )

    def sealed_person(self, person: records_pb2.Person) -> records_pb2.Person:
        """`person` as in an entry, with its identity filled in when this station holds it."""
        item = self.sealed.get(person.identity_commitment) if person.identity_commitment else None
        return person if item is None else unsealed_person(person, item.identity)

    # -- Zero FIR transfer -----------------------------------------------------------------------

    def prepare_zero_fir_transfer(
        self, officer_id: str, zero_fir_ref: str, to_station_node_id: str
    ) -> federation_pb2.ZeroFirHandover:
        """Sends a Zero FIR to the station with jurisdiction: appends a GD entry and a
        ZeroFirTransfer{"sent"} entry, and returns the hand-over (both entries proven against
        the current checkpoint). Calling again for the same station re-sends the same entries."""
        with self._lock:
            problems = Problems()
            check_officer(officer_id, problems)
            problems.require(to_station_node_id, "the receiving station")
            found = self._own_zero_fir(zero_fir_ref)
            if found is None:
                problems.add(f"no Zero FIR {zero_fir_ref!r} at this station")
            problems.raise_if_any("Zero FIR not sent")
            assert found is not None
            index, fir = found
            number = fir.zero_fir_number
            rows = self._transfers(number, index)
            sent = [r for r in rows if r.direction == zf.SENT]
            if sent:
                if sent[0].to_station != to_station_node_id:
                    raise InputError(f"{number} was already sent to {sent[0].to_station}")
                sent_index = sent[0].ledger_index
            else:
                transfer = records_pb2.ZeroFirTransfer(
                    zero_fir_number=number,
                    zero_fir_index=index,
                    to_station=to_station_node_id,
                    direction=zf.SENT,
                )
                gd = self._draft_gd(
                    officer_id,
                    "other",
                    f"{number} sent to {to_station_node_id}, the station with jurisdiction "
                    f"({fir.jurisdiction_station})",
                    None,
                    _Batch(),
                )
                draft = _Draft(
                    "zero_fir_transfer",
                    number,
                    [*gd.bodies, self._body(officer_id, transfer)],
                    (gd.ref,),
                )
                sent_index = self._run(draft).index
            note = self.ledger.checkpoint()
            size = zf.checkpoint_size(note)
            return federation_pb2.ZeroFirHandover(
                origin=self.config.origin,
                zero_fir=zf.proven_entry(self.ledger, index, size),
                sent=zf.proven_entry(self.ledger, sent_index, size),
                checkpoint=note,
            )

    def accept_zero_fir(
        self,
        officer_id: str,
        handover: federation_pb2.ZeroFirHandover,
        sender_public_key: bytes,
        sender_origin: str,
    ) -> federation_pb2.ZeroFirAcceptance:
        """Receives a Zero FIR sent to this station: checks the hand-over (note, signatures,
        proofs, that it is for this station), registers it as an FIR in this station's series
        and appends ZeroFirTransfer{"received"} in the same commit. A hand-over received before
        gets the same acceptance again (no second FIR).

        Raises VerificationError for a hand-over that does not verify, InputError for one not
        meant for this station or whose FIR fails validation here."""
        with self._lock:
            problems = Problems()
            check_officer(officer_id, problems)
            problems.raise_if_any("Zero FIR not received")
            verified = zf.verify_handover(handover, sender_public_key, sender_origin)
            zero = verified.zero_fir
            zf.check_transfer_target(zero, verified.sent, self._station_keys())
            earlier = self._received(zero.zero_fir_number, sender_origin)
            if earlier is not None:
                if earlier.zero_fir_index != verified.zero_fir_index:
                    raise VerificationError(
                        f"{zero.zero_fir_number} of {sender_origin} was received before as its "
                        f"entry {earlier.zero_fir_index}, now as entry {verified.zero_fir_index}"
                    )
                return self._acceptance(earlier.ledger_index, earlier.assigned_fir_number)
            batch = _Batch()
            fir_draft = self._draft_fir(
                officer_id,
                zf.transferred_fir(zero),
                batch,
                gd_note=f" on transfer of {zero.zero_fir_number} from {sender_origin}",
            )
            received = records_pb2.ZeroFirTransfer(
                zero_fir_number=zero.zero_fir_number,
                zero_fir_index=verified.zero_fir_index,
                to_station=sender_origin,
                direction=zf.RECEIVED,
                assigned_fir_number=fir_draft.ref,
            )
            transfer_draft = _Draft(
                "zero_fir_transfer", zero.zero_fir_number, [self._body(officer_id, received)]
            )
            receipts = self._commit([fir_draft, transfer_draft])
            return self._acceptance(receipts[1].index, fir_draft.ref)

    def record_transfer_acceptance(
        self,
        officer_id: str,
        acceptance: federation_pb2.ZeroFirAcceptance,
        receiver_public_key: bytes,
        receiver_origin: str,
    ) -> Receipt:
        """Records, at the sending station, that the receiver numbered the Zero FIR: appends
        ZeroFirTransfer{"accepted", assigned_fir_number} once (again: the same receipt)."""
        with self._lock:
            problems = Problems()
            check_officer(officer_id, problems)
            problems.raise_if_any("Zero FIR acceptance not recorded")
            verified = zf.verify_acceptance(acceptance, receiver_public_key, receiver_origin)
            received = verified.received
            if received.to_station != self.config.origin:
                raise VerificationError(
                    f"the acceptance is for a Zero FIR of {received.to_station!r}, not this log"
                )
            found = self._own_zero_fir(received.zero_fir_number)
            if found is None or found[0] != received.zero_fir_index:
                raise VerificationError(
                    f"{received.zero_fir_number} is not entry {received.zero_fir_index} here"
                )
            index, _ = found
            rows = self._transfers(received.zero_fir_number, index)
            sent = [r for r in rows if r.direction == zf.SENT]
            receiver_keys = zf.station_names(receiver_origin.split("/", 1)[-1], receiver_origin, "")
            if not sent:
                raise InputError(f"{received.zero_fir_number} was never sent from this station")
            if not zf.names_station(sent[0].to_station, receiver_keys):
                raise VerificationError(
                    f"{received.zero_fir_number} was sent to {sent[0].to_station}, "
                    f"not to {receiver_origin}"
                )
            accepted = [r for r in rows if r.direction == zf.ACCEPTED]
            if accepted:
                if accepted[0].assigned_fir_number != received.assigned_fir_number:
                    raise VerificationError(
                        f"{received.zero_fir_number} was recorded as "
                        f"{accepted[0].assigned_fir_number}, now said to be "
                        f"{received.assigned_fir_number}"
                    )
                return self._receipt_of(accepted[0].ledger_index, received.zero_fir_number)
            entry = records_pb2.ZeroFirTransfer(
                zero_fir_number=received.zero_fir_number,
                zero_fir_index=index,
                to_station=receiver_origin,
                direction=zf.ACCEPTED,
                assigned_fir_number=received.assigned_fir_number,
            )
            gd = self._draft_gd(
                officer_id,
                "information",
                f"{received.zero_fir_number} received at {receiver_origin} and registered there "
                f"as {received.assigned_fir_number}",
                None,
                _Batch(),
            )
            return self._run(
                _Draft(
                    "zero_fir_transfer",
                    received.zero_fir_number,
                    [*gd.bodies, self._body(officer_id, entry)],
                    (gd.ref,),
                )
            )

    def zero_fir_status(self, zero_ref: str, *, from_origin: str = "") -> dict[str, Any]:
        """Where a Zero FIR stands, for the citizen holding its receipt: registered here, sent
        to a station, or received and numbered as an FIR there. On the receiving station, a
        Zero FIR of another station (name it with `from_origin` when several sent the same
        number) shows the FIR it was registered as."""
        number = _canonical_zero_ref(zero_ref)
        own = None if from_origin not in ("", self.config.origin) else self._own_zero_fir(number)
        if own is not None:
            index, fir = own
            status: dict[str, Any] = {
                "zero_fir_number": fir.zero_fir_number,
                "state": "registered",
                "station": self.config.station,
                "origin": self.config.origin,
                "registered_at_ms": fir.registered_at_ms,
                "jurisdiction_station": fir.jurisdiction_station,
                "entries": [index],
                "message": f"{fir.zero_fir_number} registered at {self.config.station}; "
                f"to be sent to {fir.jurisdiction_station}",
            }
            for row in self._transfers(fir.zero_fir_number, index):
                status["entries"].append(row.ledger_index)
                if row.direction == zf.SENT:
                    status.update(
                        state="sent",
                        to_station=row.to_station,
                        sent_at_ms=self.ledger.body(row.ledger_index).written_at_ms,
                        message=f"{fir.zero_fir_number} sent to {row.to_station}",
                    )
                elif row.direction == zf.ACCEPTED:
                    status.update(
                        state="numbered",
                        fir_number=row.assigned_fir_number,
                        fir_origin=row.to_station,
                        message=f"{fir.zero_fir_number} received and numbered as "
                        f"{row.assigned_fir_number} at {status.get('to_station', row.to_station)}",
                    )
            return status
        received = [
            r
            for r in self.index.zero_fir_transfers(number)
            if r.direction == zf.RECEIVED and from_origin in ("", r.to_station)
        ]
        if not received:
            raise InputError(f"no Zero FIR {zero_ref!r} registered or received at this station")
        if len({r.to_station for r in received}) > 1:
            origins = ", ".join(sorted({r.to_station for r in received}))
            raise InputError(f"{number} was received from several stations ({origins}): name one")
        row = received[0]
        return {
            "zero_fir_number": number,
            "state": "numbered",
            "station": self.config.station,
            "origin": self.config.origin,
            "from_origin": row.to_station,
            "fir_number": row.assigned_fir_number,
            "received_at_ms": self.ledger.body(row.ledger_index).written_at_ms,
            "entries": [row.ledger_index],
            "message": f"{number} of {row.to_station} received and numbered as "
            f"{row.assigned_fir_number} at {self.config.station}",
        }

    def _own_zero_fir(self, ref: str) -> tuple[int, records_pb2.Fir] | None:
        index = self.index.record_index(_canonical_zero_ref(ref))
        if index is None:
            return None
        body = self.ledger.body(index)
        if body.WhichOneof("record") != "fir" or not body.fir.zero_fir:
            return None
        return index, body.fir

    def _transfers(self, number: str, zero_index: int) -> list[ZeroFirTransferRow]:
        """This station's own transfer entries ("sent", "accepted") for its Zero FIR."""
        return [
            r
            for r in self.index.zero_fir_transfers(number)
            if r.zero_fir_index == zero_index and r.direction in (zf.SENT, zf.ACCEPTED)
        ]

    def _received(self, number: str, sender_origin: str) -> ZeroFirTransferRow | None:
        for row in self.index.zero_fir_transfers(number):
            if row.direction == zf.RECEIVED and row.to_station == sender_origin:
                return row
        return None

    def _station_keys(self) -> set[str]:
        config = self.config
        return zf.station_names(config.node_id, config.origin, config.station)

    def _acceptance(self, received_index: int, fir_number: str) -> federation_pb2.ZeroFirAcceptance:
        note = self.ledger.checkpoint()
        return federation_pb2.ZeroFirAcceptance(
            fir_number=fir_number,
            received=zf.proven_entry(self.ledger, received_index, zf.checkpoint_size(note)),
            checkpoint=note,
        )

    def _receipt_of(self, index: int, ref: str) -> Receipt:
        leaf = self.ledger.leaf(index)
        body = self.ledger.body(index)
        kind = body.WhichOneof("record") or ""
        return Receipt(kind, ref, index, merkle.leaf_hash(leaf), body.written_at_ms)


def _canonical_zero_ref(ref: str) -> str:
    """ "zero fir 4/2026", "ZERO FIR No. 4 / 2026" -> "ZERO FIR 4/2026"; others as given."""
    match = _ZERO_REF.match(ref)
    return zero_fir_number(int(match[1]), int(match[2])) if match else ref.strip()


def _apply_change(view: dict[str, Any], path: str, value: Any) -> None:
    """Applies one amendment path to a record dict (persons are addressed by person_id)."""
    parts = path.split(".")
    if parts[0] == "persons" and len(parts) == 3:
        for entry in view.get("persons", []):
            if entry.get("person", {}).get("person_id") == parts[1]:
                entry["person"][parts[2]] = value
        return
    if parts[0] == "sections" and isinstance(value, list):
        view["sections"] = [
            dict(zip(("act", "section"), str(item).split(":", 1), strict=False)) for item in value
        ]
        return
    target = view
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def record_kinds() -> tuple[str, ...]:
    """The kinds of record a station registers."""
    return RECORD_KINDS


__all__ = ["HistoryItem", "Receipt", "Station", "record_ref"]
