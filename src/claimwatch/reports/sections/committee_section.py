"""Quality report: the quality committee (品质管理委员会) — the month's meeting (each month's, in a quarterly
report): its status, and every agenda item with the figures it was listed with and the decision recorded
against it. Omitted when no meeting was generated for the period (and in the regulator edition).

Free text that could carry a claimant's particulars (a complaint's subject in an item's label, a decision's
text) is scrubbed of ID, phone and card numbers; a major complaint is named by its number only."""

from __future__ import annotations

from typing import Any

from claimwatch.committee import queries as committee_queries
from claimwatch.committee import service as committee_service
from claimwatch.privacy import scrub_text
from claimwatch.reports.sections import common
from claimwatch.reports.sections.base import ReportContext, Section, register
from claimwatch.web.i18n import N_, translate

KEY = "committee"
TITLE = N_("Quality committee")
MSG_UNDECIDED = N_("Not decided yet")


def _label(kind: str, label: str) -> str:
    if kind == "major_complaint":
        return label.split(" · ", 1)[0]  # the number; the subject is the complainant's own text
    return scrub_text(label)


def _meeting(ctx: ReportContext, month: str) -> dict[str, Any] | None:
    assert ctx.tenant_id is not None
    meeting = committee_service.meeting_for(ctx.session, ctx.tenant_id, month)
    if meeting is None:
        return None
    view = committee_queries.meeting_view(ctx.session, meeting, ctx.locale)
    groups = []
    for group in view.groups:
        if not group.items:
            continue
        items = [
            {
                "label": _label(item.kind, item.label),
                "figures": "；".join(f"{name}：{value}" for name, value in item.figures)
                if ctx.locale == "zh"
                else "; ".join(f"{name}: {value}" for name, value in item.figures),
                "decision": item.decision_label or translate(ctx.locale, MSG_UNDECIDED),
                "decided": item.decision is not None,
                "text": scrub_text(item.decision_text or ""),
                "decided_by": item.decided_by or "",
            }
            for item in group.items
        ]
        groups.append({"title": group.title, "entries": items})
    return {
        "month": view.month,
        "status": view.status_label,
        "held_on": view.held_on.isoformat() if view.held_on else "",
        "chair": view.chair or "",
        "attendees": view.attendees or "",
        "kpi_period": view.kpi_period or "",
        "total": view.total,
        "decided": view.decided,
        "groups": groups,
    }


def build(ctx: ReportContext) -> Section | None:
    if ctx.tenant_id is None:
        return None  # each insurer's own committee: not part of the cross-insurer edition
    meetings = [found for month in common.months_of(ctx.period) if (found := _meeting(ctx, month)) is not None]
    if not meetings:
        return None
    return Section(KEY, translate(ctx.locale, TITLE), f"{KEY}.html", {"meetings": meetings})


register("quality", 90, build)
