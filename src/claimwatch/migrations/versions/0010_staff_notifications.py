"""staff notifications delivered: per-user inbox, e-mail and group-robot channels, preferences, digests

Revision ID: 0010_staff_notifications
Revises: 0009_personal_data_access
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_staff_notifications"
down_revision = "0009_personal_data_access"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="RESTRICT"
    )


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))

    with op.batch_alter_table("staff_notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("routed_at", _AT, nullable=True))
        batch_op.create_index("ix_staff_notifications_status", ["status", "id"], unique=False)

    # A group robot's address (URL and signing secret, encrypted together) is longer than a phone's.
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column(
            "recipient_enc", existing_type=sa.String(length=400), type_=sa.String(length=1000), existing_nullable=True
        )

    op.create_table(
        "staff_inbox",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("notification_id", _BIG_ID, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("read_at", _AT, nullable=True),
        sa.Column("digest", sa.String(length=8), nullable=True),
        sa.Column("digest_day", sa.String(length=10), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["staff_notifications.id"],
            name=op.f("fk_staff_inbox_notification_id_staff_notifications"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_staff_inbox_user_id_users")),
        _tenant_fk("staff_inbox"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_inbox")),
        sa.UniqueConstraint("notification_id", "user_id", name=op.f("uq_staff_inbox_notification_id_user_id")),
    )
    with op.batch_alter_table("staff_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_staff_inbox_user", ["tenant_id", "user_id", "read_at", "id"], unique=False)
        batch_op.create_index("ix_staff_inbox_digest", ["digest", "tenant_id"], unique=False)

    op.create_table(
        "staff_notify_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_staff_notify_preferences_user_id_users")),
        _tenant_fk("staff_notify_preferences"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notify_preferences")),
        sa.UniqueConstraint(
            "user_id", "kind", "channel", name=op.f("uq_staff_notify_preferences_user_id_kind_channel")
        ),
    )
    with op.batch_alter_table("staff_notify_preferences", schema=None) as batch_op:
        batch_op.create_index("ix_staff_notify_prefs_tenant", ["tenant_id"], unique=False)

    op.create_table(
        "staff_notify_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_staff_notify_profiles_user_id_users")),
        _tenant_fk("staff_notify_profiles"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notify_profiles")),
        sa.UniqueConstraint("user_id", name=op.f("uq_staff_notify_profiles_user_id")),
    )
    with op.batch_alter_table("staff_notify_profiles", schema=None) as batch_op:
        batch_op.create_index("ix_staff_notify_profiles_tenant", ["tenant_id"], unique=False)

    op.create_table(
        "notify_robots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("url_enc", sa.String(length=1000), nullable=False),
        sa.Column("secret_enc", sa.String(length=400), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("kinds", sa.String(length=400), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name=op.f("fk_notify_robots_org_unit_id_org_units")),
        _tenant_fk("notify_robots"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_robots")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_notify_robots_tenant_id_name")),
    )


def downgrade() -> None:
    op.drop_table("notify_robots")
    with op.batch_alter_table("staff_notify_profiles", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_notify_profiles_tenant")
    op.drop_table("staff_notify_profiles")
    with op.batch_alter_table("staff_notify_preferences", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_notify_prefs_tenant")
    op.drop_table("staff_notify_preferences")
    with op.batch_alter_table("staff_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_inbox_digest")
        batch_op.drop_index("ix_staff_inbox_user")
    op.drop_table("staff_inbox")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column(
            "recipient_enc", existing_type=sa.String(length=1000), type_=sa.String(length=400), existing_nullable=True
        )
    with op.batch_alter_table("staff_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_notifications_status")
        batch_op.drop_column("routed_at")
        batch_op.drop_column("link")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email")
