"""Fingerprint slips: the station's commands, and the node's fingerprint gallery
(docs/fingerprints.md).

`enrol_ten_print` and `record_chance_print` read the minutiae off each image
(node/records/fingerprints/minutiae.py), keep the images and their templates in the blob store
(durable first, like a photo), then append one `FingerprintSlip` entry naming them by SHA-256.
A ten-print's fingers join the gallery; a chance print is kept with its case and searched.

`gallery` is the node's 1:N gallery of ten-print fingers (node/records/fingerprints/gallery.py):
derived data, built on first use from the index's impressions and the templates in the blob
store (a template is a few hundred bytes; its cylinders take a few milliseconds to compute).
On a node holding replicas (a district, the State Fingerprint Bureau) the ten-prints of the
replicated logs join it too, each finger once its template has arrived (`enrol_replica_slip`,
called by the blob follower: node/peers/fingerprints.py). `search` ranks the enrolled fingers
for a probe (an image or a template), each naming the log it came from; the caller audits the
read (an officer's through the web, another office's through the federation).
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from federation.audit import check_context
from ledger.errors import InputError
from node.index.fingerprints import ImpressionRow, impressions_of_slip, ten_print_impressions
from node.records.fingerprints import mcc
from node.records.fingerprints.gallery import Gallery
from node.records.fingerprints.minutiae import MinutiaeArray, extract
from node.records.fingerprints.slips import FINGERS, MATCHER, TEMPLATE_TYPE, check_slip
from node.records.validation import Problems
from node.station import audit as station_audit
from node.station import views
from node.station.blobs import BlobNotFound, digest_of
from protos import federation_pb2, records_pb2

if TYPE_CHECKING:
    from node.station.core import Receipt, Station

# A candidate at or above this score is a hit (docs/fingerprints.md): on the generated set the
# equal-error thresholds are 0.064 (rolls) and 0.031 (chance prints), and the highest of 19,800
# impostor scores 0.065; a hit is a lead for an expert, so the threshold leans to no false hits.
HIT_SCORE = 0.08
# Fewer minutiae than this and a print cannot be searched (nor a finger enrolled).
MIN_MINUTIAE = 6
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))

_galleries: weakref.WeakKeyDictionary[Station, Gallery] = weakref.WeakKeyDictionary()
# The replicas' fingers in a node's gallery, by gallery key (the own log's are read from the
# index when a search names them).
_replica_fingers: weakref.WeakKeyDictionary[Station, dict[str, FingerprintCandidate]] = (
    weakref.WeakKeyDictionary()
)
_galleries_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class SlipReceipt:
    """What enrolment returns: the entry's receipt and the slip as written."""

    receipt: Receipt
    slip: records_pb2.FingerprintSlip


@dataclass(frozen=True, slots=True)
class FingerprintCandidate:
    """One enrolled finger a probe resembles, with its MCC score (0 to 1). `origin` is the log
    holding the ten-print: the node's own, or a replica's (`office` then names that office)."""

    ledger_index: int
    finger: int
    person_id: str
    record_ref: str
    subject: str
    score: float
    origin: str = ""
    replica: bool = False

    @property
    def hit(self) -> bool:
        return self.score >= HIT_SCORE

    @property
    def office(self) -> str:
        """The office whose log holds a replica's ten-print ("" for the node's own)."""
        return self.origin.split("/", 1)[-1] if self.replica else ""

    @property
    def reference(self) -> str:
        """The record as an answer names it: a replica's with its office."""
        return f"{self.record_ref} @ {self.office}" if self.replica else self.record_ref


def content_type_of(image: bytes) -> str:
    """PNG or JPEG by the first bytes; InputError for anything else."""
    for magic, content_type in _MAGIC:
        if image.startswith(magic):
            return content_type
    raise InputError("a fingerprint image must be a PNG or JPEG image")


