"""claims.coverage: compulsory (交强险) or commercial, as reported; selects the legal clocks

Revision ID: 0025_legal_notices
Revises: 0024_fairness
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_legal_notices"
down_revision = "0024_fairness"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch_op:
        batch_op.add_column(sa.Column("coverage", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch_op:
        batch_op.drop_column("coverage")
