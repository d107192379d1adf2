"""Read-only questions the citizen portal and the dashboards ask of a station's records.

Everything here reads: SQLAlchemy Core SELECTs on the index's tables (`node.index`), and the
ledger's own entries where the index does not keep a field (a petitioner's mobile number).
Nothing here writes, and nothing here decides what a page shows beyond one rule that every
public route shares: a record the law keeps from the public (sexual offences, juveniles, sealed
identities) is *sensitive*, and public answers leave it out entirely.

Dashboard figures come from the casework records (`node.casework`):
  * an FIR is pending investigation until a final report (charge sheet or closure) is recorded
    in its case; the charge-sheeting rate counts FIRs with a charge sheet over all FIRs;
  * a citizen request is "overdue" when its petition was received more than 14 days ago, no FIR
    cites its receipt number (`Fir.petition_receipt`) and it has not been closed or converted;
  * a service request (verification, NOC, permission: `node.services`) is overdue when its due
    date has passed and it is neither completed nor rejected; these are counted with the
    petitions in the same panel (their receipts start "SR/").
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from node.index import casework as casework_index
from node.index import schema as ix
from node.index import services as services_index
from node.index.record_index import RecordIndex
from node.index.search import PropertyHit
from node.records.laws import Statutes
from node.records.refs import petition_receipt
from node.records.validation import IST
from node.station import views
from node.station.core import Station
from protos import records_pb2

DAY_MS = 86_400_000
OVERDUE_DAYS = 14
PUBLIC_PROPERTY_STATUSES = ("recovered", "unclaimed")
# Pending investigations by age in days: (label, lowest age, highest age or None).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-90", 31, 90),
    ("91-180", 91, 180),
    ("181-365", 181, 365),
    (">365", 366, None),
)
# An Indian mobile number: 10 digits starting 6-9, optionally written with +91 or a leading 0.
_MOBILE = re.compile(r"^(?:\+?91|0)?([6-9]\d{9})$")
_PETITION = re.compile(r"^\s*PET\s*/\s*(\d{4})\s*/\s*(\d{1,9})\s*$", re.IGNORECASE)
_INFORMANT_ROLES = (records_pb2.COMPLAINANT, records_pb2.INFORMANT)
_MIN_REDACTED = 3


class Indexed(Protocol):
    """Anything with a record index: a Station, or a verified replica's index (`IndexView`)."""

    @property
    def index(self) -> RecordIndex: ...


@dataclass(frozen=True, slots=True)
class IndexView:
    """A replica's index seen as a station's, for the figures that only read the index."""

    index: RecordIndex


def engine_of(station: Indexed) -> Engine:
    """The index's database engine (read-only use)."""
    engine: Engine = station.index.engine
    return engine


# -- who is asking -----------------------------------------------------------------------------


def normalise_mobile(text: str) -> str | None:
    """'+91 98470 12345', '098470-12345' -> '9847012345'; None when it is no Indian mobile."""
    compact = re.sub(r"[\s().-]", "", text or "")
    match = _MOBILE.match(compact)
    return match[1] if match else None


def same_mobile(recorded: str, given: str) -> bool:
    """Whether a recorded mobile number is the (normalised) one given, in constant time."""
    normalised = normalise_mobile(recorded)
    return normalised is not None and hmac.compare_digest(normalised, given)


def canonical_receipt(text: str) -> str | None:
    """'pet/2026/123' -> 'PET/2026/000123'; None when it is no petition receipt."""
    match = _PETITION.match(text or "")
    return petition_receipt(int(match[2]), int(match[1])) if match else None


# -- the rule every public answer follows --------------------------------------------------------


def withheld_in_view(view: dict[str, Any], statutes: Statutes) -> str | None:
    """Why the law keeps this record (a sealed current view of an FIR) from the public, or None.

    Any cited section that withholds identity (BNS 64-79, POCSO, ...), any juvenile, any sealed
    identity. The PDF module has its own test (`node.web.pdf.withheld_from_public`); the portal
    applies both, so either one withholding is enough.
    """
    for cited in view.get("sections", []):
        act, section = str(cited.get("act", "")), str(cited.get("section", ""))
        if statutes.is_known(act, section) and statutes.section(act, section).identity_withheld:
            return "identity of the victim withheld by law"
    for entry in view.get("persons", []):
        person = entry.get("person", {})
        if person.get("juvenile"):
            return "identity of a juvenile withheld by law"
        if person.get("identity_commitment"):
            return "an identity in this record is sealed"
    return None


