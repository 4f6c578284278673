"""providers (第三方机构): the register, contracts and their service levels, tasks with their clocks, events and
disputes, scorecard flags; api_keys.provider_id (a provider's own key), complaints.provider_id

Revision ID: 0026_providers
Revises: 0025_legal_notices
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0026_providers"
down_revision = "0025_legal_notices"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("licence_number", sa.String(length=64), nullable=True),
        sa.Column("licence_expires_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_changed_at", UTCDateTime(), nullable=True),
        sa.Column("status_changed_by", sa.String(length=100), nullable=True),
        sa.Column("contact_name_enc", sa.Text(), nullable=True),
        sa.Column("contact_phone_enc", sa.Text(), nullable=True),
        sa.Column("contact_email_enc", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_providers_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_providers_tenant_id_code")),
    )
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.create_index("ix_providers_credit_code", ["credit_code"], unique=False)
        batch_op.create_index("ix_providers_tenant_kind_status", ["tenant_id", "kind", "status"], unique=False)

    op.create_table(
        "provider_contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("fee_schedule_ref", sa.String(length=100), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_provider_contracts_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_provider_contracts_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_contracts")),
        sa.UniqueConstraint("tenant_id", "reference", name=op.f("uq_provider_contracts_tenant_id_reference")),
    )
    with op.batch_alter_table("provider_contracts", schema=None) as batch_op:
        batch_op.create_index("ix_provider_contracts_provider", ["tenant_id", "provider_id", "starts_on"], unique=False)

    op.create_table(
        "provider_flags",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("flagged_at", UTCDateTime(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=100), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_provider_flags_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_provider_flags_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_flags")),
        sa.UniqueConstraint(
            "tenant_id", "provider_id", "period", name=op.f("uq_provider_flags_tenant_id_provider_id_period")
        ),
    )
    op.create_table(
        "provider_contract_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("task_kind", sa.String(length=32), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["provider_contracts.id"],
            name=op.f("fk_provider_contract_levels_contract_id_provider_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_provider_contract_levels_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_contract_levels")),
        sa.UniqueConstraint("contract_id", "task_kind", name=op.f("uq_provider_contract_levels_contract_id_task_kind")),
    )
    op.create_table(
        "provider_tasks",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("claim_id", BIG_ID, nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("line", sa.String(length=32), nullable=True),
        sa.Column("handler_user_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("sent_by", sa.String(length=100), nullable=False),
        sa.Column("sent_by_rule", sa.String(length=64), nullable=True),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("standard_documents", sa.Boolean(), nullable=False),
        sa.Column("level_days", sa.Integer(), nullable=False),
        sa.Column("level_unit", sa.String(length=16), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("accepted_at", UTCDateTime(), nullable=True),
        sa.Column("declined_at", UTCDateTime(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("reported_at", UTCDateTime(), nullable=True),
        sa.Column("amount_assessed", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("conclusion", sa.Text(), nullable=True),
        sa.Column("report_fields", sa.JSON(), nullable=False),
        sa.Column("report_filename", sa.String(length=255), nullable=True),
        sa.Column("report_sha256", sa.String(length=64), nullable=True),
        sa.Column("report_storage_key", sa.String(length=255), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("standard", sa.Boolean(), nullable=True),
        sa.Column("standard_reasons", sa.JSON(), nullable=False),
        sa.Column("reminded_at", UTCDateTime(), nullable=True),
        sa.Column("escalated_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_provider_tasks_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["provider_contracts.id"], name=op.f("fk_provider_tasks_contract_id_provider_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["handler_user_id"], ["users.id"], name=op.f("fk_provider_tasks_handler_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_provider_tasks_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_provider_tasks_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_tasks")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_provider_tasks_tenant_id_number")),
    )
    with op.batch_alter_table("provider_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_provider_tasks_claim", ["tenant_id", "claim_id"], unique=False)
        batch_op.create_index(
            "ix_provider_tasks_open_due",
            ["tenant_id", "due_at"],
            unique=False,
            sqlite_where=sa.text("status IN ('sent', 'accepted')"),
            postgresql_where=sa.text("status IN ('sent', 'accepted')"),
        )
        batch_op.create_index("ix_provider_tasks_provider_sent", ["tenant_id", "provider_id", "sent_at"], unique=False)

    op.create_table(
        "provider_task_clocks",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("task_id", BIG_ID, nullable=False),
        sa.Column("policy_code", sa.String(length=48), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("reminded_at", UTCDateTime(), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("yellow_budget", sa.Float(), nullable=False),
        sa.Column("red_budget", sa.Float(), nullable=False),
        sa.Column("extended", sa.Float(), nullable=False),
        sa.Column("consumed", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("light", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("anchor_at", UTCDateTime(), nullable=False),
        sa.Column("running_since", UTCDateTime(), nullable=True),
        sa.Column("paused_since", UTCDateTime(), nullable=True),
        sa.Column("suspended_since", UTCDateTime(), nullable=True),
        sa.Column("stopped_at", UTCDateTime(), nullable=True),
        sa.Column("yellow_due_at", UTCDateTime(), nullable=True),
        sa.Column("red_due_at", UTCDateTime(), nullable=True),
        sa.Column("breached_at", UTCDateTime(), nullable=True),
        sa.Column("missed_by", sa.Float(), nullable=True),
        sa.Column("calendar_gap", sa.Integer(), nullable=True),
        sa.Column("next_check_at", UTCDateTime(), nullable=True),
        sa.Column("escalated", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["provider_tasks.id"], name=op.f("fk_provider_task_clocks_task_id_provider_tasks")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_provider_task_clocks_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_task_clocks")),
        sa.UniqueConstraint(
            "tenant_id",
            "task_id",
            "policy_code",
            "cycle",
            name=op.f("uq_provider_task_clocks_tenant_id_task_id_policy_code_cycle"),
        ),
    )
    with op.batch_alter_table("provider_task_clocks", schema=None) as batch_op:
        batch_op.create_index("ix_provider_task_clocks_tenant_next_check", ["tenant_id", "next_check_at"], unique=False)

    op.create_table(
        "provider_task_disputes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("task_id", BIG_ID, nullable=False),
        sa.Column("raised_by_kind", sa.String(length=16), nullable=False),
        sa.Column("raised_by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["provider_tasks.id"], name=op.f("fk_provider_task_disputes_task_id_provider_tasks")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_provider_task_disputes_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_task_disputes")),
    )
    with op.batch_alter_table("provider_task_disputes", schema=None) as batch_op:
        batch_op.create_index("ix_provider_task_disputes_task", ["tenant_id", "task_id"], unique=False)

    op.create_table(
        "provider_task_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("task_id", BIG_ID, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["provider_tasks.id"], name=op.f("fk_provider_task_events_task_id_provider_tasks")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_provider_task_events_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_task_events")),
    )
    with op.batch_alter_table("provider_task_events", schema=None) as batch_op:
        batch_op.create_index("ix_provider_task_events_task", ["tenant_id", "task_id", "at"], unique=False)

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_id", sa.Integer(), nullable=True))

    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("provider_id")

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("provider_id")

    with op.batch_alter_table("provider_task_events", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_task_events_task")

    op.drop_table("provider_task_events")
    with op.batch_alter_table("provider_task_disputes", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_task_disputes_task")

    op.drop_table("provider_task_disputes")
    with op.batch_alter_table("provider_task_clocks", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_task_clocks_tenant_next_check")

    op.drop_table("provider_task_clocks")
    with op.batch_alter_table("provider_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_tasks_provider_sent")
        batch_op.drop_index(
            "ix_provider_tasks_open_due",
            sqlite_where=sa.text("status IN ('sent', 'accepted')"),
            postgresql_where=sa.text("status IN ('sent', 'accepted')"),
        )
        batch_op.drop_index("ix_provider_tasks_claim")

    op.drop_table("provider_tasks")
    op.drop_table("provider_contract_levels")
    op.drop_table("provider_flags")
    with op.batch_alter_table("provider_contracts", schema=None) as batch_op:
        batch_op.drop_index("ix_provider_contracts_provider")

    op.drop_table("provider_contracts")
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_index("ix_providers_tenant_kind_status")
        batch_op.drop_index("ix_providers_credit_code")

    op.drop_table("providers")
