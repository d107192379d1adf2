"""When each office's log was last indexed: the statistics say how fresh each office's part is.

Revision ID: aggregate_0002
Revises: aggregate_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "aggregate_0002"
down_revision = "aggregate_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0 for the offices indexed before this revision: not known yet, set by the next ingest.
    with op.batch_alter_table("agg_origins") as batch:
        batch.add_column(
            sa.Column("indexed_at_ms", sa.BigInteger, nullable=False, server_default="0")
        )


def downgrade() -> None:
    raise NotImplementedError("the bookkeeping is never dropped")