def sensitive_records(
    station: Station, ledger_indexes: Iterable[int], statutes: Statutes | None = None
) -> set[int]:
    """The records among `ledger_indexes` that public answers must leave out: a cited section
    that withholds identity, a juvenile or a withheld (sealed) person in the record."""
    wanted = sorted(set(ledger_indexes))
    if not wanted:
        return set()
    laws = statutes or station.statutes
    out: set[int] = set()
    with engine_of(station).connect() as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for idx, act, section in conn.execute(
                sa.select(
                    ix.record_sections.c.ledger_index,
                    ix.record_sections.c.act,
                    ix.record_sections.c.section,
                ).where(ix.record_sections.c.ledger_index.in_(chunk))
            ):
                if laws.is_known(act, section) and laws.section(act, section).identity_withheld:
                    out.add(int(idx))
            for idx in conn.execute(
                sa.select(ix.persons.c.ledger_index)
                .where(
                    ix.persons.c.ledger_index.in_(chunk),
                    sa.or_(ix.persons.c.juvenile.is_(True), ix.persons.c.withheld.is_(True)),
                )
                .distinct()
            ).scalars():
                out.add(int(idx))
    return out


# -- citizen status ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundPetition:
    receipt_number: str
    ledger_index: int
    received_at_ms: int
    petitioner_mobile: str


@dataclass(frozen=True, slots=True)
class LinkedFir:
    """The FIR registered on a petition (`sensitive`: its number is not shown publicly)."""

    fir_number: str
    registered_at_ms: int
    sensitive: bool


def find_petition(station: Station, receipt: str) -> FoundPetition | None:
    """The petition with this receipt number, from its ledger entry."""
    canonical = canonical_receipt(receipt)
    if canonical is None:
        return None
    idx = station.index.lookups.record_index(canonical)
    if idx is None:
        return None
    body = station.ledger.body(idx)
    if body.WhichOneof("record") != "petition":
        return None
    pet = body.petition
    return FoundPetition(pet.receipt_number, idx, pet.received_at_ms, pet.petitioner.mobile)


def fir_on_petition(station: Station, receipt_number: str) -> LinkedFir | None:
    """The first FIR that cites `receipt_number` as the petition it was registered on."""
    f = ix.firs
    with engine_of(station).connect() as conn:
        row = conn.execute(
            sa.select(f.c.ledger_index, f.c.fir_number, f.c.zero_fir_number, f.c.registered_at_ms)
            .where(f.c.petition_receipt == receipt_number)
            .order_by(f.c.ledger_index)
            .limit(1)
        ).one_or_none()
    if row is None:
        return None
    sensitive = bool(sensitive_records(station, [int(row.ledger_index)]))
    return LinkedFir(row.fir_number or row.zero_fir_number, int(row.registered_at_ms), sensitive)


def fir_contact_mobiles(station: Station, ledger_index: int) -> list[str]:
    """Mobile numbers of the complainants and informants of the FIR at `ledger_index`, sealed
    identities included (read from this station's sealed store, for the comparison only)."""
    body = station.ledger.body(ledger_index)
    if body.WhichOneof("record") != "fir":
        return []
    out: list[str] = []
    for entry in body.fir.persons:
        if entry.role in _INFORMANT_ROLES:
            person = views.sealed_person(station, entry.person)
            if person.mobile:
                out.append(person.mobile)
    return out


def mobile_matches(recorded: Iterable[str], given: str) -> bool:
    """Whether any recorded number is the given one (every number compared, in constant time)."""
    found = False
    for number in recorded:
        found = same_mobile(number, given) or found
    return found


# -- recovered and unclaimed vehicles and property ------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublicVehicle:
    """A recovered or unclaimed vehicle as the public may see it: no person, no case."""

    registration: str
    make: str
    model: str
    colour: str
    vehicle_type: str
    status: str
    station: str
    district: str


@dataclass(frozen=True, slots=True)
class PublicProperty:
    """A recovered or unclaimed item as the public may see it (names in it redacted)."""

    category: str
    description: str
    status: str
    station: str
    district: str


def _vehicle_rows(station: Station, limit: int) -> list[Any]:
    v, p = ix.vehicles, ix.property_items
    stmt = (
        sa.select(v, p.c.status)
        .select_from(
            v.join(p, (p.c.ledger_index == v.c.ledger_index) & (p.c.seq == v.c.property_seq))
        )
        .where(p.c.status.in_(PUBLIC_PROPERTY_STATUSES))
        .order_by(v.c.ledger_index.desc(), v.c.property_seq)
        .limit(limit)
    )
    with engine_of(station).connect() as conn:
        return list(conn.execute(stmt))


