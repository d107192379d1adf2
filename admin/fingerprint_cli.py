"""`cctns fingerprint ...`: fingerprint slips from the command line (docs/fingerprints.md), the
same commands as the web page /fingerprints (node/station/fingerprints.py does the work).

    cctns fingerprint enrol --person P-1-2 --record "FIR No. 12/2026" --officer ID \\
        --finger 1=right-thumb.png --finger 2=right-index.png ...   (or --dir DIR: 1.png ... 10.png)
    cctns fingerprint chance lifted.png --case "FIR No. 12/2026" --place "the rear door" \\
        --officer ID [--finger N] [--lifted-by ID]
    cctns fingerprint search print.png --case "FIR No. 12/2026" --officer ID [--limit 10]
        [--purpose investigation] [--json]    ranked candidates, HIT at or above the hit score
    cctns fingerprint slips "FIR No. 12/2026" [--json]   the slips kept with a record

An image is a PNG or JPEG file; a search probe may also be an MCC1 template. Every search is an
audited read, as on the web: an entry "search:fingerprint" naming the probe by its SHA-256, the
officer, the case, the purpose and the records returned. A hit is a lead for a fingerprint
expert to confirm, never an identification by itself.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from admin.common import command, emit, officer_option, open_station, subcommands
from ledger.errors import InputError, TooLarge, UsageError
from node.index.fingerprints import slips_of_record
from node.records import limits
from node.records.fingerprints.slips import FINGERS
from node.station import fingerprints
from protos import federation_pb2

# A file of a ten-print directory: the finger's number, then the image's extension.
_FINGER_FILE = re.compile(r"^(\d{1,2})\.(png|jpe?g)$", re.IGNORECASE)


def _read(name: str, most: int, what: str) -> bytes:
    """A file's bytes, refused (InputError, TooLarge) when it is missing, empty or over `most`
    bytes (read no further)."""
    path = Path(name)
    try:
        with path.open("rb") as stream:
            data = stream.read(most + 1)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: a directory, not {what}") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot be read: {exc.strerror or exc}") from exc
    if not data:
        raise InputError(f"{name}: the file is empty")
    if len(data) > most:
        raise TooLarge(f"{name}: larger than {most:,} bytes, the most {what} may be")
    return data


def _finger(text: str) -> int:
    """A NIST finger position, 1 (right thumb) to 10 (left little)."""
    if not text.isdigit() or int(text) not in FINGERS:
        raise InputError(f"finger {text!r}: a finger is a number from 1 (right thumb) to 10")
    return int(text)


def _ten_print_files(args: argparse.Namespace) -> dict[int, str]:
    """Finger -> file, from each --finger N=PATH and the --dir's files named by finger."""
    files: dict[int, str] = {}

    def add(finger: int, name: str) -> None:
        if finger in files:
            raise InputError(f"finger {finger} ({FINGERS[finger]}) is given twice")
        files[finger] = name

    for given in args.finger or []:
        number, sep, name = given.partition("=")
        if not sep or not name:
            raise UsageError(f"--finger {given!r}: write N=FILE, e.g. --finger 2=right-index.png")
        add(_finger(number.strip()), name)
    if args.dir:
        folder = Path(args.dir)
        if not folder.is_dir():
            raise InputError(f"{args.dir}: no such directory")
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue
            named = _FINGER_FILE.match(path.name)
            if named is None:
                raise InputError(
                    f"{path}: a ten-print directory holds one image per finger, named by its "
                    "number (1.png for the right thumb ... 10.png for the left little)"
                )
            add(_finger(named.group(1)), str(path))
    if not files:
        raise UsageError("give the fingers' images: --finger N=FILE (repeated), or --dir DIR")
    return files


def _kept(kept: fingerprints.SlipReceipt) -> dict[str, Any]:
    return {
        "index": kept.receipt.index,
        "fingers": [
            {
                "finger": impression.finger,
                "minutiae": impression.minutiae,
                "image_sha256": impression.image.sha256,
            }
            for impression in kept.slip.impressions
        ],
    }


def cmd_enrol(args: argparse.Namespace) -> int:
    images = {
        finger: _read(name, limits.BLOB_BYTES, "a fingerprint image")
        for finger, name in _ten_print_files(args).items()
    }
    with open_station(args.data_dir) as station:
        kept = fingerprints.enrol_ten_print(
            station,
            args.officer,
            images,
            person_id=args.person,
            record_ref=args.record,
            subject=args.subject,
            note=args.note,
        )
    emit({"record": args.record.strip(), "person": args.person.strip(), **_kept(kept)})
    return 0


