"""The index's table of fingerprint impressions (`FingerprintSlip` entries: docs/fingerprints.md),
and its reads.

One row per impression of a slip: a ten-print's fingers, a chance print's one print.
`FingerprintsProjection` derives it from the log only, like every projection, so a rebuilt index
has the same rows. The images and templates are not here (node/station/blobs.py), nor is the
search gallery (node/station/fingerprints.py builds it from these rows and the templates).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from node.records import limits
from protos import ledger_pb2

_metadata = sa.MetaData()
_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

fingerprints_table = sa.Table(
    "fingerprint_impressions",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("slip", sa.String(16), nullable=False),  # "ten_print", "chance_print"
    sa.Column("finger", sa.Integer, nullable=False),
    sa.Column("person_id", sa.String(limits.IDENTIFIER), nullable=False, index=True),
    sa.Column("record_ref", sa.String(limits.REFERENCE), nullable=False, index=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("image_sha256", sa.String(64), nullable=False),
    sa.Column("template_sha256", sa.String(64), nullable=False),
    sa.Column("minutiae", sa.Integer, nullable=False),
    sa.Column("officer_id", sa.String(80), nullable=False),
)


@dataclass(frozen=True, slots=True)
class ImpressionRow:
    """One impression as the index holds it (a chance print's `record_ref` is its case)."""

    ledger_index: int
    position: int
    slip: str
    finger: int
    person_id: str
    record_ref: str
    subject: str
    image_sha256: str
    template_sha256: str
    minutiae: int


class FingerprintsProjection:
    """The fingerprint impressions table (see `node.index.record_index.Projection`)."""

    @property
    def metadata(self) -> sa.MetaData:
        return _metadata

    def project(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        if body.WhichOneof("record") != "fingerprint_slip":
            return
        slip = body.fingerprint_slip
        kind = slip.WhichOneof("slip") or ""
        if kind == "ten_print":
            person_id, record_ref = slip.ten_print.person_id, slip.ten_print.record_ref
            subject = slip.ten_print.subject
        else:
            person_id, record_ref, subject = "", slip.chance_print.case_ref, slip.chance_print.place
        for position, impression in enumerate(slip.impressions):
            conn.execute(
                fingerprints_table.insert().values(
                    ledger_index=index,
                    position=position,
                    slip=kind,
                    finger=impression.finger,
                    person_id=person_id,
                    record_ref=record_ref,
                    subject=subject,
                    image_sha256=impression.image.sha256,
                    template_sha256=impression.template.sha256,
                    minutiae=impression.minutiae,
                    officer_id=body.officer_id,
                )
            )


def _rows(engine: Engine, where: sa.ColumnElement[bool] | None = None) -> list[ImpressionRow]:
    t = fingerprints_table
    stmt = sa.select(
        t.c.ledger_index,
        t.c.position,
        t.c.slip,
        t.c.finger,
        t.c.person_id,
        t.c.record_ref,
        t.c.subject,
        t.c.image_sha256,
        t.c.template_sha256,
        t.c.minutiae,
    ).order_by(t.c.ledger_index, t.c.position)
    if where is not None:
        stmt = stmt.where(where)
    with engine.connect() as conn:
        return [ImpressionRow(**row._mapping) for row in conn.execute(stmt)]


def ten_print_impressions(engine: Engine) -> list[ImpressionRow]:
    """Every ten-print finger in the index, in ledger order (the search gallery's rebuild)."""
    return _rows(engine, fingerprints_table.c.slip == "ten_print")


def ten_prints_of_person(engine: Engine, person_id: str) -> list[ImpressionRow]:
    """The ten-print fingers kept of a person (by person id), oldest slip first."""
    t = fingerprints_table
    return _rows(engine, sa.and_(t.c.slip == "ten_print", t.c.person_id == person_id))


def impressions_of_slip(engine: Engine, ledger_index: int) -> list[ImpressionRow]:
    """The impressions of the slip at a ledger index, in their order."""
    return _rows(engine, fingerprints_table.c.ledger_index == ledger_index)


def slips_of_record(engine: Engine, record_ref: str) -> list[ImpressionRow]:
    """The impressions of the slips kept with a record (a ten-print's record, a chance print's
    case), oldest first."""
    return _rows(engine, fingerprints_table.c.record_ref == record_ref)
