"""Demo: the inspectors score the sampled cases of the demo's draws (most pass, some fail; a few critical
failures), record findings (major and severe ones open rectifications), and the reviews drawn on submit are
done (mostly agreeing, one disagreement in ten). Runs after the plans were drawn (``demo/jobs.py``: after
the inspection plans' draws, before rectifications are moved and the KPI snapshot is rebuilt).

Outcomes are deterministic from the inspection id, and every step goes through the services with
backdated ``at`` times, so the audit chain reads like a week of real work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select

from claimwatch.auth.models import User
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.inspections import findings, scoring
from claimwatch.inspections.models import Inspection, InspectionReview
from claimwatch.inspections.scorecards import Scorecard


@dataclass
class Loaded:
    submitted: int = 0
    failed: int = 0
    findings: int = 0
    rectifications: int = 0
    reviews: int = 0
    disagreements: int = 0
    skipped: list[int] = field(default_factory=list)  # unassigned (no eligible inspector)


def _roll(*parts: object) -> float:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big") / 2**64


def _outcomes(card: Scorecard, facts: dict[str, object], inspection_id: int) -> dict[str, scoring.Entry]:
    entries: dict[str, scoring.Entry] = {}
    for item in card.items:
        # N/A where the card's rule names facts that hold (rejection reasons of a paid claim…).
        entries[item.code] = scoring.Entry("na" if item.na.when and item.na.permits(facts) else "pass")
    roll = _roll("demo-outcome", inspection_id)
    applicable = [i for i in card.items if entries[i.code].outcome == "pass"]
    if roll < 0.06:  # a critical failure
        critical = [i for i in applicable if i.critical]
        if critical:
            pick = critical[int(_roll("c", inspection_id) * len(critical))]
            entries[pick.code] = scoring.Entry("fail", f"抽检发现：{pick.text_zh}不符合要求")
    elif roll < 0.22:  # one ordinary failure
        ordinary = [i for i in applicable if not i.critical] or applicable
        pick = ordinary[int(_roll("o", inspection_id) * len(ordinary))]
        entries[pick.code] = scoring.Entry("fail", f"抽检发现：{pick.text_zh}不到位")
    return entries


def _principal(user: User) -> Principal:
    return Principal(role=user.role, tenant_id=user.tenant_id, actor=f"user:{user.username}", user_id=user.id)


def load(tenant_id: int, now: dt.datetime) -> Loaded:
    """Score every open, assigned inspection of the tenant; ``now`` is the end of the demo's week."""
    loaded = Loaded()
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        rows = list(session.scalars(select(Inspection).where(Inspection.status == "assigned").order_by(Inspection.id)))
        users = {u.id: u for u in session.scalars(select(User).where(User.tenant_id == tenant_id))}
        for index, inspection in enumerate(rows):
            inspector = users.get(inspection.inspector_id or 0)
            if inspector is None:
                loaded.skipped.append(inspection.id)
                continue
            # Spread over the days between the draw and now, leaving room for the finding after the result.
            latest = now - dt.timedelta(minutes=30)
            earliest = min(inspection.created_at, latest)
            at = earliest + (latest - earliest) * (index + 1) / (len(rows) + 1)
            principal = _principal(inspector)
            card = scoring.card_of(inspection)
            entries = _outcomes(card, scoring.subject_facts(session, inspection), inspection.id)
            scoring.start(session, principal, inspection.id, at=at)
            done = scoring.submit(
                session, principal, inspection.id, entries, comment="月度抽检", at=at + dt.timedelta(minutes=20)
            )
            loaded.submitted += 1
            if not done.error:
                continue
            loaded.failed += 1
            failed = [code for code, entry in entries.items() if entry.outcome == "fail"]
            severity = "major" if done.critical_failed else "minor"
            if done.critical_failed and _roll("severe", inspection.id) < 0.3:
                severity = "severe"
            finding = findings.record_finding(
                session,
                principal,
                inspection.id,
                severity=severity,
                category=_CATEGORY.get(failed[0], "other"),
                description=entries[failed[0]].comment or "抽检发现问题",
                item_code=failed[0],
                at=at + dt.timedelta(minutes=25),
            )
            loaded.findings += 1
            loaded.rectifications += 1 if finding.rectification_id else 0
        # The reviews drawn on submit: the reviewer agrees, except one in ten.
        reviews = list(session.scalars(select(InspectionReview).where(InspectionReview.status == "assigned")))
        for review in reviews:
            reviewer = users.get(review.reviewer_id or 0)
            if reviewer is None:
                continue
            first = scoring.results(session, review.inspection_id)
            entries = {code: scoring.Entry(row.outcome, row.comment) for code, row in first.items()}
            if _roll("disagree", review.inspection_id) < 0.1:
                code = next((c for c, e in entries.items() if e.outcome == "pass"), None)
                if code is not None:
                    entries[code] = scoring.Entry("fail", "复核认为该项不符合要求")
                    loaded.disagreements += 1
            at = (review.created_at or now) + dt.timedelta(days=1)
            scoring.submit_review(
                session, _principal(reviewer), review.inspection_id, entries, comment="复核", at=min(at, now)
            )
            loaded.reviews += 1
    return loaded


_CATEGORY = {
    "materials_notice_once": "materials_notice",
    "decision_deadline": "timeliness",
    "payment_computed": "computation",
    "liability_applied": "wrongful_rejection",
    "payment_on_time": "timeliness",
    "rejection_reasons": "wrongful_rejection",
    "claimant_informed": "notice",
    "file_complete": "documentation",
    "acknowledged_in_time": "timeliness",
    "decided_in_time": "timeliness",
    "reply_covers_requests": "notice",
    "root_cause_recorded": "documentation",
    "complainant_informed": "notice",
}
