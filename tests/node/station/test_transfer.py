"""Zero FIR hand-over between two real stations (RocksDB ledgers, SQLite indexes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import nacl.signing
import pytest

from ledger.errors import CctnsError, InputError, VerificationError
from ledger.log import verify_log
from node.config import DataDir
from node.records.sealing import verify_disclosure
from node.records.validation import IST, utc_ms
from node.station import disclosure, registers, transfer, views
from node.station.core import Station
from node.station.rotation import rotate_key
from protos import federation_pb2, records_pb2

SENDER = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
RECEIVER = "cctns.in/kerala/ernakulam-rural/ps-aluva"
RECEIVER_ID = "kerala/ernakulam-rural/ps-aluva"
OFFICER = "PEN100001"
RECEIVING_OFFICER = "PEN300003"


def _open(tmp_path: Path, name: str, origin: str, district: str, station: str) -> Station:
    data_dir = DataDir(tmp_path / name)
    data_dir.create(origin=origin, district=district, station=station)
    return Station.open(data_dir)


@pytest.fixture
def stations(tmp_path: Path) -> Iterator[tuple[Station, Station]]:
    sender = _open(tmp_path, "a", SENDER, "Ernakulam City", "Kalamassery")
    receiver = _open(tmp_path, "b", RECEIVER, "Ernakulam Rural", "Aluva")
    yield sender, receiver
    sender.close()
    receiver.close()


def zero_fir(jurisdiction: str = "Aluva", **fields: object) -> records_pb2.Fir:
    occurred = datetime.now(IST) - timedelta(hours=8)
    fir = records_pb2.Fir(
        zero_fir=True,
        jurisdiction_station=jurisdiction,
        occurrence_from_ms=utc_ms(occurred),
        place_of_occurrence=records_pb2.Place(description="Aluva Manappuram parking ground"),
        sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
        brief_facts="The complainant's scooter was stolen at Aluva; reported at Kalamassery.",
        information_type="oral",
        **fields,  # type: ignore[arg-type]
    )
    fir.persons.add(
        person=records_pb2.Person(name="Anil Joseph", age=38, sex="M"), role=records_pb2.COMPLAINANT
    )
    fir.persons.add(role=records_pb2.ACCUSED, unknown=True)
    fir.property.add(
        category="vehicle",
        status=records_pb2.STOLEN,
        value_inr=45000,
        vehicle=records_pb2.Vehicle(registration="KL-41-C-1234", make="TVS"),
    )
    return fir


def keys(station: Station) -> tuple[bytes, str]:
    return station.ledger.public_key, station.config.origin


def hand_over(
    sender: Station, receiver: Station, jurisdiction: str = "Aluva"
) -> tuple[str, federation_pb2.ZeroFirHandover]:
    receipt = registers.register_fir(sender, OFFICER, zero_fir(jurisdiction))
    return receipt.ref, transfer.prepare_zero_fir_transfer(
        sender, OFFICER, receipt.ref, RECEIVER_ID
    )


def full_transfer(
    sender: Station, receiver: Station
) -> tuple[str, federation_pb2.ZeroFirAcceptance]:
    ref, handover = hand_over(sender, receiver)
    acceptance = transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *keys(sender))
    transfer.record_transfer_acceptance(sender, OFFICER, acceptance, *keys(receiver))
    return ref, acceptance


def verify_both(*stations: Station) -> None:
    for station in stations:
        report = verify_log(station.ledger.store, *keys(station))
        assert report.size == station.ledger.size()


def flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def test_zero_fir_full_hand_over(stations: tuple[Station, Station]) -> None:
    sender, receiver = stations
    year = datetime.now(IST).year
    ref, handover = hand_over(sender, receiver)
    assert ref == f"ZERO FIR 1/{year}"
    sent = sender.ledger.body(handover.sent.index)
    assert sent.zero_fir_transfer.direction == "sent"
    assert sent.zero_fir_transfer.to_station == RECEIVER_ID
    assert handover.origin == SENDER

    acceptance = transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *keys(sender))
    assert acceptance.fir_number == f"FIR No. 1/{year}"
    received = receiver.ledger.body(acceptance.received.index)
    assert received.zero_fir_transfer.direction == "received"
    assert received.zero_fir_transfer.assigned_fir_number == acceptance.fir_number
    assert received.zero_fir_transfer.to_station == SENDER
    assert received.zero_fir_transfer.zero_fir_index == handover.zero_fir.index

    # The receiver's FIR: its own number, GD entry and station; the Zero FIR kept for tracing.
    fir_index = receiver.index.lookups.record_index(acceptance.fir_number)
    assert fir_index is not None
    fir = receiver.ledger.body(fir_index).fir
    assert not fir.zero_fir and fir.zero_fir_number == ref
    assert fir.police_station == "Aluva" and fir.district == "Ernakulam Rural"
    assert fir.jurisdiction_station == "Aluva"
    assert fir.brief_facts == zero_fir().brief_facts
    assert fir.property[0].vehicle.registration == "KL-41-C-1234"
    assert [p.person.name for p in fir.persons] == ["Anil Joseph", ""]
    assert fir.persons[0].person.person_id.startswith(f"P-{fir_index}-")
    gd = receiver.ledger.body(fir_index - 1).general_diary
    assert fir.gd_reference == f"{gd.gd_date}/{gd.gd_number}"
    assert ref in gd.summary and SENDER in gd.summary

    receipt = transfer.record_transfer_acceptance(sender, OFFICER, acceptance, *keys(receiver))
    final = sender.ledger.body(receipt.index).zero_fir_transfer
    assert final.direction == "accepted"
    assert final.assigned_fir_number == acceptance.fir_number
    assert final.to_station == RECEIVER
    verify_both(sender, receiver)


def test_zero_fir_status_on_both_sides(stations: tuple[Station, Station]) -> None:
    sender, receiver = stations
    receipt = registers.register_fir(sender, OFFICER, zero_fir())
    status = transfer.zero_fir_status(sender, receipt.ref)
    assert status["state"] == "registered" and status["jurisdiction_station"] == "Aluva"

    handover = transfer.prepare_zero_fir_transfer(sender, OFFICER, receipt.ref, RECEIVER_ID)
    status = transfer.zero_fir_status(sender, receipt.ref.lower())
    assert status["state"] == "sent" and status["to_station"] == RECEIVER_ID
    assert sender.index.lookups.fir(receipt.ref).status == "transferred"  # type: ignore[union-attr]

    acceptance = transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *keys(sender))
    transfer.record_transfer_acceptance(sender, OFFICER, acceptance, *keys(receiver))
    status = transfer.zero_fir_status(sender, receipt.ref)
    assert status["state"] == "numbered"
    assert status["fir_number"] == acceptance.fir_number
    assert status["message"] == (
        f"{receipt.ref} received and numbered as {acceptance.fir_number} at {RECEIVER_ID}"
    )
    assert len(status["entries"]) == 3

    there = transfer.zero_fir_status(receiver, receipt.ref)
    assert there["state"] == "numbered" and there["from_origin"] == SENDER
    assert there["fir_number"] == acceptance.fir_number
    assert transfer.zero_fir_status(receiver, receipt.ref, from_origin=SENDER) == there
    with pytest.raises(InputError, match="no Zero FIR"):
        transfer.zero_fir_status(receiver, receipt.ref, from_origin="cctns.in/kerala/x/ps-y")
    with pytest.raises(InputError, match="no Zero FIR"):
        transfer.zero_fir_status(sender, "ZERO FIR 9/2020")


def test_zero_fir_redelivery_is_idempotent(stations: tuple[Station, Station]) -> None:
    sender, receiver = stations
    ref, handover = hand_over(sender, receiver)
    first = transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *keys(sender))
    size = receiver.ledger.size()
    again = transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *keys(sender))
    assert receiver.ledger.size() == size
    assert again.fir_number == first.fir_number
    assert again.received.index == first.received.index
    assert again.received.leaf == first.received.leaf
    assert receiver.index.lookups.max_fir_serial(datetime.now(IST).year) == 1

    # The sender re-sending (e.g. after a lost answer) gives the same entries, no new ones.
    sender_size = sender.ledger.size()
    resent = transfer.prepare_zero_fir_transfer(sender, OFFICER, ref, RECEIVER_ID)
    assert sender.ledger.size() == sender_size
    assert resent.sent.index == handover.sent.index
    assert transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, resent, *keys(sender)) == again

    first_receipt = transfer.record_transfer_acceptance(sender, OFFICER, first, *keys(receiver))
    second_receipt = transfer.record_transfer_acceptance(sender, OFFICER, again, *keys(receiver))
    assert first_receipt.index == second_receipt.index
    verify_both(sender, receiver)


def test_zero_fir_cannot_be_sent_to_two_stations(stations: tuple[Station, Station]) -> None:
    sender, receiver = stations
    ref, _ = hand_over(sender, receiver)
    with pytest.raises(InputError, match="already sent"):
        transfer.prepare_zero_fir_transfer(sender, OFFICER, ref, "kerala/thrissur-city/ps-east")
    with pytest.raises(InputError, match="no Zero FIR"):
        transfer.prepare_zero_fir_transfer(sender, OFFICER, "ZERO FIR 7/2026", RECEIVER_ID)


def _tampered(
    handover: federation_pb2.ZeroFirHandover, what: str
) -> federation_pb2.ZeroFirHandover:
    bad = federation_pb2.ZeroFirHandover()
    bad.CopyFrom(handover)
    if what == "zero leaf":
        bad.zero_fir.leaf = flip(bad.zero_fir.leaf, 40)
    elif what == "sent leaf":
        bad.sent.leaf = flip(bad.sent.leaf, 20)
    elif what == "signature":
        bad.sent.leaf = flip(bad.sent.leaf, len(bad.sent.leaf) - 3)
    elif what == "proof":
        bad.zero_fir.inclusion_proof[0] = flip(bad.zero_fir.inclusion_proof[0], 5)
    elif what == "short proof":
        del bad.sent.inclusion_proof[-1]
    elif what == "index":
        bad.zero_fir.index += 1
    elif what == "note":
        note = bytearray(bad.checkpoint)
        note[note.index(b"\n") + 1] ^= 0x01  # the size line
        bad.checkpoint = bytes(note)
    elif what == "note signature":
        bad.checkpoint = flip(bad.checkpoint, len(bad.checkpoint) - 5)
    elif what == "origin":
        bad.origin = RECEIVER
    elif what == "swapped":
        zero = federation_pb2.ProvenEntry()
        zero.CopyFrom(bad.zero_fir)
        bad.zero_fir.CopyFrom(bad.sent)
        bad.sent.CopyFrom(zero)
    return bad


@pytest.mark.parametrize(
    "what",
    [
        "zero leaf",
        "sent leaf",
        "signature",
        "proof",
        "short proof",
        "index",
        "note",
        "note signature",
        "origin",
        "swapped",
    ],
)
def test_zero_fir_tampered_handover_is_rejected(
    stations: tuple[Station, Station], what: str
) -> None:
    sender, receiver = stations
    _, handover = hand_over(sender, receiver)
    size = receiver.ledger.size()
    with pytest.raises(VerificationError):
        transfer.accept_zero_fir(
            receiver, RECEIVING_OFFICER, _tampered(handover, what), *keys(sender)
        )
    assert receiver.ledger.size() == size


def test_zero_fir_handover_from_another_key_is_rejected(stations: tuple[Station, Station]) -> None:
    sender, receiver = stations
    _, handover = hand_over(sender, receiver)
    with pytest.raises(VerificationError):
        transfer.accept_zero_fir(
            receiver, RECEIVING_OFFICER, handover, receiver.ledger.public_key, SENDER
        )


def test_zero_fir_wrong_jurisdiction_is_rejected(stations: tuple[Station, Station]) -> None:
    sender, receiver = stations
    _, handover = hand_over(sender, receiver, jurisdiction="Angamaly")
    size = receiver.ledger.size()
    with pytest.raises(InputError, match="Angamaly"):
        transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *keys(sender))
    assert receiver.ledger.size() == size


def test_zero_fir_sent_elsewhere_is_rejected(stations: tuple[Station, Station]) -> None:
    sender, receiver = stations
    receipt = registers.register_fir(sender, OFFICER, zero_fir())
    handover = transfer.prepare_zero_fir_transfer(
        sender, OFFICER, receipt.ref, "kerala/x/ps-angamaly"
    )
    with pytest.raises(InputError, match="sent to"):
        transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *keys(sender))


@pytest.mark.parametrize("name", ["Aluva", "ALUVA PS", "ps-aluva", RECEIVER_ID, RECEIVER])
def test_zero_fir_jurisdiction_names_accepted(stations: tuple[Station, Station], name: str) -> None:
    sender, receiver = stations
    _, handover = hand_over(sender, receiver, jurisdiction=name)
    assert transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *keys(sender)).fir_number


def test_zero_fir_tampered_acceptance_is_rejected(stations: tuple[Station, Station]) -> None:
    sender, receiver = stations
    _, handover = hand_over(sender, receiver)
    acceptance = transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *keys(sender))
    size = sender.ledger.size()
    wrong_number = federation_pb2.ZeroFirAcceptance()
    wrong_number.CopyFrom(acceptance)
    wrong_number.fir_number = "FIR No. 99/2026"
    bad_leaf = federation_pb2.ZeroFirAcceptance()
    bad_leaf.CopyFrom(acceptance)
    bad_leaf.received.leaf = flip(bad_leaf.received.leaf, 30)
    for bad in (wrong_number, bad_leaf):
        with pytest.raises(VerificationError):
            transfer.record_transfer_acceptance(sender, OFFICER, bad, *keys(receiver))
    with pytest.raises(VerificationError):  # the acceptance is not signed by the sender's key
        transfer.record_transfer_acceptance(sender, OFFICER, acceptance, *keys(sender))
    assert sender.ledger.size() == size


def test_zero_fir_acceptance_for_another_station_is_rejected(
    stations: tuple[Station, Station], tmp_path: Path
) -> None:
    sender, receiver = stations
    _, handover = hand_over(sender, receiver)
    acceptance = transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *keys(sender))
    other = _open(tmp_path, "c", "cctns.in/kerala/ernakulam-city/ps-edappally", "EC", "Edappally")
    try:
        with pytest.raises(CctnsError):
            transfer.record_transfer_acceptance(other, OFFICER, acceptance, *keys(receiver))
    finally:
        other.close()


def test_zero_fir_transfer_survives_reopen(tmp_path: Path) -> None:
    sender = _open(tmp_path, "a", SENDER, "Ernakulam City", "Kalamassery")
    receiver = _open(tmp_path, "b", RECEIVER, "Ernakulam Rural", "Aluva")
    ref, handover = hand_over(sender, receiver)
    acceptance = transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *keys(sender))
    receiver.close()
    receiver = Station.open(DataDir(tmp_path / "b"))
    try:
        again = transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *keys(sender))
        assert again.fir_number == acceptance.fir_number
        receiver.rebuild_index()
        assert transfer.zero_fir_status(receiver, ref)["fir_number"] == acceptance.fir_number
    finally:
        receiver.close()
        sender.close()


def test_zero_fir_with_sealed_victim_stays_sealed_across_the_transfer(
    stations: tuple[Station, Station],
) -> None:
    sender, receiver = stations
    fir = zero_fir()
    fir.ClearField("sections")
    fir.sections.add(act="BNS", section="64(1)")
    fir.ClearField("property")
    fir.brief_facts = "Meera Nair was assaulted at Aluva."
    fir.recording.recorded_by_sex = "F"  # a woman officer records it (BNSS s.173(1))
    fir.persons.add(
        person=records_pb2.Person(name="Meera Nair", age=22, sex="F"), role=records_pb2.VICTIM
    )
    receipt = registers.register_fir(sender, OFFICER, fir)
    handover = transfer.prepare_zero_fir_transfer(sender, OFFICER, receipt.ref, RECEIVER_ID)
    assert b"Meera" not in handover.SerializeToString()
    acceptance = transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *keys(sender))
    fir_ref = acceptance.fir_number
    leaves = b"".join(receiver.ledger.leaf(i) for i in range(receiver.ledger.size()))
    assert b"Meera" not in leaves
    victim = receiver.ledger.body(receiver.index.lookups.record_index(fir_ref) or 0).fir.persons[2]
    commitment = victim.person.identity_commitment
    assert commitment and not victim.person.name
    # The receiver cannot unseal until the sender discloses the identity to it.
    assert "name" not in views.unsealed_view(receiver, fir_ref)["persons"][2]["person"]
    person, salt = disclosure.disclose(
        sender, OFFICER, commitment, "BNSS 173 transfer", RECEIVER_ID
    )
    verify_disclosure(commitment, person, salt)
    disclosure.import_disclosed(receiver, commitment, person, salt, record_ref=fir_ref)
    local = views.unsealed_view(receiver, fir_ref)
    assert local["persons"][2]["person"]["name"] == "Meera Nair"
    assert local["brief_facts"] == "Meera Nair was assaulted at Aluva."
    wrong = records_pb2.Person(name="Someone Else")
    with pytest.raises(VerificationError):
        disclosure.import_disclosed(receiver, commitment, wrong, salt)


def test_zero_fir_hand_over_after_both_stations_rotated_their_keys(
    tmp_path: Path, stations: tuple[Station, Station]
) -> None:
    """Each side trusts the other's key from before its rotation (federation.toml is not
    edited): the messages carry the key hand-overs, which lead from it to the key in force."""
    sender, receiver = stations
    pinned_sender, pinned_receiver = keys(sender), keys(receiver)
    rotate_key(sender, DataDir(tmp_path / "a"), OFFICER)
    rotate_key(receiver, DataDir(tmp_path / "b"), RECEIVING_OFFICER)
    assert keys(sender) != pinned_sender and keys(receiver) != pinned_receiver
    ref, handover = hand_over(sender, receiver)
    assert len(handover.key_handovers) == 1
    acceptance = transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *pinned_sender)
    assert len(acceptance.key_handovers) == 1
    transfer.record_transfer_acceptance(sender, OFFICER, acceptance, *pinned_receiver)
    status = transfer.zero_fir_status(sender, ref)
    assert (status["state"], status["fir_number"]) == ("numbered", acceptance.fir_number)
    # A key neither log ever had is no pin: the same messages are refused under it.
    stranger = bytes(nacl.signing.SigningKey.generate().verify_key)
    with pytest.raises(VerificationError, match="never pass through"):
        transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, stranger, SENDER)
    # Without its hand-over the message names no way to the new key.
    del handover.key_handovers[:]
    with pytest.raises(VerificationError):
        transfer.accept_zero_fir(receiver, RECEIVING_OFFICER, handover, *pinned_sender)
