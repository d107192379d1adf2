"""An aggregating node's bookkeeping as first made: the numbers of states and offices, and how
much of each office's log is indexed.

Revision ID: aggregate_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "aggregate_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agg_states",
        sa.Column("state", sa.String(64), primary_key=True),
        sa.Column("state_no", sa.Integer, nullable=False, unique=True),
    )
    op.create_table(
        "agg_origins",
        sa.Column("origin", sa.String(200), primary_key=True),
        sa.Column("origin_no", sa.BigInteger, nullable=False, unique=True),
        sa.Column("state", sa.String(64), sa.ForeignKey("agg_states.state"), nullable=False),
        sa.Column("indexed_size", sa.BigInteger, nullable=False),
        sa.Column("registered_at_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("the bookkeeping is never dropped")
