"""people (staff and agents, licences, training courses, sessions and attendance, appraisal schemes and
scorecards) and policies (sales with their flags and complaint links, underwriting rule sets, cases, events and
clocks, post-issue revisits)

Revision ID: 0028_people_policies
Revises: 0027_supervision_evidence
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0028_people_policies"
down_revision = "0027_supervision_evidence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appraisal_schemes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("loaded_by", sa.String(length=100), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_appraisal_schemes_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_schemes")),
    )
    with op.batch_alter_table("appraisal_schemes", schema=None) as batch_op:
        batch_op.create_index("ix_appraisal_schemes_tenant_loaded", ["tenant_id", "loaded_at"], unique=False)

    op.create_table(
        "training_courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_training_courses_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_courses")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_training_courses_tenant_id_code")),
    )
    op.create_table(
        "underwriting_rule_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("loaded_by", sa.String(length=100), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_underwriting_rule_sets_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_underwriting_rule_sets")),
    )
    with op.batch_alter_table("underwriting_rule_sets", schema=None) as batch_op:
        batch_op.create_index("ix_underwriting_rule_sets_tenant_loaded", ["tenant_id", "loaded_at"], unique=False)

    op.create_table(
        "training_sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("trainer", sa.String(length=100), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["training_courses.id"], name=op.f("fk_training_sessions_course_id_training_courses")
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_training_sessions_org_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_training_sessions_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_sessions")),
    )
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_training_sessions_tenant_course_held", ["tenant_id", "course_id", "held_on"], unique=False
        )

    op.create_table(
        "staff_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("job_title", sa.String(length=100), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("manager_user_id", sa.Integer(), nullable=True),
        sa.Column("hired_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["manager_user_id"], ["users.id"], name=op.f("fk_staff_members_manager_user_id_users")),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_staff_members_org_unit_id_org_units")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_staff_members_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_staff_members_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_members")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_staff_members_tenant_id_code")),
    )
    with op.batch_alter_table("staff_members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_staff_members_tenant_org_status", ["tenant_id", "org_unit_id", "status"], unique=False
        )
        batch_op.create_index("ix_staff_members_tenant_user", ["tenant_id", "user_id"], unique=False)

    op.create_table(
        "appraisal_scorecards",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("peer_percentile", sa.Float(), nullable=True),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("manager_comment", sa.Text(), nullable=True),
        sa.Column("commented_by", sa.String(length=100), nullable=True),
        sa.Column("commented_at", UTCDateTime(), nullable=True),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["appraisal_schemes.id"], name=op.f("fk_appraisal_scorecards_scheme_id_appraisal_schemes")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_members.id"], name=op.f("fk_appraisal_scorecards_staff_id_staff_members")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_appraisal_scorecards_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_scorecards")),
        sa.UniqueConstraint(
            "tenant_id", "staff_id", "month", name=op.f("uq_appraisal_scorecards_tenant_id_staff_id_month")
        ),
    )
    with op.batch_alter_table("appraisal_scorecards", schema=None) as batch_op:
        batch_op.create_index("ix_appraisal_scorecards_tenant_month", ["tenant_id", "month"], unique=False)

    op.create_table(
        "policy_sales",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("policy_number", sa.String(length=64), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("line", sa.String(length=32), nullable=False),
        sa.Column("long_term", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(length=16), nullable=True),
        sa.Column("customer_key", sa.String(length=64), nullable=True),
        sa.Column("customer_name_masked", sa.String(length=100), nullable=True),
        sa.Column("customer_age", sa.Integer(), nullable=True),
        sa.Column("premium_fen", sa.BigInteger(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("cooling_off_days", sa.Integer(), nullable=False),
        sa.Column("disclosure_signed_on", sa.Date(), nullable=True),
        sa.Column("recording_ref", sa.String(length=200), nullable=True),
        sa.Column("recording_sha256", sa.String(length=64), nullable=True),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("cancelled_in_cooling_off", sa.Boolean(), nullable=False),
        sa.Column("flag_count", sa.Integer(), nullable=False),
        sa.Column("sample_key", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["staff_members.id"], name=op.f("fk_policy_sales_agent_id_staff_members")
        ),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_policy_sales_org_unit_id_org_units")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_policy_sales_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_sales")),
        sa.UniqueConstraint("tenant_id", "policy_number", name=op.f("uq_policy_sales_tenant_id_policy_number")),
    )
    with op.batch_alter_table("policy_sales", schema=None) as batch_op:
        batch_op.create_index(
            "ix_policy_sales_tenant_agent_signed", ["tenant_id", "agent_id", "signed_on"], unique=False
        )
        batch_op.create_index("ix_policy_sales_tenant_customer", ["tenant_id", "customer_key"], unique=False)
        batch_op.create_index("ix_policy_sales_tenant_signed", ["tenant_id", "signed_on"], unique=False)

    op.create_table(
        "staff_licences",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("warned_at", UTCDateTime(), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_members.id"], name=op.f("fk_staff_licences_staff_id_staff_members")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_staff_licences_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_licences")),
        sa.UniqueConstraint("tenant_id", "kind", "number", name=op.f("uq_staff_licences_tenant_id_kind_number")),
    )
    with op.batch_alter_table("staff_licences", schema=None) as batch_op:
        batch_op.create_index("ix_staff_licences_tenant_expires", ["tenant_id", "expires_on"], unique=False)
        batch_op.create_index("ix_staff_licences_tenant_staff", ["tenant_id", "staff_id"], unique=False)

    op.create_table(
        "training_attendances",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["training_sessions.id"], name=op.f("fk_training_attendances_session_id_training_sessions")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_members.id"], name=op.f("fk_training_attendances_staff_id_staff_members")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_training_attendances_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_attendances")),
        sa.UniqueConstraint(
            "tenant_id", "session_id", "staff_id", name=op.f("uq_training_attendances_tenant_id_session_id_staff_id")
        ),
    )
    with op.batch_alter_table("training_attendances", schema=None) as batch_op:
        batch_op.create_index("ix_training_attendances_tenant_staff", ["tenant_id", "staff_id"], unique=False)

    op.create_table(
        "underwriting_cases",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("application_number", sa.String(length=64), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=False),
        sa.Column("line", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("applicant_key", sa.String(length=64), nullable=True),
        sa.Column("applicant_name_masked", sa.String(length=100), nullable=True),
        sa.Column("applicant_phone_enc", sa.Text(), nullable=True),
        sa.Column("sum_insured_fen", sa.BigInteger(), nullable=False),
        sa.Column("premium_fen", sa.BigInteger(), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("rule_set_id", sa.Integer(), nullable=True),
        sa.Column("risk_points", sa.Float(), nullable=True),
        sa.Column("risk_level", sa.String(length=8), nullable=True),
        sa.Column("fired", sa.JSON(), nullable=False),
        sa.Column("proposed_outcome", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("review_reasons", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("exclusions", sa.JSON(), nullable=False),
        sa.Column("rate_up_pct", sa.Float(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("notice_message_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("sample_key", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["staff_members.id"], name=op.f("fk_underwriting_cases_agent_id_staff_members")
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_underwriting_cases_org_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], name=op.f("fk_underwriting_cases_reviewer_id_users")),
        sa.ForeignKeyConstraint(
            ["rule_set_id"],
            ["underwriting_rule_sets.id"],
            name=op.f("fk_underwriting_cases_rule_set_id_underwriting_rule_sets"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_underwriting_cases_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_underwriting_cases")),
        sa.UniqueConstraint(
            "tenant_id", "application_number", name=op.f("uq_underwriting_cases_tenant_id_application_number")
        ),
    )
    with op.batch_alter_table("underwriting_cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_underwriting_cases_tenant_reviewer", ["tenant_id", "reviewer_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_underwriting_cases_tenant_status_received", ["tenant_id", "status", "received_at"], unique=False
        )

    op.create_table(
        "policy_revisits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sale_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("finding_id", sa.BigInteger(), nullable=True),
        sa.Column("completed_by", sa.String(length=100), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name=op.f("fk_policy_revisits_assignee_id_users")),
        sa.ForeignKeyConstraint(["sale_id"], ["policy_sales.id"], name=op.f("fk_policy_revisits_sale_id_policy_sales")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_policy_revisits_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_revisits")),
        sa.UniqueConstraint("tenant_id", "sale_id", name=op.f("uq_policy_revisits_tenant_id_sale_id")),
    )
    with op.batch_alter_table("policy_revisits", schema=None) as batch_op:
        batch_op.create_index("ix_policy_revisits_tenant_status_due", ["tenant_id", "status", "due_on"], unique=False)

    op.create_table(
        "sale_complaint_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("complaint_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sale_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("linked_by", sa.String(length=100), nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["staff_members.id"], name=op.f("fk_sale_complaint_links_agent_id_staff_members")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_sale_complaint_links_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["policy_sales.id"], name=op.f("fk_sale_complaint_links_sale_id_policy_sales")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sale_complaint_links_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_complaint_links")),
        sa.UniqueConstraint(
            "tenant_id", "complaint_id", "sale_id", name=op.f("uq_sale_complaint_links_tenant_id_complaint_id_sale_id")
        ),
    )
    op.create_table(
        "sale_flags",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("sale_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("cleared_by", sa.String(length=100), nullable=True),
        sa.Column("cleared_at", UTCDateTime(), nullable=True),
        sa.Column("clear_reason", sa.Text(), nullable=True),
        sa.Column("finding_id", sa.BigInteger(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["staff_members.id"], name=op.f("fk_sale_flags_agent_id_staff_members")),
        sa.ForeignKeyConstraint(["sale_id"], ["policy_sales.id"], name=op.f("fk_sale_flags_sale_id_policy_sales")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sale_flags_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_flags")),
        sa.UniqueConstraint(
            "tenant_id",
            "rule",
            "sale_id",
            "agent_id",
            "period",
            name=op.f("uq_sale_flags_tenant_id_rule_sale_id_agent_id_period"),
        ),
    )
    with op.batch_alter_table("sale_flags", schema=None) as batch_op:
        batch_op.create_index("ix_sale_flags_tenant_agent", ["tenant_id", "agent_id"], unique=False)
        batch_op.create_index("ix_sale_flags_tenant_status", ["tenant_id", "status", "raised_at"], unique=False)

    op.create_table(
        "underwriting_clocks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
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
            ["case_id"], ["underwriting_cases.id"], name=op.f("fk_underwriting_clocks_case_id_underwriting_cases")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_underwriting_clocks_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_underwriting_clocks")),
        sa.UniqueConstraint(
            "tenant_id",
            "case_id",
            "policy_code",
            "cycle",
            name=op.f("uq_underwriting_clocks_tenant_id_case_id_policy_code_cycle"),
        ),
    )
    with op.batch_alter_table("underwriting_clocks", schema=None) as batch_op:
        batch_op.create_index("ix_underwriting_clocks_tenant_next_check", ["tenant_id", "next_check_at"], unique=False)

    op.create_table(
        "underwriting_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["underwriting_cases.id"], name=op.f("fk_underwriting_events_case_id_underwriting_cases")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_underwriting_events_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_underwriting_events")),
    )
    with op.batch_alter_table("underwriting_events", schema=None) as batch_op:
        batch_op.create_index("ix_underwriting_events_case", ["tenant_id", "case_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("underwriting_events", schema=None) as batch_op:
        batch_op.drop_index("ix_underwriting_events_case")

    op.drop_table("underwriting_events")
    with op.batch_alter_table("underwriting_clocks", schema=None) as batch_op:
        batch_op.drop_index("ix_underwriting_clocks_tenant_next_check")

    op.drop_table("underwriting_clocks")
    with op.batch_alter_table("sale_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_sale_flags_tenant_status")
        batch_op.drop_index("ix_sale_flags_tenant_agent")

    op.drop_table("sale_flags")
    op.drop_table("sale_complaint_links")
    with op.batch_alter_table("policy_revisits", schema=None) as batch_op:
        batch_op.drop_index("ix_policy_revisits_tenant_status_due")

    op.drop_table("policy_revisits")
    with op.batch_alter_table("underwriting_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_underwriting_cases_tenant_status_received")
        batch_op.drop_index("ix_underwriting_cases_tenant_reviewer")

    op.drop_table("underwriting_cases")
    with op.batch_alter_table("training_attendances", schema=None) as batch_op:
        batch_op.drop_index("ix_training_attendances_tenant_staff")

    op.drop_table("training_attendances")
    with op.batch_alter_table("staff_licences", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_licences_tenant_staff")
        batch_op.drop_index("ix_staff_licences_tenant_expires")

    op.drop_table("staff_licences")
    with op.batch_alter_table("policy_sales", schema=None) as batch_op:
        batch_op.drop_index("ix_policy_sales_tenant_signed")
        batch_op.drop_index("ix_policy_sales_tenant_customer")
        batch_op.drop_index("ix_policy_sales_tenant_agent_signed")

    op.drop_table("policy_sales")
    with op.batch_alter_table("appraisal_scorecards", schema=None) as batch_op:
        batch_op.drop_index("ix_appraisal_scorecards_tenant_month")

    op.drop_table("appraisal_scorecards")
    with op.batch_alter_table("staff_members", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_members_tenant_user")
        batch_op.drop_index("ix_staff_members_tenant_org_status")

    op.drop_table("staff_members")
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_training_sessions_tenant_course_held")

    op.drop_table("training_sessions")
    with op.batch_alter_table("underwriting_rule_sets", schema=None) as batch_op:
        batch_op.drop_index("ix_underwriting_rule_sets_tenant_loaded")

    op.drop_table("underwriting_rule_sets")
    op.drop_table("training_courses")
    with op.batch_alter_table("appraisal_schemes", schema=None) as batch_op:
        batch_op.drop_index("ix_appraisal_schemes_tenant_loaded")

    op.drop_table("appraisal_schemes")
