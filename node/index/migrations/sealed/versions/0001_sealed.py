"""The sealed identities as first made.

Revision ID: sealed_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "sealed_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sealed",
        sa.Column("commitment", sa.LargeBinary, primary_key=True),
        sa.Column("salt", sa.LargeBinary, nullable=False),
        sa.Column("identity", sa.LargeBinary, nullable=False),
        sa.Column("record_ref", sa.Text, nullable=False),
        sa.Column("person_id", sa.Text, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("sealed identities are never dropped")
