"""p-chart (funnel plot) alerts on KPI rates by region and org unit, per month.

For each tenant, month and watched KPI (``alert: true`` in the catalogue) the expected rate p is the
tenant's overall rate that month. A unit with volume n (the KPI's denominator) has binomial limits
p ± k·sqrt(p(1-p)/n), k = CLAIMWATCH_ALERT_SIGMA (3). A unit with n below CLAIMWATCH_ALERT_MIN_COUNT
(30) never alarms: a small region's noise is not a signal. A unit beyond the limit on the bad side
(above for "lower is better", below for "higher is better") gets one ``quality_alerts`` row per
(tenant, KPI, dimension, unit, month) and one staff notification to the quality manager.

:func:`find` reads the snapshot (no writes); :func:`record` writes one tenant's findings in the session it
is given. The worker and ``claimwatch kpi alerts`` run both through :func:`claimwatch.kpi.jobs.evaluate_alerts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.config import get_settings
from claimwatch.db import utc_now
from claimwatch.inspections.special import AlertRef
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import repository
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi.engine import Period, Scope, compute
from claimwatch.kpi.loader import Kpi
from claimwatch.kpi.models import QualityAlert
from claimwatch.notify import staff_notices as notify_staff_notices

ALERT_DIMENSIONS = ("region", "org")
NOTIFY_ROLE = "quality_manager"
NOTIFY_KIND = "kpi_alert"


@dataclass(frozen=True)
class Limits:
    expected: float
    lower: float
    upper: float


def limits(expected: float, count: int, sigma: float) -> Limits:
    """Binomial control limits for a unit of volume ``count`` around the rate ``expected`` (fractions)."""
    spread = sigma * math.sqrt(max(expected * (1.0 - expected), 0.0) / count) if count > 0 else math.inf
    return Limits(expected, max(0.0, expected - spread), min(1.0, expected + spread))


@dataclass(frozen=True)
class Finding:
    tenant_id: int
    kpi: Kpi
    dimension: str
    unit_key: str
    unit_label: str
    period: str
    rate: float
    limits: Limits
    numerator: int
    count: int


@dataclass
class Evaluation:
    periods: list[str] = field(default_factory=list)
    units_checked: int = 0
    below_minimum: int = 0
    findings: list[Finding] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    notified: int = 0


def out_of_control(kpi: Kpi, rate: float, bounds: Limits) -> bool:
    return rate > bounds.upper if kpi.better == "lower" else rate < bounds.lower


def find(
    snap: kpi_service.OpenSnapshot,
    periods: list[Period],
    min_count: int | None = None,
    sigma: float | None = None,
    kpis: list[Kpi] | None = None,
) -> Evaluation:
    """Every unit out of control, from the snapshot (no writes)."""
    settings = get_settings()
    min_count = min_count if min_count is not None else settings.alert_min_count
    sigma = sigma if sigma is not None else settings.alert_sigma
    watched = kpis if kpis is not None else [k for k in kpi_loader.catalogue() if k.alert and k.available]
    evaluation = Evaluation(periods=[p.label for p in periods])
    if not watched or not periods:
        return evaluation
    everyone = Scope(tenant_ids=None)
    overall = compute(snap.con, watched, periods, everyone, ("tenant",), snap.local_now)
    expected = {(v.kpi, v.period, v.key[0]): v for v in overall.values}
    by_code = {k.code: k for k in watched}
    for dimension in ALERT_DIMENSIONS:
        labels = kpi_service.unit_labels(snap.con, dimension, "zh")
        units = compute(snap.con, watched, periods, everyone, ("tenant", dimension), snap.local_now)
        for value in units.values:
            tenant_key, unit_key = value.key
            if not unit_key or value.denominator is None or value.numerator is None:
                continue  # a claim without region or org unit is nobody's signal
            evaluation.units_checked += 1
            count = int(value.denominator)
            if count < min_count:
                evaluation.below_minimum += 1
                continue
            base = expected.get((value.kpi, value.period, tenant_key))
            if base is None or not base.denominator:
                continue
            p = float(base.numerator or 0) / float(base.denominator)
            bounds = limits(p, count, sigma)
            rate = float(value.numerator) / count
            kpi = by_code[value.kpi]
            if out_of_control(kpi, rate, bounds):
                evaluation.findings.append(
                    Finding(
                        tenant_id=int(tenant_key),
                        kpi=kpi,
                        dimension=dimension,
                        unit_key=unit_key,
                        unit_label=labels.get(unit_key, unit_key),
                        period=value.period,
                        rate=rate,
                        limits=bounds,
                        numerator=int(value.numerator),
                        count=count,
                    )
                )
    return evaluation


_DIMENSION_ZH = {"region": "地区", "org": "机构"}


def _message(finding: Finding) -> tuple[str, str]:
    kpi = finding.kpi
    side_zh, side_en = ("高于控制上限", "above its upper control limit")
    limit = finding.limits.upper
    if kpi.better == "higher":
        side_zh, side_en, limit = "低于控制下限", "below its lower control limit", finding.limits.lower
    subject = (
        f"{finding.period} {_DIMENSION_ZH[finding.dimension]}{finding.unit_label} {kpi.name_zh} "
        f"{finding.rate:.1%} {side_zh} / {finding.dimension} {finding.unit_key} {kpi.name_en} {side_en}"
    )
    body = (
        f"{kpi.name_zh}：{_DIMENSION_ZH[finding.dimension]} {finding.unit_label}（{finding.unit_key}）"
        f"{finding.period} 为 {finding.rate:.1%}（{finding.numerator}/{finding.count}），"
        f"全公司 {finding.limits.expected:.1%}，控制限 {finding.limits.lower:.1%}–{finding.limits.upper:.1%}，"
        f"{side_zh}（{limit:.1%}）。请查看 /dashboard 并安排专项检查。\n"
        f"{kpi.name_en}: {finding.dimension} {finding.unit_label} ({finding.unit_key}) was {finding.rate:.1%} "
        f"({finding.numerator}/{finding.count}) in {finding.period} against {finding.limits.expected:.1%} "
        f"company-wide, limits {finding.limits.lower:.1%}–{finding.limits.upper:.1%}: {side_en}."
    )
    return subject, body


def dedupe_key(finding: Finding) -> str:
    return f"kpi-alert:{finding.kpi.code}:{finding.dimension}:{finding.unit_key}:{finding.period}"


# KPI sources whose records are complaints: a special inspection of such an alert inspects complaints.
_COMPLAINT_SOURCES = ("complaints", "complaint_exposure")
# KPI period columns that place a claim in its month by its closing (else by its report).
_CLOSING_COLUMNS = ("closed_at", "stopped_at", "decided_at")


def alert_ref(alert: QualityAlert, kpi: Kpi | None) -> AlertRef:
    """What a special inspection needs of an alert (the inspections domain sits below this one)."""
    source = kpi.source if kpi else "claims"
    return AlertRef(
        id=alert.id,
        tenant_id=alert.tenant_id,
        kpi_code=alert.kpi_code,
        kpi_name=kpi.name_zh if kpi else alert.kpi_code,
        dimension=alert.dimension,
        unit_key=alert.unit_key,
        unit_label=alert.unit_label,
        period=alert.period,
        subject_kind="complaint" if source in _COMPLAINT_SOURCES else "claim",
        date_field="closed" if kpi is not None and kpi.period in _CLOSING_COLUMNS else "reported",
    )


def record(session: Session, tenant_id: int, findings: list[Finding], evaluation: Evaluation) -> None:
    """One tenant's findings: a new alert row and one notice to its quality manager each, or fresher figures
    for an alert already recorded. Counts into ``evaluation``. The new alerts are then published
    (``reactions.QUALITY_ALERTS_RAISED``: a special inspection where the tenant wants one automatically)."""
    now = utc_now()
    raised: list[AlertRef] = []
    known = repository.existing(session, sorted({f.period for f in findings}))
    for finding in findings:
        figures: dict[str, Any] = {
            "unit_label": finding.unit_label[:200],
            "rate": finding.rate,
            "expected": finding.limits.expected,
            "lower_limit": finding.limits.lower,
            "upper_limit": finding.limits.upper,
            "numerator": finding.numerator,
            "count": finding.count,
        }
        alert = known.get((finding.kpi.code, finding.dimension, finding.unit_key, finding.period))
        if alert is not None:
            for name, value in figures.items():
                setattr(alert, name, value)
            alert.updated_at = now
            evaluation.updated += 1
            continue
        inserted = repository.insert_alert(
            session,
            {
                "tenant_id": tenant_id,
                "kpi_code": finding.kpi.code,
                "dimension": finding.dimension,
                "unit_key": finding.unit_key,
                "period": finding.period,
                "created_at": now,
                "updated_at": now,
                **figures,
            },
        )
        if not inserted:
            continue
        evaluation.created += 1
        created = session.get(QualityAlert, inserted)
        if created is not None:
            raised.append(alert_ref(created, finding.kpi))
        subject, body = _message(finding)
        if notify_staff_notices.notify_staff(
            session, tenant_id, NOTIFY_ROLE, NOTIFY_KIND, subject, body, dedupe_key(finding), now
        ):
            evaluation.notified += 1
    if raised:
        reactions.publish(reactions.QUALITY_ALERTS_RAISED, session, tenant_id, raised)


def recent_alerts(session: Session, periods: list[str], limit: int = 200) -> list[QualityAlert]:
    """Alerts of these periods the session's tenant (or, for a regulator, every tenant) may see."""
    return repository.recent(session, periods, limit)
