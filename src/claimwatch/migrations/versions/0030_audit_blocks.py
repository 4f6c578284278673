"""audit chain written by more than one writer (placeholder: filled by the ingestion-scaling work)

Revision ID: 0030_audit_blocks
Revises: 0029_servicedesk_kb_forecasts
"""

from __future__ import annotations

revision = "0030_audit_blocks"
down_revision = "0029_servicedesk_kb_forecasts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
