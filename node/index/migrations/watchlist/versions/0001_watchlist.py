"""A node's own watch lists: its officers' watches and the alerts the offices above sent.

Revision ID: watchlist_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "watchlist_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watches",
        sa.Column("watch_id", sa.String(80), primary_key=True),
        sa.Column("officer_id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(400), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("cancelled_ms", sa.BigInteger, nullable=False),  # 0 while it runs
        sa.Column("changed_ms", sa.BigInteger, nullable=False),
        sa.Column("sent_ms", sa.BigInteger, nullable=False),  # handed to the parent; 0: not yet
    )
    op.create_table(
        "alerts",
        sa.Column("watch_id", sa.String(80), primary_key=True),
        sa.Column("origin", sa.String(200), primary_key=True),
        sa.Column("idx", sa.BigInteger, primary_key=True),
        sa.Column("ref", sa.String(120), nullable=False),
        sa.Column("detail", sa.String(400), nullable=False),
        sa.Column("from_node", sa.String(200), nullable=False),
        sa.Column("found_at_ms", sa.BigInteger, nullable=False),
        sa.Column("received_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_alerts_received", "alerts", ["received_ms"])


def downgrade() -> None:
    raise NotImplementedError("watch lists are never dropped")
