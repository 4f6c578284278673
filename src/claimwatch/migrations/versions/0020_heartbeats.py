"""worker heartbeats per pass kind, stale episodes, ingested-event counts

Revision ID: 0020_heartbeats
Revises: 0019_reports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0020_heartbeats"
down_revision = "0019_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("worker_id", sa.String(length=200), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=True),
        sa.Column("first_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_ok_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_ok", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("passes", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("items", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_heartbeats")),
        sa.UniqueConstraint("kind", "worker_id", name=op.f("uq_worker_heartbeats_kind_worker_id")),
    )
    op.create_table(
        "worker_stale_episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("kinds", sa.String(length=300), nullable=False),
        sa.Column("open", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_stale_episodes")),
        sa.UniqueConstraint("open", name=op.f("uq_worker_stale_episodes_open")),
    )
    op.create_table(
        "ingest_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ingest_counts_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_counts")),
        sa.UniqueConstraint("tenant_id", "source", name=op.f("uq_ingest_counts_tenant_id_source")),
    )


def downgrade() -> None:
    op.drop_table("ingest_counts")
    op.drop_table("worker_stale_episodes")
    op.drop_table("worker_heartbeats")
