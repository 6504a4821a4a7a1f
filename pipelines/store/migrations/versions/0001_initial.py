"""Cameras and events.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("source", sa.Text()),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("worker_pid", sa.Integer()),
        sa.Column("fps", sa.Float()),
        sa.Column("width", sa.Integer()),
        sa.Column("height", sa.Integer()),
        sa.Column("frames", sa.BigInteger(), nullable=False),
        sa.Column("dropped_frames", sa.BigInteger(), nullable=False),
        sa.Column("reconnects", sa.Integer(), nullable=False),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("lag_s", sa.Float()),
        sa.Column("max_lag_s", sa.Float()),
        sa.Column("last_frame_utc", sa.DateTime(timezone=True)),
        sa.Column("updated_utc", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text()),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("camera_id", sa.String(128), sa.ForeignKey("cameras.id"), nullable=False),
        sa.Column("start_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stream_epoch_utc", sa.DateTime(timezone=True)),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("time_source", sa.String(32), nullable=False),
        sa.Column("floor", sa.Integer()),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("trajectory", sa.JSON(), nullable=False),
        sa.Column("origin", sa.JSON(), nullable=False),
        sa.Column("evidence_dir", sa.Text()),
        sa.Column("evidence_bytes", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("created_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_utc", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_events_camera_id", "events", ["camera_id"])
    op.create_index("ix_events_start_utc", "events", ["start_utc"])


def downgrade() -> None:
    op.drop_index("ix_events_start_utc", "events")
    op.drop_index("ix_events_camera_id", "events")
    op.drop_table("events")
    op.drop_table("cameras")
