"""claimant self-service lookup

Revision ID: 0005_lookup
Revises: 0004_outbox
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005_lookup"
down_revision = "0004_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
