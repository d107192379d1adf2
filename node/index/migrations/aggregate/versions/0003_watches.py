"""Watch lists held for the offices below (docs/watch.md): the watches handed up, and the records
found for them, until each is delivered to the watcher's node.

Revision ID: aggregate_0003
Revises: aggregate_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "aggregate_0003"
down_revision = "aggregate_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watches",
        sa.Column("watcher", sa.String(200), primary_key=True),  # the watcher's node id
        sa.Column("watch_id", sa.String(80), primary_key=True),
        sa.Column("officer_id", sa.String(80), nullable=False),  # "" for a standing watch
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(400), nullable=False),
        sa.Column("match_key", sa.String(400), nullable=False),
        # A standing watch (a stolen vehicle, a missing person) comes from a record: its key.
        sa.Column("source_key", sa.BigInteger, nullable=False),
        sa.Column("cancelled", sa.Boolean, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_watches_key", "watches", ["kind", "match_key"])
    op.create_table(
        "watch_hits",
        sa.Column("watcher", sa.String(200), primary_key=True),
        sa.Column("watch_id", sa.String(80), primary_key=True),
        sa.Column("row_key", sa.BigInteger, primary_key=True),  # the record's aggregate key
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("idx", sa.BigInteger, nullable=False),
        sa.Column("ref", sa.String(120), nullable=False),
        sa.Column("detail", sa.String(400), nullable=False),
        sa.Column("found_ms", sa.BigInteger, nullable=False),
        sa.Column("delivered_ms", sa.BigInteger, nullable=False),  # 0 until delivered
    )
    op.create_index("ix_watch_hits_pending", "watch_hits", ["delivered_ms", "watcher"])


def downgrade() -> None:
    raise NotImplementedError("watch lists are never dropped")