def public_vehicles(station: Station, query: str, *, limit: int = 50) -> list[PublicVehicle]:
    """Recovered and unclaimed vehicles, by registration, engine or chassis number (the latest
    ones when `query` is empty); vehicles of sensitive records are left out."""
    query = (query or "").strip()[:64]
    found: list[tuple[int, PublicVehicle]] = []
    if query:
        for hit in station.index.search.vehicles(query, limit=limit * 2):
            if hit.property_status in PUBLIC_PROPERTY_STATUSES:
                found.append((hit.ledger_index, _public_vehicle(station, hit, hit.property_status)))
    else:
        for row in _vehicle_rows(station, limit * 2):
            found.append((int(row.ledger_index), _public_vehicle(station, row, str(row.status))))
    hidden = sensitive_records(station, (idx for idx, _ in found))
    return [vehicle for idx, vehicle in found if idx not in hidden][:limit]


def _public_vehicle(station: Station, row: Any, status: str) -> PublicVehicle:
    return PublicVehicle(
        registration=row.registration,
        make=row.make,
        model=row.model,
        colour=row.colour,
        vehicle_type=row.vehicle_type,
        status=status,
        station=station.config.station,
        district=station.config.district,
    )


def public_property(station: Station, query: str, *, limit: int = 50) -> list[PublicProperty]:
    """Recovered and unclaimed property other than vehicles, by category, words of its
    description or its identifiers; sensitive records left out, names of the persons of the
    record redacted from descriptions, identifiers (IMEI, serial numbers) never shown."""
    query = (query or "").strip()[:64]
    if len(query) < 3:
        return []
    hits: list[PropertyHit] = []
    for status in PUBLIC_PROPERTY_STATUSES:
        hits.extend(station.index.search.property(query, status=status, limit=limit * 2))
    hits = [h for h in hits if h.category != "vehicle"]
    hidden = sensitive_records(station, (h.ledger_index for h in hits))
    hits = [h for h in hits if h.ledger_index not in hidden][:limit]
    names = _names_in(station, {h.ledger_index for h in hits})
    config = station.config
    return [
        PublicProperty(
            category=h.category,
            description=_redact_names(h.description, names.get(h.ledger_index, ())),
            status=h.status,
            station=config.station,
            district=config.district,
        )
        for h in hits
    ]


def _names_in(station: Station, ledger_indexes: set[int]) -> dict[int, list[str]]:
    if not ledger_indexes:
        return {}
    n = ix.person_names
    out: dict[int, list[str]] = {}
    with engine_of(station).connect() as conn:
        for idx, name in conn.execute(
            sa.select(n.c.ledger_index, n.c.name).where(n.c.ledger_index.in_(ledger_indexes))
        ):
            out.setdefault(int(idx), []).append(str(name))
    return out


def _redact_names(text: str, names: Sequence[str]) -> str:
    words = {w for name in names for w in re.split(r"[\s.,]+", name) if len(w) >= _MIN_REDACTED}
    for word in sorted(words, key=len, reverse=True):
        text = re.sub(r"(?<!\w)" + re.escape(word) + r"(?!\w)", "…", text, flags=re.IGNORECASE)
    return text


# -- dashboards ----------------------------------------------------------------------------------


def combined(
    figure: Callable[[Indexed], list[tuple[str, int]]], sources: Sequence[Indexed]
) -> list[tuple[str, int]]:
    """One figure over several indexes (a district's or state's own log and its replicas):
    counts added label by label, in the first source's order, new labels after."""
    totals: dict[str, int] = {}
    for source in sources:
        for label, count in figure(source):
            totals[label] = totals.get(label, 0) + count
    return list(totals.items())


def crime_head_counts(station: Indexed) -> list[tuple[str, int]]:
    """FIRs numbered at this station per crime head, most first."""
    counts = station.index.lookups.counts_by_crime_head()
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _month_start(day: date, back: int) -> date:
    months = day.year * 12 + day.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


def _ms_of(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=IST).timestamp() * 1000)


def monthly_trend(station: Indexed, now_ms: int, months: int = 12) -> list[tuple[str, int]]:
    """FIRs numbered here per month (IST), the last `months` months up to this one."""
    today = datetime.fromtimestamp(now_ms / 1000, IST).date()
    starts = [_month_start(today, back) for back in range(months - 1, -1, -1)]
    counts = {f"{d.year:04d}-{d.month:02d}": 0 for d in starts}
    f = ix.firs
    stmt = sa.select(f.c.registered_at_ms).where(
        f.c.serial > 0, f.c.registered_at_ms >= _ms_of(starts[0])
    )
    with engine_of(station).connect() as conn:
        for (registered,) in conn.execute(stmt):
            when = datetime.fromtimestamp(int(registered) / 1000, IST)
            key = f"{when.year:04d}-{when.month:02d}"
            if key in counts:
                counts[key] += 1
    return list(counts.items())


