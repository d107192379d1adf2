"""Records the node tests share: a theft FIR, a person in a case, a victim whose identity the law
withholds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import cv2
import numpy as np

from ledger.log import now_ms
from node.records.validation import IST, utc_ms
from node.station import photos
from node.station.core import Station
from protos import records_pb2

VICTIM = "Sreelakshmi Raveendran"
VICTIM_FATHER = "Raveendran Pillai"
VICTIM_MOBILE = "9447012345"


def victim() -> records_pb2.Person:
    return records_pb2.Person(
        name=VICTIM,
        relative_name=VICTIM_FATHER,
        relation="D/o",
        age=24,
        sex="F",
        address="Thekkedath House, Edappally",
        mobile=VICTIM_MOBILE,
    )


def person(name: str, role: int, **fields: object) -> records_pb2.PersonInCase:
    return records_pb2.PersonInCase(
        person=records_pb2.Person(name=name, **fields),  # type: ignore[arg-type]
        role=role,  # type: ignore[arg-type]
    )


def theft_fir(when: datetime | None = None, **fields: object) -> records_pb2.Fir:
    occurred = (when or datetime.now(IST)) - timedelta(hours=5)
    fir = records_pb2.Fir(
        occurrence_from_ms=utc_ms(occurred),
        place_of_occurrence=records_pb2.Place(description="Near HMT junction bus stop"),
        sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
        brief_facts="The complainant's motorcycle parked near the bus stop was stolen.",
        persons=[
            person(
                "Rajesh K",
                records_pb2.COMPLAINANT,
                age=41,
                sex="M",
                relation="S/o",
                relative_name="Krishnan",
            ),
            records_pb2.PersonInCase(role=records_pb2.ACCUSED, unknown=True),
        ],
        property=[
            records_pb2.PropertyItem(
                category="vehicle",
                status=records_pb2.STOLEN,
                value_inr=65000,
                vehicle=records_pb2.Vehicle(registration="kl 7 bq 4521", make="Honda"),
            )
        ],
        **fields,  # type: ignore[arg-type]
    )
    return fir


def accused_fir(name: str, relative: str, age: int, address: str) -> records_pb2.Fir:
    """The theft FIR with one named accused (S/o `relative`) instead of an unknown one: the
    record a linkage test plants a person in."""
    fir = theft_fir()
    del fir.persons[1:]
    fir.persons.append(
        person(
            name,
            records_pb2.ACCUSED,
            relation="S/o",
            relative_name=relative,
            age=age,
            sex="M",
            address=address,
        )
    )
    return fir


@contextmanager
def station_clock_at(station: Station, when_ms: int) -> Iterator[None]:
    """Runs the station's clock from `when_ms` (as a simulation does) inside the block: the
    registers take their times from it, as a station did on that day."""
    started, saved = now_ms(), station.clock
    station.clock = lambda: when_ms + (now_ms() - started)
    try:
        yield
    finally:
        station.clock = saved


def sexual_offence_fir(*, informant: bool = False) -> records_pb2.Fir:
    occurred = datetime.now(IST) - timedelta(hours=6)
    fir = records_pb2.Fir(
        occurrence_from_ms=utc_ms(occurred),
        place_of_occurrence=records_pb2.Place(description="Near the railway underpass"),
        sections=[records_pb2.ActSection(act="BNS", section="64(1)")],
        brief_facts=f"The victim {VICTIM}, D/o {VICTIM_FATHER}, was assaulted by the accused.",
        # A woman officer records it (BNSS s.173(1) first proviso).
        recording=records_pb2.InformationRecording(recorded_by_sex="F"),
    )
    fir.persons.add(person=victim(), role=records_pb2.COMPLAINANT)
    fir.persons.add(person=victim(), role=records_pb2.VICTIM)
    fir.persons.add(
        person=records_pb2.Person(name="Biju Mathew", relative_name="Mathew", relation="S/o"),
        role=records_pb2.ACCUSED,
    )
    if informant:
        fir.persons.add(
            person=records_pb2.Person(name="Rosamma Varghese", age=52, sex="F"),
            role=records_pb2.INFORMANT,
        )
    return fir


def arrest_photo(
    station: Station, officer_id: str, fir_number: str, person_id: str
) -> photos.PhotoReceipt:
    """An arrest photo of `person_id` of the FIR, a plain grey JPEG: for tests of what the
    node keeps and replicates, not of faces (no face is in it)."""
    image = cv2.imencode(".jpg", np.full((48, 48, 3), 110, np.uint8))[1].tobytes()
    return photos.add_photo(
        station,
        officer_id,
        image,
        purpose="arrest",
        record_ref=fir_number,
        person_id=person_id,
    )
