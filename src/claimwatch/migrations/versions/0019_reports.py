"""quality reports: stored versions, public disclosures

Revision ID: 0019_reports
Revises: 0018_committee
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0019_reports"
down_revision = "0018_committee"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _upgrade_reports()
    _upgrade_disclosures()


def downgrade() -> None:
    _downgrade_disclosures()
    _downgrade_reports()


# ---- reports (h4): stored report versions ------------------------------------------------------------------


def _upgrade_reports() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("series", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=True),
        sa.Column("subject_id", sa.BigInteger(), nullable=True),
        sa.Column("edition", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("built_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("built_by", sa.String(length=100), nullable=False),
        sa.Column("html_path", sa.String(length=300), nullable=True),
        sa.Column("pdf_path", sa.String(length=300), nullable=True),
        sa.Column("html_sha256", sa.String(length=64), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("html_bytes", sa.Integer(), nullable=True),
        sa.Column("pdf_bytes", sa.Integer(), nullable=True),
        sa.Column("section_seconds", sa.JSON(), nullable=False),
        sa.Column("total_seconds", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_reports_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("series", "version", name=op.f("uq_reports_series_version")),
    )
    op.create_index("ix_reports_tenant_kind_period", "reports", ["tenant_id", "kind", "period"], unique=False)


def _downgrade_reports() -> None:
    op.drop_index("ix_reports_tenant_kind_period", table_name="reports")
    op.drop_table("reports")


# ---- public disclosures (h6): published versions of a tenant's quarter -----------------------------------------


def _upgrade_disclosures() -> None:
    op.create_table(
        "public_disclosures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("quarter_start", UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("present", sa.Integer(), nullable=False),
        sa.Column("snapshot_taken_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_public_disclosures_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_disclosures")),
        sa.UniqueConstraint(
            "tenant_id", "quarter", "version", name=op.f("uq_public_disclosures_tenant_id_quarter_version")
        ),
    )
    op.create_index("ix_public_disclosures_quarter", "public_disclosures", ["quarter", "tenant_id"], unique=False)


def _downgrade_disclosures() -> None:
    op.drop_index("ix_public_disclosures_quarter", table_name="public_disclosures")
    op.drop_table("public_disclosures")
