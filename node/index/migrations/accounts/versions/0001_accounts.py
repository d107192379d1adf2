"""The officer accounts as first made: officers, sessions, login events.

Revision ID: accounts_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "accounts_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "officers",
        sa.Column("officer_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("station_node_id", sa.String(200), nullable=False),
        sa.Column("jurisdiction", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("totp_secret", sa.String(64), nullable=False),
        sa.Column("totp_confirmed", sa.Boolean, nullable=False),
        sa.Column("totp_last_step", sa.BigInteger, nullable=False),
        sa.Column("failed_attempts", sa.Integer, nullable=False),
        sa.Column("locked_until_ms", sa.BigInteger, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("officer_id", sa.String(64), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("second_factor_done", sa.Boolean, nullable=False),
    )
    op.create_index("ix_sessions_officer_id", "sessions", ["officer_id"])
    op.create_table(
        "login_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("officer_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(400), nullable=False),
    )
    op.create_index("ix_login_events_officer_id", "login_events", ["officer_id"])


def downgrade() -> None:
    raise NotImplementedError("accounts are never dropped")
