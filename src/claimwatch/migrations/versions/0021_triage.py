"""triage: claim route columns, rule set versions, decisions

Revision ID: 0021_triage
Revises: 0020_heartbeats
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0021_triage"
down_revision = "0020_heartbeats"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant(table: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="RESTRICT"
        ),
    ]


def upgrade() -> None:
    # NOT NULL columns with server defaults, so SQLite adds them without rebuilding claims and every stored claim
    # starts on the normal route with no priority.
    op.add_column("claims", sa.Column("route", sa.String(length=16), nullable=False, server_default="normal"))
    op.add_column("claims", sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="0"))
    op.add_column("claims", sa.Column("triage_decision_id", sa.BigInteger(), nullable=True))
    op.add_column("claims", sa.Column("risk_score", sa.Float(), nullable=True))
    op.add_column("claims", sa.Column("risk_level", sa.String(length=8), nullable=True))
    op.add_column("claims", sa.Column("catastrophe_id", sa.BigInteger(), nullable=True))
    op.add_column("claims", sa.Column("vulnerable", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_claims_tenant_route_reported", "claims", ["tenant_id", "route", "reported_at"])
    op.create_index("ix_claims_tenant_risk_level", "claims", ["tenant_id", "risk_level"])

    op.create_table(
        "triage_rule_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("rule_count", sa.Integer(), nullable=False),
        sa.Column("active_from", UTCDateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=100), nullable=False),
        sa.Column("loaded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        *_tenant("triage_rule_sets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_rule_sets")),
    )
    op.create_index("ix_triage_rule_sets_tenant_active", "triage_rule_sets", ["tenant_id", "active_from", "id"])

    op.create_table(
        "triage_decisions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("claim_id", BigId, nullable=False),
        sa.Column("rule_set_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("would_be_route", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("fired", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("event_ref", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=False),
        *_tenant("triage_decisions"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_triage_decisions_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["rule_set_id"], ["triage_rule_sets.id"], name=op.f("fk_triage_decisions_rule_set_id_triage_rule_sets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_decisions")),
    )
    op.create_index("ix_triage_decisions_tenant_claim", "triage_decisions", ["tenant_id", "claim_id", "id"])
    op.create_index("ix_triage_decisions_tenant_decided", "triage_decisions", ["tenant_id", "decided_at"])

    op.create_table(
        "triage_contacts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("claim_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("reported_at", UTCDateTime(timezone=True), nullable=False),
        *_tenant("triage_contacts"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_triage_contacts_claim_id_claims")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_contacts")),
    )
    op.create_index("ix_triage_contacts_lookup", "triage_contacts", ["tenant_id", "kind", "value", "reported_at"])
    op.create_index("ix_triage_contacts_region", "triage_contacts", ["tenant_id", "kind", "region_code", "reported_at"])
    op.create_index("ix_triage_contacts_claim", "triage_contacts", ["claim_id"])


def downgrade() -> None:
    op.drop_table("triage_contacts")
    op.drop_table("triage_decisions")
    op.drop_table("triage_rule_sets")
    op.drop_index("ix_claims_tenant_risk_level", table_name="claims")
    op.drop_index("ix_claims_tenant_route_reported", table_name="claims")
    with op.batch_alter_table("claims") as batch:
        for name in (
            "vulnerable",
            "catastrophe_id",
            "risk_level",
            "risk_score",
            "triage_decision_id",
            "priority",
            "route",
        ):
            batch.drop_column(name)
