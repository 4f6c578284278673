"""Complaints (with their clocks and history), tenant volumes, satisfaction surveys; outbox messages
about a complaint with no claim.

Revision ID: 0007_complaints_surveys
Revises: 0006_kpi_alerts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_complaints_surveys"
down_revision = "0006_kpi_alerts"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tenant_volumes",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("policies_in_force", sa.BigInteger(), nullable=True),
        sa.Column("premium_fen", sa.BigInteger(), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_tenant_volumes_org_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_volumes_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_volumes")),
        sa.UniqueConstraint(
            "tenant_id", "period", "org_unit_id", name=op.f("uq_tenant_volumes_tenant_id_period_org_unit_id")
        ),
    )
    op.create_table(
        "complaints",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("external_ref", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_id", _BIG_ID, nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("line", sa.String(length=32), nullable=True),
        sa.Column("complainant_name", sa.String(length=100), nullable=True),
        sa.Column("phone_enc", sa.String(length=200), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("id_number_enc", sa.String(length=200), nullable=True),
        sa.Column("id_number_hash", sa.String(length=64), nullable=True),
        sa.Column("email_enc", sa.String(length=400), nullable=True),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("customer_key", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("sub_cause", sa.String(length=48), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=True),
        sa.Column("major_reasons", sa.String(length=120), nullable=True),
        sa.Column("special_team", sa.Boolean(), nullable=False),
        sa.Column("complex", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("handler_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_contact_resolved", sa.Boolean(), nullable=True),
        sa.Column("repeat_of_id", _BIG_ID, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_outcome", sa.String(length=24), nullable=True),
        sa.Column("decision_letter", sa.Text(), nullable=True),
        sa.Column("compensation_fen", sa.BigInteger(), nullable=True),
        sa.Column("review_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_outcome", sa.String(length=24), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_complaints_claim_id_claims")),
        sa.ForeignKeyConstraint(["handler_id"], ["users.id"], name=op.f("fk_complaints_handler_id_users")),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_complaints_org_unit_id_org_units")),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"], name=op.f("fk_complaints_region_code_regions")),
        sa.ForeignKeyConstraint(
            ["repeat_of_id"], ["complaints.id"], name=op.f("fk_complaints_repeat_of_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_complaints_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("tenant_id", "external_ref", name=op.f("uq_complaints_tenant_id_external_ref")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_complaints_tenant_id_number")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaints_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_handler_id"), ["handler_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_org_unit_id"), ["org_unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_repeat_of_id"), ["repeat_of_id"], unique=False)
        batch_op.create_index(
            "ix_complaints_tenant_customer", ["tenant_id", "customer_key", "received_at"], unique=False
        )
        batch_op.create_index("ix_complaints_tenant_received", ["tenant_id", "received_at"], unique=False)
        batch_op.create_index("ix_complaints_tenant_status", ["tenant_id", "status"], unique=False)

    op.create_table(
        "complaint_clocks",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("complaint_id", _BIG_ID, nullable=False),
        sa.Column("policy_code", sa.String(length=48), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("yellow_budget", sa.Float(), nullable=False),
        sa.Column("red_budget", sa.Float(), nullable=False),
        sa.Column("extended", sa.Float(), nullable=False),
        sa.Column("consumed", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("light", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("anchor_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("running_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("yellow_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("red_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("missed_by", sa.Float(), nullable=True),
        sa.Column("calendar_gap", sa.Integer(), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_clocks_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_complaint_clocks_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_clocks")),
        sa.UniqueConstraint(
            "tenant_id",
            "complaint_id",
            "policy_code",
            "cycle",
            name=op.f("uq_complaint_clocks_tenant_id_complaint_id_policy_code_cycle"),
        ),
    )
    with op.batch_alter_table("complaint_clocks", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_clocks_tenant_next_check", ["tenant_id", "next_check_at"], unique=False)

    op.create_table(
        "complaint_events",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("complaint_id", _BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_events_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_complaint_events_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_events")),
    )
    with op.batch_alter_table("complaint_events", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_events_complaint", ["complaint_id", "id"], unique=False)

    op.create_table(
        "surveys",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("subject_key", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("claim_id", _BIG_ID, nullable=True),
        sa.Column("complaint_id", _BIG_ID, nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("line", sa.String(length=32), nullable=True),
        sa.Column("handler_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_surveys_claim_id_claims")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_surveys_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["handler_id"], ["users.id"], name=op.f("fk_surveys_handler_id_users")),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_surveys_org_unit_id_org_units")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_surveys_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("tenant_id", "subject_key", name=op.f("uq_surveys_tenant_id_subject_key")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_surveys_token_hash")),
    )
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_surveys_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_surveys_complaint_id"), ["complaint_id"], unique=False)
        batch_op.create_index("ix_surveys_tenant_sent", ["tenant_id", "sent_at"], unique=False)

    op.create_table(
        "survey_responses",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("survey_id", _BIG_ID, nullable=False),
        sa.Column("overall", sa.Integer(), nullable=False),
        sa.Column("timeliness", sa.Integer(), nullable=True),
        sa.Column("transparency", sa.Integer(), nullable=True),
        sa.Column("attitude", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"], name=op.f("fk_survey_responses_survey_id_surveys")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_survey_responses_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("survey_id", name=op.f("uq_survey_responses_survey_id")),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index("ix_survey_responses_tenant_submitted", ["tenant_id", "submitted_at"], unique=False)
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index("ix_claims_tenant_closed_at", ["tenant_id", "closed_at"], unique=False)
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("complaint_id", _BIG_ID, nullable=True))
        batch_op.add_column(sa.Column("reference", sa.String(length=64), nullable=True))
        batch_op.alter_column("claim_id", existing_type=_BIG_ID, nullable=True)
        batch_op.create_index(batch_op.f("ix_outbox_messages_complaint_id"), ["complaint_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_messages_complaint_id_complaints"), "complaints", ["complaint_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_messages_complaint_id_complaints"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbox_messages_complaint_id"))
        batch_op.alter_column("claim_id", existing_type=_BIG_ID, nullable=False)
        batch_op.drop_column("reference")
        batch_op.drop_column("complaint_id")

    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_tenant_closed_at")
    op.drop_table("survey_responses")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_index("ix_surveys_tenant_sent")
        batch_op.drop_index(batch_op.f("ix_surveys_complaint_id"))
        batch_op.drop_index(batch_op.f("ix_surveys_claim_id"))

    op.drop_table("surveys")
    with op.batch_alter_table("complaint_events", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_events_complaint")

    op.drop_table("complaint_events")
    with op.batch_alter_table("complaint_clocks", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_clocks_tenant_next_check")

    op.drop_table("complaint_clocks")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_tenant_status")
        batch_op.drop_index("ix_complaints_tenant_received")
        batch_op.drop_index("ix_complaints_tenant_customer")
        batch_op.drop_index(batch_op.f("ix_complaints_repeat_of_id"))
        batch_op.drop_index(batch_op.f("ix_complaints_org_unit_id"))
        batch_op.drop_index(batch_op.f("ix_complaints_handler_id"))
        batch_op.drop_index(batch_op.f("ix_complaints_claim_id"))

    op.drop_table("complaints")
    op.drop_table("tenant_volumes")