def pending_by_age(station: Indexed, now_ms: int) -> list[tuple[str, int]]:
    """FIRs numbered here without a final report, by days since registration. No final report
    is recorded yet, so every FIR numbered here counts (see the module's note)."""
    f = ix.firs
    cases = []
    for label, low, high in AGE_BUCKETS:
        # age in days (whole days elapsed) between low and high <=> registered in this window
        condition = f.c.registered_at_ms <= now_ms - low * DAY_MS
        if high is not None:
            condition = condition & (f.c.registered_at_ms > now_ms - (high + 1) * DAY_MS)
        cases.append((condition, sa.literal(label)))
    bucket = sa.case(*cases, else_=sa.literal(AGE_BUCKETS[0][0]))  # registered "in the future"
    events = casework_index.case_events_table
    reported = sa.select(events.c.fir_number).where(events.c.kind == "final_report")
    stmt = (
        sa.select(bucket.label("bucket"), sa.func.count())
        .where(f.c.serial > 0, f.c.fir_number.not_in(reported))
        .group_by(bucket)
    )
    counts = {label: 0 for label, _, _ in AGE_BUCKETS}
    with engine_of(station).connect() as conn:
        for label, count in conn.execute(stmt):
            counts[str(label)] += int(count)
    return list(counts.items())


@dataclass(frozen=True, slots=True)
class ChargeSheeting:
    firs: int
    charge_sheets: int
    rate: float | None  # None while no charge sheet is recorded


def charge_sheeting(station: Indexed) -> ChargeSheeting:
    """Charge-sheeting rate: FIRs numbered here in which a charge sheet (final report of type
    charge sheet, from the casework records) has been filed, over all FIRs numbered here."""
    events = casework_index.case_events_table
    total = sum(station.index.lookups.counts_by_crime_head().values())
    stmt = sa.select(sa.func.count(sa.distinct(events.c.fir_number))).where(
        events.c.kind == "final_report", events.c.report_type == "charge_sheet"
    )
    with engine_of(station).connect() as conn:
        filed = int(conn.execute(stmt).scalar() or 0)
    return ChargeSheeting(
        firs=total, charge_sheets=filed, rate=(filed / total) if filed and total else None
    )


@dataclass(frozen=True, slots=True)
class OverduePetition:
    receipt_number: str
    received_at_ms: int
    days_waiting: int
    channel: str


def overdue_petitions(
    station: Station, now_ms: int, *, days: int = OVERDUE_DAYS, limit: int | None = 50
) -> tuple[int, list[OverduePetition]]:
    """Overdue citizen requests: petitions received more than `days` days ago that no FIR
    cites, and service requests past their due date (see the module's note); how many, and the
    oldest of them by the date received."""
    status = casework_index.petition_status_table
    p, f = ix.petitions, ix.firs
    cited = sa.select(f.c.petition_receipt).where(f.c.petition_receipt != "")
    settled = sa.select(status.c.receipt_number).where(status.c.status.in_(("closed", "converted")))
    condition = sa.and_(
        p.c.received_at_ms < now_ms - days * DAY_MS,
        p.c.receipt_number.not_in(cited),
        p.c.receipt_number.not_in(settled),
    )
    with engine_of(station).connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).where(condition)).scalar() or 0)
        stmt = (
            sa.select(p.c.receipt_number, p.c.received_at_ms, p.c.channel)
            .where(condition)
            .order_by(p.c.received_at_ms, p.c.ledger_index)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = [
            OverduePetition(
                receipt_number=r.receipt_number,
                received_at_ms=int(r.received_at_ms),
                days_waiting=(now_ms - int(r.received_at_ms)) // DAY_MS,
                channel=r.channel,
            )
            for r in conn.execute(stmt)
        ]
    requests_total, requests = services_index.overdue_requests(station.index, now_ms, limit=limit)
    rows.extend(
        OverduePetition(
            receipt_number=r.receipt,
            received_at_ms=r.received_ms,
            days_waiting=(now_ms - r.received_ms) // DAY_MS,
            channel=f"service request: {r.kind}",
        )
        for r in requests
    )
    rows.sort(key=lambda p: (p.received_at_ms, p.receipt_number))
    return total + requests_total, rows if limit is None else rows[:limit]


__all__ = [
    "AGE_BUCKETS",
    "OVERDUE_DAYS",
    "PUBLIC_PROPERTY_STATUSES",
    "ChargeSheeting",
    "FoundPetition",
    "LinkedFir",
    "OverduePetition",
    "PublicProperty",
    "PublicVehicle",
    "canonical_receipt",
    "charge_sheeting",
    "crime_head_counts",
    "find_petition",
    "fir_contact_mobiles",
    "fir_on_petition",
    "mobile_matches",
    "monthly_trend",
    "normalise_mobile",
    "overdue_petitions",
    "pending_by_age",
    "public_property",
    "public_vehicles",
    "sensitive_records",
    "withheld_in_view",
]
