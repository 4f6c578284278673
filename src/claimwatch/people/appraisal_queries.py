"""Read models of the appraisal that the pages and the API show: a month's scorecards (filtered to whom the
viewer may see) with the peer distribution, one person's card with the basis of each metric, their 12-month
trend against the peers' median, and their peer group's distribution."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.people import appraisal, appraisal_scheme
from claimwatch.people import service as people_service
from claimwatch.people.models import AppraisalScheme, AppraisalScorecard, StaffMember
from claimwatch.tenancy.models import OrgUnit
from claimwatch.web.i18n import translate

MAX_ROWS = 2000
TREND_MONTHS = 12
BAND_WIDTH = 10


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    org_unit_id: int | None = None
    job_title: str | None = None
    min_stars: int | None = None


def metric_label(code: str, locale: str) -> str:
    source = appraisal_scheme.metric_sources().get(code)
    return translate(locale, source.label) if source is not None else code


def metric_rows(card: AppraisalScorecard, locale: str) -> list[dict[str, Any]]:
    """The card's metrics for a screen: label, value, points, weights and the basis in the viewer's language."""
    rows = []
    for metric in card.metrics:
        basis = str(metric.get("basis") or "")
        params = metric.get("params") or {}
        try:
            text = translate(locale, basis) % params if basis else ""
        except (KeyError, TypeError, ValueError):
            text = basis
        reason = metric.get("reason")
        rows.append(
            {
                "code": metric.get("code"),
                "label": metric_label(str(metric.get("code")), locale),
                "value": metric.get("value"),
                "volume": metric.get("volume"),
                "points": metric.get("points"),
                "weight": metric.get("weight"),
                "contribution": metric.get("contribution"),
                "basis": text,
                "reason": translate(locale, appraisal.REASON_LABELS[str(reason)])
                if reason in appraisal.REASON_LABELS
                else None,
            }
        )
    return rows


def card_dict(card: AppraisalScorecard, staff: StaffMember, locale: str, org_name: str | None = None) -> dict[str, Any]:
    return {
        "id": card.id,
        "staff_code": staff.code,
        "name": staff.name,
        "kind": staff.kind,
        "job_title": staff.job_title,
        "org_unit": org_name,
        "month": f"{card.month:%Y-%m}",
        "score": card.score,
        "stars": card.stars,
        "peer_percentile": card.peer_percentile,
        "manager_comment": card.manager_comment,
        "commented_by": card.commented_by,
        "commented_at": card.commented_at,
        "computed_at": card.computed_at,
        "metrics": metric_rows(card, locale),
    }


def _org_names(session: Session, tenant_id: int) -> dict[int, str]:
    return {i: n for i, n in session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.tenant_id == tenant_id))}


def month_list(
    session: Session, tenant_id: int, month: dt.date, visible: set[int] | None, filters: Filters, locale: str
) -> dict[str, Any]:
    """The month's scorecards the viewer may see, best score first, and the distribution of their scores."""
    stmt = (
        select(AppraisalScorecard, StaffMember)
        .join(StaffMember, StaffMember.id == AppraisalScorecard.staff_id)
        .where(AppraisalScorecard.tenant_id == tenant_id, AppraisalScorecard.month == month)
    )
    if visible is not None:
        if not visible:
            return {"rows": [], "distribution": appraisal_scheme.distribution([], BAND_WIDTH), "count": 0}
        stmt = stmt.where(AppraisalScorecard.staff_id.in_(sorted(visible)))
    if filters.kind:
        stmt = stmt.where(StaffMember.kind == filters.kind)
    if filters.org_unit_id is not None:
        stmt = stmt.where(StaffMember.org_unit_id == filters.org_unit_id)
    if filters.job_title:
        stmt = stmt.where(StaffMember.job_title == filters.job_title)
    if filters.min_stars:
        stmt = stmt.where(AppraisalScorecard.stars >= filters.min_stars)
    stmt = stmt.order_by(AppraisalScorecard.score.desc().nulls_last(), StaffMember.code).limit(MAX_ROWS)
    orgs = _org_names(session, tenant_id)
    rows = [
        card_dict(card, staff, locale, orgs.get(staff.org_unit_id) if staff.org_unit_id else None)
        for card, staff in session.execute(stmt)
    ]
    scores = [row["score"] for row in rows if row["score"] is not None]
    return {"rows": rows, "distribution": appraisal_scheme.distribution(scores, BAND_WIDTH), "count": len(rows)}


def computed_months(session: Session, tenant_id: int, limit: int = 24) -> list[str]:
    months = session.scalars(
        select(AppraisalScorecard.month)
        .where(AppraisalScorecard.tenant_id == tenant_id)
        .group_by(AppraisalScorecard.month)
        .order_by(AppraisalScorecard.month.desc())
        .limit(limit)
    )
    return [f"{m:%Y-%m}" for m in months]


def _peer_cards(session: Session, staff: StaffMember, months: list[dt.date]) -> list[tuple[dt.date, float | None]]:
    stmt = (
        select(AppraisalScorecard.month, AppraisalScorecard.score)
        .join(StaffMember, StaffMember.id == AppraisalScorecard.staff_id)
        .where(
            AppraisalScorecard.tenant_id == staff.tenant_id,
            AppraisalScorecard.month.in_(months),
            StaffMember.kind == staff.kind,
            StaffMember.job_title.is_(None) if staff.job_title is None else StaffMember.job_title == staff.job_title,
        )
    )
    return [(m, s) for m, s in session.execute(stmt)]


def person_view(session: Session, staff: StaffMember, month: dt.date | None, locale: str) -> dict[str, Any]:
    """One person's card of ``month`` (default: their latest), the 12-month trend with the peers' median,
    and the peer group's distribution that month (only counts, never the peers' names)."""
    cards = {
        card.month: card
        for card in session.scalars(
            select(AppraisalScorecard)
            .where(AppraisalScorecard.tenant_id == staff.tenant_id, AppraisalScorecard.staff_id == staff.id)
            .order_by(AppraisalScorecard.month.desc())
            .limit(60)
        )
    }
    if month is None:
        month = max(cards) if cards else None
    card = cards.get(month) if month is not None else None
    last = month or people_service.today(session, staff.tenant_id).replace(day=1)
    months = [appraisal_scheme.shift_month(last, -k) for k in range(TREND_MONTHS - 1, -1, -1)]
    peers = _peer_cards(session, staff, months)
    by_month: dict[dt.date, list[float]] = {m: [] for m in months}
    for m, score in peers:
        if score is not None:
            by_month[m].append(score)
    trend = {
        "months": [f"{m:%Y-%m}" for m in months],
        "score": [cards[m].score if m in cards else None for m in months],
        "peer_median": [round(statistics.median(by_month[m]), 1) if by_month[m] else None for m in months],
    }
    scheme = session.get(AppraisalScheme, card.scheme_id) if card is not None else None
    orgs = _org_names(session, staff.tenant_id)
    return {
        "staff": staff,
        "org_unit": orgs.get(staff.org_unit_id) if staff.org_unit_id else None,
        "month": None if month is None else f"{month:%Y-%m}",
        "card": None if card is None else card_dict(card, staff, locale),
        "scorecard_id": None if card is None else card.id,
        "scheme_version": None if scheme is None else scheme.version,
        "trend": trend,
        "peer_distribution": appraisal_scheme.distribution(by_month.get(last, []), BAND_WIDTH),
        "peer_count": len(by_month.get(last, [])),
        "months": [f"{m:%Y-%m}" for m in sorted(cards, reverse=True)],
    }
