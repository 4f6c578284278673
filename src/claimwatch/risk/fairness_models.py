"""降赔惜赔 (under-payment and unfair denial) findings: one run per insurer and period, and per run one row for every
unit tested (a handler or an org unit) and measure, flagged or not, with the figures that decided it.

The rows of a period are updated in place when the period is run again (same unit and measure, same id), so a
targeted inspection plan opened from a flag keeps pointing at it (``inspection_plans.source_ref``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime, utc_now


class FairnessRun(TenantScoped, Base):
    """The last computation of one period (a month ``2026-11`` or a quarter ``2026-Q4``) for one insurer."""

    __tablename__ = "fairness_runs"
    __table_args__ = (UniqueConstraint("tenant_id", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period: Mapped[str] = mapped_column(String(16))
    settings_digest: Mapped[str] = mapped_column(String(64))  # sha256 of the settings file's text
    claims: Mapped[int] = mapped_column(Integer)  # decided (closed or rejected) claims of the period
    flagged: Mapped[int] = mapped_column(Integer)  # flagged rows
    ran_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    ran_by: Mapped[str] = mapped_column(String(100))


class FairnessResult(TenantScoped, Base):
    """One unit (``handler``: a user id; ``org``: an org unit id) and one measure of a run.

    measure: ``rejection`` (rejected ÷ decided), ``short_payment`` (paid below the assessed amount ÷ paid claims),
    ``review_reduction`` (assessed amount lowered after verification ÷ claims with an assessed amount),
    ``unclear_rejection`` (rejections whose reason cites no policy clause; counted, not compared).
    ``observed`` events among ``cases`` (the unit's claims in strata its peers also have; ``unmatched`` had
    none), ``expected`` the peers' stratum rates applied to the unit's stratum counts (indirect
    standardisation), ``p_value`` the exact one-sided stratified test, ``q_value`` after Benjamini–Hochberg.
    """

    __tablename__ = "fairness_results"
    __table_args__ = (
        UniqueConstraint("tenant_id", "period", "unit_kind", "unit_id", "measure"),
        Index("ix_fairness_results_tenant_period_flagged", "tenant_id", "period", "flagged"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("fairness_runs.id"))
    period: Mapped[str] = mapped_column(String(16))
    unit_kind: Mapped[str] = mapped_column(String(8))  # handler | org
    unit_id: Mapped[int] = mapped_column(BigInteger)
    unit_label: Mapped[str] = mapped_column(String(100))  # username or org code when computed
    measure: Mapped[str] = mapped_column(String(24))
    cases: Mapped[int] = mapped_column(Integer)
    unmatched: Mapped[int] = mapped_column(Integer, default=0)
    observed: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float | None] = mapped_column(Float, nullable=True)
    ratio: Mapped[float | None] = mapped_column(Float, nullable=True)  # observed ÷ expected
    odds_ratio: Mapped[float | None] = mapped_column(Float, nullable=True)  # Mantel–Haenszel, unit vs peers
    p_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    q_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    # short_payment: Σ paid, Σ assessed and the paid the peers' paid ÷ assessed per stratum would give (fen);
    # review_reduction: Σ of the reductions (fen).
    amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    base_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    expected_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(32))  # flagged | below_min_cases | not_significant | small_effect | …
    examples: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # up to 20 claim numbers
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # per stratum figures
    plan_code: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the targeted plan opened from it
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
