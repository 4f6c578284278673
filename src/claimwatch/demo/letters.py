"""What the demo shows of the legal outputs (issue 12 item 6): where to open a decision letter as print view
and PDF, whether this machine renders PDFs, and the deadlines that are provisional (暂定) because the next
year's holiday arrangement is not loaded — with the command that makes them exact."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from claimwatch import pdf
from claimwatch.calendar import service as calendar_service
from claimwatch.complaints.models import Complaint, ComplaintClock
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.demo.generator import DemoSpec
from claimwatch.sla.models import SlaClock
from claimwatch.tenancy import repository as tenancy_repository

BASE_URL = "http://127.0.0.1:8000"


def summary(spec: DemoSpec) -> list[str]:
    """Lines for ``claimwatch demo setup`` to print after the sweeps."""
    lines: list[str] = []
    with unit_of_work(TenantContext.system_context()) as session:
        calendar = calendar_service.get_calendar(session)
        first = calendar.provisional_from
        for tenant in spec.tenants:
            found = tenancy_repository.tenant_by_code(session, tenant.code)
            if found is None:
                continue
            number = session.execute(
                select(Complaint.number)
                .where(Complaint.tenant_id == found.id, Complaint.decision_letter.is_not(None))
                .order_by(Complaint.decided_at.desc())
                .limit(1)
            ).scalar_one_or_none()
            if number is not None:
                lines.append(
                    f"{tenant.code} decision letter (sign in as {tenant.code.lower()}.cs): "
                    f"{BASE_URL}/complaints/{number}/letter · PDF: {BASE_URL}/complaints/{number}/letter.pdf"
                )
        if first is not None:
            provisional = 0
            for model in (SlaClock, ComplaintClock):
                provisional += session.execute(
                    select(func.count())
                    .select_from(model)
                    .where(model.state != "stopped", model.unit != "hours", model.yellow_due_at > _instant(first))
                ).scalar_one()
            lines.append(
                f"{provisional} open deadlines fall on or after {first} "
                f"(holiday arrangement of {first.year} not loaded): shown as 暂定 (provisional); "
                f"`claimwatch calendar load {first.year}.yaml` makes them exact"
            )
    reason = pdf.available()
    lines.append("PDF letters: ready" if reason is None else f"PDF letters unavailable: {reason}")
    return lines


def _instant(day: dt.date) -> dt.datetime:
    """The local midnight that starts ``day``: a due instant after it ends on ``day`` or later."""
    return dt.datetime.combine(day, dt.time(), ZoneInfo("Asia/Shanghai")).astimezone(dt.UTC)
