from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class StaffNotification(TenantScoped, Base):
    """A notice to staff of a role in an org unit (or to one user), e.g. a yellow SLA escalation.

    ``status`` starts ``queued``; delivery channels (email, WeChat Work) read the queue.
    """

    __tablename__ = "staff_notifications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "dedupe_key"),
        Index("ix_staff_notifications_tenant_role", "tenant_id", "recipient_role", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_role: Mapped[str] = mapped_column(String(32))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), nullable=True)
    dedupe_key: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
