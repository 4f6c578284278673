"""Violations (违规), sanctions (处罚), mandatory trainings (重点培训) and the blacklist (黑名单).

A violation is recorded against a staff member (``user_id``) or a party outside the staff (an agent, a
repair shop, a hospital: ``party_kind`` + ``party``), from a source such as an inspection finding
(``source_kind`` + ``source_id``; this domain does not import the source's). Its sanction is proposed,
then approved, rejected or revoked by a quality manager; an approved suspension writes an
``auth.models.PermissionSuspension``. Amounts are integer fen.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class Violation(TenantScoped, Base):
    """One violation of the catalogue (``code``). ``repeat_count`` is how many violations the same person had
    in the repeat window, this one included, when it was recorded; ``escalated`` whether that reached the
    catalogue's threshold (the default sanction went one step up and a training was recorded)."""

    __tablename__ = "violations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_violations_tenant_user_occurred", "tenant_id", "user_id", "occurred_at"),
        Index("ix_violations_tenant_party_occurred", "tenant_id", "party_kind", "party_key", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32))  # V-2026-0001
    code: Mapped[str] = mapped_column(String(48))
    severity: Mapped[str] = mapped_column(String(8))  # minor | major | severe
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    party_kind: Mapped[str] = mapped_column(String(16))  # staff | agent | repair_shop | hospital | other
    party: Mapped[str] = mapped_column(String(200))  # the staff member's username, or the party's name/code
    party_key: Mapped[str] = mapped_column(String(200))  # party, stripped and lower-cased: what repeats count on
    source_kind: Mapped[str] = mapped_column(String(32))  # inspection_finding | complaint | manual | …
    source_id: Mapped[int] = mapped_column(BigInteger)
    source_label: Mapped[str] = mapped_column(String(200))
    source_url: Mapped[str] = mapped_column(String(300))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    repeat_count: Mapped[int] = mapped_column(Integer, default=1)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Sanction(TenantScoped, Base):
    """The sanction of one violation: kind warning (警告) | reprimand (通报批评) | fine (罚款, ``amount_fen``) |
    suspension (暂停权限, ``days`` of ``permission_group``) | dismissal (解除劳动合同).
    status proposed → approved | rejected; approved → revoked."""

    __tablename__ = "sanctions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_sanctions_tenant_status_proposed", "tenant_id", "status", "proposed_at"),
        Index("ix_sanctions_tenant_violation", "tenant_id", "violation_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32))  # S-2026-0003
    violation_id: Mapped[int] = mapped_column(ForeignKey("violations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    default_kind: Mapped[str] = mapped_column(String(16))  # the catalogue's, after any repeat escalation
    amount_fen: Mapped[int | None] = mapped_column(Integer, nullable=True)
    days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    permission_group: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    reason: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[str] = mapped_column(String(100))
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # a suspension's period
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class MandatoryTraining(TenantScoped, Base):
    """A focused training (重点培训) a repeat offender must take, recorded with the violation that made them one."""

    __tablename__ = "mandatory_trainings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "violation_id"),
        Index("ix_mandatory_trainings_tenant_party", "tenant_id", "party_kind", "party_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    violation_id: Mapped[int] = mapped_column(ForeignKey("violations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    party_kind: Mapped[str] = mapped_column(String(16))
    party: Mapped[str] = mapped_column(String(200))
    party_key: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


class BlacklistEntry(TenantScoped, Base):
    """A staff member, agent or third party (repair shop, hospital) listed: by code and/or name, with the
    reason, the period (``ends_on`` None: until lifted), who listed them and who lifted them."""

    __tablename__ = "blacklist_entries"
    __table_args__ = (
        Index("ix_blacklist_tenant_kind_code", "tenant_id", "party_kind", "code_key"),
        Index("ix_blacklist_tenant_kind_name", "tenant_id", "party_kind", "name_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    party_kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    listed_by: Mapped[str] = mapped_column(String(100))
    listed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lift_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
