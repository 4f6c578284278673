"""improvement actions (PDCA): actions, steps, clocks

Revision ID: 0017_actions
Revises: 0016_sanctions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0017_actions"
down_revision = "0016_sanctions"
branch_labels = None
depends_on = None

_OPEN = "state <> 'stopped'"


def upgrade() -> None:
    op.create_table(
        "improvement_actions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("source_kind", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=True),
        sa.Column("source_ref", sa.String(length=100), nullable=True),
        sa.Column("source_label", sa.String(length=300), nullable=False),
        sa.Column("source_url", sa.String(length=300), nullable=True),
        sa.Column("kpi_code", sa.String(length=48), nullable=True),
        sa.Column("scope_org_unit_id", sa.Integer(), nullable=True),
        sa.Column("scope_region", sa.String(length=12), nullable=True),
        sa.Column("scope_line", sa.String(length=32), nullable=True),
        sa.Column("owner_user_id", sa.Integer(), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("rca_method", sa.String(length=16), nullable=True),
        sa.Column("rca", sa.JSON(), nullable=True),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("previous_action_id", sa.BigInteger(), nullable=True),
        sa.Column("done_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("check_verdict", sa.String(length=16), nullable=True),
        sa.Column("check_result", sa.JSON(), nullable=True),
        sa.Column("checked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("standard_refs", sa.JSON(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("completed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_improvement_actions_owner_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["scope_org_unit_id"], ["org_units.id"], name=op.f("fk_improvement_actions_scope_org_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_improvement_actions_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_actions")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_improvement_actions_tenant_id_number")),
    )
    op.create_index(
        "ix_improvement_actions_tenant_phase", "improvement_actions", ["tenant_id", "phase", "due_at"], unique=False
    )
    op.create_index(
        "ix_improvement_actions_tenant_owner",
        "improvement_actions",
        ["tenant_id", "owner_user_id", "phase"],
        unique=False,
    )
    op.create_index(
        "ix_improvement_actions_tenant_source",
        "improvement_actions",
        ["tenant_id", "source_kind", "source_id"],
        unique=False,
    )
    op.create_table(
        "action_steps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("action_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["improvement_actions.id"], name=op.f("fk_action_steps_action_id_improvement_actions")
        ),
        sa.ForeignKeyConstraint(["owner_user_id"], ["users.id"], name=op.f("fk_action_steps_owner_user_id_users")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_action_steps_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_steps")),
    )
    op.create_index("ix_action_steps_action", "action_steps", ["action_id", "position"], unique=False)
    op.create_index(
        "ix_action_steps_tenant_owner", "action_steps", ["tenant_id", "owner_user_id", "done_at"], unique=False
    )
    op.create_table(
        "action_clocks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("action_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("step_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("policy_code", sa.String(length=48), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("remind_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("yellow_budget", sa.Float(), nullable=False),
        sa.Column("red_budget", sa.Float(), nullable=False),
        sa.Column("extended", sa.Float(), nullable=False),
        sa.Column("consumed", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("light", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("anchor_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("running_since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("suspended_since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("yellow_due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("red_due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("breached_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("missed_by", sa.Float(), nullable=True),
        sa.Column("calendar_gap", sa.Integer(), nullable=True),
        sa.Column("next_check_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["improvement_actions.id"], name=op.f("fk_action_clocks_action_id_improvement_actions")
        ),
        sa.ForeignKeyConstraint(["step_id"], ["action_steps.id"], name=op.f("fk_action_clocks_step_id_action_steps")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_action_clocks_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_clocks")),
    )
    op.create_index("ix_action_clocks_action", "action_clocks", ["action_id", "step_id"], unique=False)
    op.create_index("ix_action_clocks_tenant_next_check", "action_clocks", ["tenant_id", "next_check_at"], unique=False)
    op.create_index(
        "ix_action_clocks_open_due",
        "action_clocks",
        ["tenant_id", "yellow_due_at"],
        unique=False,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_action_clocks_open_due",
        table_name="action_clocks",
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    op.drop_index("ix_action_clocks_tenant_next_check", table_name="action_clocks")
    op.drop_index("ix_action_clocks_action", table_name="action_clocks")
    op.drop_table("action_clocks")
    op.drop_index("ix_action_steps_tenant_owner", table_name="action_steps")
    op.drop_index("ix_action_steps_action", table_name="action_steps")
    op.drop_table("action_steps")
    op.drop_index("ix_improvement_actions_tenant_source", table_name="improvement_actions")
    op.drop_index("ix_improvement_actions_tenant_owner", table_name="improvement_actions")
    op.drop_index("ix_improvement_actions_tenant_phase", table_name="improvement_actions")
    op.drop_table("improvement_actions")
