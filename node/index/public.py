"""What the public may see of a station's records, and the one rule every public answer shares:
a record the withholding policy keeps from the public (`node.records.withholding`: a cited
section that withholds identity, or a protected person standing in clear) is *sensitive*, and
public answers leave it out entirely.

Recovered and unclaimed vehicles and property (no person, no case, names redacted from
descriptions, identifiers never shown) and the FIR registered on a petition, for the citizen's
status page. Read-only SELECTs on the index's tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from node.config import NodeConfig
from node.index import schema as ix
from node.index.projection import party_of_row
from node.index.record_index import RecordIndex
from node.index.search import PropertyHit
from node.records import limits, withholding
from node.records.laws import Statutes

PUBLIC_PROPERTY_STATUSES = ("recovered", "unclaimed")
_MIN_REDACTED = 3


def sensitive_records(
    index: RecordIndex, statutes: Statutes, ledger_indexes: Iterable[int]
) -> set[int]:
    """The records among `ledger_indexes` that public answers must leave out, as the
    withholding policy says (`node.records.withholding`: a cited section that withholds the
    victim's identity, or a protected person standing in clear)."""
    wanted = sorted(set(ledger_indexes))
    out: set[int] = set()
    with index.engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            cited: dict[int, list[Any]] = {idx: [] for idx in chunk}
            for row in conn.execute(
                sa.select(ix.record_sections).where(ix.record_sections.c.ledger_index.in_(chunk))
            ):
                cited[int(row.ledger_index)].append(row)
            parties: dict[int, list[Any]] = {idx: [] for idx in chunk}
            for row in conn.execute(
                sa.select(ix.persons)
                .where(ix.persons.c.ledger_index.in_(chunk))
                .order_by(ix.persons.c.ledger_index, ix.persons.c.seq)
            ):
                parties[int(row.ledger_index)].append(party_of_row(row))
            occurred = {
                int(idx): int(ms)
                for idx, ms in conn.execute(
                    sa.select(ix.firs.c.ledger_index, ix.firs.c.occurrence_from_ms).where(
                        ix.firs.c.ledger_index.in_(chunk)
                    )
                )
            }
            for idx in chunk:
                offence = withholding.offence_of(cited[idx], statutes, occurred.get(idx, 0))
                if withholding.assess(offence, parties[idx]).public_withholding is not None:
                    out.add(idx)
    return out


@dataclass(frozen=True, slots=True)
class LinkedFir:
    """The FIR registered on a petition (`sensitive`: its number is not shown publicly)."""

    fir_number: str
    registered_at_ms: int
    sensitive: bool


def fir_on_petition(
    index: RecordIndex, statutes: Statutes, receipt_number: str
) -> LinkedFir | None:
    """The first FIR that cites `receipt_number` as the petition it was registered on."""
    f = ix.firs
    with index.engine.connect() as conn:
        row = conn.execute(
            sa.select(f.c.ledger_index, f.c.fir_number, f.c.zero_fir_number, f.c.registered_at_ms)
            .where(f.c.petition_receipt == receipt_number)
            .order_by(f.c.ledger_index)
            .limit(1)
        ).one_or_none()
    if row is None:
        return None
    sensitive = bool(sensitive_records(index, statutes, [int(row.ledger_index)]))
    return LinkedFir(row.fir_number or row.zero_fir_number, int(row.registered_at_ms), sensitive)


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


def _vehicle_rows(index: RecordIndex, limit: int) -> list[Any]:
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
    with index.engine.connect() as conn:
        return list(conn.execute(stmt))


def public_vehicles(
    index: RecordIndex, statutes: Statutes, office: NodeConfig, query: str, *, limit: int = 50
) -> list[PublicVehicle]:
    """Recovered and unclaimed vehicles, by registration, engine or chassis number (the latest
    ones when `query` is empty); vehicles of sensitive records are left out."""
    query = (query or "").strip()[: limits.IDENTIFIER]
    found: list[tuple[int, PublicVehicle]] = []
    if query:
        for hit in index.search.vehicles(query, limit=limit * 2):
            if hit.property_status in PUBLIC_PROPERTY_STATUSES:
                found.append((hit.ledger_index, _public_vehicle(office, hit, hit.property_status)))
    else:
        for row in _vehicle_rows(index, limit * 2):
            found.append((int(row.ledger_index), _public_vehicle(office, row, str(row.status))))
    hidden = sensitive_records(index, statutes, (idx for idx, _ in found))
    return [vehicle for idx, vehicle in found if idx not in hidden][:limit]


def _public_vehicle(office: NodeConfig, row: Any, status: str) -> PublicVehicle:
    # Each cell within its field's limit, even for a record written before the limits.
    return PublicVehicle(
        registration=limits.clip(row.registration, limits.text("Vehicle.registration")),
        make=limits.clip(row.make, limits.text("Vehicle.make")),
        model=limits.clip(row.model, limits.text("Vehicle.model")),
        colour=limits.clip(row.colour, limits.text("Vehicle.colour")),
        vehicle_type=limits.clip(row.vehicle_type, limits.text("Vehicle.vehicle_type")),
        status=status,
        station=office.station,
        district=office.district,
    )


def public_property(
    index: RecordIndex, statutes: Statutes, office: NodeConfig, query: str, *, limit: int = 50
) -> list[PublicProperty]:
    """Recovered and unclaimed property other than vehicles, by category, words of its
    description or its identifiers; sensitive records left out, names of the persons of the
    record redacted from descriptions, identifiers (IMEI, serial numbers) never shown."""
    query = (query or "").strip()[: limits.IDENTIFIER]
    if len(query) < 3:
        return []
    hits: list[PropertyHit] = []
    for status in PUBLIC_PROPERTY_STATUSES:
        hits.extend(index.search.property(query, status=status, limit=limit * 2))
    hits = [h for h in hits if h.category != "vehicle"]
    hidden = sensitive_records(index, statutes, (h.ledger_index for h in hits))
    hits = [h for h in hits if h.ledger_index not in hidden][:limit]
    names = _names_in(index, {h.ledger_index for h in hits})
    return [
        PublicProperty(
            category=limits.clip(h.category, limits.text("PropertyItem.category")),
            description=limits.clip(
                _redact_names(h.description, names.get(h.ledger_index, ())), limits.PUBLIC_TEXT
            ),
            status=h.status,
            station=office.station,
            district=office.district,
        )
        for h in hits
    ]


def _names_in(index: RecordIndex, ledger_indexes: set[int]) -> dict[int, list[str]]:
    if not ledger_indexes:
        return {}
    n = ix.person_names
    out: dict[int, list[str]] = {}
    with index.engine.connect() as conn:
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


def stand_ins(index: RecordIndex, *, window: int = 500) -> tuple[int | None, int | None]:
    """The ledger indexes of the records a citizen's lookup reads when the number asked about
    does not exist, so that it does the work a real record costs (`node.web.public_status`):
    the latest petition, and the latest of the last `window` FIRs with a withheld person (else
    the latest FIR). Primary-key lookups only."""
    p, f, persons = ix.petitions, ix.firs, ix.persons
    with index.engine.connect() as conn:
        petition = conn.execute(sa.select(sa.func.max(p.c.ledger_index))).scalar()
        latest = list(
            conn.execute(
                sa.select(f.c.ledger_index).order_by(f.c.ledger_index.desc()).limit(window)
            ).scalars()
        )
        fir = conn.execute(
            sa.select(sa.func.max(persons.c.ledger_index)).where(
                persons.c.ledger_index.in_(latest), persons.c.withheld.is_(True)
            )
        ).scalar()
    if fir is None and latest:
        fir = latest[0]
    return (
        None if petition is None else int(petition),
        None if fir is None else int(fir),
    )
