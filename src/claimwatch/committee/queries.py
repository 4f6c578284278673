"""What the committee pages and API show: the meetings by month, and one meeting's agenda grouped by kind with
each item's figures (formatted for the reader's language), its decision and the action raised from it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from claimwatch.actions import service as actions_service
from claimwatch.actions.vocabulary import PHASE_LABELS
from claimwatch.auth.principal import Permission, Principal
from claimwatch.committee import repository, service
from claimwatch.committee.models import CommitteeDecision, CommitteeItem, CommitteeMeeting
from claimwatch.complaints.vocabulary import MAJOR_REASON_LABELS
from claimwatch.complaints.vocabulary import STATUS_LABELS as COMPLAINT_STATUS_LABELS
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi.queries import format_target, format_value
from claimwatch.rectification.vocabulary import SEVERITY_LABELS as RECTIFICATION_SEVERITY_LABELS
from claimwatch.rectification.vocabulary import STATUS_LABELS as RECTIFICATION_STATUS_LABELS
from claimwatch.sanctions.service import KIND_LABELS as SANCTION_KIND_LABELS
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate


@dataclass
class MeetingRow:
    month: str
    status: str
    status_label: str
    items: int
    decided: int
    held_on: dt.date | None
    url: str


@dataclass
class ItemView:
    id: int
    kind: str
    label: str
    url: str | None
    figures: list[tuple[str, str]]
    decision: str | None = None
    decision_label: str | None = None
    decision_text: str | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    action_id: int | None = None
    action_url: str | None = None
    kpi_code: str | None = None


@dataclass
class Group:
    kind: str
    title: str
    items: list[ItemView] = field(default_factory=list)


@dataclass
class MeetingView:
    id: int
    month: str
    status: str
    status_label: str
    held_on: dt.date | None
    chair: str | None
    attendees: str | None
    kpi_period: str | None
    generated_at: dt.datetime
    generated_by: str
    closed_at: dt.datetime | None
    closed_by: str | None
    groups: list[Group]
    total: int
    decided: int
    url: str

    @property
    def undecided(self) -> list[ItemView]:
        return [i for g in self.groups for i in g.items if i.decision is None]

    def as_json(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "status": self.status,
            "held_on": self.held_on.isoformat() if self.held_on else None,
            "chair": self.chair,
            "attendees": self.attendees,
            "kpi_period": self.kpi_period,
            "generated_at": self.generated_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "items": [
                {
                    "id": i.id,
                    "kind": i.kind,
                    "label": i.label,
                    "url": i.url,
                    "figures": dict(i.figures),
                    "decision": i.decision,
                    "text": i.decision_text,
                    "decided_by": i.decided_by,
                    "decided_at": i.decided_at.isoformat() if i.decided_at else None,
                    "action_id": i.action_id,
                    "action_url": i.action_url,
                }
                for g in self.groups
                for i in g.items
            ],
        }


def _t(locale: str, labels: dict[str, str], code: Any) -> str:
    if code is None:
        return "—"
    msgid = labels.get(str(code))
    return translate(locale, msgid) if msgid else str(code)


def _day(value: str | None, zone: ZoneInfo) -> str:
    if not value:
        return "—"
    return dt.datetime.fromisoformat(value).astimezone(zone).date().isoformat()


def _percent(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def figures(item: CommitteeItem, locale: str, zone: ZoneInfo) -> list[tuple[str, str]]:
    """The item's figures as (label, value) lines in the reader's language."""
    data = item.figures or {}
    t = lambda msgid: translate(locale, msgid)  # noqa: E731
    kpi = kpi_loader.by_code().get(str(data.get("kpi_code")))
    if item.kind == "red_kpi" and kpi is not None:
        lines = [
            (t(N_("Month")), str(data.get("period"))),
            (t(N_("Actual")), format_value(kpi, data.get("value"), locale)),
            (t(N_("Target")), format_target(kpi, kpi.target, locale)),
        ]
        if data.get("denominator") is not None and kpi.unit == "%":
            lines.append((t(N_("Cases")), f"{data.get('numerator') or 0:,.0f} / {data['denominator']:,.0f}"))
        return lines
    if item.kind == "alert":
        return [
            (t(N_("Month")), str(data.get("period"))),
            (t(N_("Rate")), _percent(data.get("rate"))),
            (t(N_("Company-wide")), _percent(data.get("expected"))),
            (t(N_("Control limits")), f"{_percent(data.get('lower_limit'))} – {_percent(data.get('upper_limit'))}"),
            (t(N_("Cases")), f"{data.get('numerator', 0)} / {data.get('count', 0)}"),
        ]
    if item.kind == "overdue_rectification":
        return [
            (t(N_("Severity")), _t(locale, RECTIFICATION_SEVERITY_LABELS, data.get("severity"))),
            (t(N_("Status")), _t(locale, RECTIFICATION_STATUS_LABELS, data.get("status"))),
            (t(N_("Due")), _day(data.get("due_at"), zone)),
            (t(N_("Days overdue")), str(data.get("days_overdue", 0))),
            (t(N_("Owner")), str(data.get("owner") or "—")),
        ]
    if item.kind == "overdue_action":
        return [
            (t(N_("Phase")), _t(locale, PHASE_LABELS, data.get("phase"))),
            (t(N_("Due")), _day(data.get("due_at"), zone)),
            (t(N_("Days overdue")), str(data.get("days_overdue", 0))),
            (t(N_("Owner")), str(data.get("owner") or "—")),
        ]
    if item.kind == "major_complaint":
        reasons = ", ".join(_t(locale, MAJOR_REASON_LABELS, r) for r in data.get("reasons") or []) or "—"
        return [
            (t(N_("Received")), _day(data.get("received_at"), zone)),
            (t(N_("Why major")), reasons),
            (t(N_("Status")), _t(locale, COMPLAINT_STATUS_LABELS, data.get("status"))),
        ]
    if item.kind == "sanction_proposed":
        lines = [
            (t(N_("Sanction")), _t(locale, SANCTION_KIND_LABELS, data.get("kind"))),
            (t(N_("Person or party")), str(data.get("party") or "—")),
            (t(N_("Violation")), f"{data.get('violation')} · {data.get('code')}"),
            (t(N_("Proposed on")), _day(data.get("proposed_at"), zone)),
        ]
        if data.get("amount_fen"):
            lines.append((t(N_("Amount")), f"{int(data['amount_fen']) / 100:,.2f} {t(N_('CNY'))}"))
        return lines
    return []


def _label(item: CommitteeItem, locale: str) -> str:
    """Labels are stored in Chinese; a KPI's is given in the reader's language from the catalogue."""
    data = item.figures or {}
    kpi = kpi_loader.by_code().get(str(data.get("kpi_code")))
    if kpi is None or locale == "zh":
        return item.label
    if item.kind == "red_kpi":
        return kpi.name_en
    if item.kind == "alert":
        return f"{kpi.name_en} · {data.get('unit_label', '')}"
    return item.label


def item_view(item: CommitteeItem, decision: CommitteeDecision | None, locale: str, zone: ZoneInfo) -> ItemView:
    view = ItemView(
        id=item.id,
        kind=item.kind,
        label=_label(item, locale),
        url=item.url,
        figures=figures(item, locale, zone),
        kpi_code=(item.figures or {}).get("kpi_code"),
    )
    if decision is not None:
        view.decision = decision.decision
        view.decision_label = translate(locale, service.DECISION_LABELS.get(decision.decision, decision.decision))
        view.decision_text = decision.text
        view.decided_by = decision.decided_by
        view.decided_at = decision.decided_at
        view.action_id = decision.action_id
        view.action_url = actions_service.action_url(decision.action_id) if decision.action_id else None
    return view


def meeting_view(session: Session, meeting: CommitteeMeeting, locale: str) -> MeetingView:
    zone = tenancy_service.tenant_zone(session, meeting.tenant_id)
    pairs = service.items_with_decisions(session, meeting)
    groups: list[Group] = []
    for kind in service.KINDS:
        members = [item_view(i, d, locale, zone) for i, d in pairs if i.kind == kind]
        groups.append(Group(kind, translate(locale, service.KIND_LABELS[kind]), members))
    return MeetingView(
        id=meeting.id,
        month=meeting.month,
        status=meeting.status,
        status_label=translate(locale, service.STATUS_LABELS.get(meeting.status, meeting.status)),
        held_on=meeting.held_on,
        chair=meeting.chair,
        attendees=meeting.attendees,
        kpi_period=meeting.kpi_period,
        generated_at=meeting.generated_at,
        generated_by=meeting.generated_by,
        closed_at=meeting.closed_at,
        closed_by=meeting.closed_by,
        groups=groups,
        total=len(pairs),
        decided=sum(1 for _, d in pairs if d is not None),
        url=service.meeting_url(meeting.month),
    )


def meetings(session: Session, principal: Principal, locale: str) -> list[MeetingRow]:
    principal.require(Permission.VIEW_COMMITTEE)
    service.tenant_of(principal)
    found = repository.meetings(session)
    counts = repository.item_counts(session, [m.id for m in found])
    return [
        MeetingRow(
            month=m.month,
            status=m.status,
            status_label=translate(locale, service.STATUS_LABELS.get(m.status, m.status)),
            items=counts.get(m.id, (0, 0))[0],
            decided=counts.get(m.id, (0, 0))[1],
            held_on=m.held_on,
            url=service.meeting_url(m.month),
        )
        for m in found
    ]


def default_month(session: Session, principal: Principal, now: dt.datetime) -> str:
    """The month a new agenda is usually for: the last complete one."""
    zone = tenancy_service.tenant_zone(session, service.tenant_of(principal))
    today = now.astimezone(zone).date()
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year}-{first.month:02d}"


def owners(session: Session, tenant_id: int) -> list[tuple[int, str]]:
    """Who may own an improvement action raised by the committee: the tenant's active staff who may work one."""
    return repository.action_owners(session, tenant_id)
