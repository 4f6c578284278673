"""quality committee: meetings, agenda items, decisions

Revision ID: 0018_committee
Revises: 0017_actions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0018_committee"
down_revision = "0017_actions"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="RESTRICT"
    )


def upgrade() -> None:
    op.create_table(
        "committee_meetings",
        sa.Column("id", _ID, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("chair", sa.String(length=100), nullable=True),
        sa.Column("attendees", sa.Text(), nullable=True),
        sa.Column("kpi_period", sa.String(length=8), nullable=True),
        sa.Column("generated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("generated_by", sa.String(length=100), nullable=False),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _tenant("committee_meetings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committee_meetings")),
        sa.UniqueConstraint("tenant_id", "month", name=op.f("uq_committee_meetings_tenant_id_month")),
    )
    op.create_table(
        "committee_items",
        sa.Column("id", _ID, nullable=False),
        sa.Column("meeting_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=True),
        sa.Column("source_ref", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("added_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["committee_meetings.id"], name=op.f("fk_committee_items_meeting_id_committee_meetings")
        ),
        _tenant("committee_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committee_items")),
        sa.UniqueConstraint(
            "tenant_id",
            "meeting_id",
            "kind",
            "source_ref",
            name=op.f("uq_committee_items_tenant_id_meeting_id_kind_source_ref"),
        ),
    )
    op.create_index(
        "ix_committee_items_meeting", "committee_items", ["tenant_id", "meeting_id", "position"], unique=False
    )
    op.create_table(
        "committee_decisions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("item_id", _ID, nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("action_id", sa.BigInteger(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["committee_items.id"], name=op.f("fk_committee_decisions_item_id_committee_items")
        ),
        _tenant("committee_decisions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committee_decisions")),
        sa.UniqueConstraint("tenant_id", "item_id", name=op.f("uq_committee_decisions_tenant_id_item_id")),
    )


def downgrade() -> None:
    op.drop_table("committee_decisions")
    op.drop_index("ix_committee_items_meeting", table_name="committee_items")
    op.drop_table("committee_items")
    op.drop_table("committee_meetings")