def minutiae_of_image(image: bytes) -> MinutiaeArray:
    """The minutiae of an uploaded image (decoded to grey); InputError if it is no image."""
    content_type_of(image)
    decoded = cv2.imdecode(np.frombuffer(image, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if decoded is None or decoded.size == 0:
        raise InputError("the fingerprint image cannot be decoded")
    return extract(np.asarray(decoded, dtype=np.uint8))


def probe_cylinders(probe: bytes) -> mcc.Cylinders:
    """A probe's cylinders: the probe is an image (PNG, JPEG) or an MCC1 template."""
    if probe.startswith(b"MCC1"):
        try:
            minutiae = mcc.decode_template(probe)
        except mcc.TemplateError as exc:
            raise InputError(str(exc)) from exc
    else:
        minutiae = minutiae_of_image(probe)
    if len(minutiae) < MIN_MINUTIAE:
        raise InputError(
            f"the print shows {len(minutiae)} minutiae: too few to search ({MIN_MINUTIAE} at least)"
        )
    return mcc.cylinders(minutiae)


def _impressions(
    images: Mapping[int, bytes], problems: Problems
) -> list[tuple[records_pb2.FingerprintImpression, bytes, bytes]]:
    made = []
    for finger, image in sorted(images.items()):
        name = FINGERS.get(finger, "the print")
        try:
            content_type = content_type_of(image)
            minutiae = minutiae_of_image(image)
        except InputError as exc:
            problems.add(f"{name}: {exc}")
            continue
        if len(minutiae) < MIN_MINUTIAE:
            problems.add(
                f"{name}: {len(minutiae)} minutiae found, too few ({MIN_MINUTIAE} at least)"
            )
            continue
        template = mcc.encode_template(minutiae)
        impression = records_pb2.FingerprintImpression(
            finger=finger,
            image=records_pb2.StoredBlob(content_type=content_type),
            template=records_pb2.StoredBlob(content_type=TEMPLATE_TYPE),
            minutiae=len(minutiae),
        )
        made.append((impression, image, template))
    return made


def _append(
    station: Station,
    officer_id: str,
    slip: records_pb2.FingerprintSlip,
    made: list[tuple[records_pb2.FingerprintImpression, bytes, bytes]],
    ref: str,
    problems: Problems,
) -> SlipReceipt:
    for impression, image, template in made:
        impression.image.sha256 = digest_of(image)
        impression.template.sha256 = digest_of(template)
        slip.impressions.append(impression)
    check_slip(slip, problems)
    if ref and station.index.lookups.record_index(ref) is None:
        problems.add(f"no record {ref} in this station's registers")
    problems.raise_if_any("fingerprint slip not kept")
    with station.writing():
        for impression, image, template in made:
            station.blobs.put(image, impression.image.content_type)
            station.blobs.put(template, TEMPLATE_TYPE)
        receipt = station.append_records(officer_id, [slip], ref=ref)
    return SlipReceipt(receipt, slip)


def enrol_ten_print(
    station: Station,
    officer_id: str,
    images: Mapping[int, bytes],
    *,
    person_id: str,
    record_ref: str,
    subject: str = "",
    note: str = "",
) -> SlipReceipt:
    """Keeps a person's ten-print slip (finger position -> image) and enrols its fingers in the
    gallery. InputError listing every problem: an image that is no PNG/JPEG or shows too few
    minutiae, a finger out of range, a record this station does not hold."""
    problems = Problems()
    made = _impressions(images, problems)
    withheld = views.protected_person(station, record_ref.strip(), person_id.strip())
    if withheld:  # a ten-print is searched across the network: it would disclose the person
        problems.add(f"the law withholds this person's identity ({withheld}): no slip is kept")
    slip = records_pb2.FingerprintSlip(
        ten_print=records_pb2.TenPrint(
            person_id=person_id.strip(), record_ref=record_ref.strip(), subject=subject.strip()
        ),
        matcher=MATCHER,
        note=note.strip(),
    )
    done = _append(station, officer_id, slip, made, record_ref.strip(), problems)
    found = gallery(station)  # built on first use: it may hold this slip already
    for row in impressions_of_slip(station.index.engine, done.receipt.index):
        _enrol_row(station, found, row)
    return done


def record_chance_print(
    station: Station,
    officer_id: str,
    image: bytes,
    *,
    case_ref: str,
    place: str,
    lifted_by: str = "",
    lifted_at_ms: int = 0,
    finger: int = 0,
    note: str = "",
) -> SlipReceipt:
    """Keeps a chance print lifted at a scene with its case (it is searched, not enrolled)."""
    problems = Problems()
    made = _impressions({finger: image}, problems)
    slip = records_pb2.FingerprintSlip(
        chance_print=records_pb2.ChancePrint(
            case_ref=case_ref.strip(),
            place=place.strip(),
            lifted_by=lifted_by.strip() or officer_id,
            lifted_at_ms=lifted_at_ms or station.clock(),
        ),
        matcher=MATCHER,
        note=note.strip(),
    )
    return _append(station, officer_id, slip, made, case_ref.strip(), problems)


def _key(ledger_index: int, position: int) -> str:
    return f"{ledger_index}:{position}"


def _replica_key(origin: str, ledger_index: int, position: int) -> str:
    # "@" never appears in an own key (two numbers), so the two cannot collide.
    return f"{origin}@{ledger_index}:{position}"


def _row_of(station: Station, key: str) -> ImpressionRow | None:
    index_text, _, position_text = key.partition(":")
    if not (index_text.isdigit() and position_text.isdigit()):
        return None
    rows = impressions_of_slip(station.index.engine, int(index_text))
    position = int(position_text)
    return rows[position] if position < len(rows) else None


def _enrol_row(station: Station, into: Gallery, row: ImpressionRow) -> bool:
    key = _key(row.ledger_index, row.position)
    if key in into:
        return False
    try:
        template = station.blobs.get(row.template_sha256)
    except BlobNotFound:
        return False
    into.add(key, mcc.cylinders(mcc.decode_template(template)))
    return True


def gallery(station: Station) -> Gallery:
    """The node's gallery of ten-print fingers, built on first use from the index and blobs
    (the replicas' fingers join it as their templates arrive: `enrol_replica_slip`)."""
    with _galleries_lock:
        found = _galleries.get(station)
        if found is not None:
            return found
        made = Gallery()
        _galleries[station] = made
        _replica_fingers[station] = {}
    for row in ten_print_impressions(station.index.engine):
        _enrol_row(station, made, row)
    return made


def enrol_replica_slip(
    station: Station,
    origin: str,
    ledger_index: int,
    slip: records_pb2.FingerprintSlip,
    template_sha256: str,
) -> int:
    """Enrols the fingers of a replicated ten-print whose template is `template_sha256`, now
    held in the node's blob store (checked against the verified entry's digest on arrival);
    returns how many joined the gallery. A chance print is not enrolled; a finger enrolled
    before (the blob follower tells again after a restart) is left as it is."""
    if slip.WhichOneof("slip") != "ten_print":
        return 0
    into = gallery(station)
    fingers = _replica_fingers[station]
    added = 0
    for position, impression in enumerate(slip.impressions):
        key = _replica_key(origin, ledger_index, position)
        if impression.template.sha256 != template_sha256 or key in into:
            continue
        try:
            minutiae = mcc.decode_template(station.blobs.get(template_sha256))
        except mcc.TemplateError as exc:
            raise InputError(f"the template of {origin} entry {ledger_index}: {exc}") from exc
        fingers[key] = FingerprintCandidate(
            ledger_index,
            impression.finger,
            slip.ten_print.person_id,
            slip.ten_print.record_ref,
            slip.ten_print.subject,
            0.0,
            origin=origin,
            replica=True,
        )
        into.add(key, mcc.cylinders(minutiae))
        added += 1
    return added


def replica_fingers(station: Station) -> list[FingerprintCandidate]:
    """The replicas' ten-print fingers in the node's gallery (as far as their templates have
    arrived), unscored; none before the gallery is first built."""
    with _galleries_lock:
        return list(_replica_fingers.get(station, {}).values())


def search(
    station: Station, probe: bytes, limit: int = 10, *, excluded: frozenset[str] = frozenset()
) -> list[FingerprintCandidate]:
    """The enrolled fingers most like the probe (an image or template), best first: the own
    log's and the replicas' but those of the `excluded` origins (quarantined logs). The caller
    audits the read."""
    cylinders = probe_cylinders(probe)
    found = gallery(station)
    fingers = _replica_fingers[station]
    # Asked for more when some logs are left out, so that `limit` remain where they can.
    wanted = limit + (limit if excluded else 0)
    out: list[FingerprintCandidate] = []
    for candidate in found.search(cylinders, limit=wanted):
        replica = fingers.get(candidate.key)
        if replica is not None:
            if replica.origin not in excluded:
                out.append(dataclasses.replace(replica, score=candidate.score))
            continue
        row = _row_of(station, candidate.key)
        if row is None:
            # Not a slip of this log (a template a benchmark or a test added): named by its key.
            out.append(FingerprintCandidate(-1, 0, candidate.key, "", "", candidate.score))
            continue
        out.append(
            FingerprintCandidate(
                row.ledger_index,
                row.finger,
                row.person_id,
                row.record_ref,
                row.subject,
                candidate.score,
                origin=station.config.origin,
            )
        )
    return out[:limit]


def hits(station: Station, probe: bytes, *, excluded: frozenset[str] = frozenset()) -> list[str]:
    """The records of the persons whose enrolled fingers match the probe (score at or above
    HIT_SCORE): references only (a replica's naming its office), for a hit/no-hit answer."""
    found = search(station, probe, limit=10, excluded=excluded)
    return list(dict.fromkeys(c.reference for c in found if c.hit))


def audited_search(
    station: Station, context: federation_pb2.QueryContext, probe: bytes, limit: int
) -> tuple[list[FingerprintCandidate], int]:
    """An officer's search of this node's gallery (the web page, `cctns fingerprint search`):
    the context checked first (officer, purpose, case), then the ranked fingers, then the audit
    entry naming the probe by its digest and the records returned (a replica's with its office).
    Returns the candidates and the audit entry's ledger index."""
    checked = check_context(context)
    found = [c for c in search(station, probe, limit) if c.ledger_index >= 0]
    refs = list(dict.fromkeys(c.reference for c in found))
    receipt = station_audit.append_probe_search_audit(station, checked, "fingerprint", probe, refs)
    return found, receipt.index
