"""API tokens (hashed) and the audit log of the web service.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_utc", sa.DateTime(timezone=True)),
        sa.Column("last_used_utc", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("time_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token_id", sa.Integer()),
        sa.Column("token_name", sa.String(128)),
        sa.Column("role", sa.String(16)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(200)),
        sa.Column("item", sa.Text()),
        sa.Column("sha256", sa.String(64)),
        sa.Column("bytes", sa.BigInteger()),
        sa.Column("client", sa.String(128)),
        sa.Column("detail", sa.Text()),
    )
    op.create_index("ix_audit_log_time_utc", "audit_log", ["time_utc"])
    op.create_index("ix_audit_log_event_id", "audit_log", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_event_id", "audit_log")
    op.drop_index("ix_audit_log_time_utc", "audit_log")
    op.drop_table("audit_log")
    op.drop_table("api_tokens")
