"""The demo's photos and fingerprint slips: one arrested person, seen at two stations.

`make run` should show what the identification pages are for, not empty galleries. At a station
(Kalamassery in the demo) two adult accused of its FIRs are photographed on arrest and their
ten-prints taken (thumbs and index fingers: four fingers keep the demo's build short); at another
station of another district (Ollur) a chance print of the first person's right index finger is
lifted at a scene and kept with a case there. The offices above both stations replicate the
slips and their images (federation/blobs.py), so the state node finds Ollur's chance print
against Kalamassery's ten-print, and a second photo of the same synthetic face finds the arrest
photo. The two probes are written into the stations' data folders for the commands the demo
prints.

Everything is synthetic and deterministic from the seed (node/demo/faces.py,
node/demo/fingerprints.py): no real face or print is shipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from node.demo import faces, fingerprints
from node.index.faces import FaceModel
from node.station import fingerprints as slips
from node.station import photos, views
from node.station.core import Station
from protos import records_pb2

SEED: Final = 2027
FINGERS: Final = (1, 2, 6, 7)  # right thumb, right index, left thumb, left index
CHANCE_FINGER: Final = 2
PERSONS: Final = 2
# The probes, written in the data directory of the station each belongs to.
CHANCE_PRINT_FILE: Final = "demo-chance-print.png"
FACE_PROBE_FILE: Final = "demo-face-probe.jpg"


@dataclass(frozen=True, slots=True)
class Enrolled:
    """What the demo enrolled at the first station."""

    fir_numbers: tuple[str, ...]
    person_ids: tuple[str, ...]


def accused_on_record(station: Station, count: int) -> list[tuple[str, records_pb2.Person]]:
    """The first `count` adult accused of the station's FIRs whom no law withholds, one per
    FIR: (FIR number, person)."""
    found: list[tuple[str, records_pb2.Person]] = []
    for _, body in station.ledger.bodies(0, station.ledger.size()):
        if body.WhichOneof("record") != "fir" or not body.fir.fir_number:
            continue
        for entry in body.fir.persons:
            person = entry.person
            if entry.role != records_pb2.ACCUSED or entry.unknown or not person.person_id:
                continue
            if person.age < 18 or person.juvenile:
                continue
            if views.protected_person(station, body.fir.fir_number, person.person_id):
                continue
            found.append((body.fir.fir_number, person))
            break
        if len(found) == count:
            break
    return found


def _ten_print_image(person: int, finger: int) -> bytes:
    master = fingerprints.master_print(SEED, person, finger)
    return fingerprints.encode_png(
        fingerprints.impression(master, SEED * 100 + person, number=finger)
    )


def enrol_arrested(station: Station, officer_id: str, probes: Path) -> Enrolled:
    """Photographs and ten-prints `PERSONS` accused of the station's FIRs; writes the second
    photo of the first one into the folder `probes` (`FACE_PROBE_FILE`)."""
    chosen = accused_on_record(station, PERSONS)
    identities = faces.detectable(len(chosen), FaceModel.shared(), seed=SEED)
    for number, ((fir_number, person), identity) in enumerate(zip(chosen, identities, strict=True)):
        photos.add_photo(
            station,
            officer_id,
            faces.photo_jpeg(identity, 0, SEED),
            purpose="arrest",
            record_ref=fir_number,
            person_id=person.person_id,
            subject=person.name,
        )
        slips.enrol_ten_print(
            station,
            officer_id,
            {finger: _ten_print_image(number, finger) for finger in FINGERS},
            person_id=person.person_id,
            record_ref=fir_number,
            subject=person.name,
        )
    if identities:
        (probes / FACE_PROBE_FILE).write_bytes(faces.photo_jpeg(identities[0], 1, SEED))
    return Enrolled(tuple(f for f, _ in chosen), tuple(p.person_id for _, p in chosen))


def lift_chance_print(station: Station, officer_id: str, case_ref: str, probes: Path) -> bytes:
    """Keeps, with the case `case_ref` of `station`, a chance print of the first enrolled
    person's right index finger (as if they had been at that scene too); writes it into the
    folder `probes` (`CHANCE_PRINT_FILE`) and returns it."""
    master = fingerprints.master_print(SEED, 0, CHANCE_FINGER)
    image = fingerprints.encode_png(
        fingerprints.impression(master, SEED * 100, number=9, chance=True)
    )
    slips.record_chance_print(
        station,
        officer_id,
        image,
        case_ref=case_ref,
        place="window frame of the rear door",
        finger=0,
        note="lifted with black powder; demo data",
    )
    (probes / CHANCE_PRINT_FILE).write_bytes(image)
    return image
