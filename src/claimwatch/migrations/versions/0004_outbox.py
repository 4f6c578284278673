"""claimant notification outbox

Revision ID: 0004_outbox
Revises: 0003_sla
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_outbox"
down_revision = "0003_sla"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
