"""sla: the overdue index holds only breached clocks (partial on ``breached_at IS NOT NULL``)

Every query of ``ix_sla_clocks_tenant_state_breached`` compares ``breached_at`` (``<= now``, ``< at``, ``IS NOT
NULL``), which implies the partial index's condition on both databases, so the same plans use it. A running clock
with no breach (nearly all of them) then has no entry: a new clock writes one index entry fewer, and a clock the sweep
turns yellow only adds its entry (next to the other fresh breaches) instead of also removing one from a random leaf
of the NULL section. On SQLite that random leaf was about a fifth of the pages a yellow sweep writes
(bench/sweep.py, 1 M clocks).

Revision ID: 0034_sweep_breach_index
Revises: 0033_posted_notices
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034_sweep_breach_index"
down_revision = "0033_posted_notices"
branch_labels = None
depends_on = None

NAME = "ix_sla_clocks_tenant_state_breached"
COLUMNS = ["tenant_id", "state", "breached_at", "claim_id"]
BREACHED = "breached_at IS NOT NULL"


def upgrade() -> None:
    op.drop_index(NAME, table_name="sla_clocks")
    op.create_index(NAME, "sla_clocks", COLUMNS, sqlite_where=sa.text(BREACHED), postgresql_where=sa.text(BREACHED))


def downgrade() -> None:
    op.drop_index(NAME, table_name="sla_clocks")
    op.create_index(NAME, "sla_clocks", COLUMNS)
