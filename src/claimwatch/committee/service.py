"""Quality committee rules and writes: the monthly agenda generated from what needs deciding, a decision per
item (an improvement action raised from it where the committee says so), the meeting's date, chair and
attendees, and closing the minutes. No HTTP here, never commits.

The agenda of month M lists:
- red KPIs: catalogue KPIs that miss their target in M, or in the last complete month when M is still
  running (from the KPI snapshot in force; none without a snapshot);
- alerts: the p-chart alerts of the ``CLAIMWATCH_ALERT_LOOKBACK_MONTHS`` months up to M that no improvement
  action was raised from;
- overdue rectifications and overdue improvement actions, as of the generation time;
- major complaints (重大投诉) received in M, and earlier ones still open;
- sanctions proposed and not yet decided.

Regenerating keeps every decided item as it was, refreshes the figures of undecided ones, adds new ones and
drops undecided ones whose source no longer qualifies (the sanction was decided meanwhile). A closed meeting
changes no more. Each write takes the tenant's audit chain first (one writer per tenant at a time) and writes
its audit event in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.orm import Session

from claimwatch.actions import service as actions_service
from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.committee import repository
from claimwatch.committee.models import CommitteeDecision, CommitteeItem, CommitteeMeeting
from claimwatch.complaints.queries import complaint_url
from claimwatch.config import get_settings
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi import snapshot as kpi_snapshot
from claimwatch.kpi.engine import Period, Scope
from claimwatch.kpi.queries import DashboardQuery
from claimwatch.rectification.service import rectification_url
from claimwatch.sanctions.service import sanction_url
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_

KINDS = ("red_kpi", "alert", "overdue_rectification", "overdue_action", "major_complaint", "sanction_proposed")
KIND_LABELS = {
    "red_kpi": N_("KPIs off target"),
    "alert": N_("Open quality alerts"),
    "overdue_rectification": N_("Overdue rectifications"),
    "overdue_action": N_("Overdue improvement actions"),
    "major_complaint": N_("Major complaints"),
    "sanction_proposed": N_("Sanctions proposed"),
}
DECISIONS = ("noted", "action_raised", "escalated", "deferred")
DECISION_LABELS = {
    "noted": N_("Noted"),
    "action_raised": N_("Improvement action raised"),
    "escalated": N_("Escalated"),
    "deferred": N_("Deferred to the next meeting"),
}
STATUSES = ("draft", "held", "closed")
STATUS_LABELS = {"draft": N_("Agenda in preparation"), "held": N_("Meeting held"), "closed": N_("Minutes closed")}
MAX_TEXT = 4000
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class ActionDraft:
    """What a decision ``action_raised`` needs for the improvement action it raises."""

    title: str
    owner_user_id: int | None
    due_on: dt.date | None
    problem: str | None = None
    kpi_code: str | None = None


@dataclass
class Candidate:
    kind: str
    source_ref: str
    label: str
    url: str | None
    source_id: int | None = None
    figures: dict[str, Any] = field(default_factory=dict)


def meeting_url(month: str) -> str:
    return f"/committee/{month}"


def tenant_of(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "a committee belongs to one insurer; this account belongs to none")
    return principal.tenant_id


def parse_month(month: str, today: dt.date) -> Period:
    """A meeting month: YYYY-MM, not after the current month."""
    text = (month or "").strip()
    if not _MONTH.match(text):
        raise Invalid("month", f"month {text[:20]!r} must be YYYY-MM")
    period = Period.parse(text)
    if period.start > Period.containing(today).start:
        raise Invalid("month", f"month {text} is in the future")
    return period


def _local(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return moment.astimezone(zone)


def _start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(dt.UTC)


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()


def _days_overdue(due: dt.datetime | None, at: dt.datetime) -> int:
    if due is None:
        return 0
    due = due if due.tzinfo else due.replace(tzinfo=dt.UTC)
    return max(0, (at - due).days)


# -- the agenda's sources --------------------------------------------------------------------------------


def _red_kpis(tenant_id: int, month: Period) -> tuple[str | None, list[Candidate]]:
    """(the KPI month, the KPIs that miss their target in it) from the snapshot in force."""
    if kpi_snapshot.current() is None:
        return None, []
    catalogue = kpi_loader.catalogue()
    with kpi_service.opened() as snap:
        last_complete = kpi_service.default_period(snap.local_now).shift(-1)
        period = min(month, last_complete)
        result = kpi_service.values(snap, Scope(tenant_ids=(tenant_id,)), [period])
    found = {v.kpi: v for v in result.values if not v.key}
    url = DashboardQuery(period=period).url()
    candidates = []
    for kpi in catalogue:
        value = found.get(kpi.code)
        if value is None or value.value is None or kpi.light(value.value) != "misses":
            continue
        candidates.append(
            Candidate(
                kind="red_kpi",
                source_ref=kpi.code,
                label=kpi.name_zh,
                url=f"{url}#kpi-{kpi.code}",
                figures={
                    "kpi_code": kpi.code,
                    "period": period.label,
                    "value": value.value,
                    "numerator": value.numerator,
                    "denominator": value.denominator,
                    "target": kpi.target,
                    "unit": kpi.unit,
                },
            )
        )
    return period.label, candidates


def _alerts(session: Session, month: Period) -> list[Candidate]:
    months = [p.label for p in month.trailing(get_settings().alert_lookback_months)]
    catalogue = kpi_loader.by_code()
    candidates = []
    for alert in repository.alerts_without_action(session, months):
        kpi = catalogue.get(alert.kpi_code)
        drill = {"region": alert.unit_key} if alert.dimension == "region" else {"org": alert.unit_key}
        candidates.append(
            Candidate(
                kind="alert",
                source_ref=str(alert.id),
                source_id=alert.id,
                label=f"{kpi.name_zh if kpi else alert.kpi_code} · {alert.unit_label}"[:300],
                url=DashboardQuery(period=Period.parse(alert.period)).url(**drill),
                figures={
                    "kpi_code": alert.kpi_code,
                    "period": alert.period,
                    "dimension": alert.dimension,
                    "unit_key": alert.unit_key,
                    "unit_label": alert.unit_label,
                    "rate": alert.rate,
                    "expected": alert.expected,
                    "lower_limit": alert.lower_limit,
                    "upper_limit": alert.upper_limit,
                    "numerator": alert.numerator,
                    "count": alert.count,
                    "better": kpi.better if kpi else "lower",
                },
            )
        )
    return candidates


def _numbered(kind: str, number: str, record_id: int, title: str, url: str, /, **figures: Any) -> Candidate:
    """An item about one numbered record (a rectification, an action, a complaint, a sanction): referred to
    by its number, labelled "number · title", its figures led by the number."""
    return Candidate(
        kind=kind,
        source_ref=number,
        source_id=record_id,
        label=f"{number} · {title}"[:300],
        url=url,
        figures={"number": number, **figures},
    )


def _overdue_rectifications(session: Session, at: dt.datetime) -> list[Candidate]:
    rows = repository.overdue_rectifications(session, at)
    names = repository.people(session, [r.owner_user_id for r, _ in rows if r.owner_user_id])
    return [
        _numbered(
            "overdue_rectification",
            rectification.number,
            rectification.id,
            rectification.title,
            rectification_url(rectification.id),
            severity=rectification.severity,
            status=rectification.status,
            due_at=_iso(due),
            days_overdue=_days_overdue(due, at),
            owner=names.get(rectification.owner_user_id or 0),
        )
        for rectification, due in rows
    ]


def _overdue_actions(session: Session, tenant_id: int, at: dt.datetime) -> list[Candidate]:
    actions = actions_service.open_overdue(session, tenant_id, at)
    names = repository.people(session, [a.owner_user_id for a in actions if a.owner_user_id])
    return [
        _numbered(
            "overdue_action",
            action.number,
            action.id,
            action.title,
            actions_service.action_url(action.id),
            phase=action.phase,
            kpi_code=action.kpi_code,
            due_at=_iso(action.due_at),
            days_overdue=_days_overdue(action.due_at, at),
            owner=names.get(action.owner_user_id or 0),
        )
        for action in actions
    ]


def _major_complaints(session: Session, start: dt.datetime, end: dt.datetime) -> list[Candidate]:
    return [
        _numbered(
            "major_complaint",
            complaint.number,
            complaint.id,
            complaint.subject,
            complaint_url(complaint.number),
            received_at=_iso(complaint.received_at),
            reasons=[r for r in (complaint.major_reasons or "").split(",") if r],
            category=complaint.category,
            status=complaint.status,
        )
        for complaint in repository.major_complaints(session, start, end)
    ]


def _proposed_sanctions(session: Session, end: dt.datetime) -> list[Candidate]:
    return [
        _numbered(
            "sanction_proposed",
            sanction.number,
            sanction.id,
            f"{violation.party} · {violation.code}",
            sanction_url(sanction.number),
            kind=sanction.kind,
            party=violation.party,
            violation=violation.number,
            code=violation.code,
            severity=violation.severity,
            amount_fen=sanction.amount_fen,
            days=sanction.days,
            proposed_at=_iso(sanction.proposed_at),
        )
        for sanction, violation in repository.proposed_sanctions(session, end)
    ]


def candidates(
    session: Session, tenant_id: int, month: Period, zone: ZoneInfo, at: dt.datetime
) -> tuple[str | None, list[Candidate]]:
    """Everything month ``month``'s agenda lists as of ``at``, in agenda order (no writes)."""
    start, end = _start(month.start, zone), _start(month.end, zone)
    kpi_period, red = _red_kpis(tenant_id, month)
    found = [
        *red,
        *_alerts(session, month),
        *_overdue_rectifications(session, at),
        *_overdue_actions(session, tenant_id, at),
        *_major_complaints(session, start, min(end, at)),
        *_proposed_sanctions(session, at),
    ]
    return kpi_period, found