def cmd_chance(args: argparse.Namespace) -> int:
    image = _read(args.image, limits.BLOB_BYTES, "a fingerprint image")
    finger = _finger(args.finger) if args.finger else 0
    with open_station(args.data_dir) as station:
        kept = fingerprints.record_chance_print(
            station,
            args.officer,
            image,
            case_ref=args.case,
            place=args.place,
            lifted_by=args.lifted_by,
            finger=finger,
            note=args.note,
        )
    emit({"case": args.case.strip(), **_kept(kept)})
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError("--limit is at least 1")
    probe = _read(args.probe, limits.PROBE_BYTES, "a search probe")
    context = federation_pb2.QueryContext(
        officer_id=args.officer, purpose=args.purpose, case_ref=args.case
    )
    with open_station(args.data_dir) as station:
        found, audited = fingerprints.audited_search(station, context, probe, args.limit)
    if args.json:
        emit(
            {
                "audit_index": audited,
                "hit_score": fingerprints.HIT_SCORE,
                "candidates": [
                    {
                        "rank": rank,
                        "score": round(c.score, 4),
                        "hit": c.hit,
                        "finger": c.finger,
                        "person": c.person_id,
                        "record": c.reference,
                        "subject": c.subject,
                        "ledger_index": c.ledger_index,
                    }
                    for rank, c in enumerate(found, 1)
                ],
            }
        )
        return 0
    if found:
        print(f"{'#':>2}  score  {'finger':<16}  {'person':<12}  record  name")
    else:
        print("no enrolled finger resembles the print")
    for rank, c in enumerate(found, 1):
        finger = f"{c.finger} {FINGERS.get(c.finger, '')}".strip()
        hit = "  HIT" if c.hit else ""
        print(
            f"{rank:>2}  {c.score:.3f}  {finger:<16}  {c.person_id:<12}  {c.reference}"
            f"  {c.subject}{hit}".rstrip()
        )
    hits = sum(c.hit for c in found)
    print(
        f"{hits} hit{'s' if hits != 1 else ''} (score {fingerprints.HIT_SCORE} or more: a lead for "
        f"an expert to confirm); the search is audited at entry {audited}"
    )
    return 0


def cmd_slips(args: argparse.Namespace) -> int:
    ref = args.ref.strip()
    with open_station(args.data_dir) as station:
        rows = slips_of_record(station.index.engine, ref)
    if args.json:
        emit(
            [
                {
                    "index": row.ledger_index,
                    "slip": row.slip,
                    "finger": row.finger,
                    "person": row.person_id,
                    "subject": row.subject,
                    "minutiae": row.minutiae,
                    "image_sha256": row.image_sha256,
                    "template_sha256": row.template_sha256,
                }
                for row in rows
            ]
        )
        return 0
    if not rows:
        print(f"no fingerprint slip is kept with {ref}")
    for row in rows:
        kind = "ten-print" if row.slip == "ten_print" else "chance print"
        finger = f"{row.finger} {FINGERS.get(row.finger, 'unknown finger')}"
        who = row.person_id or row.subject  # a chance print's "subject" is where it was lifted
        print(
            f"entry {row.ledger_index}  {kind:<12}  {finger:<16}  {who:<20}  "
            f"{row.minutiae:>3} minutiae  {row.image_sha256}"
        )
    return 0


def register(groups: Any) -> None:
    """Adds the `fingerprint` command group."""
    group = subcommands(
        groups, "fingerprint", "fingerprint slips: enrol, chance prints, search", __doc__
    )
    sub = command(group, "enrol", cmd_enrol, "keep a person's ten-print slip and enrol it")
    sub.add_argument("--person", required=True, help="the person's id in the record")
    sub.add_argument("--record", required=True, help='the record naming them ("FIR No. ...")')
    sub.add_argument(
        "--finger",
        action="append",
        metavar="N=FILE",
        help="one finger's image (1 right thumb ... 10 left little); repeat per finger",
    )
    sub.add_argument("--dir", help="a directory of images named by finger: 1.png ... 10.png")
    sub.add_argument("--subject", default="", help="the person's name as on the slip")
    sub.add_argument("--note", default="")
    officer_option(sub, "who takes the slip")
    sub = command(group, "chance", cmd_chance, "keep a chance print lifted at a scene")
    sub.add_argument("image", help="the print's image (PNG or JPEG)")
    sub.add_argument("--case", required=True, help='the case ("FIR No. ...")')
    sub.add_argument("--place", required=True, help="where it was lifted")
    sub.add_argument("--lifted-by", default="", help="who lifted it (default: the officer)")
    sub.add_argument("--finger", default="", help="the finger, when known (1 to 10)")
    sub.add_argument("--note", default="")
    officer_option(sub, "who records it")
    sub = command(group, "search", cmd_search, "the enrolled fingers most like a print (audited)")
    sub.add_argument("probe", help="the print's image (PNG or JPEG) or an MCC1 template")
    sub.add_argument("--case", required=True, help="the case the search is for (audited)")
    sub.add_argument("--purpose", default="investigation", help="why (audited)")
    sub.add_argument("--limit", type=int, default=10, help="candidates shown (default 10)")
    sub.add_argument("--json", action="store_true")
    officer_option(sub, "who searches (audited)")
    sub = command(group, "slips", cmd_slips, "the slips kept with a record")
    sub.add_argument("ref", help='the record or case ("FIR No. ...")')
    sub.add_argument("--json", action="store_true")


__all__ = ["register"]
