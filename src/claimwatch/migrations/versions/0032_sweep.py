"""the SLA sweep's inserts without the claim foreign keys (escalations reach the claim through their clock)

An escalation reaches its claim through its clock (whose foreign key stays); a staff notice's claim is a link for
the page. Claims are never deleted.

Revision ID: 0032_sweep
Revises: 0031_pg_partitions
"""

from __future__ import annotations

from alembic import op

revision = "0032_sweep"
down_revision = "0031_pg_partitions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Each of these checks took a KEY SHARE lock on a random claim row per escalation and per notice: a third of
    # the sweep's database time over 1 M clocks (bench/sweep.py SQL floor, with and without them).
    with op.batch_alter_table("sla_escalations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_sla_escalations_claim_id_claims"), type_="foreignkey")
    with op.batch_alter_table("staff_notifications", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_staff_notifications_claim_id_claims"), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("staff_notifications", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_staff_notifications_claim_id_claims"), "claims", ["claim_id"], ["id"]
        )
    with op.batch_alter_table("sla_escalations", schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f("fk_sla_escalations_claim_id_claims"), "claims", ["claim_id"], ["id"])