# -- writes ----------------------------------------------------------------------------------------------


def _lock(session: Session, tenant_id: int) -> None:
    """The tenant's audit chain, taken first: one committee writer per tenant at a time."""
    audit_service.open_chain(session, tenant_id).close()


def _open_meeting(session: Session, principal: Principal, meeting_id: int) -> CommitteeMeeting:
    principal.require(Permission.MANAGE_COMMITTEE)
    tenant_id = tenant_of(principal)
    found = repository.meeting_by_id(session, meeting_id)
    if found is None or found.tenant_id != tenant_id:
        raise NotFound("meeting", f"no committee meeting {meeting_id}")
    _lock(session, tenant_id)
    session.refresh(found)
    if found.status == "closed":
        raise Conflict("status", f"the minutes of {found.month} are closed")
    return found


def generate_agenda(
    session: Session, principal: Principal, month: str, *, at: dt.datetime | None = None
) -> CommitteeMeeting:
    """The meeting of ``month`` with its agenda, made or brought up to date (see the module's docstring)."""
    principal.require(Permission.MANAGE_COMMITTEE)
    tenant_id = tenant_of(principal)
    at = at or utc_now()
    zone = tenancy_service.tenant_zone(session, tenant_id)
    period = parse_month(month, _local(at, zone).date())
    _lock(session, tenant_id)
    meeting = repository.meeting(session, tenant_id, period.label)
    if meeting is not None and meeting.status == "closed":
        raise Conflict("status", f"the minutes of {period.label} are closed: the agenda changes no more")
    kpi_period, found = candidates(session, tenant_id, period, zone, at)
    created = meeting is None
    if meeting is None:
        meeting = CommitteeMeeting(
            tenant_id=tenant_id,
            month=period.label,
            status="draft",
            generated_at=at,
            generated_by=principal.actor,
            created_at=at,
            updated_at=at,
        )
        session.add(meeting)
        session.flush()
    meeting.kpi_period = kpi_period
    meeting.generated_at = at
    meeting.generated_by = principal.actor
    meeting.updated_at = at
    existing = repository.items(session, meeting.id)
    decided = repository.decisions(session, [i.id for i in existing])
    by_key = {(i.kind, i.source_ref): i for i in existing}
    wanted = {(c.kind, c.source_ref) for c in found}
    added: list[str] = []
    dropped: list[str] = []
    for item in existing:
        if (item.kind, item.source_ref) not in wanted and item.id not in decided:
            dropped.append(item.label)
            session.execute(delete(CommitteeItem).where(CommitteeItem.id == item.id))
    position = 0
    for kind in KINDS:
        for candidate in (c for c in found if c.kind == kind):
            position += 1
            known = by_key.get((candidate.kind, candidate.source_ref))
            if known is None:
                session.add(
                    CommitteeItem(
                        tenant_id=tenant_id,
                        meeting_id=meeting.id,
                        kind=candidate.kind,
                        source_id=candidate.source_id,
                        source_ref=candidate.source_ref,
                        label=candidate.label,
                        url=candidate.url,
                        figures=candidate.figures,
                        position=position,
                        added_at=at,
                    )
                )
                added.append(candidate.label)
                continue
            known.position = position
            if known.id not in decided:  # a decided item keeps what the committee saw
                known.label, known.url, known.figures = candidate.label, candidate.url, candidate.figures
        for item in existing:  # decided items whose source moved on stay, after the current ones
            if item.kind == kind and (item.kind, item.source_ref) not in wanted and item.id in decided:
                position += 1
                item.position = position
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        "committee.agenda",
        meeting.month,
        principal.actor,
        {
            "month": meeting.month,
            "created": created,
            "kpi_period": kpi_period,
            "added": added,
            "dropped": dropped,
            "items": position,
        },
    )
    return meeting


