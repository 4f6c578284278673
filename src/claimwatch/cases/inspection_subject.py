"""Claims as inspection subjects (被检对象: 赔案): the population a plan's filter selects, what an inspector
sees of a claim, and who handled it (never given it to inspect).

The filter is the claim list's own (:class:`claimwatch.cases.repository.ClaimFilter` and its conditions):
a plan's population and the claim list with the same filter are the same claims.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Integer, Select, literal, or_, select
from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.cases.repository import LIGHTS, ROUTES, ClaimFilter, _conditions
from claimwatch.errors import Invalid
from claimwatch.subjects.periods import period_bounds
from claimwatch.subjects.registry import SubjectSummary, register
from claimwatch.subjects.trail import HandlerTrail, chunks
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.service import tenant_zone
from claimwatch.workflow import service as workflow_service

# Terminal outcomes of a claim (every workflow has these three).
OUTCOMES = ("closed", "rejected", "withdrawn")
DATE_FIELDS = ("reported", "closed")
# What a targeted "top-k by score" plan may rank claims by.
SCORES = {
    "amount": Claim.reported_amount_fen,
    "assessed": Claim.assessed_amount_fen,
    "paid": Claim.paid_amount_fen,
    "reopens": Claim.reopen_count,
}
RISK_REFUSAL = "only claims carry a risk score (triage at report time): risk_flag is not a filter here"
_FIELD = "population"


def _text(filters: Mapping[str, Any], key: str) -> str | None:
    value = filters.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Invalid(f"{_FIELD}.{key}", f"{key} must be a single value, not {value!r}")
    return str(value).strip()


def amount_fen(filters: Mapping[str, Any], key: str) -> int | None:
    """An amount of CNY (number or text such as "50000.00") as integer fen."""
    value = filters.get(key)
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Invalid(f"{_FIELD}.{key}", f"{key} must be an amount of CNY such as 50000, not {value!r}") from None
    if amount < 0 or amount != amount.quantize(Decimal("0.01")) or amount > Decimal("1e13"):
        raise Invalid(f"{_FIELD}.{key}", f"{key} must be a non-negative amount of CNY with at most 2 decimals")
    return int(amount * 100)


def org_unit_id(session: Session, code: str | None, field: str = f"{_FIELD}.org_unit") -> int | None:
    if code is None:
        return None
    unit = tenancy_repository.org_unit_by_code(session, code)
    if unit is None:
        raise Invalid(field, f"no org unit {code!r} at this insurer")
    return unit.id


def staff_id(session: Session, tenant_id: int, username: str | None, field: str = f"{_FIELD}.handler") -> int | None:
    if username is None:
        return None
    found = auth_repository.user_ids_by_username(session, tenant_id, {username})
    if username not in found:
        raise Invalid(field, f"no staff member {username!r} at this insurer")
    return found[username]


def check_fields(filters: Mapping[str, Any], known: Iterable[str], *, risk: bool = False) -> None:
    """Unknown keys are refused; ``risk_flag`` too unless the subject carries risk scores (``risk``)."""
    allowed = frozenset(known)
    for key in filters:
        if key not in allowed:
            raise Invalid(f"{_FIELD}.{key}", f"unknown population filter {key!r} (known: {', '.join(sorted(allowed))})")
    if not risk and filters.get("risk_flag") not in (None, "", False):
        raise Invalid(f"{_FIELD}.risk_flag", RISK_REFUSAL)


def _flag(filters: Mapping[str, Any], key: str) -> bool:
    value = filters.get(key)
    if value in (None, "", False, "false", "0"):
        return False
    if value is True or value in ("true", "1"):
        return True
    raise Invalid(f"{_FIELD}.{key}", f"{key} must be true or false, not {value!r}")


class ClaimSubject:
    code = "claim"
    label = "Claim"  # msgid (N_ in the pages)
    filter_fields = frozenset(
        {
            "period",
            "date_field",
            "line",
            "org_unit",
            "region",
            "status",
            "outcome",
            "amount_min",
            "amount_max",
            "handler",
            "light",
            "route",
            "risk_flag",
            "score",
        }
    )
    scores = tuple(SCORES)

    def claim_filter(
        self, session: Session, tenant_id: int, filters: Mapping[str, Any], now: dt.datetime
    ) -> ClaimFilter:
        """The plan's population filter as the claim list's filter; every bad key or value named."""
        check_fields(filters, self.filter_fields, risk=True)
        values: dict[str, Any] = {}
        period = _text(filters, "period")
        date_field = _text(filters, "date_field") or "closed"
        if date_field not in DATE_FIELDS:
            raise Invalid(f"{_FIELD}.date_field", f"date_field must be reported or closed, not {date_field!r}")
        if period is not None:
            start, end = period_bounds(period, tenant_zone(session, tenant_id))
            values[f"{date_field}_from"], values[f"{date_field}_until"] = start, end
        line = _text(filters, "line")
        if line is not None:
            if line not in workflow_service.lines():
                known = ", ".join(workflow_service.lines())
                raise Invalid(f"{_FIELD}.line", f"unknown line of business {line!r} (known: {known})")
            values["line"] = line
        values["region_code"] = _text(filters, "region")
        values["org_subtree"] = org_unit_id(session, _text(filters, "org_unit"))
        status = _text(filters, "status")
        if status is not None:
            states = {
                state for line_ in workflow_service.lines() for state in workflow_service.get_workflow(line_).states
            }
            if status not in states:
                raise Invalid(f"{_FIELD}.status", f"unknown claim status {status!r}")
        outcome = _text(filters, "outcome")
        if outcome is not None:
            if outcome not in OUTCOMES:
                raise Invalid(f"{_FIELD}.outcome", f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
            if status is not None and status != outcome:
                raise Invalid(f"{_FIELD}.outcome", f"outcome {outcome!r} contradicts status {status!r}")
            status = outcome
            values["state"] = "closed"
        values["status"] = status
        low, high = amount_fen(filters, "amount_min"), amount_fen(filters, "amount_max")
        if low is not None and high is not None and high < low:
            raise Invalid(f"{_FIELD}.amount_max", "amount_max is below amount_min")
        values["amount_min_fen"] = low
        values["amount_below_fen"] = high + 1 if high is not None else None
        values["assignee_id"] = staff_id(session, tenant_id, _text(filters, "handler"))
        light = _text(filters, "light")
        if light is not None and light not in LIGHTS:
            raise Invalid(f"{_FIELD}.light", f"light must be one of {', '.join(LIGHTS)}, not {light!r}")
        values["light"] = light
        route = _text(filters, "route")
        if route is not None and route not in ROUTES:
            raise Invalid(f"{_FIELD}.route", f"route must be one of {', '.join(ROUTES)}, not {route!r}")
        values["route"] = route
        # High risk at report time (triage): risk level high or a red flag fired.
        values["risk_flag"] = _flag(filters, "risk_flag") or None
        return ClaimFilter(**{key: value for key, value in values.items() if value is not None})

    def population(self, session: Session, tenant_id: int, filters: Mapping[str, Any], now: dt.datetime) -> Select[Any]:
        claim_filter = self.claim_filter(session, tenant_id, filters, now)
        score_name = _text(filters, "score")
        if score_name is not None and score_name not in SCORES:
            raise Invalid(f"{_FIELD}.score", f"claims are ranked by {', '.join(SCORES)}, not {score_name!r}")
        score: Any = SCORES[score_name] if score_name else literal(0, Integer)
        dialect = session.get_bind().dialect.name
        return select(
            Claim.id.label("subject_id"),
            Claim.org_unit_id.label("org_unit_id"),
            Claim.line.label("line"),
            Claim.region_code.label("region_code"),
            Claim.assignee_id.label("handler_id"),
            Claim.sample_key.label("sample_key"),
            score.label("score"),
        ).where(Claim.tenant_id == tenant_id, *_conditions(claim_filter, now, dialect, tenant_id))

    def describe(self, session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, SubjectSummary]:
        found: dict[int, SubjectSummary] = {}
        for chunk in chunks(ids):
            rows = session.execute(
                select(
                    Claim.id,
                    Claim.number,
                    Claim.line,
                    Claim.status,
                    Claim.reported_amount_fen,
                    Claim.org_unit_id,
                    Claim.region_code,
                    Claim.assignee_id,
                    Claim.reported_at,
                ).where(Claim.tenant_id == tenant_id, Claim.id.in_(chunk))
            )
            for row in rows:
                amount = f"{Decimal(row.reported_amount_fen) / 100:,.2f} CNY" if row.reported_amount_fen else "—"
                found[row.id] = SubjectSummary(
                    id=row.id,
                    number=row.number,
                    title=f"{row.line} · {row.status} · {amount}",
                    url=f"/claims/{row.number}",
                    org_unit_id=row.org_unit_id,
                    line=row.line,
                    region_code=row.region_code,
                    handler_id=row.assignee_id,
                    occurred_at=row.reported_at,
                )
        return found

    def handled_by(self, session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, set[int]]:
        """The assignee now, every assignee before (``assigned`` events) and every actor of the claim's events
        who is a staff member of this insurer."""
        wanted = sorted(set(ids))  # a generator is read once
        trail = HandlerTrail(wanted)
        for chunk in chunks(wanted):
            for claim_id, assignee_id in session.execute(
                select(Claim.id, Claim.assignee_id).where(Claim.tenant_id == tenant_id, Claim.id.in_(chunk))
            ):
                trail.add_user(claim_id, assignee_id)
            events = session.execute(
                select(CaseEvent.claim_id, CaseEvent.actor, CaseEvent.event_type, CaseEvent.data).where(
                    CaseEvent.tenant_id == tenant_id,
                    CaseEvent.claim_id.in_(chunk),
                    or_(CaseEvent.event_type == "assigned", CaseEvent.actor.is_not(None)),
                )
            )
            for claim_id, actor, event_type, data in events:
                trail.add_name(claim_id, actor)
                if event_type == "assigned" and data:
                    trail.add_name(claim_id, json.loads(data).get("assignee"))
        return trail.resolve(session, tenant_id)


SUBJECT = register(ClaimSubject())
