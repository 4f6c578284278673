from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class Survey(TenantScoped, Base):
    """A satisfaction survey sent after a claim or a complaint closed (one per closure).

    ``subject_key`` ("claim:<id>:<closure>" or "complaint:<id>") makes issuing idempotent. The link the
    customer gets carries a random token; only its SHA-256 is stored. The facts the results are cut
    by (org, line, region, handler) are copied at issue time, so a later reassignment does not move
    an old answer.
    """

    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "subject_key"),
        UniqueConstraint("token_hash"),
        Index("ix_surveys_tenant_sent", "tenant_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(16))  # claim | complaint
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), nullable=True, index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), nullable=True, index=True)
    reference: Mapped[str] = mapped_column(String(64))  # the claim or complaint number
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    region_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    line: Mapped[str | None] = mapped_column(String(32), nullable=True)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # How the case ended: a claim's closing status (closed = paid, rejected), a complaint's decision
    # outcome (upheld, partly_upheld, not_upheld) — so answers can be read against the outcome.
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # sent | responded | expired | unreachable
    closed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())  # when the subject closed
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class SurveyResponse(TenantScoped, Base):
    """The answer: overall 0–10 and the three dimensions 0–10 (each may be skipped), free text scrubbed
    of phone and ID numbers. One per survey."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("survey_id"),
        Index("ix_survey_responses_tenant_submitted", "tenant_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    overall: Mapped[int] = mapped_column(Integer)
    timeliness: Mapped[int | None] = mapped_column(Integer, nullable=True)
    transparency: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attitude: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