def _clean(text: str | None, field_name: str, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = (text or "").strip()
    if required and not value:
        raise Invalid(field_name, f"{field_name} is required")
    if len(value) > limit:
        raise Invalid(field_name, f"{field_name} is longer than {limit} characters")
    return value


def record_decision(
    session: Session,
    principal: Principal,
    item_id: int,
    *,
    decision: str,
    text: str,
    raise_action: ActionDraft | None = None,
    at: dt.datetime | None = None,
) -> CommitteeDecision:
    """The committee's decision on one item; ``action_raised`` raises the improvement action described by
    ``raise_action`` (source: this decision) and links it. A decision may be changed until the minutes are
    closed, except one that raised an action."""
    principal.require(Permission.MANAGE_COMMITTEE)
    tenant_id = tenant_of(principal)
    item = repository.item(session, item_id)
    if item is None or item.tenant_id != tenant_id:
        raise NotFound("item", f"no agenda item {item_id}")
    meeting = _open_meeting(session, principal, item.meeting_id)
    if decision not in DECISIONS:
        raise Invalid("decision", f"decision must be one of {', '.join(DECISIONS)}")
    body = _clean(text, "text")
    if decision == "action_raised" and raise_action is None:
        raise Invalid("owner_user_id", "raising an action needs its owner, due date and title")
    at = at or utc_now()
    existing = repository.decisions(session, [item.id]).get(item.id)
    if existing is not None and existing.action_id is not None:
        raise Conflict("decision", f"action {existing.action_id} was already raised from this item")
    record = existing or CommitteeDecision(tenant_id=tenant_id, item_id=item.id)
    previous = existing.decision if existing is not None else None
    record.decision, record.text, record.decided_by, record.decided_at = decision, body, principal.actor, at
    if existing is None:
        session.add(record)
    session.flush()
    if decision == "action_raised" and raise_action is not None:
        action = _raise(session, principal, item, record, raise_action, body, at)
        record.action_id = action.id
    meeting.updated_at = at
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        "committee.decision",
        f"{meeting.month}#{item.id}",
        principal.actor,
        {
            "month": meeting.month,
            "item": item.id,
            "kind": item.kind,
            "source": item.source_ref,
            "decision": decision,
            "previous": previous,
            "text": body,
            "action_id": record.action_id,
        },
    )
    return record


