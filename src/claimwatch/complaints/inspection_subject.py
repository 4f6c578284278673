"""Complaints as inspection subjects (被检对象: 投诉): the population a plan's filter selects, what an inspector
sees of a complaint (no personal data), and who handled it (never given it to inspect).

Complaints keep no stored random number: their ``sample_key`` is a fixed integer hash of the id in
[0, 2**31) (a multiplicative congruential step), computed by the database, so a seeded draw over complaints
is as reproducible as one over claims.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Select, literal, select
from sqlalchemy.orm import Session

from claimwatch.cases.inspection_subject import _text, check_fields, org_unit_id, staff_id
from claimwatch.complaints.models import Complaint, ComplaintEvent
from claimwatch.complaints.vocabulary import CHANNELS, STATUSES, categories
from claimwatch.errors import Invalid
from claimwatch.subjects.keys import hashed_sample_key
from claimwatch.subjects.periods import period_bounds
from claimwatch.subjects.registry import SubjectSummary, register
from claimwatch.subjects.trail import HandlerTrail, chunks
from claimwatch.tenancy.models import OrgUnit
from claimwatch.tenancy.service import tenant_zone
from claimwatch.workflow import service as workflow_service

SEVERITIES = ("major", "normal")  # 重大投诉 (a major reason recorded) or not
SCORES = {"compensation": Complaint.compensation_fen}
_FIELD = "population"


class ComplaintSubject:
    code = "complaint"
    label = "Complaint"
    filter_fields = frozenset(
        {
            "period",
            "line",
            "org_unit",
            "region",
            "channel",
            "category",
            "status",
            "severity",
            "handler",
            "risk_flag",
            "score",
        }
    )
    scores = tuple(SCORES)

    def population(self, session: Session, tenant_id: int, filters: Mapping[str, Any], now: dt.datetime) -> Select[Any]:
        check_fields(filters, self.filter_fields)
        where: list[Any] = [Complaint.tenant_id == tenant_id]
        period = _text(filters, "period")
        if period is not None:
            start, end = period_bounds(period, tenant_zone(session, tenant_id))
            where += [Complaint.received_at >= start, Complaint.received_at < end]
        line = _text(filters, "line")
        if line is not None:
            if line not in workflow_service.lines():
                raise Invalid(f"{_FIELD}.line", f"unknown line of business {line!r}")
            where.append(Complaint.line == line)
        region = _text(filters, "region")
        if region is not None:
            where.append(Complaint.region_code == region)
        unit = org_unit_id(session, _text(filters, "org_unit"))
        if unit is not None:
            top = select(OrgUnit.path).where(OrgUnit.id == unit).scalar_subquery()
            where.append(Complaint.org_unit_id.in_(select(OrgUnit.id).where(OrgUnit.path.startswith(top))))
        for key, known in (("channel", CHANNELS), ("status", STATUSES), ("category", tuple(categories()))):
            value = _text(filters, key)
            if value is None:
                continue
            if value not in known:
                raise Invalid(f"{_FIELD}.{key}", f"unknown {key} {value!r} (known: {', '.join(known)})")
            where.append(getattr(Complaint, key) == value)
        severity = _text(filters, "severity")
        if severity is not None:
            if severity not in SEVERITIES:
                raise Invalid(f"{_FIELD}.severity", f"severity must be major or normal, not {severity!r}")
            where.append(
                Complaint.major_reasons.is_not(None) if severity == "major" else Complaint.major_reasons.is_(None)
            )
        handler = staff_id(session, tenant_id, _text(filters, "handler"))
        if handler is not None:
            where.append(Complaint.handler_id == handler)
        score_name = _text(filters, "score")
        if score_name is not None and score_name not in SCORES:
            raise Invalid(f"{_FIELD}.score", f"complaints are ranked by {', '.join(SCORES)}, not {score_name!r}")
        score: Any = SCORES[score_name] if score_name else literal(0, Integer)
        return select(
            Complaint.id.label("subject_id"),
            Complaint.org_unit_id.label("org_unit_id"),
            Complaint.line.label("line"),
            Complaint.region_code.label("region_code"),
            Complaint.handler_id.label("handler_id"),
            hashed_sample_key(Complaint.id).label("sample_key"),
            score.label("score"),
        ).where(*where)

    def describe(self, session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, SubjectSummary]:
        found: dict[int, SubjectSummary] = {}
        for chunk in chunks(ids):
            rows = session.execute(
                select(
                    Complaint.id,
                    Complaint.number,
                    Complaint.channel,
                    Complaint.category,
                    Complaint.status,
                    Complaint.compensation_fen,
                    Complaint.org_unit_id,
                    Complaint.line,
                    Complaint.region_code,
                    Complaint.handler_id,
                    Complaint.received_at,
                ).where(Complaint.tenant_id == tenant_id, Complaint.id.in_(chunk))
            )
            for row in rows:
                money = f" · {Decimal(row.compensation_fen) / 100:,.2f} CNY" if row.compensation_fen else ""
                found[row.id] = SubjectSummary(
                    id=row.id,
                    number=row.number,
                    title=f"{row.category} · {row.channel} · {row.status}{money}",
                    url=f"/complaints/{row.number}",
                    org_unit_id=row.org_unit_id,
                    line=row.line,
                    region_code=row.region_code,
                    handler_id=row.handler_id,
                    occurred_at=row.received_at,
                )
        return found

    def handled_by(self, session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, set[int]]:
        """The handler now, every handler before (``assigned`` events) and every staff actor of its events."""
        wanted = sorted(set(ids))  # a generator is read once
        trail = HandlerTrail(wanted)
        for chunk in chunks(wanted):
            for complaint_id, handler_id in session.execute(
                select(Complaint.id, Complaint.handler_id).where(
                    Complaint.tenant_id == tenant_id, Complaint.id.in_(chunk)
                )
            ):
                trail.add_user(complaint_id, handler_id)
            events = session.execute(
                select(
                    ComplaintEvent.complaint_id, ComplaintEvent.actor, ComplaintEvent.kind, ComplaintEvent.data
                ).where(ComplaintEvent.tenant_id == tenant_id, ComplaintEvent.complaint_id.in_(chunk))
            )
            for complaint_id, actor, kind, data in events:
                trail.add_name(complaint_id, actor)
                if kind == "assigned" and data:
                    payload = json.loads(data)
                    trail.add_name(complaint_id, payload.get("handler"))
                    if isinstance(payload.get("before"), int):
                        trail.add_user(complaint_id, payload["before"])
        return trail.resolve(session, tenant_id)


SUBJECT = register(ComplaintSubject())
