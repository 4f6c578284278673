"""servicedesk (service requests, their events and clocks, peak periods), kb (knowledge-base articles, versions,
feedback; the SQLite FTS5 table and the PostgreSQL full-text index), forecasts (volume forecasts, roster)

Revision ID: 0029_servicedesk_kb_forecasts
Revises: 0028_people_policies
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0029_servicedesk_kb_forecasts"
down_revision = "0028_people_policies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peak_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("response_hours", sa.Double(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("declared_by", sa.String(length=100), nullable=False),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("ended_by", sa.String(length=100), nullable=True),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_peak_periods_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peak_periods")),
    )
    with op.batch_alter_table("peak_periods", schema=None) as batch_op:
        batch_op.create_index("ix_peak_periods_tenant_starts", ["tenant_id", "starts_at"], unique=False)

    op.create_table(
        "roster_days",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("staff", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_roster_days_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_days")),
        sa.UniqueConstraint("tenant_id", "team", "day", name=op.f("uq_roster_days_tenant_id_team_day")),
    )
    op.create_table(
        "volume_forecasts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("series", sa.String(length=24), nullable=False),
        sa.Column("team", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("history_days", sa.Integer(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("backtest", sa.JSON(), nullable=False),
        sa.Column("backtest_mape", sa.Float(), nullable=True),
        sa.Column("made_by", sa.String(length=100), nullable=False),
        sa.Column("made_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_volume_forecasts_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_forecasts")),
    )
    with op.batch_alter_table("volume_forecasts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_volume_forecasts_tenant_series_made", ["tenant_id", "series", "team", "made_at"], unique=False
        )

    op.create_table(
        "kb_articles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("published_version_id", sa.BigInteger(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("search_terms", sa.Text(), nullable=False),
        sa.Column("helpful_yes", sa.Integer(), nullable=False),
        sa.Column("helpful_no", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_kb_articles_owner_id_users")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_kb_articles_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_kb_articles_tenant_id_code")),
    )
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kb_articles_tenant_status_category", ["tenant_id", "status", "category"], unique=False
        )

    op.create_table(
        "kb_article_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=100), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["kb_articles.id"], name=op.f("fk_kb_article_versions_article_id_kb_articles")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_kb_article_versions_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_versions")),
        sa.UniqueConstraint(
            "tenant_id", "article_id", "version", name=op.f("uq_kb_article_versions_tenant_id_article_id_version")
        ),
    )
    with op.batch_alter_table("kb_article_versions", schema=None) as batch_op:
        batch_op.create_index("ix_kb_article_versions_tenant_status", ["tenant_id", "status"], unique=False)

    op.create_table(
        "kb_feedback",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=True),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("given_by", sa.String(length=100), nullable=False),
        sa.Column("given_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], name=op.f("fk_kb_feedback_article_id_kb_articles")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_kb_feedback_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_feedback")),
    )
    with op.batch_alter_table("kb_feedback", schema=None) as batch_op:
        batch_op.create_index("ix_kb_feedback_tenant_article", ["tenant_id", "article_id"], unique=False)

    op.create_table(
        "service_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_ref", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=True),
        sa.Column("customer_name_masked", sa.String(length=100), nullable=True),
        sa.Column("phone_enc", sa.String(length=200), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("id_number_enc", sa.String(length=200), nullable=True),
        sa.Column("id_number_hash", sa.String(length=64), nullable=True),
        sa.Column("customer_key", sa.String(length=64), nullable=True),
        sa.Column("policy_number", sa.String(length=64), nullable=True),
        sa.Column("claim_id", sa.BigInteger(), nullable=True),
        sa.Column("complaint_id", sa.BigInteger(), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("team", sa.String(length=32), nullable=True),
        sa.Column("handler_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("first_response_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("resolution_code", sa.String(length=32), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("first_contact_resolved", sa.Boolean(), nullable=True),
        sa.Column("peak_period_id", sa.Integer(), nullable=True),
        sa.Column("articles_used", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_service_requests_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_service_requests_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(["handler_id"], ["users.id"], name=op.f("fk_service_requests_handler_id_users")),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_service_requests_org_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["peak_period_id"], ["peak_periods.id"], name=op.f("fk_service_requests_peak_period_id_peak_periods")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_service_requests_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_requests")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_service_requests_tenant_id_number")),
    )
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.create_index("ix_service_requests_tenant_customer", ["tenant_id", "customer_key"], unique=False)
        batch_op.create_index("ix_service_requests_tenant_received", ["tenant_id", "received_at"], unique=False)
        batch_op.create_index(
            "ix_service_requests_tenant_handler_status", ["tenant_id", "handler_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_service_requests_tenant_status_received", ["tenant_id", "status", "received_at"], unique=False
        )
        batch_op.create_index("ix_service_requests_tenant_team_status", ["tenant_id", "team", "status"], unique=False)

    op.create_table(
        "service_request_clocks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
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
            ["request_id"], ["service_requests.id"], name=op.f("fk_service_request_clocks_request_id_service_requests")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_service_request_clocks_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_request_clocks")),
        sa.UniqueConstraint(
            "tenant_id",
            "request_id",
            "policy_code",
            "cycle",
            name=op.f("uq_service_request_clocks_tenant_id_request_id_policy_code_cycle"),
        ),
    )
    with op.batch_alter_table("service_request_clocks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_request_clocks_tenant_next_check", ["tenant_id", "next_check_at"], unique=False
        )
        batch_op.create_index(
            "ix_service_request_clocks_request_state_due",
            ["tenant_id", "request_id", "state", "red_due_at"],
            unique=False,
        )

    op.create_table(
        "service_request_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["service_requests.id"], name=op.f("fk_service_request_events_request_id_service_requests")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_service_request_events_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_request_events")),
    )
    with op.batch_alter_table("service_request_events", schema=None) as batch_op:
        batch_op.create_index("ix_service_request_events_request", ["tenant_id", "request_id", "at"], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # jieba terms of each published article; tenant_id and article_id unindexed (filters, the join back).
        op.execute(
            "CREATE VIRTUAL TABLE kb_search USING fts5(search_terms, tenant_id UNINDEXED, article_id UNINDEXED, "
            "tokenize = 'unicode61')"
        )
    else:
        # Stored, so ranking reads each match's vector instead of computing it again (the p99 goal).
        op.execute(
            "ALTER TABLE kb_articles ADD COLUMN search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', search_terms)) STORED"
        )
        op.execute("CREATE INDEX ix_kb_articles_search ON kb_articles USING gin (search_vector)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS kb_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_kb_articles_search")
        op.execute("ALTER TABLE kb_articles DROP COLUMN IF EXISTS search_vector")
    with op.batch_alter_table("service_request_events", schema=None) as batch_op:
        batch_op.drop_index("ix_service_request_events_request")

    op.drop_table("service_request_events")
    with op.batch_alter_table("service_request_clocks", schema=None) as batch_op:
        batch_op.drop_index("ix_service_request_clocks_request_state_due")
        batch_op.drop_index("ix_service_request_clocks_tenant_next_check")

    op.drop_table("service_request_clocks")
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_service_requests_tenant_team_status")
        batch_op.drop_index("ix_service_requests_tenant_status_received")
        batch_op.drop_index("ix_service_requests_tenant_handler_status")
        batch_op.drop_index("ix_service_requests_tenant_received")
        batch_op.drop_index("ix_service_requests_tenant_customer")

    op.drop_table("service_requests")
    with op.batch_alter_table("kb_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_feedback_tenant_article")

    op.drop_table("kb_feedback")
    with op.batch_alter_table("kb_article_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_article_versions_tenant_status")

    op.drop_table("kb_article_versions")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_articles_tenant_status_category")

    op.drop_table("kb_articles")
    with op.batch_alter_table("volume_forecasts", schema=None) as batch_op:
        batch_op.drop_index("ix_volume_forecasts_tenant_series_made")

    op.drop_table("volume_forecasts")
    op.drop_table("roster_days")
    with op.batch_alter_table("peak_periods", schema=None) as batch_op:
        batch_op.drop_index("ix_peak_periods_tenant_starts")

    op.drop_table("peak_periods")
