"""The index's table of photos (`Photo` entries: docs/photos.md), and its reads.

`PhotosProjection` derives it from the log only, like every projection, so a rebuilt index has
the same rows. The images are not here (node/station/blobs.py); nor are face embeddings
(node/index/faces.py, rebuilt from these rows and the blobs).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from node.records import limits
from protos import ledger_pb2

_metadata = sa.MetaData()
_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

photos_table = sa.Table(
    "photos",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("purpose", sa.String(limits.CODE), nullable=False),
    sa.Column("record_ref", sa.String(limits.REFERENCE), nullable=False, index=True),
    sa.Column("person_id", sa.String(limits.IDENTIFIER), nullable=False, index=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("content_type", sa.String(limits.CODE), nullable=False),
    sa.Column("byte_size", sa.BigInteger, nullable=False),
    sa.Column("taken_at_ms", sa.BigInteger, nullable=False),
    sa.Column("taken_by", sa.String(80), nullable=False),
    sa.Column("officer_id", sa.String(80), nullable=False),
)


@dataclass(frozen=True, slots=True)
class PhotoRow:
    """One photo as the index holds it."""

    ledger_index: int
    purpose: str
    record_ref: str
    person_id: str
    subject: str
    sha256: str
    content_type: str
    byte_size: int
    taken_at_ms: int
    taken_by: str


class PhotosProjection:
    """The photos table (see `node.index.record_index.Projection`)."""

    @property
    def metadata(self) -> sa.MetaData:
        return _metadata

    def project(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        if body.WhichOneof("record") != "photo":
            return
        photo = body.photo
        conn.execute(
            photos_table.insert().values(
                ledger_index=index,
                purpose=photo.purpose,
                record_ref=photo.record_ref,
                person_id=photo.person_id,
                subject=photo.subject,
                sha256=photo.sha256,
                content_type=photo.content_type,
                byte_size=photo.byte_size,
                taken_at_ms=photo.taken_at_ms,
                taken_by=photo.taken_by,
                officer_id=body.officer_id,
            )
        )


def _rows(engine: Engine, where: sa.ColumnElement[bool] | None = None) -> list[PhotoRow]:
    t = photos_table
    stmt = sa.select(
        t.c.ledger_index,
        t.c.purpose,
        t.c.record_ref,
        t.c.person_id,
        t.c.subject,
        t.c.sha256,
        t.c.content_type,
        t.c.byte_size,
        t.c.taken_at_ms,
        t.c.taken_by,
    ).order_by(t.c.ledger_index)
    if where is not None:
        stmt = stmt.where(where)
    with engine.connect() as conn:
        return [PhotoRow(**row._mapping) for row in conn.execute(stmt)]


def photos_of_record(engine: Engine, record_ref: str) -> list[PhotoRow]:
    """The photos kept with a record, oldest first."""
    return _rows(engine, photos_table.c.record_ref == record_ref)


def photos_of_person(engine: Engine, person_id: str) -> list[PhotoRow]:
    """The photos of a person (by person id), oldest first."""
    return _rows(engine, photos_table.c.person_id == person_id)


def photo_at(engine: Engine, ledger_index: int) -> PhotoRow | None:
    """The photo entry at a ledger index, if it is one."""
    found = _rows(engine, photos_table.c.ledger_index == ledger_index)
    return found[0] if found else None


def all_photos(engine: Engine) -> list[PhotoRow]:
    """Every photo in the index, in ledger order (a face index's rebuild)."""
    return _rows(engine)