def _raise(
    session: Session,
    principal: Principal,
    item: CommitteeItem,
    decision: CommitteeDecision,
    draft: ActionDraft,
    text: str,
    at: dt.datetime,
) -> Any:
    title = _clean(draft.title, "title", limit=300)
    if draft.owner_user_id is None:
        raise Invalid("owner_user_id", "an improvement action needs an owner")
    if draft.due_on is None:
        raise Invalid("due_on", "an improvement action needs a due date")
    figures = item.figures or {}
    kpi_code = draft.kpi_code or figures.get("kpi_code")
    scope: dict[str, Any] = {}
    if item.kind == "alert":
        if figures.get("dimension") == "org" and str(figures.get("unit_key", "")).isdigit():
            scope["scope_org_unit_id"] = int(figures["unit_key"])
        elif figures.get("dimension") == "region":
            scope["scope_region"] = figures.get("unit_key")
    problem = (draft.problem or "").strip() or f"{item.label}\n{text}"
    return actions_service.raise_action(
        session,
        principal,
        source_kind="committee",
        source_id=decision.id,
        source_ref=item.label[:100],
        title=title,
        problem=problem,
        owner_user_id=draft.owner_user_id,
        due_on=draft.due_on,
        kpi_code=kpi_code if kpi_code in kpi_loader.by_code() else None,
        at=at,
        **scope,
    )


