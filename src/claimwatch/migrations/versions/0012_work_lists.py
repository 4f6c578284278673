"""work lists: what the filtered claim list and the to-do inbox need

Revision ID: 0012_work_lists
Revises: 0011_assignment
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_work_lists"
down_revision = "0011_assignment"
branch_labels = None
depends_on = None


# (name, table, columns): the claim list's filters and sorts with 1 M claims (bench/claims_list.py).
INDEXES = (
    # assignee = me / a handler, newest first
    ("ix_claims_tenant_assignee_reported", "claims", ["tenant_id", "assignee_id", "reported_at"]),
    # an org unit's subtree (org_unit_id IN …), newest first
    ("ix_claims_tenant_org_reported", "claims", ["tenant_id", "org_unit_id", "reported_at"]),
    # a status, newest first; the status column's sort
    ("ix_claims_tenant_status_reported", "claims", ["tenant_id", "status", "reported_at"]),
    # closed in a month (the closure and cycle-time drill-downs), with the report time for the cycle (covering)
    ("ix_claims_tenant_closed_reported", "claims", ["tenant_id", "closed_at", "reported_at"]),
    # an adjuster's open claims (the to-do inbox: assignee = me, closed_at IS NULL)
    ("ix_claims_tenant_assignee_closed", "claims", ["tenant_id", "assignee_id", "closed_at"]),
    # a supervisor's unacknowledged escalations grouped by claim, read from the index alone (the to-do inbox)
    (
        "ix_sla_escalations_open_work",
        "sla_escalations",
        ["tenant_id", "status", "claim_id", "level", "fired_at", "due_at", "clock_id", "org_unit_id", "id"],
    ),
    # amount bands and the amount sort
    ("ix_claims_tenant_amount", "claims", ["tenant_id", "reported_amount_fen"]),
    # worst light of the open clocks: the claims with an open red (yellow, green) clock
    ("ix_sla_clocks_tenant_state_light", "sla_clocks", ["tenant_id", "state", "light", "claim_id"]),
    # overdue now / at an instant (covering: the claim ids come from the index alone)
    ("ix_sla_clocks_tenant_state_breached", "sla_clocks", ["tenant_id", "state", "breached_at", "claim_id"]),
    # a claim's open clocks and nearest target (the light and deadline columns, the deadline sort)
    ("ix_sla_clocks_claim_state_due", "sla_clocks", ["claim_id", "state", "yellow_due_at"]),
    # drill-downs of the timeliness KPIs: a policy's clocks started in a month
    ("ix_sla_clocks_tenant_policy_started", "sla_clocks", ["tenant_id", "policy_code", "started_at"]),
)


# The open clocks in target order (the deadline sort walks it): partial, so it holds only the running few.
OPEN_DUE = "ix_sla_clocks_open_due"
OPEN = "state <> 'stopped'"


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    op.create_index(
        OPEN_DUE,
        "sla_clocks",
        ["tenant_id", "yellow_due_at"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index(OPEN_DUE, table_name="sla_clocks")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
