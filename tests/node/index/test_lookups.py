"""Numbering and lookups over the index: each register's highest number, records by reference."""

from __future__ import annotations

from node.index.record_index import RecordIndex
from protos import records_pb2
from tests.node.index.support import T0, Log, fir, genesis, person


def test_numbering_helpers_and_refs(index: RecordIndex) -> None:
    log = Log()
    genesis(log)
    f1 = log.add(fir=fir(1))
    log.add(fir=fir(2))
    log.add(fir=fir(5, year=2025))
    zero = records_pb2.Fir(
        zero_fir=True,
        zero_fir_number="ZERO FIR 2/2026",
        fir_year=2026,
        jurisdiction_station="PS Aluva",
        registered_at_ms=T0,
    )
    z = log.add(fir=zero)
    for n in (1, 2, 3):
        log.add(general_diary=records_pb2.GeneralDiaryEntry(gd_date="2026-11-28", gd_number=n))
    pet = log.add(
        petition=records_pb2.Petition(
            receipt_number="PET/2026/000007", petitioner=person("P-9-1", "Mini")
        )
    )
    ncr = log.add(
        ncr=records_pb2.NonCognizableReport(
            ncr_number="NCR 3/2026", informant=person("P-10-1", "Anil")
        )
    )
    index.apply(log.entries)

    assert index.lookups.max_fir_serial(2026) == 2
    assert index.lookups.max_fir_serial(2025) == 5
    assert index.lookups.max_fir_serial(2024) == 0
    assert index.lookups.fir_exists(2026, 2) and not index.lookups.fir_exists(2026, 3)
    assert not index.lookups.fir_exists(2026, 0)  # the Zero FIR has no serial here
    assert index.lookups.max_zero_fir_serial(2026) == 2
    assert index.lookups.max_gd_number("2026-11-28") == 3
    assert index.lookups.max_gd_number("2026-11-29") == 0
    assert index.lookups.max_petition_serial(2026) == 7
    assert index.lookups.max_ncr_serial(2026) == 3
    assert index.lookups.person_count() == 2

    assert index.lookups.record_index("FIR No. 1/2026") == f1
    assert index.lookups.record_index("fir no 1/2026") == f1
    assert index.lookups.record_index("1/2026") == f1
    assert index.lookups.record_index("ZERO FIR 2/2026") == z
    assert index.lookups.record_index("GD 2026-11-28/2") == z + 2
    assert index.lookups.record_index("PET/2026/000007") == pet
    assert index.lookups.record_index("NCR 3/2026") == ncr
    assert index.lookups.record_index("FIR No. 9/2026") is None
    assert index.lookups.history("FIR No. 1/2026") == [f1]
    assert index.lookups.history("nothing") == []
    assert index.lookups.counts_by_crime_head(2026) == {"Theft": 2}
    assert index.lookups.counts_by_crime_head() == {"Theft": 3}