def record_meeting(
    session: Session,
    principal: Principal,
    meeting_id: int,
    *,
    held_on: dt.date | None,
    chair: str | None,
    attendees: str | None,
    at: dt.datetime | None = None,
) -> CommitteeMeeting:
    """The meeting took place: its date, chair and attendees (status held)."""
    meeting = _open_meeting(session, principal, meeting_id)
    if held_on is None:
        raise Invalid("held_on", "the date the meeting was held is required")
    at = at or utc_now()
    zone = tenancy_service.tenant_zone(session, meeting.tenant_id)
    if held_on > _local(at, zone).date():
        raise Invalid("held_on", f"held_on {held_on.isoformat()} is in the future")
    meeting.held_on = held_on
    meeting.chair = _clean(chair, "chair", limit=100)
    meeting.attendees = _clean(attendees, "attendees")
    meeting.status = "held"
    meeting.updated_at = at
    session.flush()
    audit_service.record(
        session,
        meeting.tenant_id,
        "committee.held",
        meeting.month,
        principal.actor,
        {
            "month": meeting.month,
            "held_on": held_on.isoformat(),
            "chair": meeting.chair,
            "attendees": meeting.attendees,
        },
    )
    return meeting


def undecided(session: Session, meeting: CommitteeMeeting) -> list[CommitteeItem]:
    items = repository.items(session, meeting.id)
    decided = repository.decisions(session, [i.id for i in items])
    return [i for i in items if i.id not in decided]


def close_minutes(
    session: Session, principal: Principal, meeting_id: int, at: dt.datetime | None = None
) -> CommitteeMeeting:
    """Close the minutes: every item must have its decision (409 naming the undecided ones)."""
    meeting = _open_meeting(session, principal, meeting_id)
    open_items = undecided(session, meeting)
    if open_items:
        names = "; ".join(i.label for i in open_items[:20])
        more = f" (+{len(open_items) - 20})" if len(open_items) > 20 else ""
        raise Conflict("items", f"{len(open_items)} item(s) have no decision yet: {names}{more}")
    at = at or utc_now()
    meeting.status = "closed"
    meeting.closed_at = at
    meeting.closed_by = principal.actor
    meeting.updated_at = at
    session.flush()
    count = len(repository.items(session, meeting.id))
    audit_service.record(
        session,
        meeting.tenant_id,
        "committee.closed",
        meeting.month,
        principal.actor,
        {"month": meeting.month, "items": count},
    )
    return meeting


def meeting_for(session: Session, tenant_id: int, month: str) -> CommitteeMeeting | None:
    """The tenant's meeting of ``month`` (YYYY-MM), if one was generated (the report's committee section)."""
    return repository.meeting(session, tenant_id, month)


def get_meeting(session: Session, principal: Principal, month: str) -> CommitteeMeeting:
    principal.require(Permission.VIEW_COMMITTEE)
    tenant_id = tenant_of(principal)
    if not _MONTH.match(month or ""):
        raise NotFound("month", f"no committee meeting {month[:20]!r}")
    found = repository.meeting(session, tenant_id, month)
    if found is None:
        raise NotFound("month", f"no committee meeting for {month}")
    return found


def items_with_decisions(
    session: Session, meeting: CommitteeMeeting
) -> list[tuple[CommitteeItem, CommitteeDecision | None]]:
    items = repository.items(session, meeting.id)
    decided = repository.decisions(session, [i.id for i in items])
    return [(i, decided.get(i.id)) for i in items]


def kinds_in_order(items: Sequence[CommitteeItem]) -> list[str]:
    return [k for k in KINDS if any(i.kind == k for i in items)]
