"""What the catastrophe pages and API show: the events with their claims, open and overdue; one event's
claims, open, overdue and paid by region; the claim page's catastrophe line (with the advance-payment prompt).

Overdue means what the claim list's ``overdue=1`` means: an open clock past its target now. The claims of an
event are read from the partial index ``ix_claims_tenant_catastrophe``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from claimwatch.cases.models import Claim
from claimwatch.cases.queries import claim_url, region_name
from claimwatch.db import utc_now
from claimwatch.sla.models import SlaClock
from claimwatch.triage.catastrophe_models import KINDS, Catastrophe
from claimwatch.triage.catastrophes import advance_payment_prompt
from claimwatch.web.i18n import N_, translate
from claimwatch.workflow import service as workflow_service

KIND_LABELS = {
    "typhoon": N_("Typhoon"),
    "flood": N_("Flood"),
    "earthquake": N_("Earthquake"),
    "other": N_("Other catastrophe"),
}
OPEN_CLOCK_STATES = ("running", "paused", "suspended")
CLAIMS_LISTED = 100
ADVANCE_PAYMENT_BASIS = "《保险法》第二十五条"


def catastrophe_url(event_id: int) -> str:
    return f"/triage/catastrophes/{event_id}"


def kind_label(kind: str, locale: str) -> str:
    label = KIND_LABELS.get(kind)
    return translate(locale, label) if label else kind


def kind_options(locale: str) -> list[tuple[str, str]]:
    return [(kind, kind_label(kind, locale)) for kind in KINDS]


def line_options(locale: str) -> list[tuple[str, str]]:
    return [(line, workflow_service.line_label(line, locale)) for line in workflow_service.lines()]


def _period(event: Catastrophe, locale: str) -> str:
    end = event.ends_on.isoformat() if event.ends_on else translate(locale, N_("ongoing"))
    return f"{event.starts_on.isoformat()} – {end}"


def _yuan(fen: int | None) -> Decimal:
    return Decimal(int(fen or 0)) / 100


def _overdue_claims(now: dt.datetime) -> Any:
    """Claims with an open clock past its target at ``now`` (the list's ``overdue`` filter)."""
    return select(SlaClock.claim_id).where(SlaClock.state.in_(OPEN_CLOCK_STATES), SlaClock.breached_at <= now)


def _header(event: Catastrophe, locale: str) -> dict[str, Any]:
    return {
        "id": event.id,
        "code": event.code,
        "name": event.label(locale),
        "kind": event.kind,
        "kind_label": kind_label(event.kind, locale),
        "region_codes": list(event.region_codes or []),
        "regions": [region_name(code, locale) for code in event.region_codes or []],
        "line_codes": list(event.lines or []),
        "lines": [workflow_service.line_label(line, locale) for line in event.lines or []],
        "starts_on": event.starts_on,
        "ends_on": event.ends_on,
        "period": _period(event, locale),
        "note": event.note,
        "declared_by": event.declared_by,
        "declared_at": event.declared_at,
        "url": catastrophe_url(event.id),
    }


def by_id(session: Session, event_id: int) -> Catastrophe | None:
    """The event, if it is the session's tenant's (a query, so the tenant scoping of db.py applies)."""
    return session.execute(select(Catastrophe).where(Catastrophe.id == event_id)).scalar_one_or_none()


def catastrophe_list(session: Session, locale: str, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every event of the tenant, latest first, with its claims, open claims and overdue claims."""
    now = now or utc_now()
    found = list(
        session.execute(select(Catastrophe).order_by(Catastrophe.starts_on.desc(), Catastrophe.id.desc())).scalars()
    )
    if not found:
        return []
    ids = [event.id for event in found]
    is_open = case((Claim.closed_at.is_(None), 1), else_=0)
    late = case((Claim.closed_at.is_(None) & Claim.id.in_(_overdue_claims(now)), 1), else_=0)
    counts = {
        row[0]: row[1:]
        for row in session.execute(
            select(Claim.catastrophe_id, func.count(), func.sum(is_open), func.sum(late))
            .where(Claim.catastrophe_id.in_(ids))
            .group_by(Claim.catastrophe_id)
        )
    }
    rows = []
    for event in found:
        claims, open_, overdue = counts.get(event.id, (0, 0, 0))
        rows.append({**_header(event, locale), "claims": claims, "open": int(open_ or 0), "overdue": int(overdue or 0)})
    return rows


def catastrophe_detail(
    session: Session, event_id: int, locale: str, now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """One event: its fields, its claims by region (claims, open, overdue, paid claims and amount) with the
    total, and its open claims oldest first (at most :data:`CLAIMS_LISTED`). None: no such event here."""
    event = by_id(session, event_id)
    if event is None:
        return None
    now = now or utc_now()
    overdue = _overdue_claims(now)
    is_open = case((Claim.closed_at.is_(None), 1), else_=0)
    late = case((Claim.closed_at.is_(None) & Claim.id.in_(overdue), 1), else_=0)
    paid = case((Claim.paid_amount_fen > 0, 1), else_=0)
    by_region = []
    total: dict[str, Any] = {"claims": 0, "open": 0, "overdue": 0, "paid_count": 0, "paid": Decimal(0)}
    for region, claims, open_, overdue_, paid_count, paid_fen in session.execute(
        select(
            Claim.region_code,
            func.count(),
            func.sum(is_open),
            func.sum(late),
            func.sum(paid),
            func.sum(Claim.paid_amount_fen),
        )
        .where(Claim.catastrophe_id == event.id)
        .group_by(Claim.region_code)
        .order_by(Claim.region_code)
    ):
        row = {
            "region": region or "",
            "region_name": region_name(region, locale) or "—",
            "claims": int(claims),
            "open": int(open_ or 0),
            "overdue": int(overdue_ or 0),
            "paid_count": int(paid_count or 0),
            "paid": _yuan(paid_fen),
        }
        by_region.append(row)
        for key in total:
            total[key] += row[key]
    late_ids = set(
        session.execute(
            select(Claim.id).where(Claim.catastrophe_id == event.id, Claim.closed_at.is_(None), Claim.id.in_(overdue))
        ).scalars()
    )
    listed = session.execute(
        select(Claim.id, Claim.number, Claim.region_code, Claim.reported_at, Claim.paid_amount_fen)
        .where(Claim.catastrophe_id == event.id, Claim.closed_at.is_(None))
        .order_by(Claim.reported_at, Claim.id)
        .limit(CLAIMS_LISTED)
    ).all()
    claims_list = [
        {
            "number": number,
            "url": claim_url(number),
            "region": region,
            "reported_at": reported_at,
            "overdue": claim_id in late_ids,
            "advance_payment": not paid_fen,
        }
        for claim_id, number, region, reported_at, paid_fen in listed
    ]
    return {**_header(event, locale), "by_region": by_region, "total": total, "claims_list": claims_list}


def claim_catastrophe(session: Session, claim: Claim, locale: str) -> dict[str, Any] | None:
    """The claim page's line about its catastrophe event: which event, and whether to prompt an advance
    payment (先予支付, 保险法 art. 25: open, nothing paid yet). None: the claim is in no event."""
    if claim.catastrophe_id is None:
        return None
    event = by_id(session, claim.catastrophe_id)
    if event is None:
        return None
    return {
        "id": event.id,
        "code": event.code,
        "name": event.label(locale),
        "kind_label": kind_label(event.kind, locale),
        "url": catastrophe_url(event.id),
        "advance_payment": advance_payment_prompt(claim),
        "advance_payment_basis": ADVANCE_PAYMENT_BASIS,
        "advance_payment_text": translate(
            locale,
            N_(
                "Catastrophe claim: consider an advance payment of the amount that can already be determined "
                "(先予支付, Insurance Law art. 25)."
            ),
        ),
    }
